using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Homeroom.Agent.Capabilities.Windows;

/// <summary>
/// A COM automation object called by name through its <c>IDispatch</c> (<c>GetIDsOfNames</c>, then <c>Invoke</c>),
/// with the few argument and result types the Windows Update Agent API needs: strings, 32-bit integers, booleans
/// and other objects. Plain interop (the vtable through function pointers, <c>VARIANT</c>s by hand) instead of
/// <c>dynamic</c>, so neither trimming nor Native AOT needs reflection or the C# runtime binder for it. Holds one
/// reference to the object, released by <see cref="Dispose"/>. NEVER RUN: written and compiled on Linux.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe partial class ComDispatch : IDisposable
{
    private const ushort VtEmpty = 0, VtNull = 1, VtI2 = 2, VtI4 = 3, VtBstr = 8, VtDispatch = 9, VtBool = 11, VtUi4 = 19, VtInt = 22;
    private const ushort DispatchMethod = 1, DispatchPropertyGet = 2, DispatchPropertyPut = 4;
    private const int DispIdPropertyPut = -3;
    private const uint LocaleUserDefault = 0x400;
    private const uint ClsctxInprocServer = 0x1, ClsctxLocalServer = 0x4;
    private const int DispException = unchecked((int)0x80020009);
    private static readonly Guid IidIDispatch = new("00020400-0000-0000-C000-000000000046");

    private nint _pointer;

    private ComDispatch(nint pointer) => _pointer = pointer;

    /// <summary>Whether a COM class is registered under <paramref name="progId"/>.</summary>
    public static bool IsRegistered(string progId) => CLSIDFromProgID(progId, out _) >= 0;

    /// <summary>A new object of the class registered under <paramref name="progId"/>.</summary>
    public static ComDispatch Create(string progId)
    {
        Check(CLSIDFromProgID(progId, out var clsid), progId);
        Check(CoCreateInstance(in clsid, 0, ClsctxInprocServer | ClsctxLocalServer, in IidIDispatch, out var pointer), progId);
        return new ComDispatch(pointer);
    }

    /// <summary>A property that holds an object.</summary>
    public ComDispatch Object(string property) => AsObject(Invoke(property, DispatchPropertyGet, []), property);

    /// <summary>A method (or indexed property, such as <c>Item</c>) that returns an object.</summary>
    public ComDispatch Call(string method) => AsObject(Invoke(method, DispatchMethod | DispatchPropertyGet, []), method);

    public ComDispatch Call(string method, string argument)
    {
        var bstr = Marshal.StringToBSTR(argument);
        try
        {
            return AsObject(Invoke(method, DispatchMethod | DispatchPropertyGet, [new Variant(VtBstr, bstr)]), method);
        }
        finally
        {
            Marshal.FreeBSTR(bstr);
        }
    }

    public ComDispatch Call(string method, int argument) =>
        AsObject(Invoke(method, DispatchMethod | DispatchPropertyGet, [new Variant(VtI4, argument)]), method);

    /// <summary>A method whose result, if any, is not needed.</summary>
    public void Run(string method) => Clear(Invoke(method, DispatchMethod, []));

    public void Run(string method, ComDispatch argument) => Clear(Invoke(method, DispatchMethod, [new Variant(VtDispatch, argument.Pointer)]));

    public int Int(string property)
    {
        var value = Invoke(property, DispatchPropertyGet, []);
        if (value.Type is VtI4 or VtUi4 or VtInt)
        {
            return (int)value.Value;
        }

        if (value.Type == VtI2)
        {
            return (short)value.Value;
        }

        Clear(value);
        throw new InvalidCastException($"{property} is not an integer (VARIANT type {value.Type})");
    }

    public bool Bool(string property)
    {
        var value = Invoke(property, DispatchPropertyGet, []);
        if (value.Type == VtBool)
        {
            return (short)value.Value != 0;
        }

        Clear(value);
        throw new InvalidCastException($"{property} is not a boolean (VARIANT type {value.Type})");
    }

    /// <summary>A string property; null when it is empty or null.</summary>
    public string? Text(string property)
    {
        var value = Invoke(property, DispatchPropertyGet, []);
        switch (value.Type)
        {
            case VtBstr:
                var text = value.Value == 0 ? null : Marshal.PtrToStringBSTR(value.Value);
                Clear(value);
                return text;
            case VtEmpty or VtNull:
                return null;
            default:
                Clear(value);
                throw new InvalidCastException($"{property} is not a string (VARIANT type {value.Type})");
        }
    }

    public void Set(string property, string value)
    {
        var bstr = Marshal.StringToBSTR(value);
        try
        {
            Invoke(property, DispatchPropertyPut, [new Variant(VtBstr, bstr)]);
        }
        finally
        {
            Marshal.FreeBSTR(bstr);
        }
    }

    public void Set(string property, ComDispatch value) => Invoke(property, DispatchPropertyPut, [new Variant(VtDispatch, value.Pointer)]);

    public void Dispose()
    {
        var pointer = _pointer;
        _pointer = 0;
        if (pointer != 0)
        {
            ((delegate* unmanaged[Stdcall]<nint, uint>)(*(nint**)pointer)[2])(pointer);
        }
    }

    private nint Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == 0, this);
            return _pointer;
        }
    }

    /// <summary>IDispatch::Invoke by name; the arguments in their natural order (IDispatch takes them last to first).</summary>
    private Variant Invoke(string name, ushort flags, ReadOnlySpan<Variant> arguments)
    {
        var self = Pointer;
        var vtable = *(nint**)self;
        var noInterface = Guid.Empty;
        int dispId;
        fixed (char* namePointer = name)
        {
            var names = namePointer;
            var getIdsOfNames = (delegate* unmanaged[Stdcall]<nint, Guid*, char**, uint, uint, int*, int>)vtable[5];
            Check(getIdsOfNames(self, &noInterface, &names, 1, LocaleUserDefault, &dispId), name);
        }

        var reversed = stackalloc Variant[Math.Max(1, arguments.Length)];
        for (var i = 0; i < arguments.Length; i++)
        {
            reversed[i] = arguments[arguments.Length - 1 - i];
        }

        var put = flags == DispatchPropertyPut;
        var named = DispIdPropertyPut;
        var parameters = new DispParams { Arguments = reversed, NamedArguments = put ? &named : null, ArgumentCount = (uint)arguments.Length, NamedArgumentCount = put ? 1u : 0u };
        Variant result = default;
        ExcepInfo exception = default;
        uint argumentError = 0;
        var invoke = (delegate* unmanaged[Stdcall]<nint, int, Guid*, uint, ushort, DispParams*, Variant*, ExcepInfo*, uint*, int>)vtable[6];
        var hresult = invoke(self, dispId, &noInterface, LocaleUserDefault, flags, &parameters, put ? null : &result, &exception, &argumentError);
        if (hresult == DispException)
        {
            var description = exception.Description == 0 ? null : Marshal.PtrToStringBSTR(exception.Description);
            Marshal.FreeBSTR(exception.Source);
            Marshal.FreeBSTR(exception.Description);
            Marshal.FreeBSTR(exception.HelpFile);
            throw new COMException($"{name}: {description ?? "the call failed"}", exception.SCode != 0 ? exception.SCode : hresult);
        }

        Check(hresult, name);
        return result;
    }

    private static ComDispatch AsObject(Variant value, string name)
    {
        if (value.Type == VtDispatch && value.Value != 0)
        {
            return new ComDispatch(value.Value);
        }

        Clear(value);
        throw new InvalidCastException($"{name} is not an object (VARIANT type {value.Type})");
    }

    private static void Clear(Variant value) => VariantClear(&value);

    private static void Check(int hresult, string what)
    {
        if (hresult < 0)
        {
            throw new COMException($"{what} failed", hresult);
        }
    }

    [LibraryImport("ole32.dll", StringMarshalling = StringMarshalling.Utf16)]
    private static partial int CLSIDFromProgID(string progId, out Guid clsid);

    [LibraryImport("ole32.dll")]
    private static partial int CoCreateInstance(in Guid clsid, nint outer, uint context, in Guid iid, out nint pointer);

    [LibraryImport("oleaut32.dll")]
    private static partial int VariantClear(Variant* value);

    /// <summary>VARIANT: the type, three reserved words, then the value (16 bytes on 64-bit, of which only the first word is used here).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Variant
    {
        public ushort Type;
        public ushort Reserved1, Reserved2, Reserved3;
        public nint Value;
        public nint Record;

        public Variant(ushort type, nint value)
        {
            Type = type;
            Value = value;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct DispParams
    {
        public Variant* Arguments;
        public int* NamedArguments;
        public uint ArgumentCount;
        public uint NamedArgumentCount;
    }

    /// <summary>EXCEPINFO, filled in when a call fails with DISP_E_EXCEPTION.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ExcepInfo
    {
        public ushort Code;
        public ushort Reserved;
        public nint Source;
        public nint Description;
        public nint HelpFile;
        public uint HelpContext;
        public nint Reserved2;
        public nint DeferredFillIn;
        public int SCode;
    }
}

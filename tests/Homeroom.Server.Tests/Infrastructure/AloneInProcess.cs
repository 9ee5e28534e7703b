namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// The trait of the test classes that measure the whole process's memory and so run in a collection with
/// parallelisation off: xunit runs such collections one at a time after all the others, on one thread, while
/// the machine's second core waits. scripts/test.sh runs them in a process of their own, in the lane beside the
/// server tests (<c>--filter Category=AloneInProcess</c>), and the rest with <c>--filter Category!=AloneInProcess</c>.
/// A plain <c>dotnet test</c> of this project still runs them, alone, at its end.
/// </summary>
public static class AloneInProcess
{
    public const string Trait = "Category";
    public const string Value = "AloneInProcess";
}

namespace Homeroom.Rules.Filtering;

/// <summary>One line of a list: its 1-based number and its text, or no text when it was too long.</summary>
/// <param name="Number">1-based line number.</param>
/// <param name="Text">The line without its line break; null when it was longer than the limit (it was skipped, never held whole).</param>
public readonly record struct FilterListLine(int Number, string? Text);

/// <summary>
/// Reads a list line by line (line breaks as <see cref="TextReader.ReadLine"/>: <c>\n</c>, <c>\r</c>,
/// <c>\r\n</c>) holding at most <see cref="MaxLength"/> characters of a line: a longer line is read
/// through in blocks, reported without its text, and its characters dropped as they arrive. So a
/// list whose single line is hundreds of megabytes costs a few kilobytes.
/// </summary>
public sealed class FilterListLineReader(TextReader reader, int maxLength = FilterListImport.MaxLineLength)
{
    private readonly char[] _buffer = new char[8192];
    private readonly char[] _line = new char[maxLength];
    private int _position;
    private int _length;
    private int _number;
    private bool _afterCarriageReturn;
    private bool _ended;

    /// <summary>Longest line returned with its text.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>Reads the next line; false at the end.</summary>
    public bool TryRead(out FilterListLine line)
    {
        var lineLength = 0;
        var tooLong = false;
        var started = false;
        while (true)
        {
            if (_position == _length)
            {
                _length = _ended ? 0 : reader.Read(_buffer, 0, _buffer.Length);
                _position = 0;
                if (_length == 0)
                {
                    _ended = true;
                    if (!started)
                    {
                        line = default;
                        return false;
                    }

                    break;
                }
            }

            if (_afterCarriageReturn)
            {
                _afterCarriageReturn = false;
                if (_buffer[_position] == '\n')
                {
                    _position++;
                    continue;
                }
            }

            started = true;
            var available = _buffer.AsSpan(_position, _length - _position);
            var end = available.IndexOfAny('\r', '\n');
            var text = end < 0 ? available : available[..end];
            var room = MaxLength - lineLength;
            if (text.Length > room)
            {
                tooLong = true;
            }

            if (!tooLong)
            {
                text.CopyTo(_line.AsSpan(lineLength));
                lineLength += text.Length;
            }

            if (end < 0)
            {
                _position = _length;
                continue;
            }

            _afterCarriageReturn = available[end] == '\r';
            _position += end + 1;
            break;
        }

        _number++;
        line = new FilterListLine(_number, tooLong ? null : new string(_line, 0, lineLength));
        return true;
    }
}

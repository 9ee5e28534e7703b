using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests;

public sealed class RemoteFileLimitsTests
{
    private static readonly Guid Session = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    private static readonly Guid Transfer = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c");

    [Theory]
    [InlineData("worksheet.pdf", "worksheet.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\kim\\notes.txt", "notes.txt")]
    [InlineData("bell\u0007.txt", "bell_.txt")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("what?.txt", "what_.txt")]
    [InlineData("  spaced.txt ", "spaced.txt")]
    [InlineData("dots...", "dots")]
    [InlineData("../..", "file")]
    [InlineData("", "file")]
    [InlineData(null, "file")]
    public void SafeName_UnsafeNames_BecomeSafeOnes(string? given, string expected)
    {
        RemoteFileLimits.SafeName(given).ShouldBe(expected);
        RemoteFileLimits.ValidateName(RemoteFileLimits.SafeName(given)).ShouldBeNull();
    }

    [Fact]
    public void SafeName_TooLong_IsCutKeepingTheExtension()
    {
        var safe = RemoteFileLimits.SafeName(new string('a', 300) + ".pdf");
        safe.Length.ShouldBe(RemoteFileLimits.MaxNameLength);
        safe.ShouldEndWith(".pdf");
    }

    [Fact]
    public void Validate_ChunkOutsideTheFileOrBadHash_IsRefused()
    {
        var sha = RemoteFileLimits.Sha256Hex([1, 2, 3]);
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", 3, sha, 0, [1, 2, 3])).ShouldBeNull();
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", 3, sha, 1, [1, 2, 3])).ShouldBe("remoteFile chunk outside the file");
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", 3, sha.ToUpperInvariant(), 0, [1, 2, 3])).ShouldNotBeNull();
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a/b.txt", 3, sha, 0, [1, 2, 3])).ShouldNotBeNull();
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", 3, sha, 0, [])).ShouldNotBeNull();
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", RemoteFileLimits.MaxFileBytes + 1, sha, 0, [1])).ShouldNotBeNull();
        RemoteFileLimits.Validate(new RemoteFileFrame(Session, Transfer, "a.txt", 100_000, sha, 0, new byte[RemoteFileLimits.ChunkBytes + 1])).ShouldNotBeNull();
    }

    [Fact]
    public void FullChunk_FitsTheTextFrameLimit()
    {
        var frame = new RemoteFileFrame(Session, Transfer, new string('n', RemoteFileLimits.MaxNameLength), RemoteFileLimits.MaxFileBytes, new string('a', 64), 0,
            new byte[RemoteFileLimits.ChunkBytes]);
        AgentFrameCodec.Serialize(frame).Length.ShouldBeLessThan(ProtocolLimits.MaxTextFrameBytes);
    }

    [Theory]
    [InlineData("Documents/essay.docx", null)]
    [InlineData("notes .txt", null)]
    [InlineData("a..b/c", null)]
    [InlineData("/etc/shadow", "the path must be relative to the home folder (no leading / or ~)")]
    [InlineData("~/notes.txt", "the path must be relative to the home folder (no leading / or ~)")]
    [InlineData("../other/x", "the path must not go up a folder (..)")]
    [InlineData("Documents/../../x", "the path must not go up a folder (..)")]
    [InlineData("Documents/..", "the path must not go up a folder (..)")]
    [InlineData("bell\u0007.txt", "the path has control characters")]
    [InlineData("line\nbreak", "the path has control characters")]
    [InlineData("Documents/", "the path names a folder, not a file")]
    [InlineData("", "the path is missing")]
    [InlineData(null, "the path is missing")]
    public void ValidateRequestPath_OnlyPlainPathsInsideTheHome_Pass(string? path, string? expected) =>
        RemoteFileLimits.ValidateRequestPath(path).ShouldBe(expected);

    [Fact]
    public void ValidateRequestPath_TooLong_IsRefused()
    {
        RemoteFileLimits.ValidateRequestPath(new string('a', RemoteFileLimits.MaxRequestPathLength)).ShouldBeNull();
        RemoteFileLimits.ValidateRequestPath(new string('a', RemoteFileLimits.MaxRequestPathLength + 1)).ShouldNotBeNull();
    }

    [Fact]
    public void Validate_UploadAndRequestStatus_FollowTheSameRules()
    {
        var sha = RemoteFileLimits.Sha256Hex([1, 2, 3]);
        RemoteFileLimits.Validate(new RemoteFileUploadFrame(Session, Transfer, "a.txt", 3, sha, 0, [1, 2, 3])).ShouldBeNull();
        RemoteFileLimits.Validate(new RemoteFileUploadFrame(Session, Transfer, "a.txt", 3, sha, 1, [1, 2, 3])).ShouldBe("remoteFileUpload chunk outside the file");
        RemoteFileLimits.Validate(new RemoteFileUploadFrame(Session, Transfer, ".hidden", 3, sha, 0, [1, 2, 3])).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteFileRequestStatusFrame(Session, Transfer, RemoteFileRequestStatuses.Denied, "the student denied it")).ShouldBeNull();
        AgentFrameValidator.Validate(new RemoteFileRequestStatusFrame(Session, Transfer, "maybe", null)).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteFileRequestStatusFrame(Session, Transfer, RemoteFileRequestStatuses.Refused, new string('r', 257))).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteFileUploadFrame(Session, Guid.Empty, "a.txt", 3, sha, 0, [1, 2, 3])).ShouldNotBeNull();
    }

    [Fact]
    public void Validate_ClipboardContent_IsTextOrAReasonWithinTheLimits()
    {
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, "hello\tworld\n", null)).ShouldBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, null, "the clipboard holds no text")).ShouldBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, "both", "reason")).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, null, null)).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, new string('é', 4097), null)).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Transfer, "bell \u0007", null)).ShouldNotBeNull();
        AgentFrameValidator.Validate(new RemoteClipboardContentFrame(Session, Guid.Empty, "x", null)).ShouldNotBeNull();
        // Fully escaped, the largest text still fits the text frame limit.
        AgentFrameCodec.Serialize(new RemoteClipboardContentFrame(Session, Transfer, new string('<', RemoteLimits.MaxClipboardBytes), null)).Length.ShouldBeLessThan(ProtocolLimits.MaxTextFrameBytes);
    }
}

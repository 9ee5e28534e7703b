using Homeroom.Agent.Capabilities.Users;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Who is signed in, from logind's answers (in the shapes <c>loginctl</c> prints: systemd 252 as in Debian 12, and 255 as
/// in Ubuntu 24.04, which added columns), and the account turned into what protocol v1 accepts.
/// </summary>
public sealed class SignedInUserParsingTests
{
    // systemd 252: SESSION UID USER SEAT TTY, the session right-aligned.
    private const string ListSessions252 = """
              2 1000 ada   seat0 tty2
             c1  117 gdm   seat0 tty1
              7 1001 ben         

        """;

    // systemd 255: SESSION UID USER SEAT LEADER CLASS TTY IDLE SINCE.
    private const string ListSessions255 = """
              3 1000 ada   seat0 1432 user    tty2  no   -
             c1  120 gdm   seat0 1021 greeter tty1  no   -
              9 1000 ada   -     2210 manager -     no   -
        """;

    private static string Show(params (string Id, string Name, string Type, string Class, string Active, string Remote, string State)[] sessions) =>
        string.Join("\n\n", sessions.Select(s => $"Id={s.Id}\nName={s.Name}\nRemote={s.Remote}\nType={s.Type}\nClass={s.Class}\nState={s.State}\nActive={s.Active}")) + "\n";

    [Fact]
    public void ParseSessionIds_Systemd252And255Columns_TakesTheFirstColumn()
    {
        LogindSessions.ParseSessionIds(ListSessions252).ShouldBe(["2", "c1", "7"]);
        LogindSessions.ParseSessionIds(ListSessions255).ShouldBe(["3", "c1", "9"]);
        LogindSessions.ParseSessionIds("").ShouldBeEmpty();
        // A first column that is not a session id is not passed on to show-session.
        LogindSessions.ParseSessionIds("$(reboot) 0 root\n../x 0 root\n").ShouldBeEmpty();
    }

    [Fact]
    public void ParseShowSession_SeveralBlocks_ReadsEachSession()
    {
        var sessions = LogindSessions.ParseShowSession(Show(("3", "ada", "wayland", "user", "yes", "no", "active"), ("c1", "gdm", "wayland", "greeter", "no", "no", "online")));

        sessions.Count.ShouldBe(2);
        sessions[0].ShouldBe(new LogindSession("3", "ada", "wayland", "user", Active: true, Remote: false, "active"));
        sessions[1].ShouldBe(new LogindSession("c1", "gdm", "wayland", "greeter", Active: false, Remote: false, "online"));
    }

    [Fact]
    public void ActiveGraphicalUser_StudentAtTheScreen_IsThem()
    {
        var output = Show(("c1", "gdm", "x11", "greeter", "no", "no", "online"), ("3", "ada", "x11", "user", "yes", "no", "active"), ("9", "ada", "unspecified", "manager", "yes", "no", "active"));

        LogindSessions.ActiveGraphicalUser(LogindSessions.ParseShowSession(output)).ShouldBe("ada");
    }

    [Fact]
    public void ActiveGraphicalUser_LoginScreenTextConsoleOrRemote_IsNobody()
    {
        // The greeter is in front: nobody has signed in.
        LogindSessions.ActiveGraphicalUser(LogindSessions.ParseShowSession(Show(("c1", "gdm", "wayland", "greeter", "yes", "no", "active")))).ShouldBeNull();
        // A text console and an SSH session are not someone at the screen.
        LogindSessions.ActiveGraphicalUser(LogindSessions.ParseShowSession(Show(
            ("4", "admin", "tty", "user", "yes", "no", "active"),
            ("5", "ben", "x11", "user", "yes", "yes", "active")))).ShouldBeNull();
        LogindSessions.ActiveGraphicalUser([]).ShouldBeNull();
    }

    [Fact]
    public void ActiveGraphicalUser_FastUserSwitching_IsTheSessionInFront()
    {
        var output = Show(("3", "ada", "x11", "user", "no", "no", "online"), ("6", "ben", "x11", "user", "yes", "no", "active"));

        LogindSessions.ActiveGraphicalUser(LogindSessions.ParseShowSession(output)).ShouldBe("ben");
    }

    [Fact]
    public void From_AccountAndDomain_IsIdAndEmail()
    {
        SignedInUsers.From("ada", "north.example.org", out var refused).ShouldBe(new SignedInUser("ada@north.example.org", "ada"));
        refused.ShouldBeNull();
        SignedInUsers.From("s12345", null, out _).ShouldBe(new SignedInUser(null, "s12345"));
        SignedInUsers.From(null, "north.example.org", out refused).ShouldBeNull();
        refused.ShouldBeNull();
    }

    [Fact]
    public void From_NameTheContractRefuses_IsNotSent()
    {
        SignedInUsers.From("Ada Lovelace", null, out var refused).ShouldBeNull();
        refused.ShouldBe("signedInUser.id has spaces or control characters");
        SignedInUsers.From("ada\u0007", null, out refused).ShouldBeNull();
        refused.ShouldNotBeNull();
        SignedInUsers.From(new string('a', ProtocolLimits.MaxShortText + 1), null, out refused).ShouldBeNull();
        refused!.ShouldContain("signedInUser.id");
        // The name fits, but with the domain the address is over the contract's limit.
        var name = new string('a', ProtocolLimits.MaxSignedInEmailLength - 10);
        SignedInUsers.From(name, null, out _).ShouldNotBeNull();
        SignedInUsers.From(name, "north.example.org", out refused).ShouldBeNull();
        refused!.ShouldContain("signedInUser.email");
        // A name with its own @ does not make an address.
        SignedInUsers.From("ada@home", "north.example.org", out refused).ShouldBeNull();
        refused.ShouldBe("signedInUser.email is not an e-mail address");
    }

    [Theory]
    [InlineData("north.example.org", true)]
    [InlineData("k12.district-7.us", true)]
    [InlineData("localhost", false)]
    [InlineData("north example.org", false)]
    [InlineData("x@north.example.org", false)]
    [InlineData(".example.org", false)]
    [InlineData("", false)]
    public void IsEmailDomain_Shapes(string domain, bool valid) => SignedInUsers.IsEmailDomain(domain).ShouldBe(valid);
}

using Homeroom.Agent.Diagnostics;

namespace Homeroom.Agent.Tests;

/// <summary>What a diagnostics report's log lines may not carry off the device.</summary>
public sealed class LogRedactionTests
{
    [Theory]
    [InlineData("enrolled with hre_Q2xhc3Nyb29tLXRva2VuLWZvci10ZXN0cw", "hre_")]
    [InlineData("credential hrd_AbCdEf0123456789-_xyzXYZ0123456789abcdef", "hrd_")]
    [InlineData("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGci")]
    [InlineData("password=hunter22 for admin", "hunter22")]
    [InlineData("\"apiKey\": \"k-123\"", "k-123")]
    [InlineData("GET https://user:pa55@proxy.example/ failed", "pa55")]
    [InlineData("key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 loaded", "9f86d081")]
    public void Redact_Secret_IsGone(string line, string secret)
    {
        var redacted = LogRedaction.Redact(line);

        redacted.ShouldNotContain(secret);
        redacted.ShouldContain(LogRedaction.Mark);
    }

    [Theory]
    [InlineData("Connected to http://127.0.0.1:5080/ as device 0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")]
    [InlineData("Applied policy version 12 (0 failure(s))")]
    [InlineData("Ended firefox-esr (process 4242): package firefox-esr is blocked by policy")]
    public void Redact_OrdinaryLine_IsLeftAsItWas(string line) => LogRedaction.Redact(line).ShouldBe(line);
}

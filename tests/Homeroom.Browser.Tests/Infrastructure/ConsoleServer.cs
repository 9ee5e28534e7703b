namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>
/// A console test class's own server (SQLite, detailed console errors) and Chromium, for tests that must not
/// share the console district (whose tests count its devices and records).
/// </summary>
public sealed class ConsoleServer : BrowserDistrict;

// These tests run the Linux implementation for real; the Windows and macOS ones compile in the agent but are not run here.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

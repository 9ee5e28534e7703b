namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// The test classes that install and remove packages on this machine for real (dpkg, apt-get): they share dpkg's
/// one lock, so they run one after another, never beside each other (apt-get fails at once on a held lock).
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackageDatabaseCollection
{
    public const string Name = "the machine's package database";
}

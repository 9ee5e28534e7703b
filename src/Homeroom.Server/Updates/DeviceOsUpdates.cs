using System.Data.Common;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Updates;

/// <summary>
/// A desktop agent's OS update status as it last reported it (<c>InventoryFrame.osUpdates</c>, validated by the
/// protocol's limits before it gets here): one row per device, replaced by each report, deleted with the device.
/// </summary>
public sealed class DeviceOsUpdate
{
    public Guid DeviceId { get; set; }
    public int Pending { get; set; }
    public int Security { get; set; }
    public bool RebootRequired { get; set; }
    public DateTime? CheckedAt { get; set; }
    public DateTime? LastInstallAt { get; set; }
    public bool? LastInstallOk { get; set; }
    public string? LastInstallResult { get; set; }
    public string? Error { get; set; }
    public DateTime ReportedAt { get; set; }
}

internal sealed class DeviceOsUpdateConfiguration : IEntityTypeConfiguration<DeviceOsUpdate>
{
    public void Configure(EntityTypeBuilder<DeviceOsUpdate> builder)
    {
        builder.ToTable("device_os_updates");
        builder.HasKey(u => u.DeviceId);
    }
}

/// <summary>Writes the OS update status of a batch of inventory reports, in the inventory writer's transaction.</summary>
public static class DeviceOsUpdateRows
{
    private const string UpsertSql = """
        INSERT INTO device_os_updates (device_id, pending, security, reboot_required, checked_at, last_install_at, last_install_ok, last_install_result, error, reported_at)
        VALUES (@id, @p, @s, @r, @c, @li, @lo, @lr, @e, @at)
        ON CONFLICT (device_id) DO UPDATE SET
            pending = excluded.pending, security = excluded.security, reboot_required = excluded.reboot_required,
            checked_at = excluded.checked_at, last_install_at = excluded.last_install_at, last_install_ok = excluded.last_install_ok,
            last_install_result = excluded.last_install_result, error = excluded.error, reported_at = excluded.reported_at
        """;

    private static readonly string[] Parameters = ["@id", "@p", "@s", "@r", "@c", "@li", "@lo", "@lr", "@e", "@at"];

    /// <summary>Stores the status of each report that carries one; a report without it leaves the stored row alone.</summary>
    public static Task<int> WriteAsync(BulkSql bulk, DbConnection connection, DbTransaction transaction, IReadOnlyList<InventoryReport> batch, CancellationToken cancellationToken)
    {
        var reports = batch.Where(r => r.Inventory.OsUpdates is not null).ToList();
        return reports.Count == 0
            ? Task.FromResult(0)
            : bulk.ExecuteManyAsync(connection, transaction, UpsertSql, Parameters, reports, (r, v) =>
            {
                var u = r.Inventory.OsUpdates!;
                v[0] = bulk.Id(r.DeviceId);
                v[1] = u.Pending;
                v[2] = u.Security;
                v[3] = u.RebootRequired;
                v[4] = u.CheckedAt?.UtcDateTime;
                v[5] = u.LastInstallAt?.UtcDateTime;
                v[6] = u.LastInstallOk;
                v[7] = u.LastInstallResult;
                v[8] = u.Error;
                v[9] = r.ReceivedAt;
            }, cancellationToken);
    }
}

using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>
/// Renames, tags, assigns, moves, marks shared or changes the state of a device (API and console). The device must
/// be in the caller's scope, a new assignee too, and a move to another school is checked against
/// both the old and the new school. Every change is audited, and the device's policy is resolved again. Its browser
/// extensions (companions) follow its school and student; retiring it revokes them.
/// </summary>
public sealed class UpdateDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, SharedDeviceSignIn signIn, Enrollment.CompanionBrowsers companions)
{
    public const int MaxNameLength = 200;
    public const int MaxAssetTagLength = 100;

    /// <summary>Applies the request; false when the device is not in the scope (nothing changes).</summary>
    public async Task<bool> ExecuteAsync(StaffScope scope, Guid id, UpdateDeviceRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        var validation = new Validation()
            .Optional("name", request.Name, MaxNameLength)
            .Optional("assetTag", request.AssetTag, MaxAssetTagLength)
            .Check(request.Name is null || request.Name.Trim().Length > 0, "name", "Must not be empty.")
            .Check(request.State is null || Enum.IsDefined(request.State.Value), "state", "Unknown state.")
            .Check(!(request.Unassign == true && request.AssignedPersonId is not null), "assignedPersonId", "Give assignedPersonId or unassign, not both.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (request.AssignedPersonId is { } personId && !await scope.People(db).AnyAsync(p => p.Id == personId, cancellationToken))
        {
            validation.Add("assignedPersonId", "No such person in your scope.");
        }

        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        if (!await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken))
        {
            return false;
        }

        var device = await db.Devices.FirstAsync(d => d.Id == id, cancellationToken);
        var changes = new List<string>();
        if (request.SchoolId is { } school && school != device.SchoolId)
        {
            // Moving a device takes both schools: the one it leaves and the one it joins.
            scope.EnsureIncludesSchool(device.SchoolId, "schoolId");
            scope.EnsureIncludesSchool(school, "schoolId");
            changes.Add($"schoolId={device.SchoolId}->{school}");
            device.SchoolId = school;
        }

        if (request.Name is not null && request.Name.Trim() != device.Name)
        {
            device.Name = request.Name.Trim();
            changes.Add($"name={device.Name}");
        }

        if (request.AssetTag is not null && (request.AssetTag.Length == 0 ? null : request.AssetTag) != device.AssetTag)
        {
            device.AssetTag = request.AssetTag.Length == 0 ? null : request.AssetTag;
            changes.Add($"assetTag={device.AssetTag}");
        }

        if (request.State is { } state && state != device.State)
        {
            changes.Add($"state={device.State}->{state}");
            device.State = state;
        }

        if (request.AssignedPersonId is { } assignee && assignee != device.AssignedPersonId)
        {
            device.AssignedPersonId = assignee;
            changes.Add($"assignedPersonId={assignee}");
        }
        else if (request.Unassign == true && device.AssignedPersonId is not null)
        {
            device.AssignedPersonId = null;
            changes.Add("unassigned");
        }

        if (request.Shared is { } shared && shared != device.Shared)
        {
            device.Shared = shared;
            changes.Add(shared ? "shared" : "not shared");
        }

        // A shared device follows its signed-in student of its own school: marking it, unmarking it or moving it matches again.
        if (changes.Count > 0 && await signIn.RematchAsync(db, device, cancellationToken))
        {
            changes.Add($"signedInPersonId={device.SignedInPersonId?.ToString() ?? "none"}");
        }

        if (changes.Count > 0)
        {
            audit.Record(db, "device.update", "device", id.ToString(), string.Join("; ", changes), device.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
            signIn.Rematched(device);
            // Its browser extensions (companions) are the same computer: same school, same student; retired, they go with it.
            await db.Devices.Where(d => d.CompanionOf == id)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.SchoolId, device.SchoolId).SetProperty(d => d.AssignedPersonId, device.AssignedPersonId), cancellationToken);
            if (device.State == DeviceState.Retired)
            {
                await companions.RevokeAsync(id, "the desktop was retired", cancellationToken);
            }

            policies.RequestDevice(id);
        }

        return true;
    }
}

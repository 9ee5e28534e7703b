using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Support;

/// <summary>Which help requests a staff member reaches: a teacher those routed to their own classes, others their school's (all district-wide).</summary>
public static class SupportScope
{
    public static IQueryable<HelpRequest> HelpRequests(this StaffScope scope, HomeroomDbContext db)
    {
        var requests = db.Set<HelpRequest>().AsNoTracking();
        if (scope.IsDistrictWide)
        {
            return requests;
        }

        if (scope.Role == StaffRole.Teacher)
        {
            var classes = scope.OwnClassIds(db);
            return requests.Where(r => r.GroupId != null && classes.Contains(r.GroupId.Value));
        }

        var school = scope.SchoolId;
        return requests.Where(r => r.SchoolId == school);
    }
}

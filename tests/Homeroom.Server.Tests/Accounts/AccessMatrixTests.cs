using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>
/// Visits every endpoint of the OpenAPI document as every role, signed out, in the caller's own school
/// and in another, and checks who gets in: a role the rule does not name is refused (403), another
/// school's resource does not exist for the caller (404, or 403 for a school named in the body) and
/// nothing is changed, the caller's own school is served, and every answer is one the document
/// declares. An endpoint the table below does not name fails the test: a new endpoint must state who
/// may use it.
/// </summary>
public abstract class AccessMatrixTests(AccessMatrixServer server)
{
    private const string DA = "districtAdmin", SA = "schoolAdmin", IT = "itTechnician", TE = "teacher", SL = "safetyLead", RO = "readOnly";

    private static readonly string[] Everyone = AccessDistrict.Roles;
    private static readonly string[] DistrictOnly = [DA];
    private static readonly string[] Admins = [DA, SA];
    private static readonly string[] DeviceReaders = [DA, SA, IT, RO];
    private static readonly string[] DeviceManagers = [DA, SA, IT];
    private static readonly string[] RosterReaders = [DA, SA, IT, SL, RO];
    private static readonly string[] PersonalData = [DA, SA, SL];
    private static readonly string[] AlertReaders = [DA, SA, IT, SL];
    private static readonly string[] PolicyReaders = [DA, SA, IT, RO];
    private static readonly string[] ClassroomUsers = [DA, SA, TE];
    private static readonly string[] ScheduleReaders = [DA, SA, IT, TE, SL, RO];
    private static readonly string[] SafetyReaders = [DA, SL];
    private static readonly string[] SafetyTesters = [DA, SA, SL];
    private static readonly string[] InsightReaders = [DA, SA, IT, SL, RO];
    private static readonly string[] UpdateReaders = [DA, SA];
    private static readonly string[] HelpQueue = [DA, SA, IT];
    private static readonly string[] HelpUsers = [DA, SA, IT, TE];
    private static readonly string[] DiagnosticsUsers = [DA, SA, IT];
    private static readonly string[] ScriptRunners = [DA, SA, IT];
    private static readonly string[] RemoteSupporters = [DA, IT];

    /// <summary>What the {id} of a path is, and so which school a call concerns.</summary>
    private enum Kind
    {
        /// <summary>No resource in the path, and no school in the body.</summary>
        None,

        /// <summary>No resource in the path; the body names resources of a school ({school}, {class}, ...).</summary>
        Body,

        Device,
        Class,
        Person,
        School,
        Account,
        Token,
        Command,
        Alert,
        Zone,
        Profile,
        Assignment,
        SafetyAlert,

        /// <summary>A catalog app: district-wide, no school.</summary>
        App,

        /// <summary>An app assignment (on a school's resource).</summary>
        AppAssignment,

        /// <summary>A student's help request (routed to the school's class, in session).</summary>
        HelpRequest,

        /// <summary>The caller's own API key, a district filter list or wallpaper: no school.</summary>
        Own,
    }

    /// <param name="Method">The HTTP method.</param>
    /// <param name="Path">The path as the OpenAPI document writes it.</param>
    /// <param name="Who">The roles that may use it.</param>
    /// <param name="Kind">What the path's id is (or that the body names a school's resources).</param>
    /// <param name="Body">The JSON body, with placeholders for the school's resources.</param>
    /// <param name="Fresh">The call changes or removes its resource: allowed callers get a fresh one of their school each time.</param>
    /// <param name="Query">The query string, with placeholders.</param>
    /// <param name="FreshCaller">The call ends the caller's session: it is made by a new account of the same role.</param>
    /// <param name="OwnAnswer">The answer an allowed caller in their own school gets, when it is not a success (a body refused on purpose).</param>
    private sealed record Rule(
        string Method, string Path, string[] Who, Kind Kind, string? Body = null, bool Fresh = false, string? Query = null, bool FreshCaller = false, HttpStatusCode? OwnAnswer = null);

    /// <summary>Who may use each endpoint: the specification this test holds the server to.</summary>
    private static readonly Rule[] Rules =
    [
        new("POST", "/api/auth/logout", Everyone, Kind.None, FreshCaller: true),
        new("GET", "/api/auth/me", Everyone, Kind.None),
        new("POST", "/api/auth/password", Everyone, Kind.None, """{"currentPassword":"a long enough passphrase","newPassword":"short"}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("GET", "/api/auth/sessions", Everyone, Kind.None),
        new("DELETE", "/api/auth/sessions", Everyone, Kind.None),
        new("DELETE", "/api/auth/sessions/{id}", Everyone, Kind.Own, Fresh: true, FreshCaller: true),
        new("GET", "/api/api-keys", Everyone, Kind.None),
        new("POST", "/api/api-keys", Everyone, Kind.None, """{"name":"script"}"""),
        new("DELETE", "/api/api-keys/{id}", Everyone, Kind.Own, Fresh: true),
        new("GET", "/api/auth/two-step", Everyone, Kind.None),
        new("POST", "/api/auth/two-step/setup", Everyone, Kind.None, """{"currentPassword":""}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("POST", "/api/auth/two-step/confirm", Everyone, Kind.None, """{"code":"123456"}""", OwnAnswer: HttpStatusCode.Conflict),
        new("POST", "/api/auth/two-step/recovery-codes", Everyone, Kind.None, """{"currentPassword":""}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("POST", "/api/auth/two-step/disable", Everyone, Kind.None, """{"currentPassword":"","code":""}""", OwnAnswer: HttpStatusCode.BadRequest),

        new("GET", "/api/accounts", Admins, Kind.None),
        new("POST", "/api/accounts", DistrictOnly, Kind.Body, """{"username":"{unique}","displayName":"New","password":"a long enough passphrase","role":"readOnly","schoolId":"{school}"}"""),
        new("PUT", "/api/accounts/{id}", DistrictOnly, Kind.Account, """{"disabled":false}"""),
        new("DELETE", "/api/accounts/{id}/two-step", DistrictOnly, Kind.Account, Fresh: true),
        new("GET", "/api/sign-in/mappings", DistrictOnly, Kind.None),
        new("PUT", "/api/sign-in/mappings", DistrictOnly, Kind.None, """{"mappings":[]}"""),

        new("GET", "/api/schools", RosterReaders, Kind.None),
        new("POST", "/api/schools", DistrictOnly, Kind.None, """{"name":"{unique}","timeZone":"UTC"}"""),
        new("GET", "/api/schools/{id}", RosterReaders, Kind.School),
        new("PUT", "/api/schools/{id}", DistrictOnly, Kind.School, """{"name":"Renamed {unique}","timeZone":"UTC"}""", Fresh: true),
        new("DELETE", "/api/schools/{id}", DistrictOnly, Kind.School, Fresh: true),
        new("POST", "/api/roster/oneroster/imports", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.BadRequest),
        new("GET", "/api/roster/oneroster/imports", DistrictOnly, Kind.None),
        new("GET", "/api/roster/oneroster/imports/{id}", DistrictOnly, Kind.Own),
        new("POST", "/api/roster/oneroster/imports/{id}/apply", DistrictOnly, Kind.Own, Fresh: true),
        new("GET", "/api/roster/oneroster/connection", DistrictOnly, Kind.None),
        new("PUT", "/api/roster/oneroster/connection", DistrictOnly, Kind.None, """{"baseUrl":"http://sis.example.org","version":"1.1","clientId":"key","clientSecret":"secret"}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("POST", "/api/roster/oneroster/connection/test", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.Conflict),
        new("POST", "/api/roster/oneroster/sync", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.Conflict),
        new("POST", "/api/roster/rollover", DistrictOnly, Kind.None, """{"dryRun":true}"""),

        new("GET", "/api/groups", RosterReaders, Kind.None),
        new("POST", "/api/groups", Admins, Kind.Body, """{"name":"{unique}","kind":"custom","schoolId":"{school}"}"""),
        new("GET", "/api/groups/{id}", RosterReaders, Kind.Class),
        new("PUT", "/api/groups/{id}", Admins, Kind.Class, """{"name":"{unique}","kind":"class","schoolId":"{school}"}""", Fresh: true),
        new("DELETE", "/api/groups/{id}", Admins, Kind.Class, Fresh: true),
        new("POST", "/api/groups/{id}/members", Admins, Kind.Class, """{"personIds":["{student}"],"deviceIds":["{device}"]}""", Fresh: true),
        new("POST", "/api/groups/{id}/members/remove", Admins, Kind.Class, """{"personIds":["{student}"]}""", Fresh: true),
        new("GET", "/api/groups/{id}/people", RosterReaders, Kind.Class),

        new("GET", "/api/people", RosterReaders, Kind.None),
        new("POST", "/api/people", Admins, Kind.Body, """{"kind":"student","givenName":"New","familyName":"{unique}","schoolId":"{school}"}"""),
        new("GET", "/api/people/{id}", RosterReaders, Kind.Person),
        new("PUT", "/api/people/{id}", Admins, Kind.Person, """{"kind":"student","givenName":"Renamed","familyName":"{unique}","schoolId":"{school}"}""", Fresh: true),
        new("DELETE", "/api/people/{id}", Admins, Kind.Person, Fresh: true),

        new("GET", "/api/devices", DeviceReaders, Kind.None),
        new("GET", "/api/devices/{id}", DeviceReaders, Kind.Device),
        new("PATCH", "/api/devices/{id}", DeviceManagers, Kind.Device, """{"assetTag":"{unique}"}"""),
        new("GET", "/api/devices/{id}/apps", DeviceReaders, Kind.Device),
        new("GET", "/api/devices/{id}/commands", DeviceReaders, Kind.Device),
        new("POST", "/api/devices/{id}/diagnostics", DiagnosticsUsers, Kind.Device),
        new("GET", "/api/devices/{id}/diagnostics", DiagnosticsUsers, Kind.Device),
        new("GET", "/api/devices/{id}/diagnostics/history", DiagnosticsUsers, Kind.Device),
        new("POST", "/api/groups/{id}/diagnostics", DiagnosticsUsers, Kind.Class),
        new("GET", "/api/groups/{id}/diagnostics", DiagnosticsUsers, Kind.Class),
        new("GET", "/api/diagnostics/sites", DiagnosticsUsers, Kind.None),
        new("PUT", "/api/diagnostics/sites", DistrictOnly, Kind.None, """{"sites":["https://example.org/"]}"""),
        new("GET", "/api/scripts", ScriptRunners, Kind.None),
        new("POST", "/api/scripts", DistrictOnly, Kind.None, """{"name":"{unique}","platform":"linux","body":"echo hi","timeLimitSeconds":30}"""),
        new("GET", "/api/scripts/{id}", ScriptRunners, Kind.Own, Fresh: true),
        new("PUT", "/api/scripts/{id}", DistrictOnly, Kind.Own, """{"name":"{unique}","platform":"linux","body":"echo edited","timeLimitSeconds":30}""", Fresh: true),
        new("POST", "/api/scripts/{id}/approve", DistrictOnly, Kind.Own, """{"version":1}""", Fresh: true),
        // The test devices are Chromebooks: a Linux script is refused for one of them (400); in a group they are recorded as failed.
        new("POST", "/api/devices/{id}/scripts", ScriptRunners, Kind.Device, """{"scriptId":"{script}"}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("GET", "/api/devices/{id}/scripts", ScriptRunners, Kind.Device),
        new("POST", "/api/groups/{id}/scripts", ScriptRunners, Kind.Class, """{"scriptId":"{script}"}"""),
        new("GET", "/api/groups/{id}/scripts", ScriptRunners, Kind.Class),
        // The matrix's devices are offline: a session cannot start (409) and there is none to end (404).
        new("POST", "/api/devices/{id}/remote-session", RemoteSupporters, Kind.Device, """{"mode":"view"}""", OwnAnswer: HttpStatusCode.Conflict),
        new("DELETE", "/api/devices/{id}/remote-session", RemoteSupporters, Kind.Device, OwnAnswer: HttpStatusCode.NotFound),
        new("GET", "/api/devices/{id}/remote-session", RemoteSupporters, Kind.Device),
        new("POST", "/api/devices/{id}/remote-session/{sessionId}/files", RemoteSupporters, Kind.Device, Query: "name=notes.txt", OwnAnswer: HttpStatusCode.NotFound),
        new("POST", "/api/devices/{id}/remote-session/{sessionId}/device-files", RemoteSupporters, Kind.Device, """{"path":"Documents/notes.txt"}""", OwnAnswer: HttpStatusCode.NotFound),
        new("GET", "/api/devices/{id}/remote-session/{sessionId}/device-files/{transferId}", RemoteSupporters, Kind.Device, OwnAnswer: HttpStatusCode.NotFound),
        new("POST", "/api/devices/{id}/revoke", DeviceManagers, Kind.Device, Fresh: true),
        new("POST", "/api/devices/{id}/approve-reenrollment", DeviceManagers, Kind.Device),
        new("GET", "/api/devices/{id}/swap-candidates", DeviceManagers, Kind.Device),
        new("POST", "/api/devices/{id}/swap", DeviceManagers, Kind.Device, """{"reason":"cracked screen"}""", OwnAnswer: HttpStatusCode.Conflict),
        new("POST", "/api/devices/{id}/return-to-pool", DeviceManagers, Kind.Device, """{"groupId":"{class}"}""", OwnAnswer: HttpStatusCode.BadRequest),
        new("GET", "/api/repairs", DeviceReaders, Kind.None),
        new("GET", "/api/devices/{id}/policy", PolicyReaders, Kind.Device),
        new("GET", "/api/devices/{id}/filter-check", PolicyReaders, Kind.Device, Query: "url=https://example.org/"),
        new("GET", "/api/devices/{id}/locations", PersonalData, Kind.Device),
        new("GET", "/api/devices/{id}/zones", PersonalData, Kind.Device),
        new("GET", "/api/policies/compliance", PolicyReaders, Kind.None),

        new("GET", "/api/enrollment-tokens", DeviceManagers, Kind.None),
        new("POST", "/api/enrollment-tokens", DeviceManagers, Kind.Body, """{"name":"{unique}","schoolId":"{school}"}"""),
        new("GET", "/api/enrollment-tokens/{id}", DeviceManagers, Kind.Token),
        new("POST", "/api/enrollment-tokens/{id}/revoke", DeviceManagers, Kind.Token, Fresh: true),

        new("POST", "/api/commands", DeviceManagers, Kind.Body, """{"kind":"ping","deviceIds":["{device}"]}"""),
        new("GET", "/api/commands", DeviceReaders, Kind.None),
        new("GET", "/api/commands/{id}", DeviceReaders, Kind.Command),
        new("GET", "/api/commands/{id}/deliveries", DeviceReaders, Kind.Command),

        new("GET", "/api/audit", Admins, Kind.None),
        new("GET", "/api/activity", PersonalData, Kind.Body, Query: "deviceId={device}"),

        new("GET", "/api/filter-lists", PolicyReaders, Kind.None),
        new("POST", "/api/filter-lists", DistrictOnly, Kind.None, Query: "name={unique}&format=plain&category=test"),
        new("GET", "/api/filter-lists/categories", PolicyReaders, Kind.None),
        new("GET", "/api/filter-lists/lookup", PolicyReaders, Kind.None, Query: "url=https://example.org/"),
        new("DELETE", "/api/filter-lists/{id}", DistrictOnly, Kind.Own, Fresh: true),

        new("GET", "/api/profiles", PolicyReaders, Kind.None),
        new("POST", "/api/profiles", Admins, Kind.Body, """{"name":"{unique}","schoolId":"{school}","settings":{}}"""),
        new("GET", "/api/profiles/settings", PolicyReaders, Kind.None),
        new("GET", "/api/profiles/{id}", PolicyReaders, Kind.None, Query: null),
        new("PUT", "/api/profiles/{id}", Admins, Kind.Profile, """{"name":"{unique}","settings":{}}""", Fresh: true),
        new("DELETE", "/api/profiles/{id}", Admins, Kind.Profile, Fresh: true),

        new("GET", "/api/assignments", PolicyReaders, Kind.None),
        new("POST", "/api/assignments", Admins, Kind.Body, """{"profileId":"{profile}","level":"group","scopeId":"{class}","priority":{number}}"""),
        new("POST", "/api/assignments/preview", Admins, Kind.Body, """{"profileId":"{profile}","level":"group","scopeId":"{class}","priority":{number}}"""),
        new("PUT", "/api/assignments/{id}", Admins, Kind.Assignment, """{"profileId":"{profile}","level":"school","scopeId":"{school}","priority":{number}}""", Fresh: true),
        new("DELETE", "/api/assignments/{id}", Admins, Kind.Assignment, Fresh: true),

        new("GET", "/api/apps", PolicyReaders, Kind.None),
        new("POST", "/api/apps", DistrictOnly, Kind.None, """{"name":"{unique}","category":"education","webAppUrl":"https://example.org/{unique}"}"""),
        new("GET", "/api/apps/{id}", PolicyReaders, Kind.App),
        new("PUT", "/api/apps/{id}", DistrictOnly, Kind.App, """{"name":"{unique}","category":"reference","webAppUrl":"https://example.org/"}""", Fresh: true),
        new("DELETE", "/api/apps/{id}", DistrictOnly, Kind.App, Fresh: true),
        new("GET", "/api/apps/{id}/assignments", PolicyReaders, Kind.App),
        new("POST", "/api/apps/{id}/assignments", Admins, Kind.Body, """{"intent":"required","level":"group","scopeId":"{class}"}""", Fresh: true),
        new("PUT", "/api/app-assignments/{id}", Admins, Kind.AppAssignment, """{"intent":"blocked","level":"school","scopeId":"{school}"}""", Fresh: true),
        new("DELETE", "/api/app-assignments/{id}", Admins, Kind.AppAssignment, Fresh: true),
        new("GET", "/api/devices/{id}/effective-apps", PolicyReaders, Kind.Device),
        new("GET", "/api/devices/{id}/apps/status", PolicyReaders, Kind.Device),

        new("GET", "/api/zones", PolicyReaders, Kind.None),
        new("POST", "/api/zones", Admins, Kind.Body, """{"type":"Feature","properties":{"name":"{unique}","kind":"campus","schoolId":"{school}","radius":200},"geometry":{"type":"Point","coordinates":[-73.5,45.5]}}"""),
        new("GET", "/api/zones/{id}", PolicyReaders, Kind.None),
        new("PUT", "/api/zones/{id}", Admins, Kind.Zone, """{"type":"Feature","properties":{"name":"{unique}","kind":"campus","schoolId":"{school}","radius":250},"geometry":{"type":"Point","coordinates":[-73.5,45.5]}}""", Fresh: true),
        new("DELETE", "/api/zones/{id}", Admins, Kind.Zone, Fresh: true),
        new("POST", "/api/zones/import", Admins, Kind.Body, """{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"{unique}","kind":"campus","schoolId":"{school}","radius":200},"geometry":{"type":"Point","coordinates":[-73.5,45.5]}}]}"""),
        new("GET", "/api/zones/{id}/devices", PersonalData, Kind.None),

        new("GET", "/api/alerts", AlertReaders, Kind.None),
        new("GET", "/api/alerts/{id}", AlertReaders, Kind.Alert),
        new("POST", "/api/alerts/{id}/acknowledge", PersonalData, Kind.Alert),
        new("GET", "/api/safety/alerts", SafetyReaders, Kind.None, Query: "status=open&severity=low"),
        new("GET", "/api/safety/alerts/{id}", SafetyReaders, Kind.SafetyAlert),
        new("GET", "/api/safety/alerts/{id}/history", SafetyReaders, Kind.SafetyAlert),
        new("GET", "/api/safety/alerts/{id}/screenshots/{screenshotId}", SafetyReaders, Kind.SafetyAlert),
        new("POST", "/api/safety/alerts/{id}/assign", SafetyReaders, Kind.SafetyAlert, """{"accountId":null}"""),
        new("POST", "/api/safety/alerts/{id}/status", SafetyReaders, Kind.SafetyAlert, """{"status":"inReview","note":"Looking into it"}"""),
        new("POST", "/api/safety/alerts/{id}/notes", SafetyReaders, Kind.SafetyAlert, """{"text":"Spoke with the counselor"}"""),
        new("GET", "/api/safety/trends", SafetyReaders, Kind.None),
        new("DELETE", "/api/safety/students/{id}", SafetyReaders, Kind.Person, Fresh: true),
        new("POST", "/api/safety/scan", SafetyTesters, Kind.None, """{"text":"what a loser"}"""),
        new("GET", "/api/safety/lexicon/adjustments", SafetyReaders, Kind.None),
        new("POST", "/api/safety/lexicon/adjustments", DistrictOnly, Kind.None, """{"kind":"add","phrase":"{unique}","category":"bullying","weight":5,"language":"en"}"""),
        new("DELETE", "/api/safety/lexicon/adjustments/{id}", DistrictOnly, Kind.Own, Fresh: true),
        new("POST", "/api/safety/lexicon/import", DistrictOnly, Kind.None, """{"category":"bullying","language":"en","text":"<nobody likes you><20>\n"}"""),
        new("GET", "/api/schools/{id}/safety-settings", SafetyReaders, Kind.School),
        new("PUT", "/api/schools/{id}/safety-settings", SafetyReaders, Kind.School, """{"contacts":[{"name":"Dana Counselor","email":"dana@example.org"}],"escalateAfterMinutes":10,"quietHours":{"start":"21:00","end":"07:00","days":["monday"]}}"""),
        new("GET", "/api/schools/{id}/notifications", Admins, Kind.School),
        new("PUT", "/api/schools/{id}/notifications", Admins, Kind.School, """{"emailKinds":["outOfBounds"],"emailAddresses":["office@example.org"]}"""),
        new("GET", "/api/schools/{id}/remote-support", Admins, Kind.School),
        new("PUT", "/api/schools/{id}/remote-support", Admins, Kind.School, """{"sessionsAllowed":true,"technicianConsent":"consent","districtAdminConsent":"consent","clipboardAllowed":false}"""),

        new("GET", "/api/apple/wallpapers", DeviceManagers, Kind.None),
        new("POST", "/api/apple/wallpapers", DistrictOnly, Kind.None, Query: "name={unique}"),
        new("DELETE", "/api/apple/wallpapers/{id}", DistrictOnly, Kind.Own, Fresh: true),
        new("GET", "/api/apple/push-certificate", DistrictOnly, Kind.None),
        new("POST", "/api/apple/push-certificate/request", DistrictOnly, Kind.None),
        new("PUT", "/api/apple/push-certificate", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.BadRequest),
        new("GET", "/api/apple/school-manager", DistrictOnly, Kind.None),
        new("GET", "/api/apple/school-manager/public-key", DistrictOnly, Kind.None),
        new("PUT", "/api/apple/school-manager/server-token", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.BadRequest),
        new("PUT", "/api/apple/school-manager/content-token", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.BadRequest),
        new("POST", "/api/apple/school-manager/sync", DistrictOnly, Kind.None, OwnAnswer: HttpStatusCode.Conflict),
        new("GET", "/api/apple/school-manager/devices", DistrictOnly, Kind.None),

        // The test devices are Chromebooks: their Apple status is "not an MDM device" (404) in their own school too.
        new("GET", "/api/devices/{id}/apple-status", DeviceReaders, Kind.Device, OwnAnswer: HttpStatusCode.NotFound),

        new("GET", "/api/classes", ClassroomUsers, Kind.None),
        new("GET", "/api/groups/{id}/schedule", ScheduleReaders, Kind.Class),
        new("PUT", "/api/groups/{id}/schedule", Admins, Kind.Class, """{"termStart":"2026-01-01","termEnd":"2026-12-31","meetings":[{"days":["monday"],"start":"08:00","end":"09:00"}]}""", Fresh: true),
        new("GET", "/api/groups/{id}/session", ScheduleReaders, Kind.Class),
        new("POST", "/api/groups/{id}/session", ClassroomUsers, Kind.Class, """{"minutes":20}"""),
        new("DELETE", "/api/groups/{id}/session", ClassroomUsers, Kind.Class),
        new("GET", "/api/groups/{id}/sessions", ScheduleReaders, Kind.Class),
        new("POST", "/api/groups/{id}/screen-view", ClassroomUsers, Kind.Class),
        new("DELETE", "/api/groups/{id}/screen-view", ClassroomUsers, Kind.Class),
        new("GET", "/api/groups/{id}/screens", ClassroomUsers, Kind.Class),
        new("GET", "/api/groups/{id}/screens/{deviceId}", ClassroomUsers, Kind.Class),
        new("GET", "/api/groups/{id}/classroom", ClassroomUsers, Kind.Class),
        new("POST", "/api/groups/{id}/commands", ClassroomUsers, Kind.Class, """{"kind":"message","arguments":{"text":"Eyes up front"}}"""),

        new("GET", "/api/insights/blocked-sites", InsightReaders, Kind.Body, Query: "schoolId={school}"),
        new("GET", "/api/insights/blocked-apps", InsightReaders, Kind.Body, Query: "schoolId={school}&format=csv"),
        new("GET", "/api/insights/blocked-categories", InsightReaders, Kind.Body, Query: "schoolId={school}"),
        new("GET", "/api/insights/blocked-sites/students", PersonalData, Kind.Body, Query: "schoolId={school}&site=example.org"),
        new("GET", "/api/insights/top-sites", InsightReaders, Kind.Body, Query: "classId={class}&order=students"),
        new("GET", "/api/insights/top-apps", InsightReaders, Kind.Body, Query: "schoolId={school}"),
        new("GET", "/api/insights/apps", InsightReaders, Kind.Body, Query: "schoolId={school}"),
        // A report filtered by another school's id answers 400: that school is unknown in the caller's scope.
        new("GET", "/api/insights/fleet-health", InsightReaders, Kind.Body, Query: "schoolId={school}"),
        new("GET", "/api/insights/classroom", InsightReaders, Kind.Body, Query: "schoolId={school}&classId={class}"),
        new("GET", "/api/insights/schedules", DistrictOnly, Kind.None),
        new("POST", "/api/insights/schedules", DistrictOnly, Kind.None, ScheduleBody),
        new("PUT", "/api/insights/schedules/{id}", DistrictOnly, Kind.Own, ScheduleBody, Fresh: true),
        new("DELETE", "/api/insights/schedules/{id}", DistrictOnly, Kind.Own, Fresh: true),

        new("GET", "/api/updates/rollouts", UpdateReaders, Kind.None),
        new("POST", "/api/updates/rollouts", DistrictOnly, Kind.None, RolloutBody),
        new("GET", "/api/updates/rollouts/{id}", UpdateReaders, Kind.Own, Fresh: true),
        new("POST", "/api/updates/rollouts/{id}/pause", DistrictOnly, Kind.Own, Fresh: true),
        new("POST", "/api/updates/rollouts/{id}/resume", DistrictOnly, Kind.Own, Fresh: true, OwnAnswer: HttpStatusCode.Conflict),
        new("POST", "/api/updates/rollouts/{id}/stop", DistrictOnly, Kind.Own, Fresh: true),
        new("GET", "/api/updates/devices/{id}", UpdateReaders, Kind.Device),

        new("DELETE", "/api/demo", DistrictOnly, Kind.None),

        // An upload without a body is not an executable: refused (400) for district administrators, 403 for everyone else.
        new("GET", "/api/agent-updates", DistrictOnly, Kind.None),
        new("POST", "/api/agent-updates", DistrictOnly, Kind.None, Query: "rid=linux-x64&version=1.0.0", OwnAnswer: HttpStatusCode.BadRequest),
        new("POST", "/api/agent-updates/{id}/current", DistrictOnly, Kind.Own, Fresh: true),
        new("DELETE", "/api/agent-updates/{id}", DistrictOnly, Kind.Own, Fresh: true),
        new("POST", "/api/agent-updates/{id}/pilot", DistrictOnly, Kind.Own, """{"groupId":"{class}"}""", Fresh: true),
        new("POST", "/api/agent-updates/{id}/promote", DistrictOnly, Kind.Own, Fresh: true),
        new("POST", "/api/agent-updates/{id}/withdraw", DistrictOnly, Kind.Own, Fresh: true),

        new("GET", "/api/support/requests", HelpQueue, Kind.None),
        new("GET", "/api/support/requests/{id}", HelpUsers, Kind.HelpRequest),
        new("GET", "/api/support/requests/{id}/screenshot", HelpUsers, Kind.HelpRequest),
        new("POST", "/api/support/requests/{id}/assign", HelpQueue, Kind.HelpRequest),
        new("POST", "/api/support/requests/{id}/notes", HelpUsers, Kind.HelpRequest, """{"text":"checked the device"}"""),
        new("POST", "/api/support/requests/{id}/escalate", ClassroomUsers, Kind.HelpRequest),
        new("POST", "/api/support/requests/{id}/resolve", HelpUsers, Kind.HelpRequest),
        new("GET", "/api/support/classes/{id}", ClassroomUsers, Kind.Class),
    ];

    private const string RolloutBody = """{"name":"Rollout {unique}","platform":"windows","targetVersion":"10.0.99999","rings":[{"groupId":"{class}","requiredPercent":95,"soakHours":48}]}""";

    private const string ScheduleBody = """{"name":"Weekly {unique}","report":"fleet","filters":{"schoolId":"{school}"},"dayOfWeek":"monday","hour":7,"recipients":["it@example.org"]}""";

    /// <summary>Endpoints for devices and for signing in: no staff session; each answers a stranger with one of its declared answers.</summary>
    private static readonly (string Method, string Path)[] MachineEndpoints =
    [
        ("POST", "/api/auth/login"), ("POST", "/agent/v1/enroll"), ("GET", "/agent/v1/filter-list"), ("GET", "/mdm/enroll"),
        ("POST", "/mdm/ade/enroll"), ("GET", "/agent/v1/updates/{sha256}"),
        // A desktop agent's device for itself only (Authorization: Device); CompanionTests try other devices and credentials.
        ("POST", "/agent/v1/companion"), ("DELETE", "/agent/v1/companion"),
    ];

    /// <summary>
    /// Probes for service managers and load balancers (liveness, readiness), outside the API's document: anonymous by
    /// design, the same one word for everyone, never data.
    /// </summary>
    private static readonly (string Path, string Word)[] Probes = [("/healthz", "Healthy"), ("/readyz", "ready")];

    /// <summary>Who may open each console page (the same rules as the API's).</summary>
    private static readonly (string Route, string[] Who, Kind Kind)[] Pages =
    [
        ("/", Everyone, Kind.None),
        ("/devices", DeviceReaders, Kind.None),
        ("/devices/{Id:guid}", DeviceReaders, Kind.Device),
        ("/repairs", DeviceReaders, Kind.None),
        ("/classroom", ClassroomUsers, Kind.None),
        ("/classroom/{GroupId:guid}", ClassroomUsers, Kind.Class),
        ("/groups", RosterReaders, Kind.None),
        ("/groups/{Id:guid}", RosterReaders, Kind.Class),
        ("/people", RosterReaders, Kind.None),
        ("/people/{Id:guid}", RosterReaders, Kind.Person),
        ("/schools", RosterReaders, Kind.None),
        ("/roster/oneroster", DistrictOnly, Kind.None),
        ("/accounts", Admins, Kind.None),
        ("/api-keys", Everyone, Kind.None),
        ("/enrollment", DeviceManagers, Kind.None),
        ("/filters", DistrictOnly, Kind.None),
        ("/audit", Admins, Kind.None),
        ("/zones", PolicyReaders, Kind.None),
        ("/alerts", AlertReaders, Kind.None),
        ("/alerts/{AlertId:guid}", AlertReaders, Kind.Alert),
        ("/safety", SafetyReaders, Kind.None),
        ("/safety/alerts/{SafetyAlertId:guid}", SafetyReaders, Kind.SafetyAlert),
        ("/safety/tester", SafetyTesters, Kind.None),
        ("/safety/settings", SafetyReaders, Kind.None),
        ("/safety/trends", SafetyReaders, Kind.None),
        ("/safety/lexicon", SafetyReaders, Kind.None),
        ("/notifications", Admins, Kind.None),
        ("/account", Everyone, Kind.None),
        ("/not-found", Everyone, Kind.None),
        ("/profiles", PolicyReaders, Kind.None),
        ("/profiles/new", Admins, Kind.None),
        ("/profiles/{ProfileId:guid}", PolicyReaders, Kind.None),
        ("/compliance", PolicyReaders, Kind.None),
        ("/apps", PolicyReaders, Kind.None),
        ("/apps/new", DistrictOnly, Kind.None),
        ("/apps/{AppId:guid}", PolicyReaders, Kind.None),
        ("/insights/fleet", InsightReaders, Kind.None),
        ("/insights/classroom", InsightReaders, Kind.None),
        ("/insights/blocked", InsightReaders, Kind.None),
        ("/insights/usage", InsightReaders, Kind.None),
        ("/insights/apps", InsightReaders, Kind.None),
        ("/insights/schedules", DistrictOnly, Kind.None),
        ("/updates", UpdateReaders, Kind.None),
        ("/apple-school-manager", DistrictOnly, Kind.None),
        ("/support", HelpQueue, Kind.None),
        ("/scripts", ScriptRunners, Kind.None),
        ("/agent-updates", DistrictOnly, Kind.None),
    ];

    private HomeroomHost Host => server.Host;

    private AccessDistrict District => server.District;

    private JsonElement OpenApi => server.OpenApi;

    private IEnumerable<(string Method, string Path, JsonElement Operation)> Operations() =>
        from path in OpenApi.GetProperty("paths").EnumerateObject()
        from operation in path.Value.EnumerateObject()
        select (operation.Name.ToUpperInvariant(), path.Name, operation.Value);

    [Fact]
    public void EveryEndpoint_HasARule_AndEveryRuleAnEndpoint()
    {
        var documented = Operations().Select(o => $"{o.Method} {o.Path}").ToHashSet();
        var ruled = Rules.Select(r => $"{r.Method} {r.Path}").Concat(MachineEndpoints.Select(m => $"{m.Method} {m.Path}")).ToHashSet();
        documented.Except(ruled).ShouldBeEmpty("endpoints without a rule in this test: state who may use them");
        ruled.Except(documented).ShouldBeEmpty("rules for endpoints the OpenAPI document does not list");
    }

    [Fact]
    public async Task EveryEndpoint_AsEveryRole_InTheirSchoolAndAnother()
    {
        var failures = new List<string>();
        foreach (var rule in Rules)
        {
            var operation = Operation(rule.Method, rule.Path);
            if (operation is null)
            {
                continue; // Reported by EveryEndpoint_HasARule_AndEveryRuleAnEndpoint.
            }

            // Signed out: nobody.
            using (var anonymous = Host.CreateClient())
            {
                var (status, _) = await SendAsync(anonymous, rule, District.North, await IdForAsync(rule, District.North, fresh: false, anonymous));
                Expect(failures, rule, "signed out", status, status == HttpStatusCode.Unauthorized, operation.Value);
            }

            foreach (var role in AccessDistrict.Roles)
            {
                var allowed = rule.Who.Contains(role);
                foreach (var school in Schools(rule))
                {
                    using var freshCaller = rule.FreshCaller ? await Host.SignInAsNewAccountAsync($"{role.ToLowerInvariant()}-{Guid.NewGuid():N}"[..30], role,
                        personId: role == TE ? District.North.Teacher : null, schoolId: role == DA ? null : District.North.School) : null;
                    var client = freshCaller ?? District.Clients[role];
                    var own = school == District.North || role == DA;
                    var fresh = rule.Fresh && allowed && own;
                    var id = await IdForAsync(rule, school, fresh, client);
                    var before = await District.ChangeCountAsync();
                    var (status, body) = await SendAsync(client, rule, school, id);
                    var who = $"{role} in {(school == District.North ? "own school" : "another school")}";
                    if (!allowed)
                    {
                        Expect(failures, rule, who, status, status == HttpStatusCode.Forbidden, operation.Value, body);
                    }
                    else if (!own)
                    {
                        // Another school's resource in the path does not exist for the caller; one named in the body is refused.
                        Expect(failures, rule, who, status, status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest, operation.Value, body);
                    }
                    else if (rule.OwnAnswer is { } answer)
                    {
                        Expect(failures, rule, who, status, status == answer, operation.Value, body);
                    }
                    else
                    {
                        Expect(failures, rule, who, status, (int)status is >= 200 and < 300, operation.Value, body);
                    }

                    if ((!allowed || !own) && await District.ChangeCountAsync() != before)
                    {
                        failures.Add($"{rule.Method} {rule.Path} as {who}: refused with {(int)status} but something was changed (audit log grew)");
                    }
                }
            }
        }

        failures.ShouldBeEmpty();
    }

    [Fact]
    public void EveryConsolePage_HasARule()
    {
        var routes = typeof(HomeroomApp).Assembly.GetTypes()
            .SelectMany(t => t.GetCustomAttributes(typeof(Microsoft.AspNetCore.Components.RouteAttribute), inherit: false))
            .Cast<Microsoft.AspNetCore.Components.RouteAttribute>()
            .Select(r => r.Template)
            .Where(t => t != "/login")
            .ToHashSet();
        routes.Except(Pages.Select(p => p.Route)).ShouldBeEmpty("console pages without a rule in this test: state who may open them");
    }

    [Fact]
    public async Task EveryConsolePage_AsEveryRole_InTheirSchoolAndAnother()
    {
        var failures = new List<string>();
        foreach (var (route, who, kind) in Pages)
        {
            using (var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Host.BaseAddress })
            using (var response = await anonymous.GetAsync(PagePath(route, kind, District.North)))
            {
                // Signed out: to the sign-in page.
                if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location?.ToString().Contains("/login", StringComparison.Ordinal) != true)
                {
                    failures.Add($"{route} signed out: {(int)response.StatusCode} {response.Headers.Location}");
                }
            }

            foreach (var role in AccessDistrict.Roles)
            {
                foreach (var school in kind == Kind.None ? [District.North] : new[] { District.North, District.South })
                {
                    using var response = await District.Clients[role].GetAsync(PagePath(route, kind, school));
                    var own = school == District.North || role == DA;
                    var expected = !who.Contains(role) ? HttpStatusCode.Forbidden : own ? HttpStatusCode.OK : HttpStatusCode.NotFound;
                    if (response.StatusCode != expected)
                    {
                        failures.Add($"{route} as {role} in {school.Name}: {(int)response.StatusCode}, expected {(int)expected}");
                    }
                }
            }
        }

        failures.ShouldBeEmpty();
    }

    private string PagePath(string route, Kind kind, SchoolResources school) => route
        .Replace("{AppId:guid}", server.App.ToString(), StringComparison.Ordinal)
        .Replace("{Id:guid}", (kind switch { Kind.Class => school.Class, Kind.Person => school.Student, _ => school.Device }).ToString(), StringComparison.Ordinal)
        .Replace("{GroupId:guid}", school.Class.ToString(), StringComparison.Ordinal)
        .Replace("{ProfileId:guid}", school.Profile.ToString(), StringComparison.Ordinal)
        .Replace("{AlertId:guid}", school.Alert.ToString(), StringComparison.Ordinal)
        .Replace("{SafetyAlertId:guid}", school.SafetyAlert.ToString(), StringComparison.Ordinal);

    [Fact]
    public async Task MachineEndpoints_AnswerStrangersWithDeclaredErrors()
    {
        using var stranger = Host.CreateClient();
        var failures = new List<string>();
        foreach (var (method, path) in MachineEndpoints)
        {
            var operation = Operation(method, path);
            operation.ShouldNotBeNull($"{method} {path}");
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "GET" ? null : new StringContent("{}", Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Homeroom-Request", "1");
            using var response = await stranger.SendAsync(request);
            if ((int)response.StatusCode is < 400 or >= 500 || !Declared(operation.Value, response.StatusCode))
            {
                failures.Add($"{method} {path}: a stranger got {(int)response.StatusCode}");
            }
        }

        failures.ShouldBeEmpty();
    }

    [Fact]
    public async Task Probes_AnswerSignedOutAndEveryRoleAlike_WithOneWord()
    {
        using var anonymous = Host.CreateClient();
        var callers = AccessDistrict.Roles.Select(role => (Who: role, Client: District.Clients[role])).Prepend(("signed out", anonymous));
        var failures = new List<string>();
        foreach (var (path, word) in Probes)
        {
            foreach (var (who, client) in callers)
            {
                using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || body != word)
                {
                    failures.Add($"GET {path} as {who}: {(int)response.StatusCode} {Trim(body)}");
                }
            }
        }

        failures.ShouldBeEmpty();
        Operations().Select(o => o.Path).ShouldNotContain(p => Probes.Any(probe => probe.Path == p), "probes are not part of the API");
    }

    private IEnumerable<SchoolResources> Schools(Rule rule) =>
        rule.Kind is Kind.None or Kind.Own or Kind.App ? [District.North] : [District.North, District.South];

    private JsonElement? Operation(string method, string path) =>
        Operations().Where(o => o.Method == method && o.Path == path).Select(o => (JsonElement?)o.Operation).FirstOrDefault();

    private static bool Declared(JsonElement operation, HttpStatusCode status) =>
        operation.TryGetProperty("responses", out var responses)
        && (responses.TryGetProperty(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), out _) || responses.TryGetProperty("default", out _));

    private static void Expect(List<string> failures, Rule rule, string who, HttpStatusCode status, bool ok, JsonElement operation, string? body = null)
    {
        if (!ok)
        {
            failures.Add($"{rule.Method} {rule.Path} as {who}: unexpected {(int)status} {Trim(body)}");
        }
        else if (!Declared(operation, status))
        {
            failures.Add($"{rule.Method} {rule.Path} as {who}: answered {(int)status}, which the OpenAPI document does not declare");
        }
    }

    private static string Trim(string? text) => text is null ? "" : text.Length > 300 ? text[..300] : text;

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, Rule rule, SchoolResources school, Guid? id)
    {
        var path = rule.Path.Replace("{id}", id?.ToString() ?? Guid.Empty.ToString(), StringComparison.Ordinal)
            .Replace("{deviceId}", school.Device.ToString(), StringComparison.Ordinal)
            .Replace("{screenshotId}", school.SafetyScreenshot.ToString(), StringComparison.Ordinal)
            .Replace("{transferId}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
            .Replace("{sessionId}", Guid.NewGuid().ToString(), StringComparison.Ordinal); // no session is open: the caller's own school answers 404
        if (rule.Query is { } query)
        {
            path += "?" + Fill(query, school);
        }

        using var request = new HttpRequestMessage(new HttpMethod(rule.Method), path);
        if (rule.Body is { } body)
        {
            request.Content = new StringContent(Fill(body, school).Replace("{script}", server.Script.ToString(), StringComparison.Ordinal), Encoding.UTF8, "application/json");
        }
        else if (rule.Path == "/api/filter-lists" && rule.Method == "POST")
        {
            request.Content = new StringContent("blocked.example.org\n", Encoding.UTF8, "text/plain");
        }
        else if (rule.Path is "/api/apple/school-manager/server-token" or "/api/apple/school-manager/content-token" && rule.Method == "PUT")
        {
            request.Content = new StringContent("not a token", Encoding.UTF8, "text/plain");
        }
        else if (rule.Path == "/api/apple/push-certificate" && rule.Method == "PUT")
        {
            request.Content = new StringContent("not a certificate", Encoding.UTF8, "text/plain");
        }
        else if (rule.Path == "/api/apple/wallpapers" && rule.Method == "POST")
        {
            request.Content = new ByteArrayContent(Png);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
        }
        else if (rule.Path == "/api/agent-updates" && rule.Method == "POST")
        {
            request.Content = new StringContent("not a program", Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        }
        else if (rule.Path == "/api/devices/{id}/remote-session/{sessionId}/files" && rule.Method == "POST")
        {
            request.Content = new StringContent("a note for the student", Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        }
        else if (rule.Path == "/api/roster/oneroster/imports" && rule.Method == "POST")
        {
            request.Content = new StringContent("not a zip", Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/zip");
        }
        else if (rule.Method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request).WaitAsync(HomeroomHost.Timeout);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static int _unique;

    // Priorities (-1000 to 1000) are never repeated in a test process: two assignments of one profile to one
    // scope at the same priority conflict (409), and a counter that wrapped every 900 names made that flaky.
    private static int _priority = -1000;

    private static int NextPriority()
    {
        var priority = Interlocked.Increment(ref _priority);
        priority.ShouldBeLessThanOrEqualTo(1000, "the access matrix ran out of distinct assignment priorities");
        return priority;
    }

    private static string Fill(string template, SchoolResources school) => template
        .Replace("{unique}", $"item{Interlocked.Increment(ref _unique):D5}", StringComparison.Ordinal)
        .Replace("{number}", template.Contains("{number}", StringComparison.Ordinal) ? NextPriority().ToString(System.Globalization.CultureInfo.InvariantCulture) : "", StringComparison.Ordinal)
        .Replace("{school}", school.School.ToString(), StringComparison.Ordinal)
        .Replace("{class}", school.Class.ToString(), StringComparison.Ordinal)
        .Replace("{student}", school.Student.ToString(), StringComparison.Ordinal)
        .Replace("{device}", school.Device.ToString(), StringComparison.Ordinal)
        .Replace("{profile}", school.Profile.ToString(), StringComparison.Ordinal);

    // The id the path names: the school's resource of the rule's kind, or a fresh one for calls that change or remove it.
    private async Task<Guid?> IdForAsync(Rule rule, SchoolResources school, bool fresh, HttpClient caller)
    {
        if (!rule.Path.Contains("{id}", StringComparison.Ordinal))
        {
            return null;
        }

        if (!fresh && rule.Kind != Kind.Own)
        {
            return rule.Kind switch
            {
                Kind.Device => school.Device,
                Kind.Class => school.Class,
                Kind.Person => school.Student,
                Kind.School => school.School,
                Kind.Account => school.Account,
                Kind.Token => school.Token,
                Kind.Command => school.Command,
                Kind.Alert => school.Alert,
                Kind.Zone => school.Zone,
                Kind.Profile => school.Profile,
                Kind.Assignment => school.Assignment,
                Kind.SafetyAlert => school.SafetyAlert,
                Kind.HelpRequest => school.HelpRequest,
                Kind.App => server.App,
                Kind.Body when rule.Path.StartsWith("/api/apps/", StringComparison.Ordinal) => server.App,
                Kind.AppAssignment => server.AppAssignments[school.Name],
                Kind.None when rule.Path.StartsWith("/api/profiles", StringComparison.Ordinal) => school.Profile,
                Kind.None when rule.Path.StartsWith("/api/zones", StringComparison.Ordinal) => school.Zone,
                _ => throw new InvalidOperationException($"No resource for {rule.Path}"),
            };
        }

        var unique = Guid.NewGuid().ToString("N")[..8];
        return rule.Path switch
        {
            "/api/api-keys/{id}" => await FreshApiKeyAsync(caller, unique),
            "/api/auth/sessions/{id}" => await CurrentSessionAsync(caller),
            "/api/accounts/{id}/two-step" => await District.IdAsync("/api/accounts",
                new { username = $"fresh-{unique}", displayName = "Fresh", password = "a long enough passphrase", role = "readOnly", schoolId = school.School }),
            "/api/schools/{id}" => await District.IdAsync("/api/schools", new { name = $"School {unique}", timeZone = "UTC" }),
            "/api/groups/{id}" or "/api/groups/{id}/members" or "/api/groups/{id}/members/remove" or "/api/groups/{id}/schedule" =>
                await FreshClassAsync(school, unique),
            "/api/people/{id}" => await District.IdAsync("/api/people", new { kind = "student", givenName = "Fresh", familyName = unique, schoolId = school.School }),
            "/api/devices/{id}/revoke" => (await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school.School), $"SN-{unique}")).DeviceId,
            "/api/enrollment-tokens/{id}/revoke" => (await Host.PostJsonAsync<JsonElement>("/api/enrollment-tokens", new { name = unique, schoolId = school.School })).GetProperty("id").GetGuid(),
            "/api/profiles/{id}" => await District.IdAsync("/api/profiles", new { name = $"Profile {unique}", schoolId = school.School, settings = new { } }),
            "/api/assignments/{id}" => await District.IdAsync("/api/assignments", new { profileId = school.Profile, level = "device", scopeId = school.Device.ToString(), priority = NextPriority() }),
            "/api/zones/{id}" => await District.ZoneAsync(school.School, $"Zone {unique}"),
            "/api/apps/{id}" or "/api/apps/{id}/assignments" => await FreshAppAsync(unique),
            "/api/app-assignments/{id}" => await District.IdAsync($"/api/apps/{await FreshAppAsync(unique)}/assignments", new { intent = "required", level = "device", scopeId = school.Device.ToString() }),
            "/api/filter-lists/{id}" => await FreshFilterListAsync(unique),
            "/api/agent-updates/{id}/current" or "/api/agent-updates/{id}" => await FreshAgentBuildAsync(),
            "/api/agent-updates/{id}/pilot" => await FreshPilotAsync(piloting: false),
            "/api/agent-updates/{id}/promote" or "/api/agent-updates/{id}/withdraw" => await FreshPilotAsync(piloting: true),
            "/api/scripts/{id}" or "/api/scripts/{id}/approve" =>
                await District.IdAsync("/api/scripts", new { name = $"Script {unique}", platform = "linux", body = "echo fresh", timeLimitSeconds = 30 }),
            "/api/apple/wallpapers/{id}" => await FreshWallpaperAsync(unique),
            "/api/roster/oneroster/imports/{id}" or "/api/roster/oneroster/imports/{id}/apply" => await FreshOneRosterImportAsync(),
            "/api/safety/students/{id}" => await District.IdAsync("/api/people", new { kind = "student", givenName = "Fresh", familyName = unique, schoolId = school.School }),
            "/api/insights/schedules/{id}" => await District.IdAsync("/api/insights/schedules",
                new { name = $"Schedule {unique}", report = "classroom", dayOfWeek = "friday", hour = 16, recipients = new[] { "office@example.org" } }),
            "/api/updates/rollouts/{id}" or "/api/updates/rollouts/{id}/pause" or "/api/updates/rollouts/{id}/resume" or "/api/updates/rollouts/{id}/stop" =>
                await District.IdAsync("/api/updates/rollouts", new
                {
                    name = $"Rollout {unique}", platform = "windows", targetVersion = "10.0.99999",
                    rings = new[] { new { groupId = await FreshClassAsync(school, unique), requiredPercent = 95, soakHours = 48 } },
                }),
            "/api/safety/lexicon/adjustments/{id}" => await District.IdAsync("/api/safety/lexicon/adjustments", new { kind = "add", phrase = $"phrase {unique}", category = "bullying", weight = 5, language = "en" }),
            _ => throw new InvalidOperationException($"No fresh resource for {rule.Path}"),
        };
    }

    // A session is its owner's: the caller's own (a signed-out caller has none).
    private static async Task<Guid?> CurrentSessionAsync(HttpClient caller)
    {
        using var response = await caller.GetAsync("/api/auth/sessions");
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("id").GetGuid() : null;
    }

    // An API key is its owner's: made by the caller (a signed-out caller gets none).
    private static async Task<Guid?> FreshApiKeyAsync(HttpClient caller, string unique)
    {
        using var response = await caller.PostAsJsonAsync("/api/api-keys", new { name = unique });
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid() : null;
    }

    private async Task<Guid> FreshClassAsync(SchoolResources school, string unique)
    {
        var id = await District.IdAsync("/api/groups", new { name = $"Class {unique}", kind = "class", schoolId = school.School });
        (await Host.PostJsonAsync($"/api/groups/{id}/members", new { personIds = new[] { school.Student } })).EnsureSuccessStatusCode();
        return id;
    }

    private Task<Guid> FreshAppAsync(string unique) =>
        District.IdAsync("/api/apps", new { name = $"App {unique}", category = "education", webAppUrl = $"https://example.org/{unique}" });

    private async Task<Guid> FreshFilterListAsync(string unique)
    {
        using var content = new StringContent("fresh.example.org\n", Encoding.UTF8, "text/plain");
        using var response = await Host.Client.PostAsync($"/api/filter-lists?name={unique}&format=plain&category=fresh", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static int _agentBuilds;

    // The smallest file the server takes as a linux-x64 program: an x86-64 ELF header.
    private async Task<Guid> FreshAgentBuildAsync()
    {
        var elf = new byte[64];
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[18] = 0x3E;
        using var content = new ByteArrayContent(elf);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using var response = await Host.Client.PostAsync($"/api/agent-updates?rid=linux-x64&version=0.0.{Interlocked.Increment(ref _agentBuilds)}", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    // A fresh build (newer than every earlier one, so it may be piloted), piloting with the north school's class for promote
    // and withdraw; an earlier pilot is withdrawn first (a runtime has one pilot at a time).
    private async Task<Guid> FreshPilotAsync(bool piloting)
    {
        foreach (var build in (await Host.GetJsonAsync<JsonElement>("/api/agent-updates")).GetProperty("builds").EnumerateArray()
            .Where(b => b.GetProperty("pilot").ValueKind == JsonValueKind.Object))
        {
            using var withdrawn = await Host.Client.PostAsync($"/api/agent-updates/{build.GetProperty("id").GetGuid()}/withdraw", null);
            withdrawn.EnsureSuccessStatusCode();
        }

        var id = await FreshAgentBuildAsync();
        if (piloting)
        {
            using var started = await Host.PostJsonAsync($"/api/agent-updates/{id}/pilot", new { groupId = District.North.Class });
            started.EnsureSuccessStatusCode();
        }

        return id;
    }

    // A small valid OneRoster set, previewed (applying it adds one school with a class, two students and a teacher).
    private async Task<Guid> FreshOneRosterImportAsync()
    {
        var set = new Homeroom.OneRosterData.OneRosterSetBuilder(seed: 2) { Schools = 1, Students = 2, Teachers = 1, Classes = 1, Guardians = 0 };
        using var content = new ByteArrayContent(Homeroom.OneRosterData.OneRosterSetBuilder.Zip(set.Build()));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/zip");
        using var response = await Host.Client.PostAsync("/api/roster/oneroster/imports", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<Guid> FreshWallpaperAsync(string unique)
    {
        using var content = new ByteArrayContent(Png);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
        using var response = await Host.Client.PostAsync($"/api/apple/wallpapers?name={unique}", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    // The smallest valid PNG signature plus a header chunk is enough: wallpapers are checked by their magic bytes.
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0];
}

/// <summary>
/// One server and district for a provider's access-matrix tests (a server and a district of two schools
/// with every role cost several seconds each time). No test needs them fresh: calls that change or remove
/// something do so on fresh resources or as fresh callers, and refused calls change nothing (checked).
/// </summary>
public abstract class AccessMatrixServer(DatabaseProvider provider) : IAsyncLifetime
{
    public HomeroomHost Host { get; private set; } = null!;

    public AccessDistrict District { get; private set; } = null!;

    public JsonElement OpenApi { get; private set; }

    /// <summary>A catalog app (district-wide), assigned to each school.</summary>
    public Guid App { get; private set; }

    /// <summary>An approved script of the district's library (Linux).</summary>
    public Guid Script { get; private set; }

    /// <summary>The app's assignment to each school, by school name.</summary>
    public Dictionary<string, Guid> AppAssignments { get; } = [];

    public async Task InitializeAsync()
    {
        // The rollout evaluator audits pauses on its own schedule; a refused call is checked by the audit log
        // not growing, so it waits past the test (on PostgreSQL the matrix takes minutes).
        Host = await HomeroomHost.StartAsync(provider, "Homeroom:Updates:EvaluationInterval=01:00:00");
        District = await AccessDistrict.CreateAsync(Host);
        OpenApi = await Host.GetJsonAsync<JsonElement>("/openapi/v1.json");
        App = await District.IdAsync("/api/apps", new { name = "Matrix app", category = "education", webAppUrl = "https://example.org/matrix" });
        Script = await District.IdAsync("/api/scripts", new { name = "Matrix script", platform = "linux", body = "uptime", timeLimitSeconds = 30 });
        (await Host.PostJsonAsync($"/api/scripts/{Script}/approve", new { version = 1 })).EnsureSuccessStatusCode();
        foreach (var school in new[] { District.North, District.South })
        {
            AppAssignments[school.Name] = await District.IdAsync($"/api/apps/{App}/assignments", new { intent = "required", level = "school", scopeId = school.School.ToString() });
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var client in District?.Clients.Values.ToList() ?? [])
        {
            client.Dispose();
        }

        await Host.DisposeAsync();
    }
}

public sealed class AccessMatrixSqliteServer() : AccessMatrixServer(DatabaseProvider.Sqlite);

public sealed class AccessMatrixPostgresServer() : AccessMatrixServer(DatabaseProvider.Postgres);

public sealed class AccessMatrixSqliteTests(AccessMatrixSqliteServer server) : AccessMatrixTests(server), IClassFixture<AccessMatrixSqliteServer>;

public sealed class AccessMatrixPostgresTests(AccessMatrixPostgresServer server) : AccessMatrixTests(server), IClassFixture<AccessMatrixPostgresServer>;

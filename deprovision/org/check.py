"""``org check``: what the connection is, and whether its user may deprovision people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from deprovision.org.client import OrgClient
from deprovision.org.soql import soql_literal

# Field on PermissionSet -> the name Setup shows.
PERMISSIONS = {
    "PermissionsManageUsers": "Manage Users",
    "PermissionsViewSetup": "View Setup and Configuration",
    "PermissionsModifyAllData": "Modify All Data",
    "PermissionsTransferAnyEntity": "Transfer Record",
}
# What the API user must be able to see, or a revoke finds only part of it: name -> (PermissionSet field,
# the name Setup shows, what it makes visible). Sources: Object Reference, OauthToken ("users with Customize
# Application see all tokens"), AuthSession (Manage Users), Report / Dashboard "Supported Query Scopes"
# (allPrivate "requires the user permission Manage All Private Reports and Dashboards").
VISIBILITY = {
    "oauth_tokens": ("PermissionsCustomizeApplication", "Customize Application", "every user's OAuth tokens"),
    "sessions": ("PermissionsManageUsers", "Manage Users", "every user's sessions"),
    "private_reports": ("PermissionsManagePvtRptsAndDashbds", "Manage All Private Reports and Dashboards",
                        "reports and dashboards in other users' private folders"),
}
# Every group must be satisfied by one of its permissions.
REQUIRED = (
    ("PermissionsManageUsers",),
    ("PermissionsViewSetup",),
    ("PermissionsModifyAllData", "PermissionsTransferAnyEntity"),
)


@dataclass
class OrgCheck:
    """The answer of ``org check``."""

    org_id: str
    org_name: str
    instance_url: str
    connection: str
    api_user: dict[str, str]
    api_version: str
    is_sandbox: bool | None
    daily_api_requests: dict[str, int | None]
    permissions: dict[str, bool] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # VISIBILITY key -> the API user sees it all (None: the org does not describe the permission)
    visibility: dict[str, bool | None] = field(default_factory=dict)
    blind: list[str] = field(default_factory=list)  # what the API user cannot see, and the permission it needs
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.blind

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def check_org(client: OrgClient) -> OrgCheck:
    """Read the org's identity, limits and the API user's permissions (profile and permission sets)."""
    user = client.api_user
    orgs = list(client.query("SELECT Id, Name, IsSandbox FROM Organization LIMIT 1"))
    org = orgs[0] if orgs else {}
    daily = client.limits().get("DailyApiRequests") or {}
    held = held_permissions(client, user["id"], [*PERMISSIONS, *(v[0] for v in VISIBILITY.values())])
    missing = [" or ".join(PERMISSIONS[p] for p in group) for group in REQUIRED
               if not any(held.get(p) for p in group)]
    seen = {key: held.get(perm) for key, (perm, _, _) in VISIBILITY.items()}
    return OrgCheck(
        org_id=client.org_id or org.get("Id", ""),
        org_name=org.get("Name") or "",
        instance_url=client.instance_url,
        connection=client.label,
        api_user=user,
        api_version=client.api_version,
        is_sandbox=org.get("IsSandbox"),
        daily_api_requests={"max": daily.get("Max"), "remaining": daily.get("Remaining")},
        permissions={PERMISSIONS[p]: bool(held.get(p)) for p in PERMISSIONS},
        missing=missing,
        visibility=seen,
        blind=[blind_reason(key) for key, ok in seen.items() if ok is False],
        api_calls=client.api_calls,
    )


def blind_reason(key: str) -> str:
    """``cannot see every user's OAuth tokens (needs Customize Application)``."""
    perm, label, what = VISIBILITY[key]
    return f"cannot see {what} (needs {label}, {perm})"


def visibility(client: OrgClient, keys: list[str]) -> dict[str, bool | None]:
    """Whether the API user sees everything ``keys`` (VISIBILITY names) cover, from its permissions
    (None: the org does not describe the permission, so it cannot be proved either way)."""
    held = held_permissions(client, client.api_user["id"], [VISIBILITY[k][0] for k in keys])
    return {k: held.get(VISIBILITY[k][0]) for k in keys}


def visibility_read(client: OrgClient, keys: list[str]) -> tuple[str, list[str]] | None:
    """The one read ``visibility`` makes, as a ``query_in`` read (template, values) to send with others;
    None when the org describes none of the permissions (nothing to read)."""
    present = _described(client, [VISIBILITY[k][0] for k in keys])
    if not present:
        return None
    return _permissions_soql(present, "IN {ids}"), [client.api_user["id"]]


def visibility_from(client: OrgClient, keys: list[str], rows: list[dict]) -> dict[str, bool | None]:
    """``visibility`` from the rows of ``visibility_read``."""
    wanted = [VISIBILITY[k][0] for k in keys]
    held = _held(wanted, _described(client, wanted), rows)
    return {k: held.get(VISIBILITY[k][0]) for k in keys}


def held_permissions(client: OrgClient, user_id: str,
                     permissions: list[str] | None = None) -> dict[str, bool | None]:
    """Which ``permissions`` (PermissionSet fields; default ``PERMISSIONS``) the user holds through the
    profile's permission set or any assignment; None for a permission the org's PermissionSet does not
    describe (the org cannot say)."""
    wanted = list(dict.fromkeys(permissions or PERMISSIONS))
    present = _described(client, wanted)
    if not present:
        return _held(wanted, present, [])
    rows = client.query(_permissions_soql(present, f"= {soql_literal(user_id)}"))
    return _held(wanted, present, rows)


def _described(client: OrgClient, wanted: list[str]) -> list[str]:
    """The permissions of ``wanted`` the org's PermissionSet describes (all of them when it describes none)."""
    wanted = list(dict.fromkeys(wanted))
    described = {f["name"] for f in client.schema.fields("PermissionSet")}
    return [p for p in wanted if p in described] if described else wanted


def _permissions_soql(present: list[str], assignee: str) -> str:
    fields = ", ".join(f"PermissionSet.{p}" for p in present)
    return f"SELECT {fields} FROM PermissionSetAssignment WHERE AssigneeId {assignee}"


def _held(wanted: list[str], present: list[str], rows: Iterable[dict]) -> dict[str, bool | None]:
    held: dict[str, bool | None] = {p: (False if p in present else None) for p in dict.fromkeys(wanted)}
    for row in rows:
        perm_set = row.get("PermissionSet") or {}
        for p in present:
            held[p] = held[p] or bool(perm_set.get(p))
    return held


def render_text(check: OrgCheck) -> str:
    """The check as a few aligned lines."""
    user = check.api_user
    sandbox = {True: "sandbox", False: "production", None: "unknown"}[check.is_sandbox]
    daily = check.daily_api_requests
    if daily.get("remaining") is not None:
        requests_left = f"{daily['remaining']:,} of {daily['max']:,} left today"
    else:
        requests_left = "unknown"
    lines = [
        f"Org           {check.org_id} ({check.org_name or 'unnamed'}, {sandbox})",
        f"Instance      {check.instance_url}",
        f"Connection    {check.connection}",
        f"API user      {user.get('username')} ({user.get('name')}, {user.get('id')})",
        f"API version   {check.api_version}",
        f"API requests  {requests_left}",
    ]
    for i, (name, has) in enumerate(check.permissions.items()):
        label = "Permissions" if i == 0 else ""
        lines.append(f"{label:<13} {'yes' if has else 'no ':<4}{name}")
    for i, (key, sees) in enumerate(check.visibility.items()):
        label = "Sees" if i == 0 else ""
        answer = {True: "yes", False: "no", None: "?"}[sees]
        note = "" if sees is not None else f"; the org does not describe {VISIBILITY[key][0]}"
        lines.append(f"{label:<13} {answer:<4}{VISIBILITY[key][2]} ({VISIBILITY[key][1]}{note})")
    unproved = [VISIBILITY[k][2] for k, sees in check.visibility.items() if sees is None]
    if check.ok and unproved:
        lines.append("Result        ready: the API user holds every permission deprovisioning needs; not proved "
                     f"that it sees {'; '.join(unproved)}")
    elif check.ok:
        lines.append("Result        ready: the API user holds every permission deprovisioning needs and sees "
                     "every user's tokens, sessions and private reports")
    else:
        lines.append(f"Result        missing: {'; '.join([*check.missing, *check.blind])}")
    return "\n".join(lines)

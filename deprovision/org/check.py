"""``org check``: what the connection is, and whether its user may deprovision people."""

from __future__ import annotations

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
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing

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
    held = held_permissions(client, user["id"])
    missing = [" or ".join(PERMISSIONS[p] for p in group) for group in REQUIRED
               if not any(held.get(p) for p in group)]
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
        api_calls=client.api_calls,
    )


def held_permissions(client: OrgClient, user_id: str) -> dict[str, bool]:
    """Which of ``PERMISSIONS`` the user holds through the profile's permission set or any assignment."""
    fields = ", ".join(f"PermissionSet.{p}" for p in PERMISSIONS)
    soql = (f"SELECT {fields} FROM PermissionSetAssignment "
            f"WHERE AssigneeId = {soql_literal(user_id)}")
    held = dict.fromkeys(PERMISSIONS, False)
    for row in client.query(soql):
        perm_set = row.get("PermissionSet") or {}
        for p in PERMISSIONS:
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
    if check.ok:
        lines.append("Result        ready: the API user holds every permission deprovisioning needs")
    else:
        lines.append(f"Result        missing: {'; '.join(check.missing)}")
    return "\n".join(lines)

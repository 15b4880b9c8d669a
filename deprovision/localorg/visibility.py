"""Who sees which records, and which licences may own which objects: the rules that decide what a
deprovisioning finds and what it can do.

Each rule cites the documentation it follows:

- **OAuth tokens** (Object Reference, OauthToken, API 32.0+): "Users with the Customize Application
  permission can see all tokens; other users see only their own" (older versions of the page named
  Manage Users). ``/work/shared/reference/salesforce-api.md`` 3.5.
- **Reports and dashboards in private folders** (Object Reference, Report / Dashboard, "Supported Query
  Scopes"; SOQL and SOSL Reference, USING SCOPE; KB 000317823): ``everything`` (the default) is "all
  records except records saved in other users' private folders"; ``mine`` the running user's private
  folder; ``created`` what the user created; ``organizationOwned`` (Report) Unfiled Public Reports;
  ``allPrivate`` "records saved in all users' private folders", which "requires the user permission
  'Manage All Private Reports and Dashboards'" (``PermissionsManagePvtRptsAndDashbds``, API 36.0+).
  Without that permission ``allPrivate`` yields only the user's own private folder (Salesforce does not
  document the answer; nothing more is visible to such a user).
- **USING SCOPE on other objects** (SOQL and SOSL Reference, USING SCOPE; each object's describe
  ``supportedScopes``): ``everything``; ``mine`` (records owned by the running user); ``team`` (Account /
  Opportunity: records whose team includes the user); ``mine_and_my_groups`` (ProcessInstanceWorkitem:
  assigned to the user or the user's queues); ``user_owned`` / ``queue_owned`` (Case: owned by a user, by a
  queue).
- **Licences that cannot own records** (Salesforce Help, "User Licenses": Chatter Free and Chatter
  External users have no access to standard or custom objects; Salesforce Platform users have accounts,
  contacts, activities and custom objects but not opportunities, leads or cases). Making such a user the
  owner fails like a transfer to an owner without read access: ``TRANSFER_REQUIRES_READ`` "The new owner
  must have read permission" (partner WSDL StatusCode; SOAP API Developer Guide, Core Data Types).

The permissions of the org's API user come from the org settings (``api_user_permissions``; None: all of
them, as the demo org's System Administrator has); other users' from their profile and permission sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from deprovision.localorg import errors, schema

if TYPE_CHECKING:
    from deprovision.localorg.store import Store

CUSTOMIZE_APPLICATION = "CustomizeApplication"
MANAGE_PRIVATE_REPORTS = "ManagePvtRptsAndDashbds"
MANAGE_USERS = "ManageUsers"
VIEW_ALL_DATA = "ViewAllData"
MODIFY_ALL_DATA = "ModifyAllData"
# Permissions the local org's rules consult (API names without the "Permissions" prefix).
KNOWN_PERMISSIONS = frozenset({CUSTOMIZE_APPLICATION, MANAGE_PRIVATE_REPORTS, MANAGE_USERS, VIEW_ALL_DATA,
                               MODIFY_ALL_DATA, "ViewSetup", "FreezeUsers", "ManageInternalUsers",
                               "TransferAnyEntity"})
ADMIN_PROFILE = "System Administrator"

# The private folders' names as the Report / Dashboard FolderName field gives them.
PRIVATE_REPORT_FOLDERS = ("Private Reports", "My Personal Custom Reports")
PRIVATE_DASHBOARD_FOLDERS = ("Private Dashboards", "My Personal Dashboards")
PUBLIC_REPORT_FOLDERS = ("Public Reports", "Unfiled Public Reports")

SUPPORTED_SCOPES = {
    "Report": ("allPrivate", "created", "everything", "mine", "organizationOwned"),
    "Dashboard": ("allPrivate", "created", "everything", "mine"),
    "Account": ("everything", "mine", "team"),
    "Opportunity": ("everything", "mine", "team"),
    "ProcessInstanceWorkitem": ("everything", "mine_and_my_groups"),
}

# Objects a licence may own (None: every object). Names are UserLicense.Name values.
_NO_OBJECTS: frozenset[str] = frozenset()
LICENCE_OWNABLE: dict[str, frozenset[str] | None] = {
    "Chatter Free": _NO_OBJECTS,
    "Chatter External": _NO_OBJECTS,
    "Salesforce Platform": frozenset({"Account", "Contact", "Task", "Event", "*custom"}),
    "Force.com - App Subscription": frozenset({"Account", "Contact", "Task", "Event", "*custom"}),
}


@dataclass(frozen=True)
class Viewer:
    """The user a query runs as, with the permissions that widen what it sees."""

    user_id: str
    permissions: frozenset[str] = KNOWN_PERMISSIONS

    def has(self, permission: str) -> bool:
        """True when the viewer holds ``permission`` (API name without the ``Permissions`` prefix)."""
        return permission in self.permissions


def supported_scopes(spec: schema.ObjectSpec) -> tuple[str, ...]:
    """The ``USING SCOPE`` values ``spec`` accepts: its describe's ``supportedScopes`` (recorded from real orgs)
    and the ones the Object Reference documents; scopes without a rule here (scopingRule, delegated, ...)
    filter nothing."""
    flag = getattr(spec, "flag", None)
    described = flag("supportedScopes", None) if callable(flag) else None
    names = [dict(item).get("name") for item in described or () if isinstance(item, tuple | list)]
    ours = SUPPORTED_SCOPES.get(spec.name) or (("everything", "mine") if spec.has_owner else ("everything",))
    return tuple(dict.fromkeys(n for n in [*names, *ours] if n))


def canonical_scope(spec: schema.ObjectSpec, scope: str) -> str | None:
    """``scope`` spelled as Salesforce lists it for ``spec`` (case-insensitive), or None if unsupported."""
    return next((s for s in supported_scopes(spec) if s.lower() == scope.lower()), None)


def _private_folders(spec: schema.ObjectSpec) -> tuple[str, ...]:
    return PRIVATE_REPORT_FOLDERS if spec.name == "Report" else PRIVATE_DASHBOARD_FOLDERS


def _owner_column(spec: schema.ObjectSpec) -> str:
    """Whose private folder a report or dashboard is in: the report's OwnerId, a dashboard's creator."""
    return "OwnerId" if spec.field("OwnerId") is not None else "CreatedById"


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join("'" + n.replace("'", "''") + "'" for n in names)


def row_filter(spec: schema.ObjectSpec, alias: str, viewer: Viewer | None, scope: str | None,
               params: list) -> str | None:
    """SQL (with ``params`` appended) keeping the rows of ``spec`` that ``viewer`` sees under ``scope``;
    None when every row is visible. ``viewer`` None is the system itself: no sharing, scopes still apply."""
    name = spec.name
    uid = viewer.user_id if viewer else None
    col = f'{alias}."{{}}"'.format
    if name == "OauthToken":
        if viewer is None or viewer.has(CUSTOMIZE_APPLICATION):
            return None
        params.append(uid)
        return f"{col('UserId')} = ?"
    if name in ("Report", "Dashboard") and spec.field("FolderName") is not None:
        private = f"{col('FolderName')} IN ({_quoted(_private_folders(spec))})"
        owner = col(_owner_column(spec))
        scope = scope or "everything"
        if scope == "allPrivate":
            if viewer is None or viewer.has(MANAGE_PRIVATE_REPORTS):
                return private
            params.append(uid)
            return f"({private} AND {owner} = ?)"
        if scope == "organizationOwned":
            return f"{col('FolderName')} IN ({_quoted(PUBLIC_REPORT_FOLDERS)})"
        if viewer is None:
            if scope == "mine":
                return private
            return None
        if scope == "mine":
            params.append(uid)
            return f"({private} AND {owner} = ?)"
        params.append(uid)
        visible = f"({col('FolderName')} IS NULL OR NOT {private} OR {owner} = ?)"
        if scope == "created":
            params.append(uid)
            return f"({visible} AND {col('CreatedById')} = ?)"
        return visible
    if scope in ("user_owned", "queue_owned") and spec.has_owner:  # Case's recorded scopes
        return f"{col('OwnerId')} LIKE '{'005' if scope == 'user_owned' else '00G'}%'"
    if scope in (None, "everything") or uid is None:
        return None
    if scope == "mine" and spec.has_owner:
        params.append(uid)
        return f"{col('OwnerId')} = ?"
    if scope == "team" and name in ("Account", "Opportunity"):
        team, key = ("AccountTeamMember", "AccountId") if name == "Account" else ("OpportunityTeamMember",
                                                                                 "OpportunityId")
        params.append(uid)
        return (f'{col("Id")} IN (SELECT "{key}" FROM "{team}" WHERE "UserId" = ? AND "IsDeleted" = 0)')
    if scope == "mine_and_my_groups" and name == "ProcessInstanceWorkitem":
        params += [uid, uid]
        return (f"({col('ActorId')} = ? OR {col('ActorId')} IN (SELECT \"GroupId\" FROM \"GroupMember\" "
                "WHERE \"UserOrGroupId\" = ? AND \"IsDeleted\" = 0))")
    return None


# --------------------------------------------------------------------------------------------
# permissions of a user


def _permission_columns(store: Store) -> list[str]:
    spec = schema.get_object("PermissionSet")
    if spec is None:
        return []
    return [f.name for f in spec.fields if f.name.startswith("Permissions") and f.type == schema.BOOLEAN]


def user_permissions(store: Store, user_id: str) -> frozenset[str]:
    """The permissions of ``user_id``: the org setting for the API user, everything for a System
    Administrator, else the union of the user's profile and assigned permission sets."""
    setting = store.settings.api_user_permissions
    if user_id == store.api_user_id:
        return KNOWN_PERMISSIONS if setting is None else frozenset(setting)
    profile = store.select('SELECT p."Name" AS name FROM "User" u JOIN "Profile" p ON p."Id" = u."ProfileId" '
                           'WHERE u."Id" = ?', (user_id,))
    if profile and profile[0]["name"] == ADMIN_PROFILE:
        return KNOWN_PERMISSIONS
    columns = _permission_columns(store)
    if not columns:
        return frozenset()
    rows = store.select(
        "SELECT " + ", ".join(f'MAX(COALESCE(ps."{c}", 0)) AS "{c}"' for c in columns)
        + ' FROM "PermissionSetAssignment" a JOIN "PermissionSet" ps ON ps."Id" = a."PermissionSetId" '
        'WHERE a."AssigneeId" = ? AND a."IsDeleted" = 0', (user_id,))
    held = rows[0] if rows else {}
    return frozenset(c[len("Permissions"):] for c in columns if held.get(c))


def viewer_for(store: Store, user: dict | None) -> Viewer | None:
    """The viewer a REST call runs as (None without a user: the system)."""
    user_id = (user or {}).get("Id")
    if not user_id:
        return None
    return Viewer(user_id, user_permissions(store, user_id))


# --------------------------------------------------------------------------------------------
# licences and ownership


def check_owner_licence(store: Store, spec: schema.ObjectSpec, owner: dict) -> None:
    """TRANSFER_REQUIRES_READ when ``owner``'s licence gives no access to ``spec`` (see the module notes)."""
    rows = store.select('SELECT l."Name" AS name FROM "Profile" p JOIN "UserLicense" l ON l."Id" = p."UserLicenseId" '
                        'WHERE p."Id" = ?', (owner.get("ProfileId"),))
    if not rows:
        return
    allowed = LICENCE_OWNABLE.get(rows[0]["name"])
    if allowed is None:
        return
    if spec.name in allowed or (spec.custom and "*custom" in allowed):
        return
    raise errors.SalesforceError("The new owner must have read permission", ["OwnerId"],
                                 error_code="TRANSFER_REQUIRES_READ")

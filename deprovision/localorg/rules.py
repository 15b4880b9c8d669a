"""Salesforce behaviours that are not derivable from the schema.

The store calls these hooks around every create, update and delete:
users cannot be deleted and deactivation has blockers; every user has one
UserLogin row and one profile-owned permission set assignment; queues own
only the objects their QueueSobject rows list; inactive users cannot be
made owners, members or lookup targets; setup changes append SetupAuditTrail
rows; a simulated assignment rule may re-own Cases and Leads. Sources are in
/work/shared/reference/salesforce-api.md (sections 1-4, 6 and 9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deprovision.localorg import errors, schema, visibility
from deprovision.localorg import settings as org_settings

if TYPE_CHECKING:
    from deprovision.localorg.store import Store

Spec = schema.ObjectSpec

# Fields that refuse an inactive user (INACTIVE_OWNER_OR_USER); OwnerId of every object too.
INACTIVE_GUARDED = {
    ("GroupMember", "UserOrGroupId"),
    ("User", "ManagerId"),
    ("User", "DelegatedApproverId"),
    ("User", "Backup_Approver__c"),
    ("AccountTeamMember", "UserId"),
    ("OpportunityTeamMember", "UserId"),
}
# Objects whose pairs must be unique among live rows (DUPLICATE_VALUE).
UNIQUE_PAIRS = {
    "PermissionSetLicenseAssign": ("AssigneeId", "PermissionSetLicenseId"),
    "UserPackageLicense": ("UserId", "PackageLicenseId"),
    "UserTerritory2Association": ("UserId", "Territory2Id"),
}
ADMIN_PROFILE = "System Administrator"
_CLOSED_CASE = {"Closed"}
_CLOSED_TASK = {"Completed"}


# --------------------------------------------------------------------------------------------
# helpers


def _one(store: Store, sql: str, params: tuple = ()) -> dict | None:
    rows = store.select(sql, params)
    return rows[0] if rows else None


def user_label(store: Store, user_id: str | None) -> str:
    """``First Last (username)`` for audit texts."""
    if not user_id:
        return "none"
    row = store.row("User", user_id)
    return f"{row['Name']} ({row['Username']})" if row else user_id


def _name_of(store: Store, obj: str, record_id: str | None, column: str = "Name") -> str:
    if not record_id:
        return "none"
    row = store.row(obj, record_id)
    return str(row[column]) if row and row.get(column) else record_id


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def derive(spec: Spec, data: dict) -> None:
    """Calculated fields: Name of people, IsClosed/IsWon from status picklists."""
    if spec.name in ("User", "Contact", "Lead"):
        data["Name"] = _full_name(data.get("FirstName"), data.get("LastName"))
    elif spec.name == "Opportunity" and data.get("StageName") is not None:
        stage = data["StageName"]
        data["IsClosed"] = int(stage.startswith("Closed"))
        data["IsWon"] = int(stage == "Closed Won")
    elif spec.name == "Case" and data.get("Status") is not None:
        data["IsClosed"] = int(data["Status"] in _CLOSED_CASE)
    elif spec.name == "Task" and data.get("Status") is not None:
        data["IsClosed"] = int(data["Status"] in _CLOSED_TASK)


def _group(store: Store, group_id: str) -> dict | None:
    return store.row("Group", group_id) if group_id and group_id.startswith("00G") else None


# --------------------------------------------------------------------------------------------
# references


def check_reference_target(store: Store, spec: Spec, f: schema.FieldSpec, target: Spec, row: dict) -> None:
    """Owner and inactive-user rules for a reference value pointing at ``row`` (a ``target`` record)."""
    if target.name == "User" and not row["IsActive"] and (f.name == "OwnerId" or (spec.name, f.name) in INACTIVE_GUARDED):
        if not store.settings.update_records_with_inactive_owners:
            raise errors.INACTIVE_OWNER_OR_USER("operation performed with inactive User")
    if f.name == "OwnerId" and target.name == "User":
        visibility.check_owner_licence(store, spec, row)  # Chatter Free / Platform licences own only some objects
    if f.name == "OwnerId" and target.name == "Group":
        if row["Type"] != "Queue" or not spec.queue_ownable:
            raise errors.FIELD_INTEGRITY_EXCEPTION(f"Owner ID: id value of incorrect type: {row['Id']}", ["OwnerId"])
        listed = _one(store, 'SELECT "Id" FROM "QueueSobject" WHERE "QueueId" = ? AND "SobjectType" = ? '
                             'AND "IsDeleted" = 0', (row["Id"], spec.name))
        if listed is None:
            raise errors.INVALID_OPERATION("Queue not associated with this SObject type", ["OwnerId"])


# --------------------------------------------------------------------------------------------
# create


def before_create(store: Store, spec: Spec, data: dict, actor_id: str) -> str | None:
    """Special checks before an insert; returns an existing id when Salesforce returns that instead."""
    name = spec.name
    if name == "User":
        if store.user_by_username(data["Username"]) is not None:
            raise errors.SalesforceError("Duplicate Username.<br>The username already exists in this or another "
                                         "Salesforce organization. Usernames must be unique across all Salesforce "
                                         "organizations.", ["Username"], error_code="DUPLICATE_USERNAME")
        if data.get("IsActive", 1):
            _check_licence_available(store, data["ProfileId"])
    elif name == "PermissionSetAssignment":
        _prepare_psa(store, data)
    elif name == "GroupMember":
        existing = _one(store, 'SELECT "Id" FROM "GroupMember" WHERE "GroupId" = ? AND "UserOrGroupId" = ? '
                               'AND "IsDeleted" = 0', (data["GroupId"], data["UserOrGroupId"]))
        if existing:
            return existing["Id"]
    elif name in UNIQUE_PAIRS:
        a, b = UNIQUE_PAIRS[name]
        existing = _one(store, f'SELECT "Id" FROM "{name}" WHERE "{a}" = ? AND "{b}" = ? AND "IsDeleted" = 0',
                        (data[a], data[b]))
        if existing:  # real orgs: "... duplicates value on record with id: <15-character id>", no fields
            raise errors.DUPLICATE_VALUE(
                f"duplicate value found: {a} duplicates value on record with id: {existing['Id'][:15]}")
    elif name == "Case":
        data["CaseNumber"] = f"{store.next_number('CaseNumber'):08d}"
    return None


def _prepare_psa(store: Store, data: dict) -> None:
    ps_id, psg_id = data.get("PermissionSetId"), data.get("PermissionSetGroupId")
    if ps_id is None and psg_id is None:
        raise errors.REQUIRED_FIELD_MISSING("Required fields are missing: [PermissionSetId]", ["PermissionSetId"])
    if psg_id is not None:
        aggregate = _one(store, 'SELECT "Id" FROM "PermissionSet" WHERE "PermissionSetGroupId" = ? '
                                'AND "IsDeleted" = 0', (psg_id,))
        if aggregate is None:
            raise errors.INVALID_CROSS_REFERENCE_KEY("invalid cross reference id", ["PermissionSetGroupId"])
        if ps_id is not None and ps_id != aggregate["Id"]:
            raise errors.FIELD_INTEGRITY_EXCEPTION(
                "Specify either a permission set or a permission set group, not both.", ["PermissionSetId"])
        data["PermissionSetId"] = aggregate["Id"]
    ps = store.row("PermissionSet", data["PermissionSetId"])
    if ps["IsOwnedByProfile"]:
        raise errors.INVALID_CROSS_REFERENCE_KEY(
            "You can't assign or unassign this permission set because it's associated with a profile.",
            ["PermissionSetId"])
    if ps["PermissionSetGroupId"]:
        data["PermissionSetGroupId"] = ps["PermissionSetGroupId"]
    if _one(store, 'SELECT "Id" FROM "PermissionSetAssignment" WHERE "AssigneeId" = ? AND "PermissionSetId" = ? '
                   'AND "IsDeleted" = 0', (data["AssigneeId"], data["PermissionSetId"])):
        raise errors.DUPLICATE_VALUE("Duplicate PermissionSetAssignment")


def after_create(store: Store, spec: Spec, data: dict, actor_id: str) -> None:
    """Rows Salesforce makes together with a record, and audit trail entries."""
    name = spec.name
    if name == "User":
        store.system_write("UserLogin", {"UserId": data["Id"], "IsFrozen": 0, "IsPasswordLocked": 0},
                           actor_id=actor_id)
        if data.get("IsActive"):
            _count_licence(store, data["ProfileId"], 1)
        _add_profile_psa(store, data["Id"], data["ProfileId"], actor_id)
        store.audit("createduser", "Manage Users", f"Created new user {user_label(store, data['Id'])}",
                    actor_id=actor_id)
    elif name == "Profile":
        store.system_write("PermissionSet", {
            "Name": _profile_ps_name(data["Name"]), "Label": data["Name"], "IsOwnedByProfile": 1,
            "ProfileId": data["Id"], "Type": "Profile", "IsCustom": 0,
            **{f.name: data.get(f.name, 0) for f in spec.fields if f.name.startswith("Permissions")}},
            actor_id=actor_id)
    elif name == "PermissionSetGroup":
        store.system_write("PermissionSet", {
            "Name": data["DeveloperName"], "Label": data["MasterLabel"], "PermissionSetGroupId": data["Id"],
            "Type": "Group", "IsCustom": 0}, actor_id=actor_id)
    else:
        _audit_assignment(store, spec, data, actor_id, added=True)


def _profile_ps_name(profile_name: str) -> str:
    return "X" + "".join(ch for ch in profile_name.title() if ch.isalnum())


def _add_profile_psa(store: Store, user_id: str, profile_id: str, actor_id: str) -> None:
    ps = _one(store, 'SELECT "Id" FROM "PermissionSet" WHERE "ProfileId" = ? AND "IsOwnedByProfile" = 1 '
                     'AND "IsDeleted" = 0', (profile_id,))
    if ps is not None:
        store.system_write("PermissionSetAssignment", {"AssigneeId": user_id, "PermissionSetId": ps["Id"],
                                                       "IsActive": 1}, actor_id=actor_id)


def _audit_assignment(store: Store, spec: Spec, data: dict, actor_id: str, *, added: bool) -> None:
    """SetupAuditTrail rows for assignments and memberships (added or removed)."""
    name = spec.name
    to_from = "to" if added else "from"
    if name == "PermissionSetAssignment":
        if data.get("PermissionSetGroupId"):
            action = "PermSetGroupAssign" if added else "PermSetGroupUnassign"
            what = f"Permission set group {_name_of(store, 'PermissionSetGroup', data['PermissionSetGroupId'], 'DeveloperName')}"
        else:
            action = "PermSetAssign" if added else "PermSetUnassign"
            what = f"Permission set {_name_of(store, 'PermissionSet', data['PermissionSetId'])}"
        verb = "assigned to" if added else "unassigned from"
        store.audit(action, "Manage Users", f"{what}: {verb} user {user_label(store, data['AssigneeId'])}",
                    actor_id=actor_id)
    elif name == "PermissionSetLicenseAssign":
        action = "PermSetLicenseAssign" if added else "PermSetLicenseUnassign"
        lic = _name_of(store, "PermissionSetLicense", data["PermissionSetLicenseId"], "DeveloperName")
        verb = "assigned to" if added else "unassigned from"
        store.audit(action, "Manage Users",
                    f"Permission set license {lic}: {verb} user {user_label(store, data['AssigneeId'])}",
                    actor_id=actor_id)
        _bump(store, "PermissionSetLicense", data["PermissionSetLicenseId"], 1 if added else -1)
    elif name == "UserPackageLicense":
        action = "addeduserpackagelicense" if added else "removeduserpackagelicense"
        pkg = _name_of(store, "PackageLicense", data["PackageLicenseId"], "NamespacePrefix")
        verb = "Granted" if added else "Revoked"
        store.audit(action, "Custom App Licenses",
                    f"{verb} license for package {pkg} {to_from} user {user_label(store, data['UserId'])}",
                    actor_id=actor_id)
        _bump(store, "PackageLicense", data["PackageLicenseId"], 1 if added else -1)
    elif name == "GroupMember":
        group = _group(store, data["GroupId"])
        if group is None or group["Type"] not in ("Regular", "Queue"):
            return
        member = data["UserOrGroupId"]
        who = user_label(store, member) if member.startswith("005") else f"group {_name_of(store, 'Group', member)}"
        kind, action, section = ("queue", "queueMembership", "Data Management") if group["Type"] == "Queue" \
            else ("group", "groupMembership", "Groups")
        verb = "Added" if added else "Removed"
        store.audit(action, section, f"{verb} {who} {to_from} {kind} {group['Name']}", actor_id=actor_id)
    elif name == "UserTerritory2Association":
        action = "tm2_userAddedToTerritory" if added else "tm2_userRemovedFromTerritory"
        verb = "Added" if added else "Removed"
        territory = _name_of(store, "Territory2", data["Territory2Id"])
        store.audit(action, "Manage Territories",
                    f"{verb} user {user_label(store, data['UserId'])} {to_from} territory {territory}",
                    actor_id=actor_id)


def _bump(store: Store, obj: str, record_id: str, delta: int) -> None:
    store.conn.execute(f'UPDATE "{obj}" SET "UsedLicenses" = COALESCE("UsedLicenses", 0) + ? WHERE "Id" = ?',
                       (delta, record_id))


# --------------------------------------------------------------------------------------------
# update


def before_update(store: Store, spec: Spec, old: dict, changes: dict, actor_id: str) -> None:
    """Refuse updates Salesforce refuses (blockers, licences, locked passwords)."""
    if spec.name == "UserLogin":
        if changes.get("IsPasswordLocked") == 1:
            raise errors.SalesforceError(
                "Unable to update fields: IsPasswordLocked. You can set this field to false, but not true.",
                ["IsPasswordLocked"], error_code=store.settings.userlogin_error_code)
    elif spec.name == "User":
        if "ProfileId" in changes:
            _check_profile_change(store, old, changes["ProfileId"])
        if changes.get("IsActive") == 0:
            check_deactivation(store, old)
        if changes.get("IsActive") == 1:
            _check_licence_available(store, changes.get("ProfileId", old["ProfileId"]))


def _licence_of(store: Store, profile_id: str) -> dict | None:
    return _one(store, 'SELECT l.* FROM "UserLicense" l JOIN "Profile" p ON p."UserLicenseId" = l."Id" '
                       'WHERE p."Id" = ?', (profile_id,))


def _check_licence_available(store: Store, profile_id: str) -> None:
    """Creating or reactivating a user needs a free seat of the profile's licence."""
    licence = _licence_of(store, profile_id)
    if licence and licence["TotalLicenses"] is not None and (licence["UsedLicenses"] or 0) >= licence["TotalLicenses"]:
        raise errors.SalesforceError("License Limit Exceeded", error_code="LICENSE_LIMIT_EXCEEDED")


def _count_licence(store: Store, profile_id: str, delta: int) -> None:
    licence = _licence_of(store, profile_id)
    if licence:
        _bump(store, "UserLicense", licence["Id"], delta)


def _check_profile_change(store: Store, user: dict, new_profile_id: str) -> None:
    old_profile = store.row("Profile", user["ProfileId"])
    new_profile = store.row("Profile", new_profile_id)
    if old_profile["UserLicenseId"] != new_profile["UserLicenseId"]:
        raise errors.FIELD_INTEGRITY_EXCEPTION(
            "You can only reassign this user to a profile of the current license.", ["ProfileId"])
    if old_profile["Name"] == ADMIN_PROFILE and new_profile["Name"] != ADMIN_PROFILE and user["IsActive"]:
        _check_not_last_admin(store, user)


def _check_not_last_admin(store: Store, user: dict) -> None:
    if not store.settings.last_admin_protected:
        return
    others = _one(store, 'SELECT COUNT(*) AS n FROM "User" u JOIN "Profile" p ON p."Id" = u."ProfileId" '
                         'WHERE p."Name" = ? AND u."IsActive" = 1 AND u."IsDeleted" = 0 AND u."Id" <> ?',
                  (ADMIN_PROFILE, user["Id"]))
    if others["n"] == 0:
        raise errors.CANNOT_DISABLE_LAST_ADMIN(org_settings.MSG_LAST_ADMIN)


def deactivation_blockers(store: Store, user: dict) -> list[str]:
    """Messages of every configured blocker that stops ``user`` from being deactivated."""
    s = store.settings
    uid = user["Id"]
    found = []
    if uid == s.default_case_owner_id:
        found.append(org_settings.MSG_DEFAULT_CASE_OWNER)
    if uid == s.default_workflow_user_id:
        found.append(org_settings.MSG_DEFAULT_WORKFLOW_USER)
    if uid == s.web_to_lead_creator_id:
        found.append(org_settings.MSG_WEB_TO_LEAD_CREATOR)
    if uid in s.email_alert_recipient_ids:
        found.append(org_settings.MSG_EMAIL_ALERT_RECIPIENT)
    for fname in s.hierarchy_fields:
        f = schema.get_object("User").field(fname)
        if f is None:
            continue
        if _one(store, f'SELECT "Id" FROM "User" WHERE "{f.name}" = ? AND "IsDeleted" = 0 LIMIT 1', (uid,)):
            found.append(org_settings.MSG_HIERARCHY_FIELD.format(field=f.name))
    return found


def check_deactivation(store: Store, user: dict) -> None:
    """Raise the first blocker's error (configurable code) or CANNOT_DISABLE_LAST_ADMIN."""
    blockers = deactivation_blockers(store, user)
    if blockers:
        raise errors.SalesforceError(blockers[0], error_code=store.settings.blocker_error_code)
    profile = store.row("Profile", user["ProfileId"])
    if profile and profile["Name"] == ADMIN_PROFILE:
        _check_not_last_admin(store, user)


def after_update(store: Store, spec: Spec, old: dict, changes: dict, actor_id: str) -> None:
    """Audit trail entries and rows that follow a changed user."""
    if spec.name == "UserLogin" and "IsFrozen" in changes:
        action = "frozeuser" if changes["IsFrozen"] else "unfrozeuser"
        verb = "Froze" if changes["IsFrozen"] else "Unfroze"
        store.audit(action, "Manage Users", f"{verb} user {user_label(store, old['UserId'])}", actor_id=actor_id)
    elif spec.name == "User":
        _after_user_update(store, old, changes, actor_id)


def _after_user_update(store: Store, old: dict, changes: dict, actor_id: str) -> None:
    who = user_label(store, old["Id"])
    if "IsActive" in changes:
        _count_licence(store, changes.get("ProfileId", old["ProfileId"]), 1 if changes["IsActive"] else -1)
        action, verb = ("activateduser", "Activated") if changes["IsActive"] else ("deactivateduser", "Deactivated")
        store.audit(action, "Manage Users", f"{verb} user {who}", actor_id=actor_id)
    if "ProfileId" in changes:
        store.conn.execute(
            'UPDATE "PermissionSetAssignment" SET "PermissionSetId" = '
            '(SELECT "Id" FROM "PermissionSet" WHERE "ProfileId" = ? AND "IsOwnedByProfile" = 1 AND "IsDeleted" = 0) '
            'WHERE "AssigneeId" = ? AND "IsDeleted" = 0 AND "PermissionSetId" IN '
            '(SELECT "Id" FROM "PermissionSet" WHERE "IsOwnedByProfile" = 1)',
            (changes["ProfileId"], old["Id"]))
        store.audit("changedprofileforuser", "Manage Users",
                    f"Changed profile for user {who} from {_name_of(store, 'Profile', old['ProfileId'])} "
                    f"to {_name_of(store, 'Profile', changes['ProfileId'])}", actor_id=actor_id)
    if "UserRoleId" in changes:
        before = _name_of(store, "UserRole", old["UserRoleId"])
        if changes["UserRoleId"] is None:
            store.audit("changedroleforusertonone", "Manage Users",
                        f"Changed role for user {who} from {before} to none", actor_id=actor_id)
        else:
            action = "changedroleforuser" if old["UserRoleId"] else "changedroleforuserfromnone"
            store.audit(action, "Manage Users", f"Changed role for user {who} from {before} to "
                        f"{_name_of(store, 'UserRole', changes['UserRoleId'])}", actor_id=actor_id)
    for fname, action, label in (("Email", "changedemail", "email"),
                                 ("FederationIdentifier", "changedfederationid", "Federation ID")):
        if fname in changes:
            store.audit(action, "Manage Users", f"Changed {label} for user {who} from {old[fname] or 'blank'} "
                        f"to {changes[fname] or 'blank'}", actor_id=actor_id)
    if "ManagerId" in changes:
        store.audit("changedManager", "Manage Users",
                    f"Changed manager for user {who} from {user_label(store, old['ManagerId'])} to "
                    f"{user_label(store, changes['ManagerId'])}", actor_id=actor_id)


def apply_assignment_rule(store: Store, spec: Spec, record_id: str, actor_id: str) -> None:
    """Simulated active assignment rule: re-own the record to the configured queue (no audit: data change)."""
    target = store.settings.assignment_rule_queues.get(spec.name)
    if not target or not spec.has_owner:
        return
    queue = _one(store, 'SELECT "Id" FROM "Group" WHERE ("DeveloperName" = ? OR "Id" = ?) AND "Type" = \'Queue\' '
                        'AND "IsDeleted" = 0', (target, target))
    if queue is not None:
        store.update_row(spec.name, record_id, {"OwnerId": queue["Id"]})


# --------------------------------------------------------------------------------------------
# delete


def before_delete(store: Store, spec: Spec, row: dict, actor_id: str) -> None:
    """Profile-owned permission set assignments cannot be removed."""
    if spec.name == "PermissionSetAssignment":
        ps = store.row("PermissionSet", row["PermissionSetId"]) if row["PermissionSetId"] else None
        if ps is not None and ps["IsOwnedByProfile"]:
            raise errors.SalesforceError(store.settings.profile_owned_psa_message,
                                         error_code=store.settings.profile_owned_psa_error_code)


def after_delete(store: Store, spec: Spec, row: dict, actor_id: str) -> None:
    """Audit trail entries for removed assignments and memberships."""
    _audit_assignment(store, spec, row, actor_id, added=False)

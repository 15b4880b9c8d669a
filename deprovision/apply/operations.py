"""From plan changes to record operations: what each action writes, and in which step it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deprovision.plan.model import Change

# Steps of an apply run, in order. ``None`` marks a step that is not a list of record writes.
APPLY_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("export", ()),  # wind-downs: the whole org, verified before anything else
    ("freeze", ("freeze",)),
    ("backup", ()),
    ("revoke_sessions", ("end_sessions", "revoke_oauth_token")),
    ("reassign", ("reassign_owner",)),
    ("remove_access", ("remove_permission_set", "remove_permission_set_group", "remove_public_group",
                       "remove_queue", "remove_package_license", "remove_territory",
                       "remove_permission_set_license", "remove_account_team", "remove_opportunity_team",
                       "clear_role", "repoint_manager", "repoint_delegated_approver", "repoint_hierarchy_field")),
    ("deactivate", ("deactivate",)),
    ("wind_down_check", ()),  # wind-downs: the finish line, read into the audit log
)

# Steps of a rollback run: newest first (the reverse of apply), unfreezing last.
ROLLBACK_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("reactivate", ("reactivate",)),
    ("restore_role", ("restore_role", "restore_manager", "restore_delegated_approver", "restore_hierarchy_field")),
    ("restore_access", ("restore_assignment",)),
    ("restore_owner", ("restore_owner",)),
    ("unfreeze", ("unfreeze",)),
)

DELETE_ACTIONS = {"remove_permission_set", "remove_permission_set_group", "remove_public_group",
                  "remove_queue", "remove_package_license", "remove_territory",
                  "remove_permission_set_license", "remove_account_team", "remove_opportunity_team",
                  "end_sessions"}
# Within one delete step, licences go last: a permission set licence cannot go while a set needing it stays.
DELETE_ORDER = {"PermissionSetAssignment": 0, "GroupMember": 1, "UserPackageLicense": 2,
                "UserTerritory2Association": 3, "PermissionSetLicenseAssign": 4, "AccountTeamMember": 5,
                "OpportunityTeamMember": 6}

# The fields that identify an assignment, used to re-create one and to find it again.
ASSIGNMENT_KEYS: dict[str, tuple[str, ...]] = {
    "PermissionSetAssignment": ("AssigneeId", "PermissionSetId"),
    "PermissionSetLicenseAssign": ("AssigneeId", "PermissionSetLicenseId"),
    "GroupMember": ("GroupId", "UserOrGroupId"),
    "UserPackageLicense": ("UserId", "PackageLicenseId"),
    "UserTerritory2Association": ("UserId", "Territory2Id"),
    "AccountTeamMember": ("UserId", "AccountId"),
    "OpportunityTeamMember": ("UserId", "OpportunityId"),
}
# Every field the backup keeps so an assignment can be re-created.
ASSIGNMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "PermissionSetAssignment": ("Id", "AssigneeId", "PermissionSetId", "PermissionSetGroupId", "ExpirationDate"),
    "PermissionSetLicenseAssign": ("Id", "AssigneeId", "PermissionSetLicenseId"),
    "GroupMember": ("Id", "GroupId", "UserOrGroupId"),
    "UserPackageLicense": ("Id", "UserId", "PackageLicenseId"),
    "UserTerritory2Association": ("Id", "UserId", "Territory2Id", "RoleInTerritory2"),
    "AccountTeamMember": ("Id", "UserId", "AccountId", "TeamMemberRole", "AccountAccessLevel"),
    "OpportunityTeamMember": ("Id", "UserId", "OpportunityId", "TeamMemberRole", "OpportunityAccessLevel"),
}
# The field naming the user in each assignment object.
USER_FIELD = {"PermissionSetAssignment": "AssigneeId", "PermissionSetLicenseAssign": "AssigneeId",
              "GroupMember": "UserOrGroupId", "UserPackageLicense": "UserId",
              "UserTerritory2Association": "UserId", "AuthSession": "UsersId", "OauthToken": "UserId",
              "UserLogin": "UserId", "AccountTeamMember": "UserId", "OpportunityTeamMember": "UserId"}


@dataclass(slots=True)
class Op:
    """One record write: update ``fields`` of ``key``, delete ``key``, or create a record from ``fields``."""

    change: Change
    key: str
    obj: str
    kind: str  # "update" | "delete" | "create"
    fields: dict[str, Any] = field(default_factory=dict)


def step_of(action: str, steps=APPLY_STEPS) -> str | None:
    for name, actions in steps:
        if action in actions:
            return name
    return None


def _update_fields(change: Change) -> dict[str, Any]:
    fixed = {
        "freeze": {"IsFrozen": True},
        "unfreeze": {"IsFrozen": False},
        "deactivate": {"IsActive": False},
        "reactivate": {"IsActive": True},
        "clear_role": {"UserRoleId": None},
    }
    if change.action in fixed:
        return fixed[change.action]
    if change.action in ("reassign_owner", "restore_owner"):
        owner = (change.after or {}).get("OwnerId") or (change.successor.id if change.successor else None)
        return {"OwnerId": owner}
    if change.action == "restore_role":
        return {"UserRoleId": (change.after or {}).get("UserRoleId")}
    return dict(change.after or {})


def change_object(change: Change) -> str:
    """The object a change writes (``*`` in the action table means "the change's own object")."""
    if change.action in ("freeze", "unfreeze"):
        return "UserLogin"
    if change.action in ("deactivate", "reactivate", "clear_role", "restore_role"):
        return "User"
    return change.object


def ops_for(change: Change) -> list[Op]:
    """The record operations of one change (tokens and sessions are read at execution time instead)."""
    obj = change_object(change)
    if change.action in ("revoke_oauth_token", "end_sessions"):
        return []  # read at execution time: sessions and tokens come and go
    if change.action in DELETE_ACTIONS:
        return [Op(change, rid, obj, "delete") for rid in change.record_ids]
    if change.action == "restore_assignment":
        key = change.record_ids[0] if change.record_ids else change.id
        return [Op(change, key, obj, "create", dict(change.after or {}))]
    ids = list(change.record_ids)
    if obj == "User" and not ids:
        ids = [change.user_id]
    fields = _update_fields(change)
    return [Op(change, rid, obj, "update", fields) for rid in ids]

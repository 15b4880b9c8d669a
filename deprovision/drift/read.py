"""Re-read the deprovisioned users in few calls: one chunked query per object, plus the Setup Audit Trail
and LoginHistory since the oldest run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deprovision.apply.operations import ASSIGNMENT_KEYS, USER_FIELD, change_object
from deprovision.clock import iso, parse
from deprovision.drift.history import RunHistory
from deprovision.errors import OrgError
from deprovision.org.soql import soql_literal

# SetupAuditTrail actions that undo a deprovisioning (reference/salesforce-api.md section 6).
TRAIL_ACTIONS = ("activateduser", "unfrozeuser", "PermSetAssign", "PermSetGroupAssign", "PermSetLicenseAssign",
                 "groupMembership", "queueMembership", "addeduserpackagelicense", "granteduserpackagelicense",
                 "tm2_userAddedToTerritory", "changedroleforuser", "changedroleforuserfromnone")
_EXTRA_FIELDS = {"PermissionSetAssignment": ("PermissionSetGroupId", "PermissionSet.Name",
                                             "PermissionSet.IsOwnedByProfile"),
                 "GroupMember": ("Group.DeveloperName", "Group.Type")}


@dataclass
class OrgView:
    """What the org holds now for the users of past runs."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    logins: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id -> UserLogin row
    grants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # object -> rows
    owned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # object -> rows
    tokens: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user id -> OauthToken rows
    login_history: list[dict[str, Any]] = field(default_factory=list)
    trail: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _rows(records) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in records]


def read_org(client, runs: list[RunHistory]) -> OrgView:
    """One query per object over every user of ``runs`` (IN chunks), never one per user."""
    view = OrgView()
    users = sorted({c.user_id for run in runs for c, _ in run.done})
    if not users:
        return view
    view.users = {r["Id"]: r for r in _rows(client.query_in(
        "SELECT Id, Username, Name, IsActive, UserRoleId, LastModifiedDate, LastModifiedBy.Username "
        "FROM User WHERE Id IN {ids}", users))}
    view.logins = {r["UserId"]: r for r in _rows(client.query_in(
        "SELECT Id, UserId, IsFrozen, LastModifiedDate, LastModifiedBy.Username FROM UserLogin "
        "WHERE UserId IN {ids}", users))}
    grant_users: dict[str, set[str]] = defaultdict(set)
    owner_users: dict[str, set[str]] = defaultdict(set)
    token_users: set[str] = set()
    for run in runs:
        for change, _keys in run.done:
            obj = change_object(change)
            if change.action.startswith("remove_") and obj in ASSIGNMENT_KEYS:
                grant_users[obj].add(change.user_id)
            elif change.action == "reassign_owner":
                owner_users[change.object].add(change.user_id)
            elif change.action in ("revoke_oauth_token", "end_sessions", "freeze"):
                token_users.add(change.user_id)
    for obj, ids in sorted(grant_users.items()):
        fields = ["Id", *ASSIGNMENT_KEYS[obj], *_EXTRA_FIELDS.get(obj, ()), "CreatedDate", "CreatedBy.Username"]
        fields = list(dict.fromkeys(fields))
        view.grants[obj] = _rows(client.query_in(
            f"SELECT {', '.join(fields)} FROM {obj} WHERE {USER_FIELD[obj]} IN {{ids}}", sorted(ids)))
    for obj, ids in sorted(owner_users.items()):
        view.owned[obj] = _rows(client.query_in(
            f"SELECT Id, OwnerId, CreatedDate, LastModifiedDate, LastModifiedBy.Username FROM {obj} "
            "WHERE OwnerId IN {ids}", sorted(ids)))
    if token_users:
        for r in _rows(client.query_in("SELECT UserId, AppName, LastUsedDate FROM OauthToken "
                                       "WHERE UserId IN {ids}", sorted(token_users))):
            view.tokens.setdefault(r["UserId"], []).append(r)
    starts = [run.started for run in runs if run.started]
    if starts:
        since = iso(min(starts) - timedelta(minutes=5))
        view.login_history = _optional(client, view, "LoginHistory", (
            "SELECT UserId, LoginTime, LoginType, Status, SourceIp, Application FROM LoginHistory "
            f"WHERE LoginTime >= {since} AND UserId IN {{ids}}"), users)
        actions = ", ".join(soql_literal(a) for a in TRAIL_ACTIONS)
        view.trail = _optional(client, view, "SetupAuditTrail", (
            "SELECT Action, Section, Display, CreatedDate, CreatedBy.Username FROM SetupAuditTrail "
            f"WHERE CreatedDate >= {since} AND Action IN ({actions}) ORDER BY CreatedDate"), None)
    return view


def _optional(client, view: OrgView, obj: str, soql: str, ids: list[str] | None) -> list[dict[str, Any]]:
    """Rows of an object the API user may not be allowed to read (then a note, not a failure)."""
    try:
        records = client.query_in(soql, ids) if ids is not None else client.query(soql)
        return _rows(records)
    except OrgError as exc:
        view.notes.append(f"{obj} could not be read ({exc.error_code or exc.message}); "
                          "its findings are left out")
        return []


def moment(value: Any) -> datetime | None:
    """A Salesforce datetime as UTC."""
    return parse(value) if isinstance(value, str) else None

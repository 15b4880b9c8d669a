"""Findings: what came back for a user a past run deprovisioned, when, and by whom.

"When" and "by whom" come from the Setup Audit Trail where it records the change (reactivation,
unfreezing, assignments, memberships, licences, role), otherwise from the record's LastModifiedBy /
CreatedBy; logins from LoginHistory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from deprovision.apply.operations import ASSIGNMENT_KEYS, USER_FIELD, change_object
from deprovision.clock import iso
from deprovision.drift.history import RunHistory
from deprovision.drift.read import OrgView, moment

# removal action -> (words, SetupAuditTrail actions of the grant)
GRANTS = {
    "remove_permission_set": ("permission set {label} assigned again", ("PermSetAssign",)),
    "remove_permission_set_group": ("permission set group {label} assigned again", ("PermSetGroupAssign",)),
    "remove_permission_set_license": ("permission set licence {label} assigned again", ("PermSetLicenseAssign",)),
    "remove_public_group": ("member of public group {label} again", ("groupMembership",)),
    "remove_queue": ("member of queue {label} again", ("queueMembership",)),
    "remove_package_license": ("package licence {label} assigned again",
                               ("addeduserpackagelicense", "granteduserpackagelicense")),
    "remove_territory": ("territory {label} assigned again", ("tm2_userAddedToTerritory",)),
    "remove_account_team": ("on the account team of {label} again", ()),
    "remove_opportunity_team": ("on the opportunity team of {label} again", ()),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OBJECT_REMOVALS = {"PermissionSetLicenseAssign": "remove_permission_set_license",
                    "UserPackageLicense": "remove_package_license", "UserTerritory2Association": "remove_territory",
                    "AccountTeamMember": "remove_account_team", "OpportunityTeamMember": "remove_opportunity_team"}


def _parent(row: dict[str, Any], rel: str, name: str) -> Any:
    parent = row.get(rel)
    return parent.get(name) if isinstance(parent, dict) else None


def _grant_of(obj: str, row: dict[str, Any]) -> tuple[str | None, str]:
    """The removal action for an assignment row and its label; None for what is never removed (a profile's
    own permission set, memberships of system groups)."""
    if obj == "PermissionSetAssignment":
        if _parent(row, "PermissionSet", "IsOwnedByProfile"):
            return None, ""
        if row.get("PermissionSetGroupId"):
            return "remove_permission_set_group", row["PermissionSetGroupId"]
        return "remove_permission_set", _parent(row, "PermissionSet", "Name") or row.get("PermissionSetId") or ""
    if obj == "GroupMember":
        kind = {"Queue": "remove_queue", "Regular": "remove_public_group"}.get(_parent(row, "Group", "Type"))
        return kind, _parent(row, "Group", "DeveloperName") or row.get("GroupId") or ""
    keys = ASSIGNMENT_KEYS.get(obj, ())
    return _OBJECT_REMOVALS.get(obj), str(row.get(keys[1]) if len(keys) > 1 else row.get("Id"))


def natural_key(obj: str, data: dict[str, Any]) -> tuple:
    """What identifies an assignment across ids (a permission set group assignment: its group)."""
    if obj == "PermissionSetAssignment" and data.get("PermissionSetGroupId"):
        return (data.get("AssigneeId"), "group", data.get("PermissionSetGroupId"))
    return tuple(data.get(f) for f in ASSIGNMENT_KEYS[obj])


@dataclass
class Finding:
    """One thing that came back. ``fix`` says how ``drift --fix`` removes it again."""

    run_id: str
    user_id: str
    username: str
    kind: str  # reactivated | unfrozen | regranted | role | owned_again | login | oauth_token
    what: str
    object: str
    record_ids: list[str]
    when: str | None
    by: str | None
    source: str  # SetupAuditTrail | LastModifiedBy | CreatedBy | LoginHistory | OauthToken
    fix: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        when = f" at {self.when}" if self.when else ""
        by = f" by {self.by}" if self.by else ""
        return f"{self.username}: {self.what}{when}{by} (run {self.run_id}; {self.source})"


def _when(value: Any) -> str | None:
    at = moment(value)
    return iso(at) if at else None


def _by(row: dict[str, Any], rel: str) -> str | None:
    parent = row.get(rel)
    return parent.get("Username") if isinstance(parent, dict) else None


class _Detector:
    def __init__(self, view: OrgView, latest: dict[str, datetime]) -> None:
        self.view = view
        self.latest = latest  # user id -> start of the newest run that deprovisioned them
        self.findings: list[Finding] = []
        self.seen: set[tuple[str, str, str]] = set()

    def add(self, finding: Finding, key: str) -> None:
        ident = (finding.user_id, finding.kind, key)
        if ident not in self.seen:  # runs are read newest first: the newest run names the finding
            self.seen.add(ident)
            self.findings.append(finding)

    def trail(self, actions: tuple[str, ...], username: str, after: datetime | None,
              label: str = "") -> dict[str, Any] | None:
        """The newest Setup Audit Trail row of ``actions`` after ``after`` naming the user (and the label)."""
        hits = []
        for row in self.view.trail:
            at = moment(row.get("CreatedDate"))
            display = (row.get("Display") or "").lower()
            if row.get("Action") in actions and username.lower() in display and (after is None or
                                                                                 (at and at >= after)):
                hits.append((label.lower() in display if label else True, at, row))
        if not hits:
            return None
        hits.sort(key=lambda h: (h[0], h[1] or _EPOCH))
        return hits[-1][2]

    def who(self, actions: tuple[str, ...], username: str, after: datetime | None, row: dict[str, Any],
            rel: str, date_field: str, label: str = "") -> tuple[str | None, str | None, str]:
        hit = self.trail(actions, username, after, label) if actions else None
        if hit is not None:
            return _when(hit.get("CreatedDate")), _by(hit, "CreatedBy"), "SetupAuditTrail"
        return _when(row.get(date_field)), _by(row, rel), rel

    def run(self, run: RunHistory) -> None:
        names = {u.id: u.username for u in run.plan.users}
        after = run.started
        for change, _keys in run.done_of("deactivate"):
            user = self.view.users.get(change.user_id)
            if user and user.get("IsActive"):
                name = names.get(change.user_id, change.username)
                when, by, source = self.who(("activateduser",), name, after, user, "LastModifiedBy",
                                            "LastModifiedDate")
                self.add(Finding(run.run_id, change.user_id, name, "reactivated", "user is active again", "User",
                                 [change.user_id], when, by, source, {"action": "deactivate"}), change.user_id)
        for change, _keys in run.done_of("freeze"):
            login = self.view.logins.get(change.user_id)
            if login and not login.get("IsFrozen"):
                name = names.get(change.user_id, change.username)
                when, by, source = self.who(("unfrozeuser",), name, after, login, "LastModifiedBy",
                                            "LastModifiedDate")
                self.add(Finding(run.run_id, change.user_id, name, "unfrozen", "login is not frozen", "UserLogin",
                                 [login["Id"]], when, by, source, {"action": "freeze"}), change.user_id)
        for change, _keys in run.done_of("clear_role"):
            user = self.view.users.get(change.user_id)
            if user and user.get("UserRoleId"):
                name = names.get(change.user_id, change.username)
                when, by, source = self.who(("changedroleforuser", "changedroleforuserfromnone"), name, after,
                                            user, "LastModifiedBy", "LastModifiedDate")
                self.add(Finding(run.run_id, change.user_id, name, "role", "has a role again", "User",
                                 [change.user_id], when, by, source, {"action": "clear_role",
                                                                     "role": user["UserRoleId"]}), "role")
        self._grants(run, names, after)
        self._owners(run, names)
        self._logins(run, names, after)

    def _grants(self, run: RunHistory, names: dict[str, str], after: datetime | None) -> None:
        for change, keys in run.done:
            if change.action not in GRANTS:
                continue
            obj = change_object(change)
            fields = ASSIGNMENT_KEYS.get(obj)
            if not fields:
                continue
            removed = natural_key(obj, change.before or {})
            words, actions = GRANTS[change.action]
            name = names.get(change.user_id, change.username)
            for row in self.view.grants.get(obj, []):
                if natural_key(obj, row) != removed and row.get("Id") not in keys:
                    continue
                when, by, source = self.who(actions, name, after, row, "CreatedBy", "CreatedDate", change.label)
                self.add(Finding(run.run_id, change.user_id, name, "regranted", words.format(label=change.label),
                                 obj, [row["Id"]], when, by, source,
                                 {"action": change.action, "label": change.label,
                                  "before": {f: row.get(f) for f in fields}}), row["Id"])
        self._new_grants(run, names, after)

    def _new_grants(self, run: RunHistory, names: dict[str, str], after: datetime | None) -> None:
        """Assignments of the kinds the run removed, granted to its users after it finished."""
        users_of: dict[str, set[str]] = {}
        for change, _keys in run.done:
            if change.action in GRANTS:
                users_of.setdefault(change_object(change), set()).add(change.user_id)
        for obj, rows in self.view.grants.items():
            for row in rows:
                user_id = row.get(USER_FIELD[obj])
                created = moment(row.get("CreatedDate"))
                if user_id not in users_of.get(obj, ()) or created is None or run.finished is None \
                        or created <= run.finished:
                    continue
                action, label = _grant_of(obj, row)
                if action is None:
                    continue
                words, actions = GRANTS[action]
                name = names.get(user_id, user_id)
                when, by, source = self.who(actions, name, after, row, "CreatedBy", "CreatedDate", label)
                self.add(Finding(run.run_id, user_id, name, "regranted",
                                 words.format(label=label).replace(" again", " after the run"), obj, [row["Id"]],
                                 when, by, source, {"action": action, "label": label,
                                                    "before": {f: row.get(f) for f in ASSIGNMENT_KEYS[obj]}}),
                         row["Id"])

    def _owners(self, run: RunHistory, names: dict[str, str]) -> None:
        for change, keys in run.done_of("reassign_owner"):
            moved = set(keys)
            back = [r for r in self.view.owned.get(change.object, [])
                    if r.get("OwnerId") == change.user_id and r["Id"] in moved]
            if not back:
                continue
            name = names.get(change.user_id, change.username)
            latest = max(back, key=lambda r: r.get("LastModifiedDate") or "")
            by = Counter(_by(r, "LastModifiedBy") for r in back).most_common(1)[0][0]
            n = len(back)
            successor = change.successor.id if change.successor else (change.after or {}).get("OwnerId")
            self.add(Finding(run.run_id, change.user_id, name, "owned_again",
                             f"owns {n} {change.object} record{'s' if n != 1 else ''} again", change.object,
                             sorted(r["Id"] for r in back), _when(latest.get("LastModifiedDate")), by,
                             "LastModifiedBy", {"action": "reassign_owner", "successor": successor,
                                                "change_id": change.id}), change.id)

    def _logins(self, run: RunHistory, names: dict[str, str], after: datetime | None) -> None:
        frozen = {c.user_id for c, _ in run.done_of("freeze")} | {c.user_id for c, _ in run.done_of("deactivate")}
        for row in self.view.login_history:
            at = moment(row.get("LoginTime"))
            if row.get("UserId") not in frozen or row.get("Status") != "Success" or at is None:
                continue
            since = self.latest.get(row["UserId"], after)
            if since is not None and at < since:
                continue  # before the newest run that took this user out: that run dealt with it
            name = names.get(row["UserId"], row["UserId"])
            self.add(Finding(run.run_id, row["UserId"], name, "login",
                             f"logged in ({row.get('LoginType') or 'login'} from {row.get('SourceIp') or '?'})",
                             "LoginHistory", [], iso(at), name, "LoginHistory", {"action": "end_sessions"}),
                     f"login:{row.get('LoginTime')}")
        revoked = {c.user_id for c, _ in run.done_of("revoke_oauth_token")}
        for user_id in sorted(revoked):
            apps = Counter(t.get("AppName") or "app" for t in self.view.tokens.get(user_id, []))
            for app, n in sorted(apps.items()):
                name = names.get(user_id, user_id)
                self.add(Finding(run.run_id, user_id, name, "oauth_token",
                                 f"{n} OAuth token{'s' if n != 1 else ''} for {app} again", "OauthToken", [],
                                 None, None, "OauthToken", {"action": "revoke_oauth_token", "app": app}),
                         f"token:{app}")


def find_drift(runs: list[RunHistory], view: OrgView) -> list[Finding]:
    """Every finding, newest run first per user; empty when everything the runs did still holds."""
    latest: dict[str, datetime] = {}
    for run in runs:
        for change, _keys in run.done:
            if run.started and (change.user_id not in latest or run.started > latest[change.user_id]):
                latest[change.user_id] = run.started
    detector = _Detector(view, latest)
    for run in sorted(runs, key=lambda r: r.started or _EPOCH, reverse=True):
        detector.run(run)
    return sorted(detector.findings, key=lambda f: (f.username, f.kind, f.when or ""))

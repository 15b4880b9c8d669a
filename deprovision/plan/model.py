"""The plan: the contract between a dry run and an execution.

A plan is a value. ``compute_plan`` makes one, renderers show one, ``apply``
executes exactly one. Its JSON form is versioned (``format_version``).
Action names are stable strings shared by plans, audit events, templates and
summaries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 2  # 2: plans carry ``rules`` (the playbook's protect rules and limits)
READABLE_VERSIONS = (1, 2)  # version 1 plans (no rules) are still read: runs made with them stay usable

# Phases, in the order apply runs them.
PHASE_FREEZE = "freeze"
PHASE_BACKUP = "backup"
PHASE_REVOKE_SESSIONS = "revoke_sessions"
PHASE_REASSIGN = "reassign"
PHASE_REMOVE_ACCESS = "remove_access"
PHASE_DEACTIVATE = "deactivate"
PHASES = (PHASE_FREEZE, PHASE_BACKUP, PHASE_REVOKE_SESSIONS, PHASE_REASSIGN, PHASE_REMOVE_ACCESS,
          PHASE_DEACTIVATE)

# Actions: (phase, object written, human verb for the dry run, verb once done).
ACTIONS: dict[str, tuple[str, str, str, str]] = {
    "freeze": (PHASE_FREEZE, "UserLogin", "freeze login", "froze login"),
    "end_sessions": (PHASE_REVOKE_SESSIONS, "AuthSession", "end sessions", "ended sessions"),
    "revoke_oauth_token": (PHASE_REVOKE_SESSIONS, "OauthToken", "revoke OAuth token", "revoked OAuth token"),
    "reassign_owner": (PHASE_REASSIGN, "*", "reassign", "reassigned"),
    "remove_permission_set": (PHASE_REMOVE_ACCESS, "PermissionSetAssignment",
                              "remove permission set", "removed permission set"),
    "remove_permission_set_group": (PHASE_REMOVE_ACCESS, "PermissionSetAssignment",
                                    "remove permission set group", "removed permission set group"),
    "remove_permission_set_license": (PHASE_REMOVE_ACCESS, "PermissionSetLicenseAssign",
                                      "remove permission set license", "removed permission set license"),
    "remove_public_group": (PHASE_REMOVE_ACCESS, "GroupMember", "remove from public group",
                            "removed from public group"),
    "remove_queue": (PHASE_REMOVE_ACCESS, "GroupMember", "remove from queue", "removed from queue"),
    "remove_package_license": (PHASE_REMOVE_ACCESS, "UserPackageLicense", "remove package license",
                               "removed package license"),
    "remove_territory": (PHASE_REMOVE_ACCESS, "UserTerritory2Association", "remove from territory",
                         "removed from territory"),
    "remove_account_team": (PHASE_REMOVE_ACCESS, "AccountTeamMember", "remove from account team",
                            "removed from account team"),
    "remove_opportunity_team": (PHASE_REMOVE_ACCESS, "OpportunityTeamMember", "remove from opportunity team",
                                "removed from opportunity team"),
    "clear_role": (PHASE_REMOVE_ACCESS, "User", "clear role", "cleared role"),
    # other users' lookups moved from the leaver to the successor (record_ids: those users)
    "repoint_manager": (PHASE_REMOVE_ACCESS, "User", "repoint manager of", "repointed manager of"),
    "repoint_delegated_approver": (PHASE_REMOVE_ACCESS, "User", "repoint delegated approver of",
                                   "repointed delegated approver of"),
    # any other User lookup to User (a custom hierarchy field, named in before/after)
    "repoint_hierarchy_field": (PHASE_REMOVE_ACCESS, "User", "repoint hierarchy field of",
                                "repointed hierarchy field of"),
    "deactivate": (PHASE_DEACTIVATE, "User", "deactivate user", "deactivated user"),
    # rollback only
    "unfreeze": (PHASE_FREEZE, "UserLogin", "unfreeze login", "unfroze login"),
    "reactivate": (PHASE_FREEZE, "User", "reactivate user", "reactivated user"),
    "restore_assignment": (PHASE_REMOVE_ACCESS, "*", "restore", "restored"),
    "restore_role": (PHASE_REMOVE_ACCESS, "User", "restore role", "restored role"),
    "restore_manager": (PHASE_REMOVE_ACCESS, "User", "restore manager of", "restored manager of"),
    "restore_delegated_approver": (PHASE_REMOVE_ACCESS, "User", "restore delegated approver of",
                                   "restored delegated approver of"),
    "restore_hierarchy_field": (PHASE_REMOVE_ACCESS, "User", "restore hierarchy field of",
                                "restored hierarchy field of"),
    "restore_owner": (PHASE_REASSIGN, "*", "restore owner of", "restored owner of"),
}


@dataclass
class Successor:
    """Who inherits records: a user or a queue, and the rule that chose them."""

    id: str
    name: str
    kind: str  # "user" | "queue"
    rule: str  # "manager" | "user" | "id" | "queue" | "fallback"


@dataclass
class Change:
    """One change the executor will make, for one target user.

    ``record_ids`` lists every record written. For large reassignments the
    ids may live in a sidecar file (``record_ids_ref`` = its SHA-256) and
    ``record_ids`` is then empty until loaded.
    """

    id: str  # stable within the plan, e.g. "005...:remove_permission_set:0Pa..."
    action: str
    phase: str
    user_id: str
    username: str
    object: str
    record_ids: list[str]
    before: dict[str, Any]
    after: dict[str, Any]
    label: str = ""  # what the admin reads: "Sales_Extra", "312 Account"
    successor: Successor | None = None
    count: int = 0
    examples: list[str] = field(default_factory=list)  # a few record names for the diff
    record_ids_ref: str | None = None
    due_at: str | None = None  # not before this UTC time (a future leaver's removals); None: at once


@dataclass
class Warning:
    """Something an admin must know; ``blocking`` ones stop the plan from being applied."""

    code: str  # e.g. "dependant_manager", "successor_chain", "protected_user"
    message: str
    user_id: str | None = None
    blocking: bool = False


@dataclass
class PlanUser:
    """A target user as the plan saw them."""

    id: str
    username: str
    name: str
    email: str
    is_active: bool
    is_frozen: bool
    profile: str
    role: str | None
    manager_id: str | None
    terminated_at: str | None = None


@dataclass
class Plan:
    """A complete dry-run result; apply executes exactly this."""

    org_id: str
    instance_url: str
    api_user: dict[str, str]  # {"id", "username"}
    playbook: dict[str, Any]  # {"name", "path", "sha256", "reason"}
    variables: dict[str, str]
    created_at: str
    users: list[PlanUser]
    changes: list[Change]
    warnings: list[Warning]
    fingerprint: dict[str, Any]  # what apply re-reads to detect a stale plan
    backup_objects: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    backup_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # user id -> object -> records
    backup_files: bool = False  # the leavers' file contents are saved with the backup (backup.files)
    # the playbook's guards, re-checked against the org at apply:
    # {"protect": {"usernames": [...], "ids": [...], "profiles": [...]}, "limits": {"max_users": N}}
    rules: dict[str, Any] = field(default_factory=dict)
    wind_down: dict[str, Any] = field(default_factory=dict)  # contract, export, licences (wind-downs)

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Rebuild a plan from ``to_dict`` output (raises KeyError/TypeError on a bad document)."""
        changes = []
        for c in data["changes"]:
            c = dict(c)
            if c.get("successor"):
                c["successor"] = Successor(**c["successor"])
            changes.append(Change(**c))
        return cls(
            org_id=data["org_id"],
            instance_url=data["instance_url"],
            api_user=data["api_user"],
            playbook=data["playbook"],
            variables=data.get("variables", {}),
            created_at=data["created_at"],
            users=[PlanUser(**u) for u in data["users"]],
            changes=changes,
            warnings=[Warning(**w) for w in data.get("warnings", [])],
            fingerprint=data.get("fingerprint", {}),
            backup_objects=data.get("backup_objects", []),
            format_version=data.get("format_version", FORMAT_VERSION),
            backup_counts=data.get("backup_counts", {}),
            backup_files=bool(data.get("backup_files", False)),
            rules=data.get("rules") or {},
            wind_down=data.get("wind_down") or {},
        )

    @property
    def blocking_warnings(self) -> list[Warning]:
        return [w for w in self.warnings if w.blocking]

    @property
    def record_count(self) -> int:
        """Records whose owner the plan changes (reassignments, or owners restored by a rollback)."""
        return sum(c.count or len(c.record_ids) for c in self.changes
                   if c.action in ("reassign_owner", "restore_owner"))

"""What a snapshot holds: plain data read from the org for one playbook.

``read_snapshot`` (``snapshot.py``) fills these from an org; tests of the
planner build them by hand. Nothing here talks to an org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]


@dataclass
class OrgUser:
    """A user as read from the org (a target, a manager, a named successor)."""

    id: str
    username: str
    name: str
    email: str = ""
    is_active: bool = True
    is_frozen: bool = False
    profile: str = ""
    profile_id: str | None = None
    licence: str = ""  # Profile.UserLicense.Name ("" when not read: no licence rule applies)
    role_id: str | None = None
    role: str | None = None
    manager_id: str | None = None
    delegated_approver_id: str | None = None
    federation_id: str | None = None
    modstamp: str = ""
    login_id: str | None = None
    login_modstamp: str | None = None


@dataclass
class Grant:
    """An assignment or membership a user holds (PSA, PSLA, GroupMember, UPL, territory)."""

    id: str
    action: str  # the remove_* action that would delete it
    user_id: str
    object: str
    name: str  # API name matched against revoke lists
    label: str = ""
    modstamp: str = ""
    profile_owned: bool = False
    fields: dict[str, Any] = field(default_factory=dict)  # creatable fields, to restore it


@dataclass
class TokenGroup:
    """A user's OAuth tokens for one connected app (tokens have no id; DeleteToken is never read here)."""

    user_id: str
    app_name: str
    count: int


@dataclass
class OwnedSet:
    """Records of one object owned by one target user (matching the playbook's ``where``)."""

    object: str
    owner_id: str
    ids: list[str]
    count: int
    max_modstamp: str | None = None
    examples: list[str] = field(default_factory=list)


@dataclass
class QueueInfo:
    """A queue and the objects it may own (QueueSobject)."""

    id: str
    developer_name: str
    name: str
    sobject_types: list[str] = field(default_factory=list)


@dataclass
class Dependant:
    """Something in the org that points at a target user and will not follow them out."""

    kind: str  # manager | delegated_approver | hierarchy | report | dashboard | approval | scheduled_job
    record_id: str
    name: str
    user_id: str  # the target it points at
    field: str | None = None  # the User field pointing at the target (manager, approver, hierarchy kinds)


@dataclass
class Snapshot:
    """Everything the planner needs, read in one pass; apply re-reads a fingerprint of it."""

    org_id: str
    instance_url: str
    api_user: dict[str, str]
    targets: list[OrgUser] = field(default_factory=list)
    matched_by: dict[str, list[Path]] = field(default_factory=dict)  # user id -> selector paths
    missing: list[tuple[Path, str]] = field(default_factory=list)  # selector values matching nobody
    terminated_at: dict[str, str] = field(default_factory=dict)
    people: dict[str, OrgUser] = field(default_factory=dict)  # every user read, by id
    grants: list[Grant] = field(default_factory=list)
    tokens: list[TokenGroup] = field(default_factory=list)
    sessions: dict[str, list[str]] = field(default_factory=dict)  # user id -> AuthSession ids
    owned: list[OwnedSet] = field(default_factory=list)
    backup_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # user id -> object -> count
    queues: dict[str, QueueInfo] = field(default_factory=dict)  # by DeveloperName
    known_names: dict[str, set[str]] = field(default_factory=dict)  # revoke list kind -> names in the org
    team_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # user id -> team object -> n
    team_rows: list[Grant] = field(default_factory=list)  # team member rows, read when revoke.teams asks
    # team object -> (record id, member id) of the team rows on the targets' accounts / opportunities
    colleague_teams: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    dependants: list[Dependant] = field(default_factory=list)
    owned_where: dict[str, str | None] = field(default_factory=dict)  # object -> where used
    # what the org has (describe): objects asked about that it lacks (a feature off), objects read
    unavailable: set[str] = field(default_factory=set)
    grant_objects: list[str] = field(default_factory=list)
    hierarchy_fields: list[str] = field(default_factory=list)  # User -> User lookups beyond the standard two
    schema: dict[str, str] = field(default_factory=dict)  # object -> digest of its describe
    # everything the targets own: user id -> object -> records (every object a user can own)
    owned_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    owner_objects: dict[str, dict[str, bool]] = field(default_factory=dict)  # object -> {"queue", "reassignable"}
    discovered: list[str] = field(default_factory=list)  # reassignable objects the targets own records of
    uncounted: dict[str, str] = field(default_factory=dict)  # object -> why the org refused to count it
    backup_objects: list[str] = field(default_factory=list)  # the objects backed up (``all`` resolved)
    api_calls: int = 0

    def user_by_username(self, username: str) -> OrgUser | None:
        """A user read by username (case-insensitive)."""
        wanted = username.lower()
        return next((u for u in self.people.values() if u.username.lower() == wanted), None)

"""Plain-data builders for planner tests: a small org as a Snapshot, playbooks from dicts."""

from __future__ import annotations

from pathlib import Path

import yaml

from deprovision.localorg.ids import make_id
from deprovision.plan.facts import Grant, OrgUser, OwnedSet, QueueInfo, Snapshot
from deprovision.playbook import load_playbook

ADMIN = OrgUser(make_id("005", 1), "admin@acme.example", "Ada Admin", profile="System Administrator")
OPS = OrgUser(make_id("005", 2), "ops@acme.example", "Olly Ops", profile="System Administrator")
BOSS = OrgUser(make_id("005", 3), "omar.haddad@acme.example", "Omar Haddad", profile="Standard User")
NINA = OrgUser(make_id("005", 4), "nina.patel@acme.example", "Nina Patel", profile="Standard User",
               manager_id=BOSS.id, role_id=make_id("00E", 1), role="Sales Rep", login_id=make_id("0Yw", 4),
               login_modstamp="2026-01-01T00:00:00.000+0000", modstamp="2026-01-01T00:00:00.000+0000")
DIEGO = OrgUser(make_id("005", 5), "diego.ramos@acme.example", "Diego Ramos", profile="Standard User",
                manager_id=NINA.id, login_id=make_id("0Yw", 5))
SUPPORT = QueueInfo(make_id("00G", 1), "Support_Queue", "Support Queue", ["Case", "Task"])


def book(tmp_path: Path, **overrides) -> object:
    """A playbook written to ``tmp_path`` from a dict (defaults: Nina leaves, reassign Account to manager)."""
    data = {
        "version": 1, "name": "t", "reason": "HR-1",
        "users": {"usernames": ["nina.patel@acme.example"]},
        "actions": {"freeze": True, "deactivate": True,
                    "revoke": {"permission_sets": "all", "role": True, "oauth_tokens": "all"},
                    "reassign": {"default": {"to": "manager", "fallback": "user:ops@acme.example"},
                                 "objects": {"Account": {}, "Case": {"to": "queue:Support_Queue"}}}},
    }
    data.update(overrides)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_playbook(path)


def clone(user: OrgUser, **changes) -> OrgUser:
    return OrgUser(**{**vars(user), **changes})


def snapshot(targets: list[OrgUser], others: list[OrgUser] = (), **kw) -> Snapshot:
    people = {u.id: u for u in [ADMIN, OPS, BOSS, *others, *targets]}
    snap = Snapshot(org_id="00D000000000001AAA", instance_url="https://127.0.0.1:1",
                    api_user={"id": ADMIN.id, "username": ADMIN.username},
                    targets=list(targets), people=people,
                    matched_by={u.id: [("users", "usernames", i)] for i, u in enumerate(targets)},
                    queues={"Support_Queue": SUPPORT}, owned_where={"Account": None, "Case": None})
    for key, value in kw.items():
        setattr(snap, key, value)
    return snap


def accounts(owner: OrgUser, n: int, obj: str = "Account") -> OwnedSet:
    ids = [make_id("001" if obj == "Account" else "500", 1000 + i + hash(owner.id) % 1000 * 100) for i in range(n)]
    return OwnedSet(obj, owner.id, ids, n, "2026-01-02T00:00:00.000+0000", [f"{obj} {i}" for i in range(3)])


def psa(user: OrgUser, name: str, n: int, *, profile_owned: bool = False) -> Grant:
    return Grant(make_id("0Pa", n), "remove_permission_set", user.id, "PermissionSetAssignment", name, name,
                 "2026-01-01T00:00:00.000+0000", profile_owned=profile_owned,
                 fields={"AssigneeId": user.id, "PermissionSetId": make_id("0PS", n)})

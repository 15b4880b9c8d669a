"""Helpers for apply tests: the CLI in a subprocess, reading the org through simple-salesforce,
full snapshots of the org and their differences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from deprovision.cli.common import OrgOptions

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(os.environ.get("APPLY_TEST_PLAYBOOKS") or ROOT / "playbooks")
DB_NAME = "localorg.sqlite3"


def run_cli(state: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
            input_text: str | None = None) -> subprocess.CompletedProcess:
    """``deprovision --state-dir STATE ARGS`` in a subprocess (stdin is not a terminal)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("DEPROVISION_STATE_DIR", None)
    return subprocess.run(
        [sys.executable, "-c", "from deprovision.cli import main; main()", "--state-dir", str(state), *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, input=input_text or "", cwd=state.parent)


def runs_of(state: Path) -> list[dict]:
    out = run_cli(state, "runs", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


class Org:
    """Reads the state folder's local org through simple-salesforce (the org layer's client)."""

    def __init__(self, state: Path) -> None:
        self.state = state

    def __enter__(self):
        from deprovision.org import open_client

        self._cm = open_client(OrgOptions(), self.state)
        self.client = self._cm.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)

    def rows(self, soql: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "attributes"}
                for r in self.client.sf.query_all(soql)["records"]]


OWNED = ("Account", "Contact", "Opportunity", "Lead", "Case", "Task", "Event", "Project__c")
ASSIGNMENTS = {
    "PermissionSetAssignment": "AssigneeId, PermissionSetId, PermissionSetGroupId",
    "PermissionSetLicenseAssign": "AssigneeId, PermissionSetLicenseId",
    "GroupMember": "GroupId, UserOrGroupId",
    "UserPackageLicense": "UserId, PackageLicenseId",
    "UserTerritory2Association": "UserId, Territory2Id, RoleInTerritory2",
}


def snapshot(state: Path, *, with_ids: bool = True, tokens: bool = True) -> dict:
    """Users, logins, assignments, memberships and owners of the whole org (ids optional: a rollback
    re-creates assignments with new ids, so those compare by content)."""
    snap: dict = {}
    with Org(state) as org:
        snap["users"] = {r["Id"]: (r["IsActive"], r["UserRoleId"]) for r in org.rows(
            "SELECT Id, IsActive, UserRoleId FROM User")}
        snap["logins"] = {r["UserId"]: r["IsFrozen"] for r in org.rows("SELECT UserId, IsFrozen FROM UserLogin")}
        for obj, fields in ASSIGNMENTS.items():
            rows = org.rows(f"SELECT Id, {fields} FROM {obj}")
            if with_ids:
                snap[obj] = {r["Id"]: tuple(v for k, v in r.items() if k != "Id") for r in rows}
            else:
                snap[obj] = Counter(tuple(v for k, v in r.items() if k != "Id") for r in rows)
        for obj in OWNED:
            snap[obj] = {r["Id"]: r["OwnerId"] for r in org.rows(f"SELECT Id, OwnerId FROM {obj}")}
        if tokens:  # the API user's own sessions come and go with every command: left out
            api_user = org.client.api_user["id"]
            snap["tokens"] = Counter(r["UserId"] for r in org.rows("SELECT UserId FROM OauthToken")
                                     if r["UserId"] != api_user)
            snap["sessions"] = Counter(r["UsersId"] for r in org.rows("SELECT UsersId FROM AuthSession")
                                       if r["UsersId"] != api_user)
    return snap


def diff(a: dict, b: dict) -> list[str]:
    """Readable differences between two snapshots (empty when equal)."""
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                if x.get(k) != y.get(k):
                    out.append(f"{key} {k}: {x.get(k)!r} -> {y.get(k)!r}")
                    if len(out) > 40:
                        return out
        else:
            out.append(f"{key}: differs")
    return out

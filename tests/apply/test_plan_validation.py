"""A saved plan edited by hand is refused before the first write: exit 2, one ``Error:`` line naming the
first problem and how many more, and not one write request reaching the org (counted by the served org).

One served demo org and one saved plan for the module; every test applies an edited copy. Nothing here is
ever applied, so the org stays as the plan saw it."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEAVERS = ROOT / "playbooks" / "november-leavers.yaml"
KEY = "plan-signing-key-for-tests"


def _reads_only(request) -> bool:
    """A Composite call whose subrequests are all GETs (the validation's and stale check's reads) is a read."""
    if request.method != "POST" or not request.path.rstrip("/").endswith("/composite"):
        return False
    try:
        subs = (request.json() or {}).get("compositeRequest") or []
    except ValueError:
        return False
    return bool(subs) and all(str(s.get("method", "")).upper() == "GET" for s in subs)


class WriteCounter:
    """Counts the requests a served org receives that are not reads (anything but GET, and Composite calls
    of GETs only)."""

    def __init__(self, server) -> None:
        self.writes: list[str] = []
        self._lock = threading.Lock()
        handle = server.app.handle

        def counting(request):
            if request.method != "GET" and not _reads_only(request):
                with self._lock:
                    self.writes.append(f"{request.method} {request.path}")
            return handle(request)

        server.app.handle = counting

    def count(self) -> int:
        with self._lock:
            return len(self.writes)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A served copy of the demo org for the whole module, with a write counter."""
    import shutil

    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    folder = tmp_path_factory.mktemp("validation-org")
    db = folder / "org.sqlite3"
    shutil.copyfile(seed.template("demo"), db)
    server = LocalOrgServer(db, cert_dir=folder / "cert").start()
    server.counter = WriteCounter(server)
    try:
        yield server
    finally:
        server.stop()


def run(state: Path, org, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``deprovision --state-dir STATE ARGS --instance-url ... --access-token ... --ca-bundle ...``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "DEPROVISION_"))}
    full.update({"NO_COLOR": "1", **(env or {})})
    conn = ["--instance-url", org.instance_url, "--access-token", org.access_token, "--ca-bundle",
            str(org.ca_bundle)]
    return subprocess.run([sys.executable, "-c", "from deprovision.cli import main; main()", "--state-dir",
                           str(state), *args, *conn], capture_output=True, text=True, env=full, timeout=300)


@pytest.fixture(scope="module")
def saved(org, tmp_path_factory) -> dict:
    """The November leavers plan of the served org, as saved by ``plan --out`` (and a signed copy)."""
    folder = tmp_path_factory.mktemp("validation-plan")
    out = run(folder / "state", org, "plan", str(LEAVERS), "--out", str(folder / "plan.json"))
    assert out.returncode == 0, out.stderr
    signed = run(folder / "state", org, "plan", str(LEAVERS), "--out", str(folder / "signed.json"),
                 env={"DEPROVISION_PLAN_KEY": KEY})
    assert signed.returncode == 0, signed.stderr
    return {"plan": json.loads((folder / "plan.json").read_text()), "stderr": out.stderr,
            "signed": json.loads((folder / "signed.json").read_text())}


def apply_document(org, tmp_path: Path, document: dict, *extra: str, env: dict[str, str] | None = None):
    """Write ``document`` as PLAN.json and apply it; returns (result, writes the org received)."""
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document, indent=2))
    before = org.counter.count()
    out = run(tmp_path / "state", org, "apply", str(path), "--yes", *extra, env=env)
    return out, org.counter.writes[before:]


def refused(out, writes, *fragments: str) -> str:
    """Assert exit 2, one ``Error:`` line holding every fragment, no traceback, nothing written."""
    assert out.returncode == 2, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert "Traceback" not in out.stderr
    assert writes == [], writes
    assert "Run " not in out.stderr  # no run was started
    return errors[0]


def first(plan: dict, action: str) -> dict:
    return next(c for c in plan["changes"] if c["action"] == action)


# --- the tampering users found -----------------------------------------------------------------------

def test_a_change_targeting_the_api_user_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    api = plan["api_user"]
    logins = {r["UserId"]: r["Id"] for r in org.store.query("SELECT Id, UserId FROM UserLogin").records}
    # a careful forger: the API user added to the users, the fingerprint and the holders too
    plan["users"].append({**plan["users"][0], "id": api["id"], "username": api["username"]})
    plan["fingerprint"]["users"][api["id"]] = "x"
    plan["fingerprint"]["logins"][logins[api["id"]]] = "x"
    plan["fingerprint"]["holders"][logins[api["id"]]] = api["id"]
    for action, record in (("freeze", logins[api["id"]]), ("deactivate", api["id"])):
        change = {**first(plan, action), "id": f"{api['id']}:{action}", "user_id": api["id"],
                  "username": api["username"], "record_ids": [record]}
        plan["changes"].append(change)
    line = refused(*apply_document(org, tmp_path, plan), "API user admin@acme.example", "always protected")
    assert "nothing was written" in line


def test_a_freeze_of_a_user_not_among_the_plans_users_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    outsider = org.store.query("SELECT Id, Username FROM User WHERE Username = 'hiro.rossi@acme.example'").records[0]
    login = org.store.query(f"SELECT Id FROM UserLogin WHERE UserId = '{outsider['Id']}'").records[0]["Id"]
    plan["changes"].insert(0, {**first(plan, "freeze"), "id": "outsider:freeze", "user_id": outsider["Id"],
                               "username": outsider["Username"], "record_ids": [login]})
    refused(*apply_document(org, tmp_path, plan), "change 'outsider:freeze'", "hiro.rossi@acme.example",
            "is not among the plan's users")


def test_a_login_of_another_user_under_a_leavers_name_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    outsider = org.store.query("SELECT Id FROM User WHERE Username = 'hiro.rossi@acme.example'").records[0]["Id"]
    login = org.store.query(f"SELECT Id FROM UserLogin WHERE UserId = '{outsider}'").records[0]["Id"]
    change = first(plan, "freeze")
    change["record_ids"] = [login]
    plan["fingerprint"]["logins"][login] = "x"
    plan["fingerprint"]["holders"][login] = change["user_id"]
    refused(*apply_document(org, tmp_path, plan), f"login {login} belongs to user {outsider}")


def test_an_empty_fingerprint_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    plan["fingerprint"] = {}
    refused(*apply_document(org, tmp_path, plan), "no fingerprint", "stale")


def test_an_unknown_action_is_refused_before_anything_is_written(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    plan["changes"].append({**first(plan, "deactivate"), "id": "evil", "action": "drop_org"})
    refused(*apply_document(org, tmp_path, plan), "change 'evil'", "'drop_org' is not an action")


def test_a_record_id_carrying_soql_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    first(plan, "reassign_owner")["record_ids"][0] = "001'; DELETE FROM Account; --"
    refused(*apply_document(org, tmp_path, plan), "\"001'; DELETE FROM Account; --\" is not an id")


def test_records_of_another_owner_under_a_leavers_reassignment_are_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    change = first(plan, "reassign_owner")
    theirs = org.store.query(f"SELECT Id FROM {change['object']} WHERE OwnerId != '{change['user_id']}' "
                             "LIMIT 1").records[0]["Id"]
    change["record_ids"][-1] = theirs  # same count: the fingerprint's aggregate alone would not see it
    refused(*apply_document(org, tmp_path, plan), f"{change['object']} {theirs} is not owned by {change['username']}")


# --- one test per validation rule --------------------------------------------------------------------

def test_a_rollback_action_in_an_apply_plan_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    first(plan, "deactivate")["action"] = "reactivate"
    refused(*apply_document(org, tmp_path, plan), "'reactivate' is a rollback action")


def test_an_action_in_the_wrong_phase_or_object_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    first(plan, "remove_permission_set")["object"] = "User"
    refused(*apply_document(org, tmp_path, plan), "remove_permission_set writes PermissionSetAssignment, not 'User'")


def test_an_id_with_a_wrong_checksum_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    change = first(plan, "remove_permission_set")
    rid = change["record_ids"][0]
    change["record_ids"][0] = rid[:15] + ("AAA" if rid[15:] != "AAA" else "BBB")
    refused(*apply_document(org, tmp_path, plan), "checksum")


def test_an_id_of_another_object_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    account = first(plan, "reassign_owner")["record_ids"][0]  # a well-formed id, of an Account
    first(plan, "freeze")["record_ids"] = [account]
    prefix = first(saved["plan"], "freeze")["record_ids"][0][:3]  # UserLogin's, as describeGlobal says
    refused(*apply_document(org, tmp_path, plan), f"is not an id of {prefix} (UserLogin)")


def test_a_field_the_action_does_not_write_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    change = first(plan, "repoint_manager")
    change["after"]["ProfileId"] = "00e8d0000000001AAA"
    refused(*apply_document(org, tmp_path, plan), "repoint_manager writes only ManagerId")


def test_a_new_owner_that_is_not_a_user_or_queue_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    change = first(plan, "reassign_owner")
    account = change["record_ids"][0]
    change["after"]["OwnerId"] = account
    change["successor"]["id"] = account
    refused(*apply_document(org, tmp_path, plan), "new owner", "is not an id of 005 or 00G")


def test_a_change_whose_username_is_not_its_users_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    first(plan, "deactivate")["username"] = "someone.else@acme.example"
    refused(*apply_document(org, tmp_path, plan), "username 'someone.else@acme.example' is not")


def test_a_fingerprint_that_does_not_cover_a_change_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    change = first(plan, "remove_permission_set")
    del plan["fingerprint"]["grants"]["PermissionSetAssignment"][change["record_ids"][0]]
    refused(*apply_document(org, tmp_path, plan), "fingerprint does not cover PermissionSetAssignment")


def test_a_fingerprint_missing_a_user_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    del plan["fingerprint"]["users"][plan["users"][0]["id"]]
    refused(*apply_document(org, tmp_path, plan), f"fingerprint does not cover user {plan['users'][0]['username']}")


def test_a_plan_for_another_org_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    plan["org_id"] = "00D8d000000000ZZZZ"
    refused(*apply_document(org, tmp_path, plan), "made for org 00D8d000000000ZZZZ")


def test_a_protected_profile_is_rechecked_against_the_org(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    user = plan["users"][0]
    profile = org.store.query(f"SELECT Profile.Name FROM User WHERE Id = '{user['id']}'").records[0]["Profile"]["Name"]
    plan["rules"]["protect"]["profiles"].append(profile)
    user["profile"] = "Something Else"  # what the plan says does not matter: the org's profile does
    refused(*apply_document(org, tmp_path, plan), f"{user['username']} is protected by protect.profiles ({profile})")


def test_a_protected_username_and_id_are_rechecked(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    plan["rules"]["protect"]["usernames"].append(plan["users"][0]["username"].upper())
    plan["rules"]["protect"]["ids"].append(plan["users"][1]["id"][:15])
    line = refused(*apply_document(org, tmp_path, plan), "protected by protect.usernames", "1 more problem")
    assert plan["users"][0]["username"] in line


def test_limits_max_users_holds_at_apply(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    plan["rules"]["limits"]["max_users"] = 1
    refused(*apply_document(org, tmp_path, plan), f"{len(plan['users'])} users, more than limits.max_users (1)")


def test_a_plan_without_rules_whose_playbook_changed_is_refused(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["plan"])
    del plan["rules"]
    plan["playbook"]["sha256"] = "0" * 64
    refused(*apply_document(org, tmp_path, plan), "carries no protect rules")


def test_a_sidecar_that_does_not_match_its_digest_is_refused(org, saved, tmp_path) -> None:
    from deprovision.plan.model import Plan
    from deprovision.plan.planfile import sidecar_path, write_plan

    path = tmp_path / "big.json"
    write_plan(Plan.from_dict(copy.deepcopy(saved["plan"])), path, threshold=0, min_change=1)
    sidecar = sidecar_path(path)
    assert sidecar.exists()
    import gzip

    ids = json.loads(gzip.decompress(sidecar.read_bytes()))
    first_change = next(iter(ids))
    ids[first_change][0] = ids[first_change][0][:-1] + "X"
    sidecar.write_bytes(gzip.compress(json.dumps(ids).encode()))
    before = org.counter.count()
    out = run(tmp_path / "state", org, "apply", str(path), "--yes")
    refused(out, org.counter.writes[before:], "big.json.records.gz does not match the plan")


# --- approval: digest and HMAC ------------------------------------------------------------------------

def test_plan_out_prints_the_digest_of_the_file(saved, tmp_path) -> None:
    lines = [x for x in saved["stderr"].splitlines() if x.startswith("Plan digest: ")]
    assert len(lines) == 1 and len(lines[0].split()[-1]) == 64


def test_a_wrong_digest_is_refused(org, saved, tmp_path) -> None:
    out, writes = apply_document(org, tmp_path, saved["plan"], "--expect-digest", "ab" * 32)
    refused(out, writes, "is not the approved plan", "--expect-digest is " + "ab" * 32)


def test_an_edited_signed_plan_is_refused_with_the_key(org, saved, tmp_path) -> None:
    plan = copy.deepcopy(saved["signed"])
    plan["playbook"]["reason"] = "HR-0000: nothing to see"
    out, writes = apply_document(org, tmp_path, plan, env={"DEPROVISION_PLAN_KEY": KEY})
    refused(out, writes, "signature does not match")


def test_an_unsigned_plan_is_refused_when_the_key_is_set(org, saved, tmp_path) -> None:
    out, writes = apply_document(org, tmp_path, saved["plan"], env={"DEPROVISION_PLAN_KEY": KEY})
    refused(out, writes, "is not signed")


def test_a_plan_signed_with_another_key_is_refused(org, saved, tmp_path) -> None:
    out, writes = apply_document(org, tmp_path, saved["signed"], env={"DEPROVISION_PLAN_KEY": "other"})
    refused(out, writes, "signature does not match")


def test_a_malformed_digest_option_is_refused(org, saved, tmp_path) -> None:
    out, writes = apply_document(org, tmp_path, saved["plan"], "--expect-digest", "12345")
    refused(out, writes, "--expect-digest '12345': expected a SHA-256")

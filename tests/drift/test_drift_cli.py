"""``deprovision drift`` end to end against a served local org: after a run, a re-grant, a reactivation,
an unfreeze, a record given back and a login are each found (who, when, which run); ``drift --fix``
writes a plan that ``apply`` runs, after which drift finds nothing."""

from __future__ import annotations

import json
from pathlib import Path

from localorg_support import connect
from simple_salesforce import Salesforce

from deprovision.localorg.seed.empty import ADMIN_USERNAME, CONSUMER_KEY, CONSUMER_SECRET
from deprovision.org.routing import routed_session

ROOT = Path(__file__).resolve().parents[2]
LEAVERS = ROOT / "playbooks" / "november-leavers.yaml"
PASSWORD = "Leaver-Pa55"


def _env(org) -> dict[str, str]:
    return {"SF_INSTANCE_URL": org.instance_url, "SF_ACCESS_TOKEN": org.access_token, "SF_CA_BUNDLE": org.ca_bundle}


def _login_as(org, username: str) -> None:
    Salesforce(username=username, password=PASSWORD, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET,
               session=routed_session(org.instance_url, org.ca_bundle)[0])


def _events(cli) -> list[dict]:
    return [json.loads(line) for line in (cli.state_dir / "audit.jsonl").read_text().splitlines()]


def test_drift_finds_what_came_back_and_fix_removes_it(served_org, cli, tmp_path) -> None:
    env = _env(served_org)
    code, out, err = cli("apply", LEAVERS, "--yes", "--format", "json", env=env)
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    assert cli("drift", env=env).code == 0  # nothing came back yet

    plan = json.loads((cli.state_dir / "runs" / run_id / "plan.json").read_text())
    nina = next(u for u in plan["users"] if u["username"] == "nina.patel@acme.example")
    removed = next(c for c in plan["changes"] if c["user_id"] == nina["id"] and c["action"] == "remove_permission_set")
    account = next(c for c in plan["changes"] if c["user_id"] == nina["id"] and c["action"] == "reassign_owner"
                   and c["object"] == "Account")
    sf = connect(served_org)
    sf.User.update(nina["id"], {"IsActive": True})
    login = sf.query(f"SELECT Id FROM UserLogin WHERE UserId = '{nina['id']}'")["records"][0]["Id"]
    sf.UserLogin.update(login, {"IsFrozen": False})
    sf.PermissionSetAssignment.create({"AssigneeId": nina["id"],
                                       "PermissionSetId": removed["before"]["PermissionSetId"]})
    sf.Account.update(account["record_ids"][0], {"OwnerId": nina["id"]})
    held = {c["before"].get("PermissionSetId") for c in plan["changes"] if c["user_id"] == nina["id"]}
    extra = next(r for r in sf.query_all("SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false "
                                         "AND PermissionSetGroupId = null ORDER BY Name")["records"]
                 if r["Id"] not in held)
    sf.PermissionSetAssignment.create({"AssigneeId": nina["id"], "PermissionSetId": extra["Id"]})
    served_org.store.set_password(nina["id"], PASSWORD)
    _login_as(served_org, nina["username"])

    code, out, err = cli("drift", "--format", "json", env=env)
    assert code == 1, err
    findings = [f for f in json.loads(out)["findings"] if f["user_id"] == nina["id"]]
    granted = [f for f in findings if f["kind"] == "regranted"]
    found = {f["kind"]: f for f in findings if f["kind"] != "regranted"}
    assert set(found) == {"reactivated", "unfrozen", "owned_again", "login"} and len(granted) == 2
    assert {f["what"] for f in granted} == {f"permission set {removed['label']} assigned again",
                                            f"permission set {extra['Name']} assigned after the run"}
    assert all((f["source"], f["by"]) == ("SetupAuditTrail", ADMIN_USERNAME) for f in granted)
    found["regranted"] = next(f for f in granted if f["what"].endswith("again"))
    assert all(f["run_id"] == run_id and f["when"] for f in found.values())
    for kind in ("reactivated", "unfrozen", "regranted"):
        assert (found[kind]["source"], found[kind]["by"]) == ("SetupAuditTrail", ADMIN_USERNAME), kind
    assert found["regranted"]["what"] == f"permission set {removed['label']} assigned again"
    assert (found["owned_again"]["source"], found["owned_again"]["by"]) == ("LastModifiedBy", ADMIN_USERNAME)
    assert found["owned_again"]["record_ids"] == [account["record_ids"][0]]
    assert (found["login"]["source"], found["login"]["by"]) == ("LoginHistory", nina["username"])
    assert f"{nina['username']}: user is active again at " in err and f"(run {run_id}; SetupAuditTrail)" in err
    drift_events = [e for e in _events(cli) if e["event"] == "drift_found"]
    assert len(drift_events) == 6 and {e["run_id"] for e in drift_events} == {run_id}

    fix = tmp_path / "fix.json"
    code, _, err = cli("drift", "--fix", "--out", fix, env=env)
    assert code == 1 and fix.exists(), err
    actions = sorted(c["action"] for c in json.loads(fix.read_text())["changes"])
    assert actions == ["deactivate", "end_sessions", "freeze", "reassign_owner", "remove_permission_set",
                       "remove_permission_set"]
    code, _, err = cli("apply", fix, "--yes", env=env)
    assert code == 0, err
    assert sf.query(f"SELECT IsActive FROM User WHERE Id = '{nina['id']}'")["records"][0]["IsActive"] is False
    assert sf.query(f"SELECT OwnerId FROM Account WHERE Id = '{account['record_ids'][0]}'")["records"][0][
        "OwnerId"] == account["after"]["OwnerId"]
    code, _, err = cli("drift", env=env)
    assert code == 0, err
    assert "No drift" in err


def test_drift_since_leaves_older_runs_out_and_rejects_a_bad_date(served_org, cli) -> None:
    env = _env(served_org)
    assert cli("apply", LEAVERS, "--yes", env=env).code == 0
    code, _, err = cli("drift", "--since", "2999-01-01", env=env)
    assert code == 0 and "No applied runs" in err
    code, _, err = cli("drift", "--since", "yesterday", env=env)
    assert code == 2 and "--since" in err

"""``deprovision plan`` against a served demo org: every example playbook, exit codes, determinism."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[2]
BOOKS = ROOT / "playbooks"


@pytest.fixture
def org_args(served_org) -> list[str]:
    return ["--instance-url", served_org.instance_url, "--access-token", served_org.access_token,
            "--ca-bundle", str(served_org.ca_bundle)]


def plan_json(cli, org_args, book: Path | str, *extra: str) -> dict:
    code, out, err = cli("plan", str(book), "--format", "json", *extra, *org_args)
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def by_user(plan: dict, username: str) -> list[dict]:
    return [c for c in plan["changes"] if c["username"] == username]


def reassigned(plan: dict, username: str) -> dict[str, dict]:
    return {c["object"]: c for c in by_user(plan, username) if c["action"] == "reassign_owner"}


def owned_ids(sf, obj: str, username: str, where: str = "") -> list[str]:
    extra = f" AND ({where})" if where else ""
    rows = sf.query_all(f"SELECT Id FROM {obj} WHERE Owner.Username = '{username}'{extra}")["records"]
    return sorted(r["Id"] for r in rows)


def test_november_leavers(cli, org_args, sf):
    plan = plan_json(cli, org_args, BOOKS / "november-leavers.yaml")
    assert [u["username"] for u in plan["users"]] == [
        "diego.ramos@acme.example", "li.wei@acme.example", "nina.patel@acme.example", "sofia.rossi@acme.example"]
    assert plan["playbook"]["reason"] == "HR-4821: November leavers"
    assert plan["variables"] == {"ticket": "HR-4821"}
    assert plan["api_user"]["username"] == "admin@acme.example"
    assert not [w for w in plan["warnings"] if w["blocking"]]
    for user in plan["users"]:
        actions = [c["action"] for c in by_user(plan, user["username"])]
        assert actions[0] == "freeze" and actions[-1] == "deactivate"
        assert "remove_permission_set" in actions and "reassign_owner" in actions
    # nina: her manager takes her accounts; her Account ids are exactly what she owns
    nina = reassigned(plan, "nina.patel@acme.example")
    assert nina["Account"]["successor"]["name"] == "Omar Haddad"
    assert nina["Account"]["successor"]["rule"] == "manager"
    assert nina["Account"]["record_ids"] == owned_ids(sf, "Account", "nina.patel@acme.example")
    assert nina["Opportunity"]["record_ids"] == owned_ids(sf, "Opportunity", "nina.patel@acme.example",
                                                          "IsClosed = false")
    assert nina["Case"]["successor"] == {**nina["Case"]["successor"], "kind": "queue", "name": "Support Queue"}
    assert nina["Lead"]["successor"]["name"] == "Unassigned Leads"
    # li.wei: manager grace.kim
    assert reassigned(plan, "li.wei@acme.example")["Account"]["successor"]["name"] == "Grace Kim"
    # diego: his manager nina leaves too: the chain goes on to omar.haddad
    diego = reassigned(plan, "diego.ramos@acme.example")
    assert diego["Account"]["successor"]["name"] == "Omar Haddad"
    assert any(w["code"] == "successor_chain" and "diego.ramos@acme.example → nina.patel@acme.example → "
               "omar.haddad@acme.example" in w["message"] for w in plan["warnings"])
    # sofia: no manager, the fallback ops@ takes her records; her dashboard and report are warned about
    sofia = reassigned(plan, "sofia.rossi@acme.example")
    ops = sf.query("SELECT Id FROM User WHERE Username = 'ops@acme.example'")["records"][0]["Id"]
    assert sofia["Account"]["successor"]["id"] == ops and sofia["Account"]["successor"]["rule"] == "fallback"
    codes = {w["code"] for w in plan["warnings"] if w["user_id"] == sofia["Account"]["user_id"]}
    assert {"dependant_dashboard", "dependant_report"} <= codes
    # the users she is delegated approver and manager of go to the same fallback successor instead of a warning
    assert not codes & {"dependant_delegated_approver", "dependant_manager", "team_member"}
    delegated = sf.query_all("SELECT Id FROM User WHERE IsActive = true AND "
                             f"DelegatedApproverId = '{sofia['Account']['user_id']}'")["records"]
    [repointed] = [c for c in by_user(plan, "sofia.rossi@acme.example") if c["action"] == "repoint_delegated_approver"]
    assert repointed["record_ids"] == sorted(r["Id"] for r in delegated) and repointed["after"] == {
        "DelegatedApproverId": ops}
    # nina's six retained reports (diego leaves too) go to her successor, Omar Haddad
    [managed] = [c for c in by_user(plan, "nina.patel@acme.example") if c["action"] == "repoint_manager"]
    assert managed["count"] == 6 and managed["successor"]["name"] == "Omar Haddad"
    assert diego["Account"]["user_id"] not in managed["record_ids"]
    # every leaver's team rows are removed, exactly those the org holds
    for user in plan["users"]:
        for obj, action in (("AccountTeamMember", "remove_account_team"),
                            ("OpportunityTeamMember", "remove_opportunity_team")):
            rows = sf.query_all(f"SELECT Id FROM {obj} WHERE UserId = '{user['id']}'")["records"]
            removed = sorted(rid for c in by_user(plan, user["username"]) if c["action"] == action
                             for rid in c["record_ids"])
            assert rows and removed == sorted(r["Id"] for r in rows)
    # profile-owned permission sets are never removed
    profile_owned = {r["Id"] for r in sf.query_all(
        "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.IsOwnedByProfile = true")["records"]}
    removed = {rid for c in plan["changes"] for rid in c["record_ids"] if c["object"] == "PermissionSetAssignment"}
    assert removed and not removed & profile_owned
    # no secret from the org reaches the plan
    text = json.dumps(plan)
    tokens = [r["DeleteToken"] for r in sf.query_all("SELECT DeleteToken FROM OauthToken")["records"]]
    assert tokens and not any(t in text for t in tokens)


def test_variables_from_the_command_line(cli, org_args):
    plan = plan_json(cli, org_args, BOOKS / "november-leavers.yaml", "--var", "ticket=HR-5000")
    assert plan["playbook"]["reason"] == "HR-5000: November leavers"


def test_contractors_from_csv(cli, org_args):
    plan = plan_json(cli, org_args, BOOKS / "contractors.yaml")
    users = {u["username"]: u for u in plan["users"]}
    assert sorted(users) == [f"contractor{n:02d}@acme.example" for n in range(1, 13)]
    assert all(u["terminated_at"] == "2026-11-30" for u in users.values())
    c07 = [c["action"] for c in by_user(plan, "contractor07@acme.example")]
    assert not users["contractor07@acme.example"]["is_active"]
    assert "freeze" not in c07 and "deactivate" not in c07 and "reassign_owner" in c07
    c09 = [c["action"] for c in by_user(plan, "contractor09@acme.example")]
    assert users["contractor09@acme.example"]["is_frozen"]
    assert "freeze" not in c09 and "deactivate" in c09
    projects = reassigned(plan, "contractor01@acme.example")["Project__c"]
    assert projects["successor"]["name"] == "Project Queue"


def test_field_marketing_closure(cli, org_args, sf):
    plan = plan_json(cli, org_args, BOOKS / "field-marketing-closure.yaml")
    expected = sorted(r["Username"] for r in sf.query_all(
        "SELECT Username FROM User WHERE Department = 'Field Marketing' AND IsActive = true")["records"])
    assert len(expected) == 15
    assert [u["username"] for u in plan["users"]] == expected
    successors = {c["successor"]["name"] for c in plan["changes"] if c["action"] == "reassign_owner"}
    assert successors == {"Harriet Cole"}


def test_wind_down_leaves_protected_admins_alone(cli, org_args, sf):
    plan = plan_json(cli, org_args, BOOKS / "wind-down.yaml")
    names = {u["username"] for u in plan["users"]}
    admins = {r["Username"] for r in sf.query_all(
        "SELECT Username FROM User WHERE IsActive = true AND Profile.Name = 'System Administrator'")["records"]}
    active = sf.query("SELECT COUNT() FROM User WHERE IsActive = true")["totalSize"]
    assert {"admin@acme.example", "ops@acme.example"} <= admins
    assert not names & admins
    assert len(names) == active - len(admins)
    assert not [w for w in plan["warnings"] if w["blocking"]]
    assert any(w["code"] == "protected_excluded" for w in plan["warnings"])
    assert {c["successor"]["name"] for c in plan["changes"] if c["object"] == "Lead"} == {"Unassigned Leads"}


def test_second_plan_equals_the_first(cli, org_args):
    first = plan_json(cli, org_args, BOOKS / "november-leavers.yaml")
    second = plan_json(cli, org_args, BOOKS / "november-leavers.yaml")
    first.pop("created_at"), second.pop("created_at")
    assert first == second


def test_detailed_exitcode(cli, org_args, tmp_path):
    code, _, err = cli("plan", str(BOOKS / "november-leavers.yaml"), "--detailed-exitcode", *org_args)
    assert code == 3, err
    done = tmp_path / "done.yaml"
    done.write_text("version: 1\nname: done\nreason: r\nusers: {usernames: [contractor07@acme.example]}\n"
                    "actions: {freeze: true, deactivate: true}\n", encoding="utf-8")
    code, out, err = cli("plan", str(done), "--detailed-exitcode", *org_args)
    assert code == 0, err
    assert "Plan: 1 user, 0 changes (0 records)," in out
    assert "contractor07@acme.example keeps owning" in out  # an inactive owner's records are still a warning


def test_protected_user_selected_fails_with_exit_2(cli, org_args, tmp_path):
    book = tmp_path / "p.yaml"
    book.write_text("version: 1\nname: p\nreason: r\nusers: {usernames: [ops@acme.example]}\n"
                    "protect: {usernames: [ops@acme.example]}\nactions: {deactivate: true}\n", encoding="utf-8")
    code, out, err = cli("plan", str(book), "--out", str(tmp_path / "plan.json"), *org_args)
    assert code == 2
    assert "protected user selected: ops@acme.example" in err
    assert "Blocking problems" in out
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize(("body", "expected"), [
    ("users: {usernames: [nina.patel@acme.example, nobody@acme.example]}\nactions: {freeze: true}\n",
     "p.yaml:4:46: users.usernames[1]: no user 'nobody@acme.example' in the org"),
    ("users: {where: \"Bogus__c = 1\"}\nactions: {freeze: true}\n",
     "p.yaml:4:16: users.where: INVALID_FIELD: No such column 'Bogus__c' on entity 'User'."),
    ("users: {usernames: [nina.patel@acme.example]}\nactions:\n  reassign:\n    objects:\n"
     "      Case: {to: \"queue:Support\"}\n",
     "p.yaml:8:18: actions.reassign.objects.Case.to: unknown queue 'Support'"),
    ("users: {usernames: [nina.patel@acme.example]}\nactions:\n  reassign:\n    default: {to: manager}\n"
     "    objects:\n      Case: {where: \"IsClosed = maybe\"}\n",
     "p.yaml:9:21: actions.reassign.objects.Case.where: MALFORMED_QUERY: unexpected token: 'maybe'"),
    ("users: {usernames: [nina.patel@acme.example]}\nactions:\n  backup: {objects: [Account, Widget__c]}\n",
     "p.yaml:6:31: actions.backup.objects[1]: no object 'Widget__c' in this org"),
    ("users: {usernames: [nina.patel@acme.example]}\nactions:\n  revoke: {permission_sets: [Sales_Extra, Nope]}\n",
     "p.yaml:6:43: actions.revoke.permission_sets[1]: unknown permission set 'Nope'"),
    ("users: {usernames: [nina.patel@acme.example]}\nactions:\n  reassign:\n"
     "    default: {to: \"user:ghost@acme.example\"}\n    objects: {Account: {}}\n",
     "p.yaml:7:19: actions.reassign.default.to: unknown successor user 'ghost@acme.example'"),
])
def test_playbook_problems_found_in_the_org(cli, org_args, tmp_path, body, expected):
    book = tmp_path / "p.yaml"
    book.write_text("version: 1\nname: p\nreason: r\n" + body, encoding="utf-8")
    code, _, err = cli("plan", str(book), *org_args)
    assert code == 2, err
    assert any(line.strip().removeprefix("Error: ") == f"{tmp_path}/{expected}" for line in err.splitlines()), err


@pytest.mark.browser
def test_html_diff_of_the_demo_org_in_chromium(cli, org_args, tmp_path):
    from browser import dump_dom, is_blank, screenshot

    code, out, err = cli("plan", str(BOOKS / "november-leavers.yaml"), "--format", "html", *org_args)
    assert code == 0, err
    assert err.splitlines()[0].startswith("Plan: 4 users, ")
    page = tmp_path / "plan.html"
    page.write_text(out, encoding="utf-8")
    assert not is_blank(screenshot(page, tmp_path / "plan.png"))
    dom = dump_dom(page)
    for name in ("Nina Patel", "Li Wei", "Diego Ramos", "Sofia Rossi", "Omar Haddad", "Support Queue"):
        assert name in dom


def test_a_user_matched_by_several_selectors_is_one_user(cli, org_args, sf, tmp_path):
    nina = sf.query("SELECT Id, Email, FederationIdentifier FROM User "
                    "WHERE Username = 'nina.patel@acme.example'")["records"][0]
    selectors = {"usernames": ["nina.patel@acme.example"], "emails": [nina["Email"]], "ids": [nina["Id"][:15]],
                 "where": "Username = 'nina.patel@acme.example'"}
    if nina.get("FederationIdentifier"):
        selectors["federation_ids"] = [nina["FederationIdentifier"]]
    book = tmp_path / "p.yaml"
    book.write_text(json.dumps({"version": 1, "name": "p", "reason": "r", "users": selectors,
                                "actions": {"freeze": True}}), encoding="utf-8")
    plan = plan_json(cli, org_args, book)
    assert [u["username"] for u in plan["users"]] == ["nina.patel@acme.example"]
    assert [c["action"] for c in plan["changes"]] == ["freeze"]


def test_successor_whose_licence_cannot_own_records_gets_the_fallback(cli, org_args, served_org):
    # omar.haddad (nina's manager) moves to a Chatter Free profile: the plan, not the apply, finds that he cannot
    # own her records (TRANSFER_REQUIRES_READ) and sends them to the fallback, with a warning saying why
    store = served_org.store
    omar = store.user_by_username("omar.haddad@acme.example")
    chatter = store.select('SELECT "Id" FROM "Profile" WHERE "Name" = ?', ("Chatter Free User",))[0]["Id"]
    # the API refuses a profile of another licence; an admin changes the licence in Setup: a plain row write here
    store.update_row("User", omar["Id"], {"ProfileId": chatter})
    plan = plan_json(cli, org_args, BOOKS / "november-leavers.yaml")
    ops = store.user_by_username("ops@acme.example")
    nina = reassigned(plan, "nina.patel@acme.example")
    assert nina["Account"]["successor"]["id"] == ops["Id"]
    assert nina["Account"]["successor"]["rule"] == "fallback"
    assert all(c["successor"]["id"] != omar["Id"] for c in plan["changes"] if c["action"] == "reassign_owner")
    messages = [w["message"] for w in plan["warnings"] if w["code"] == "fallback_successor"]
    assert ("nina.patel@acme.example: Account records go to the fallback Otto Operations because manager "
            "omar.haddad@acme.example has a Chatter Free licence, which gives no access to Account (the new owner "
            "must have read permission on the object)") in messages

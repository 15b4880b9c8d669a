"""compute_plan from plain data: successors, chains, protection, limits, queues, determinism."""

from __future__ import annotations

from plan_factories import (
    ADMIN,
    BOSS,
    DIEGO,
    NINA,
    OPS,
    accounts,
    book,
    clone,
    psa,
    snapshot,
)

from deprovision.plan import compute_plan
from deprovision.plan.facts import TokenGroup
from deprovision.plan.model import PHASES

T0 = "2026-11-26T10:00:00Z"


def actions(plan, user=None):
    return [c.action for c in plan.changes if user is None or c.user_id == user.id]


def test_full_leaver_gets_every_change_in_phase_order(tmp_path):
    snap = snapshot([NINA], owned=[accounts(NINA, 5), accounts(NINA, 2, "Case")],
                    grants=[psa(NINA, "Sales_Extra", 1), psa(NINA, "X00e", 2, profile_owned=True)],
                    tokens=[TokenGroup(NINA.id, "Mobile", 2)])
    plan = compute_plan(book(tmp_path), snap, created_at=T0)
    assert actions(plan) == ["freeze", "revoke_oauth_token", "reassign_owner", "reassign_owner",
                             "remove_permission_set", "clear_role", "deactivate"]
    phases = [PHASES.index(c.phase) for c in plan.changes]
    assert phases == sorted(phases)
    account = next(c for c in plan.changes if c.object == "Account")
    assert (account.successor.id, account.successor.rule, account.count) == (BOSS.id, "manager", 5)
    case = next(c for c in plan.changes if c.object == "Case")
    assert (case.successor.kind, case.successor.name) == ("queue", "Support Queue")
    removed = [c.label for c in plan.changes if c.action == "remove_permission_set"]
    assert removed == ["Sales_Extra"]  # the profile-owned one is never removed
    assert not plan.blocking_warnings


def test_inactive_manager_falls_back(tmp_path):
    gone = clone(BOSS, is_active=False)
    snap = snapshot([NINA], others=[gone], owned=[accounts(NINA, 3)])
    plan = compute_plan(book(tmp_path), snap, created_at=T0)
    change = next(c for c in plan.changes if c.action == "reassign_owner")
    assert (change.successor.id, change.successor.rule) == (OPS.id, "fallback")
    assert any(w.code == "fallback_successor" and "is inactive" in w.message for w in plan.warnings)


def test_successor_whose_licence_cannot_own_the_object_falls_back_for_that_object(tmp_path):
    # Salesforce Platform: accounts yes, opportunities no (TRANSFER_REQUIRES_READ at apply): decided at plan time
    pb = book(tmp_path, actions={"reassign": {"default": {"to": "manager", "fallback": "user:ops@acme.example"},
                                              "objects": {"Account": {}, "Opportunity": {}}}})
    platform = clone(BOSS, licence="Salesforce Platform")
    snap = snapshot([NINA], others=[platform], owned=[accounts(NINA, 3), accounts(NINA, 2, "Opportunity")])
    plan = compute_plan(pb, snap, created_at=T0)
    successors = {c.object: (c.successor.id, c.successor.rule) for c in plan.changes if c.action == "reassign_owner"}
    assert successors == {"Account": (BOSS.id, "manager"), "Opportunity": (OPS.id, "fallback")}
    notes = [w.message for w in plan.warnings if w.code == "fallback_successor"]
    assert notes == ["nina.patel@acme.example: Opportunity records go to the fallback Olly Ops because manager "
                     "omar.haddad@acme.example has a Salesforce Platform licence, which gives no access to "
                     "Opportunity (the new owner must have read permission on the object)"]
    assert not plan.blocking_warnings


def test_no_successor_that_may_own_the_object_blocks_naming_user_and_object(tmp_path):
    snap = snapshot([NINA], others=[clone(BOSS, licence="Chatter Free"), clone(OPS, licence="Chatter Free")],
                    owned=[accounts(NINA, 3)])
    plan = compute_plan(book(tmp_path), snap, created_at=T0)
    assert not [c for c in plan.changes if c.action == "reassign_owner"]
    assert [w.message for w in plan.blocking_warnings] == [
        "nina.patel@acme.example: no successor for Account: manager omar.haddad@acme.example has a Chatter Free "
        "licence, which gives no access to Account (the new owner must have read permission on the object); "
        "fallback ops@acme.example has a Chatter Free licence, which gives no access to Account (the new owner "
        "must have read permission on the object)"]
    # a licence that may own custom objects takes them (Salesforce Platform: custom objects and accounts)
    snap = snapshot([NINA], others=[clone(BOSS, licence="Salesforce Platform")],
                    owned=[accounts(NINA, 1, "Project__c")])
    pb = book(tmp_path, actions={"reassign": {"objects": {"Project__c": {}}}})
    plan = compute_plan(pb, snap, created_at=T0)
    assert [c.successor.id for c in plan.changes if c.action == "reassign_owner"] == [BOSS.id]


def test_frozen_manager_falls_back(tmp_path):
    snap = snapshot([NINA], others=[clone(BOSS, is_frozen=True)], owned=[accounts(NINA, 3)])
    plan = compute_plan(book(tmp_path), snap, created_at=T0)
    assert next(c for c in plan.changes if c.action == "reassign_owner").successor.id == OPS.id


def test_chain_follows_to_first_retained_manager(tmp_path):
    pb = book(tmp_path, users={"usernames": ["nina.patel@acme.example", "diego.ramos@acme.example"]})
    snap = snapshot([NINA, DIEGO], owned=[accounts(DIEGO, 4)])
    plan = compute_plan(pb, snap, created_at=T0)
    change = next(c for c in plan.changes if c.user_id == DIEGO.id and c.action == "reassign_owner")
    assert change.successor.id == BOSS.id
    chain = [w for w in plan.warnings if w.code == "successor_chain"]
    assert chain and "diego.ramos@acme.example → nina.patel@acme.example → omar.haddad@acme.example" in chain[0].message
    assert not chain[0].blocking


def test_chain_without_retained_user_and_no_fallback_blocks(tmp_path):
    pb = book(tmp_path, users={"usernames": ["nina.patel@acme.example", "diego.ramos@acme.example"]},
              actions={"reassign": {"objects": {"Account": {}}}})
    snap = snapshot([clone(NINA, manager_id=None), DIEGO], owned=[accounts(DIEGO, 4)])
    plan = compute_plan(pb, snap, created_at=T0)
    assert not [c for c in plan.changes if c.action == "reassign_owner"]
    blocking = plan.blocking_warnings
    assert len(blocking) == 1 and blocking[0].code == "successor_chain"
    assert "diego.ramos@acme.example → nina.patel@acme.example" in blocking[0].message


def test_no_manager_no_fallback_names_user_and_object(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"objects": {"Account": {}}}})
    snap = snapshot([clone(NINA, manager_id=None)], owned=[accounts(NINA, 1)])
    plan = compute_plan(pb, snap, created_at=T0)
    assert [w.message for w in plan.blocking_warnings] == [
        "nina.patel@acme.example: no successor for Account: nina.patel@acme.example has no manager; "
        "there is no fallback"]


def test_no_records_needs_no_successor(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"objects": {"Account": {}}}})
    plan = compute_plan(pb, snapshot([clone(NINA, manager_id=None)]), created_at=T0)
    assert not plan.blocking_warnings and not plan.changes


def test_successor_leaving_in_same_plan_is_not_used(tmp_path):
    pb = book(tmp_path, users={"usernames": ["nina.patel@acme.example", "ops@acme.example"]})
    plan = compute_plan(pb, snapshot([NINA, clone(OPS, profile="Standard User")],
                                     others=[clone(BOSS, is_active=False)], owned=[accounts(NINA, 2)]),
                        created_at=T0)
    assert any(w.code == "no_successor" and "ops@acme.example leaves in this plan" in w.message
               for w in plan.blocking_warnings)


def test_queue_that_cannot_own_object_is_a_playbook_error(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"objects": {"Account": {"to": "queue:Support_Queue"}}}})
    plan = compute_plan(pb, snapshot([NINA], owned=[accounts(NINA, 2)]), created_at=T0)
    [problem] = plan.blocking_warnings
    assert problem.code == "playbook"
    assert problem.message.endswith("actions.reassign.objects.Account.to: queue 'Support_Queue' cannot own "
                                    "Account (it may own Case, Task)")
    assert ":" in problem.message.split(" ")[0]  # file:line:col first


def test_unknown_queue_names_location(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"objects": {"Case": {"to": "queue:Support"}}}})
    plan = compute_plan(pb, snapshot([NINA], owned=[accounts(NINA, 2, "Case")]), created_at=T0)
    [problem] = plan.blocking_warnings
    assert problem.message.endswith("actions.reassign.objects.Case.to: unknown queue 'Support'")


def test_protected_user_selected_blocks(tmp_path):
    pb = book(tmp_path, users={"usernames": ["ops@acme.example"]},
              protect={"usernames": ["ops@acme.example"]})
    plan = compute_plan(pb, snapshot([OPS]), created_at=T0)
    assert [w.code for w in plan.blocking_warnings] == ["protected_user"]
    assert "protected user selected: ops@acme.example" in plan.blocking_warnings[0].message
    assert not plan.changes


def test_protected_profile_blocks(tmp_path):
    pb = book(tmp_path, protect={"profiles": ["Standard User"]})
    plan = compute_plan(pb, snapshot([NINA]), created_at=T0)
    assert plan.blocking_warnings[0].code == "protected_user"


def test_api_user_selected_blocks(tmp_path):
    pb = book(tmp_path, users={"usernames": ["admin@acme.example"]})
    plan = compute_plan(pb, snapshot([ADMIN]), created_at=T0)
    assert [w.code for w in plan.blocking_warnings] == ["api_user_selected"]


def test_where_selector_leaves_protected_users_out(tmp_path):
    pb = book(tmp_path, users={"where": "IsActive = true"}, protect={"profiles": ["System Administrator"]})
    snap = snapshot([NINA, OPS, ADMIN])
    snap.matched_by = {u.id: [("users", "where")] for u in (NINA, OPS, ADMIN)}
    plan = compute_plan(pb, snap, created_at=T0)
    assert [u.username for u in plan.users] == ["nina.patel@acme.example"]
    assert not plan.blocking_warnings
    assert any(w.code == "protected_excluded" for w in plan.warnings)


def test_max_users_is_enforced(tmp_path):
    pb = book(tmp_path, users={"usernames": ["nina.patel@acme.example", "diego.ramos@acme.example"]},
              limits={"max_users": 1})
    plan = compute_plan(pb, snapshot([NINA, DIEGO]), created_at=T0)
    assert [w.message for w in plan.blocking_warnings] == ["2 users selected, more than limits.max_users (1)"]


def test_missing_user_is_an_error_or_a_warning(tmp_path):
    snap = snapshot([], missing=[(("users", "usernames", 0), "no user 'x@acme.example' in the org")])
    plan = compute_plan(book(tmp_path), snap, created_at=T0)
    assert plan.blocking_warnings[0].message.endswith("users.usernames[0]: no user 'x@acme.example' in the org")
    pb = book(tmp_path, users={"usernames": ["x@acme.example"], "on_missing": "warn"})
    plan = compute_plan(pb, snap, created_at=T0)
    assert not plan.blocking_warnings and plan.warnings[0].code == "user_not_found"


def test_already_deprovisioned_user_plans_nothing(tmp_path):
    done = clone(NINA, is_active=False, is_frozen=True, role_id=None, role=None)
    plan = compute_plan(book(tmp_path), snapshot([done]), created_at=T0)
    assert plan.changes == [] and len(plan.users) == 1


def test_inactive_user_still_loses_access_and_records(tmp_path):
    gone = clone(NINA, is_active=False)
    plan = compute_plan(book(tmp_path), snapshot([gone], owned=[accounts(gone, 2)],
                                                 grants=[psa(gone, "Sales_Extra", 1)]), created_at=T0)
    assert actions(plan) == ["reassign_owner", "remove_permission_set", "clear_role"]


def test_unknown_successor_user_is_a_playbook_error(tmp_path):
    pb = book(tmp_path, actions={"reassign": {"default": {"to": "user:nobody@acme.example"},
                                              "objects": {"Account": {}}}})
    plan = compute_plan(pb, snapshot([NINA], owned=[accounts(NINA, 1)]), created_at=T0)
    assert plan.blocking_warnings[0].message.endswith(
        "actions.reassign.default.to: unknown successor user 'nobody@acme.example'")


def test_unknown_permission_set_in_revoke_list(tmp_path):
    pb = book(tmp_path, actions={"revoke": {"permission_sets": ["Sales_Extra", "Nope"]}})
    snap = snapshot([NINA], grants=[psa(NINA, "Sales_Extra", 1)], known_names={"permission_sets": {"Sales_Extra"}})
    plan = compute_plan(pb, snap, created_at=T0)
    assert [w.message.split(": ", 1)[1] for w in plan.blocking_warnings] == [
        "actions.revoke.permission_sets[1]: unknown permission set 'Nope'"]
    assert actions(plan) == ["remove_permission_set"]


def test_plan_is_deterministic(tmp_path):
    def make():
        snap = snapshot([DIEGO, NINA], owned=[accounts(NINA, 5), accounts(DIEGO, 3), accounts(NINA, 2, "Case")],
                        grants=[psa(NINA, "B", 2), psa(NINA, "A", 1)])
        pb = book(tmp_path, users={"usernames": ["nina.patel@acme.example", "diego.ramos@acme.example"]})
        return compute_plan(pb, snap, created_at=T0).to_dict()
    first, second = make(), make()
    assert first == second
    assert [c["label"] for c in first["changes"] if c["action"] == "remove_permission_set"] == ["A", "B"]
    assert len({c["id"] for c in first["changes"]}) == len(first["changes"])


def test_fingerprint_covers_users_logins_grants_and_owned(tmp_path):
    snap = snapshot([NINA], owned=[accounts(NINA, 5)], grants=[psa(NINA, "Sales_Extra", 1)])
    fp = compute_plan(book(tmp_path), snap, created_at=T0).fingerprint
    assert fp["users"] == {NINA.id: NINA.modstamp}
    assert fp["logins"] == {NINA.login_id: NINA.login_modstamp}
    assert list(fp["grants"]["PermissionSetAssignment"]) == [psa(NINA, "x", 1).id]
    assert fp["owned"]["Account"]["owners"] == {NINA.id: [5, "2026-01-02T00:00:00.000+0000"]}


def test_stale_rows_name_what_moved(tmp_path):
    from deprovision.plan import stale_rows

    snap = snapshot([NINA], owned=[accounts(NINA, 5)], grants=[psa(NINA, "Sales_Extra", 1)])
    old = compute_plan(book(tmp_path), snap, created_at=T0).fingerprint
    assert stale_rows(old, old) == []
    new = json_copy(old)
    new["logins"][NINA.login_id] = "2026-02-01T00:00:00.000+0000"
    new["grants"]["PermissionSetAssignment"] = {}
    new["owned"]["Account"]["owners"][NINA.id] = [5, "2026-03-01T00:00:00.000+0000"]
    assert stale_rows(old, new) == [
        f"UserLogin {NINA.login_id} of nina.patel@acme.example changed",
        f"PermissionSetAssignment {psa(NINA, 'x', 1).id} of nina.patel@acme.example removed",
        "Account owned by nina.patel@acme.example: records changed (newest SystemModstamp "
        "2026-01-02T00:00:00.000+0000 → 2026-03-01T00:00:00.000+0000)",
    ]


def json_copy(value):
    import json

    return json.loads(json.dumps(value))

"""compute_plan from plain data: re-pointing other users' ManagerId / DelegatedApproverId, removing team rows."""

from __future__ import annotations

import pytest
from plan_factories import BOSS, DIEGO, NINA, OPS, accounts, book, clone, snapshot

from deprovision.localorg.ids import make_id
from deprovision.plan import compute_plan, stale_rows
from deprovision.plan.facts import Dependant, Grant, OrgUser
from deprovision.playbook.loader import PlaybookInvalid

T0 = "2026-11-26T10:00:00Z"
REPORT_1 = OrgUser(make_id("005", 11), "hiro.rossi@acme.example", "Hiro Rossi", manager_id=NINA.id)
REPORT_2 = OrgUser(make_id("005", 12), "yuki.lee@acme.example", "Yuki Lee", manager_id=NINA.id)
DELEGATOR = OrgUser(make_id("005", 13), "sharon.k@acme.example", "Sharon K", delegated_approver_id=NINA.id)
REVOKE = {"permission_sets": "all", "role": True}
REASSIGN = {"default": {"to": "manager", "fallback": "user:ops@acme.example"}, "objects": {"Account": {}}}


def leavers_book(tmp_path, *, repoint=True, reassign=REASSIGN, revoke=REVOKE, usernames=("nina.patel@acme.example",)):
    actions = {"revoke": revoke, "reassign": reassign, "deactivate": True, "repoint_dependants": repoint}
    if reassign is None:
        del actions["reassign"]
    return book(tmp_path, users={"usernames": list(usernames)}, actions=actions)


def dependants(*pairs: tuple[str, OrgUser, OrgUser]) -> list[Dependant]:
    return [Dependant(kind, dep.id, dep.username, leaver.id) for kind, dep, leaver in pairs]


def org(targets, deps, **kw):
    return snapshot(targets, others=[REPORT_1, REPORT_2, DELEGATOR, DIEGO], dependants=deps, **kw)


def by_action(plan, action):
    return [c for c in plan.changes if c.action == action]


def codes(plan):
    return [w.code for w in plan.warnings]


def test_managers_and_delegated_approvers_are_repointed_to_the_successor(tmp_path):
    deps = dependants(("manager", REPORT_2, NINA), ("manager", REPORT_1, NINA), ("delegated_approver", DELEGATOR, NINA))
    plan = compute_plan(leavers_book(tmp_path), org([NINA], deps), created_at=T0)
    [manager] = by_action(plan, "repoint_manager")
    assert manager.user_id == NINA.id and manager.object == "User" and manager.phase == "remove_access"
    assert manager.record_ids == sorted([REPORT_1.id, REPORT_2.id])
    assert (manager.before, manager.after) == ({"ManagerId": NINA.id}, {"ManagerId": BOSS.id})
    assert (manager.successor.id, manager.successor.rule, manager.count) == (BOSS.id, "manager", 2)
    assert manager.label == "2 users → Omar Haddad"
    [approver] = by_action(plan, "repoint_delegated_approver")
    assert approver.record_ids == [DELEGATOR.id]
    assert (approver.before, approver.after) == ({"DelegatedApproverId": NINA.id}, {"DelegatedApproverId": BOSS.id})
    assert "dependant_manager" not in codes(plan) and "dependant_delegated_approver" not in codes(plan)
    # re-pointed in remove_access, after clearing the role and before deactivation
    names = [c.action for c in plan.changes]
    assert names.index("clear_role") < names.index("repoint_manager") < names.index("deactivate")
    assert not plan.blocking_warnings


def test_the_fallback_successor_takes_dependants_of_a_leaver_without_manager(tmp_path):
    lonely = clone(NINA, manager_id=None)
    plan = compute_plan(leavers_book(tmp_path), org([lonely], dependants(("manager", REPORT_1, lonely))), created_at=T0)
    [change] = by_action(plan, "repoint_manager")
    assert change.after == {"ManagerId": OPS.id} and change.successor.rule == "fallback"


def test_a_dependant_who_leaves_too_is_not_touched(tmp_path):
    deps = dependants(("manager", DIEGO, NINA), ("manager", REPORT_1, NINA))
    book_ = leavers_book(tmp_path, usernames=("nina.patel@acme.example", "diego.ramos@acme.example"))
    plan = compute_plan(book_, org([NINA, DIEGO], deps), created_at=T0)
    changes = by_action(plan, "repoint_manager")
    assert [c.record_ids for c in changes] == [[REPORT_1.id]]
    assert DIEGO.id not in {rid for c in plan.changes if c.object == "User" for rid in c.record_ids
                            if c.action.startswith("repoint")}
    assert "dependant_manager" not in codes(plan)


def test_a_queue_successor_keeps_the_warning(tmp_path):
    reassign = {"default": {"to": "queue:Support_Queue"}, "objects": {"Case": {}}}
    plan = compute_plan(leavers_book(tmp_path, reassign=reassign),
                        org([NINA], dependants(("manager", REPORT_1, NINA))), created_at=T0)
    assert not by_action(plan, "repoint_manager")
    [warning] = [w for w in plan.warnings if w.code == "dependant_manager"]
    assert REPORT_1.username in warning.message and not warning.blocking


def test_without_a_reassign_rule_or_a_usable_successor_the_warning_stays(tmp_path):
    plan = compute_plan(leavers_book(tmp_path, reassign=None),
                        org([NINA], dependants(("manager", REPORT_1, NINA))), created_at=T0)
    assert not by_action(plan, "repoint_manager") and "dependant_manager" in codes(plan)
    nobody = {"default": {"to": "manager"}, "objects": {"Account": {}}}
    gone = clone(BOSS, is_active=False)
    snap = snapshot([NINA], others=[gone, REPORT_1], dependants=dependants(("manager", REPORT_1, NINA)))
    plan = compute_plan(leavers_book(tmp_path, reassign=nobody), snap, created_at=T0)
    assert not by_action(plan, "repoint_manager") and "dependant_manager" in codes(plan)


def test_the_successor_is_never_made_their_own_manager(tmp_path):
    boss_reports_to_nina = clone(BOSS, delegated_approver_id=NINA.id)
    deps = dependants(("delegated_approver", boss_reports_to_nina, NINA), ("delegated_approver", DELEGATOR, NINA))
    snap = snapshot([NINA], others=[boss_reports_to_nina, DELEGATOR], dependants=deps)
    plan = compute_plan(leavers_book(tmp_path), snap, created_at=T0)
    [change] = by_action(plan, "repoint_delegated_approver")
    assert change.record_ids == [DELEGATOR.id]
    [warning] = [w for w in plan.warnings if w.code == "dependant_delegated_approver"]
    assert BOSS.username in warning.message and DELEGATOR.username not in warning.message


def test_repointing_can_be_chosen_field_by_field_and_is_off_by_default(tmp_path):
    deps = dependants(("manager", REPORT_1, NINA), ("delegated_approver", DELEGATOR, NINA))
    plan = compute_plan(leavers_book(tmp_path, repoint={"manager": True, "delegated_approver": False}),
                        org([NINA], deps), created_at=T0)
    assert [c.action for c in plan.changes if c.action.startswith("repoint")] == ["repoint_manager"]
    assert "dependant_delegated_approver" in codes(plan) and "dependant_manager" not in codes(plan)
    plan = compute_plan(leavers_book(tmp_path, repoint=False), org([NINA], deps), created_at=T0)
    assert not [c for c in plan.changes if c.action.startswith("repoint")]
    assert {"dependant_manager", "dependant_delegated_approver"} <= set(codes(plan))


def team_row(obj: str, user: OrgUser, n: int, name: str) -> Grant:
    parent = obj.removesuffix("TeamMember")
    action = "remove_account_team" if parent == "Account" else "remove_opportunity_team"
    prefix = "01M" if parent == "Account" else "00q"
    parent_id = make_id("001" if parent == "Account" else "006", n)
    return Grant(make_id(prefix, n), action, user.id, obj, name, f"{name} (Sales Engineer)",
                 fields={f"{parent}Id": parent_id, "UserId": user.id, "TeamMemberRole": "Sales Engineer",
                         f"{parent}AccessLevel": "Read"})


def test_team_rows_are_removed_when_asked_and_the_rest_stay_a_warning(tmp_path):
    rows = [team_row("AccountTeamMember", NINA, 2, "Zeta Corp"), team_row("AccountTeamMember", NINA, 1, "Acme"),
            team_row("OpportunityTeamMember", NINA, 3, "Acme - Renewal")]
    counts = {NINA.id: {"AccountTeamMember": 2, "OpportunityTeamMember": 1}}
    revoke = {**REVOKE, "teams": ["Account"]}
    snap = org([NINA], [], team_rows=rows, team_counts=counts, owned=[accounts(NINA, 1)])
    plan = compute_plan(leavers_book(tmp_path, revoke=revoke), snap, created_at=T0)
    removed = by_action(plan, "remove_account_team")
    assert [(c.object, c.record_ids, c.label) for c in removed] == [
        ("AccountTeamMember", [rows[1].id], "Acme (Sales Engineer)"),
        ("AccountTeamMember", [rows[0].id], "Zeta Corp (Sales Engineer)")]
    assert removed[0].before == rows[1].fields and removed[0].phase == "remove_access"
    assert not by_action(plan, "remove_opportunity_team")
    [warning] = [w for w in plan.warnings if w.code == "team_member"]
    assert "1 OpportunityTeamMember" in warning.message and "AccountTeamMember" not in warning.message
    plan = compute_plan(leavers_book(tmp_path, revoke={**REVOKE, "teams": "all"}), snap, created_at=T0)
    assert len(by_action(plan, "remove_account_team")) == 2 and len(by_action(plan, "remove_opportunity_team")) == 1
    assert "team_member" not in codes(plan)
    plan = compute_plan(leavers_book(tmp_path), snap, created_at=T0)  # teams not asked for: only the warning
    assert not [c for c in plan.changes if c.action.endswith("_team")] and "team_member" in codes(plan)


@pytest.mark.parametrize("actions, problem", [
    ({"revoke": {"teams": ["Case"]}}, "actions.revoke.teams: expected 'all' or a list of Account, Opportunity"),
    ({"revoke": {"teams": "some"}}, "actions.revoke.teams: expected 'all' or a list of Account, Opportunity"),
    ({"repoint_dependants": {"manager": True, "backup_approver": True}},
     "actions.repoint_dependants: unknown key 'backup_approver'"),
    ({"repoint_dependants": "yes please"}, "actions.repoint_dependants: expected true, false or {manager"),
])
def test_bad_team_and_repoint_settings_are_refused(tmp_path, actions, problem):
    with pytest.raises(PlaybookInvalid) as info:
        book(tmp_path, actions=actions)
    assert len(info.value.lines) == 1 and problem in info.value.lines[0]


def test_the_stale_check_covers_the_dependants_the_plan_repoints(tmp_path):
    deps = dependants(("manager", REPORT_1, NINA), ("delegated_approver", DELEGATOR, NINA))
    plan = compute_plan(leavers_book(tmp_path), org([NINA], deps), created_at=T0)
    assert plan.fingerprint["dependants"] == {"DelegatedApproverId": {DELEGATOR.id: NINA.id},
                                              "ManagerId": {REPORT_1.id: NINA.id}}
    moved = {**plan.fingerprint, "dependants": {"DelegatedApproverId": {DELEGATOR.id: NINA.id},
                                                "ManagerId": {REPORT_1.id: OPS.id}}}
    assert stale_rows(plan.fingerprint, moved) == [f"User {REPORT_1.id}: ManagerId {NINA.username} → {OPS.id}"]
    assert stale_rows(plan.fingerprint, plan.fingerprint) == []
    plain = compute_plan(leavers_book(tmp_path, repoint=False), org([NINA], deps), created_at=T0)
    assert "dependants" not in plain.fingerprint

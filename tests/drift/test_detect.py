"""``find_drift`` on hand-made runs and org reads: who and when from the right source, the newest run
naming a finding, logins before a run not counted, profile permission sets never findings."""

from __future__ import annotations

from datetime import UTC, datetime

from deprovision.drift.detect import find_drift
from deprovision.drift.history import RunHistory
from deprovision.drift.read import OrgView
from deprovision.plan.model import Change, Plan, PlanUser

USER = "005000000000001AAA"
LOGIN = "0Yw000000000001AAA"
PS = "0PS000000000001AAA"


def _change(action: str, obj: str, ids: list[str], before: dict | None = None, label: str = "") -> Change:
    return Change(id=f"{USER}:{action}:{ids[0]}", action=action, phase="x", user_id=USER, username="nina@x.example",
                  object=obj, record_ids=ids, before=before or {}, after={}, label=label)


def _run(run_id: str, started: datetime, changes: list[Change]) -> RunHistory:
    user = PlanUser(USER, "nina@x.example", "Nina", "nina@x.example", True, False, "Standard User", None, None)
    plan = Plan("00D000000000001AAA", "https://x", {}, {}, {}, "", [user], changes, [], {})
    return RunHistory(run_id, plan, started, started, [(c, list(c.record_ids)) for c in changes])


def _view(**kw) -> OrgView:
    view = OrgView(
        users={USER: {"Id": USER, "IsActive": True, "LastModifiedDate": "2026-12-03T10:00:00.000+0000",
                      "LastModifiedBy": {"Username": "someone@x.example"}}},
        logins={USER: {"Id": LOGIN, "UserId": USER, "IsFrozen": False,
                       "LastModifiedDate": "2026-12-04T09:00:00.000+0000",
                       "LastModifiedBy": {"Username": "helpdesk@x.example"}}},
        grants={"PermissionSetAssignment": [
            {"Id": "0Pa000000000002AAA", "AssigneeId": USER, "PermissionSetId": PS, "PermissionSetGroupId": None,
             "PermissionSet": {"Name": "Sales_Extra", "IsOwnedByProfile": False},
             "CreatedDate": "2026-12-05T08:00:00.000+0000", "CreatedBy": {"Username": "helpdesk@x.example"}},
            {"Id": "0Pa000000000003AAA", "AssigneeId": USER, "PermissionSetId": "0PS000000000009AAA",
             "PermissionSet": {"Name": "X00ex_profile", "IsOwnedByProfile": True},
             "CreatedDate": "2026-12-05T08:00:00.000+0000", "CreatedBy": {"Username": "helpdesk@x.example"}}]},
        login_history=[{"UserId": USER, "LoginTime": "2026-11-30T08:00:00.000+0000", "Status": "Success"},
                       {"UserId": USER, "LoginTime": "2026-12-06T08:00:00.000+0000", "Status": "Success",
                        "LoginType": "Application", "SourceIp": "10.0.0.1"},
                       {"UserId": USER, "LoginTime": "2026-12-06T09:00:00.000+0000", "Status": "Invalid Password"}],
        trail=[{"Action": "activateduser", "Display": "Activated user Nina (nina@x.example)",
                "CreatedDate": "2026-12-03T10:00:01.000+0000", "CreatedBy": {"Username": "admin@x.example"}},
               {"Action": "activateduser", "Display": "Activated user Omar (omar@x.example)",
                "CreatedDate": "2026-12-03T11:00:00.000+0000", "CreatedBy": {"Username": "other@x.example"}}])
    for key, value in kw.items():
        setattr(view, key, value)
    return view


def _runs() -> list[RunHistory]:
    return [_run("run-1", datetime(2026, 12, 1, tzinfo=UTC), [
        _change("freeze", "UserLogin", [LOGIN]),
        _change("remove_permission_set", "PermissionSetAssignment", ["0Pa000000000001AAA"],
                {"AssigneeId": USER, "PermissionSetId": PS}, "Sales_Extra"),
        _change("deactivate", "User", [USER])])]


def test_each_finding_says_who_and_when_from_the_best_source() -> None:
    found = {f.kind: f for f in find_drift(_runs(), _view())}
    assert set(found) == {"reactivated", "unfrozen", "regranted", "login"}
    assert (found["reactivated"].by, found["reactivated"].source) == ("admin@x.example", "SetupAuditTrail")
    assert (found["unfrozen"].by, found["unfrozen"].when) == ("helpdesk@x.example", "2026-12-04T09:00:00Z")
    assert found["unfrozen"].source == "LastModifiedBy" and found["unfrozen"].record_ids == [LOGIN]
    assert found["regranted"].what == "permission set Sales_Extra assigned again"
    assert found["regranted"].record_ids == ["0Pa000000000002AAA"] and found["regranted"].source == "CreatedBy"
    assert found["login"].when == "2026-12-06T08:00:00Z"  # the failed attempt and the login before are not
    assert all(f.run_id == "run-1" for f in found.values())


def test_a_newer_run_names_the_finding_and_owns_earlier_logins() -> None:
    later = _run("run-2", datetime(2026, 12, 6, 8, 30, tzinfo=UTC), [_change("deactivate", "User", [USER])])
    found = find_drift([*_runs(), later], _view())
    reactivated = [f for f in found if f.kind == "reactivated"]
    assert [f.run_id for f in reactivated] == ["run-2"]
    assert reactivated[0].source == "LastModifiedBy"  # the trail row is older than run-2
    assert not [f for f in found if f.kind == "login"]


def test_nothing_came_back() -> None:
    view = _view(users={USER: {"Id": USER, "IsActive": False}}, logins={USER: {"Id": LOGIN, "IsFrozen": True}},
                 grants={}, login_history=[])
    assert find_drift(_runs(), view) == []

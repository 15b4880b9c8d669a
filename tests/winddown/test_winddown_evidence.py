"""The report's wind-down section from a run's events, as plain data: the finish line, licences freed,
the person's steps dated from the contract."""

from __future__ import annotations

from datetime import date

from deprovision.contract import Terms, timeline
from deprovision.winddown.evidence import checks, licences, manual_steps, view

CONTRACT = timeline(Terms(start=date(2026, 1, 15), end=date(2027, 1, 14), notice_to="renewals@example.com"),
                    date(2026, 12, 1)).to_dict()
DONE = {"still_active": 0, "still_active_users": [], "not_frozen": 0, "not_frozen_users": [], "oauth_left": 0,
        "scheduled_jobs": [], "scheduled_jobs_count": 0, "dashboards": [], "dashboards_count": 0,
        "contract": CONTRACT,
        "licences_before": {"UserLicense": [{"id": "100A", "name": "Salesforce", "used": 282, "total": 450}]},
        "licences_after": {"UserLicense": [{"id": "100A", "name": "Salesforce", "used": 2, "total": 450}]}}
EXPORT = {"objects": 44, "rows": 23720, "files": 26, "bytes": 8_702_482, "manifest_sha256": "ab" * 32}


def test_everything_met():
    items = checks({"export": EXPORT, "finish": DONE})
    assert all(i["ok"] for i in items) and len(items) == 6
    assert "manifest sha256 " + "ab" * 32 in items[0]["text"]


def test_what_is_left_is_named():
    left = {**DONE, "still_active": 12, "still_active_users": [f"u{n}@x" for n in range(12)],
            "scheduled_jobs": [{"name": "Nightly Lead Scoring", "state": "WAITING"}], "scheduled_jobs_count": 1,
            "dashboards": [{"title": "Sales Overview"}], "dashboards_count": 1, "oauth_left": 3}
    text = {i["text"]: i["ok"] for i in checks({"export": EXPORT, "finish": left})}
    assert text["12 user(s) outside protect still active: u0@x, u1@x, u2@x, u3@x, u4@x, u5@x, u6@x, u7@x, u8@x, "
                "u9@x and 2 more"] is False
    assert text["1 scheduled job(s) still owned by departing users: Nightly Lead Scoring (WAITING)"] is False
    assert text["1 dashboard(s) still run as departing users: Sales Overview"] is False
    assert text["3 OAuth token(s) of departing users remain"] is False


def test_refused_export_and_unfinished_run():
    items = checks({"export_refused": {"problems": ["altered: data/Account.csv"]}})
    assert [i["ok"] for i in items] == [False, False]
    assert "nothing was revoked" in items[0]["text"] and "did not reach its last step" in items[1]["text"]


def test_licences_freed_and_manual_steps_dated():
    assert licences({"finish": DONE}) == ["User licences: Salesforce: 282 → 2 used of 450 (freed 280)"]
    steps = manual_steps(CONTRACT)
    assert steps[0] == {"step": "Send the written notice of non-renewal through the contract's channel "
                                "(renewals@example.com)", "date": "by 2026-12-15 (recommended 2026-11-15)"}
    assert steps[2]["date"] == "from 2027-01-15, the day a renewed term would start"
    assert all(s["date"] == "no contract: in the playbook" for s in manual_steps(None))
    assert view({"finish": DONE})["contract"][0].startswith("Term: 2026-01-15 to 2027-01-14")

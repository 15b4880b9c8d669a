"""The wind-down section of the evidence report, from a run's audit events: the export verified (with the
manifest's digest), the finish line checked in the org, licence seats freed, and the steps only a person
can do, each with its date from the contract."""

from __future__ import annotations

from typing import Any

from deprovision.contract import Timeline, text_lines
from deprovision.export.progress import human_bytes
from deprovision.winddown.render import LICENCE_TITLES


def _check(ok: bool, text: str) -> dict[str, Any]:
    return {"ok": ok, "text": text}


def _names(items: list[str], total: int) -> str:
    shown = ", ".join(items[:10])
    return shown + (f" and {total - 10:,} more" if total > 10 else "")


def checks(wind: dict[str, Any]) -> list[dict[str, Any]]:
    """The finish line: each item met or not, in words."""
    out = []
    export = wind.get("export")
    if export:
        out.append(_check(True, f"Org export verified: {export.get('objects', 0):,} objects, "
                                f"{export.get('rows', 0):,} rows, {export.get('files', 0):,} files, "
                                f"{human_bytes(export.get('bytes', 0))}; manifest sha256 "
                                f"{export.get('manifest_sha256')}"))
    elif wind.get("export_refused"):
        out.append(_check(False, "Org export not complete or not verified: nothing was revoked or deactivated"))
    finish = wind.get("finish")
    if not finish:
        out.append(_check(False, "Finish line not checked (the run did not reach its last step)"))
        return out
    active, frozen = finish.get("still_active", 0), finish.get("not_frozen", 0)
    out.append(_check(active == 0, "Every user outside protect deactivated" if active == 0 else
                      f"{active:,} user(s) outside protect still active: "
                      f"{_names(finish.get('still_active_users', []), active)}"))
    out.append(_check(frozen == 0, "No user outside protect can log in (every active one frozen)"
                      if frozen == 0 else f"{frozen:,} active user(s) outside protect not frozen: "
                      f"{_names(finish.get('not_frozen_users', []), frozen)}"))
    tokens = finish.get("oauth_left", 0)
    out.append(_check(tokens == 0, "Integration (OAuth) tokens of departing users revoked" if tokens == 0 else
                      f"{tokens:,} OAuth token(s) of departing users remain"))
    jobs = finish.get("scheduled_jobs") or []
    out.append(_check(not jobs, "No scheduled jobs (CronTrigger) owned by departing users" if not jobs else
                      f"{finish.get('scheduled_jobs_count', len(jobs)):,} scheduled job(s) still owned by departing "
                      f"users: {_names([j['name'] + ' (' + str(j.get('state')) + ')' for j in jobs], len(jobs))}"))
    dashboards = finish.get("dashboards") or []
    out.append(_check(not dashboards, "No dashboards run as departing users" if not dashboards else
                      f"{finish.get('dashboards_count', len(dashboards)):,} dashboard(s) still run as departing "
                      f"users: {_names([d['title'] or '?' for d in dashboards], len(dashboards))}"))
    return out


def licences(wind: dict[str, Any]) -> list[str]:
    """``User licences: Salesforce: 282 → 2 used of 450 (freed 280)`` per licence, before the run and after."""
    before = (wind.get("finish") or {}).get("licences_before") or {}
    after = (wind.get("finish") or {}).get("licences_after") or {}
    out = []
    for obj, rows in after.items():
        was = {r["id"]: r for r in before.get(obj, [])}
        for row in rows:
            old = was.get(row["id"], {}).get("used", row["used"])
            if row["total"] or old:
                out.append(f"{LICENCE_TITLES.get(obj, obj)}: {row['name']}: {old:,} → {row['used']:,} used of "
                           f"{row['total']:,} (freed {max(old - row['used'], 0):,})")
    return out


def manual_steps(contract: dict[str, Any] | None) -> list[dict[str, str]]:
    """What only a person can do, with the contract's dates."""
    if not contract:
        none = "no contract: in the playbook"
        return [{"step": "Send the written notice of non-renewal through the contract's channel", "date": none},
                {"step": "Submit the cancellation in Setup (Your Account → subscriptions and billing)", "date": none},
                {"step": "Check that the next invoices reflect the cancellation", "date": none}]
    channel = f" ({contract['notice_to']})" if contract.get("notice_to") else ""
    by = f"by {contract['last_notice_day']} (recommended {contract['recommended_notice_day']})"
    return [
        {"step": f"Send the written notice of non-renewal through the contract's channel{channel}", "date": by},
        {"step": "Submit the cancellation in Setup (Your Account → subscriptions and billing)", "date": by},
        {"step": "Check that the next invoices reflect the cancellation (no renewed term)",
         "date": f"from {contract['renews_on']}, the day a renewed term would start"},
    ]


def view(wind: dict[str, Any]) -> dict[str, Any]:
    """Everything the report templates show for one run's wind-down."""
    contract = (wind.get("finish") or {}).get("contract")
    return {"checks": checks(wind), "licences": licences(wind), "manual": manual_steps(contract),
            "contract": text_lines(Timeline(**contract)) if contract else []}

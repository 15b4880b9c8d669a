"""The evidence pack as HTML (jinja2, autoescaped, self-contained, printable), Markdown or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from deprovision.audit.report import REVOCATION_ACTIONS, Report
from deprovision.audit.times import duration, short_time
from deprovision.plan.model import ACTIONS

ROLLBACK_COLUMNS = (("unfreeze", "Unfrozen"), ("reactivate", "Reactivated"),
                    ("restore_assignment", "Access restored"), ("restore_role", "Role restored"),
                    ("restore_owner", "Owners restored"))


CSV_COLUMNS = [
    "run_id", "run_kind", "username", "user_id", "actor", "reason", "playbook", "terminated_at", "clock_start",
    "clock_basis", "frozen_at", "revoked_at", "transferred_at", "records_transferred", "deactivated_at",
    "completed_at", "elapsed_hours", "sla_hours", "sla_status", "sla_breached", "failures", "leftovers",
    "trail_mismatches", "chain_head", "log_verified",
]


# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a leading ``'`` before a formula-like start (OWASP)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else value


def render_csv(report: Report) -> str:
    """One row per leaver; every cell made safe to open in a spreadsheet (``spreadsheet_safe``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in report.runs:
        for leaver in run.leavers.values():
            revoked = [s.at for s in leaver.revocations if s.at]
            _safe_row(writer, {
                "run_id": run.run_id, "run_kind": run.kind, "username": leaver.username, "user_id": leaver.user_id,
                "actor": (run.actor or {}).get("username"), "reason": run.reason,
                "playbook": (run.playbook or {}).get("name"), "terminated_at": leaver.terminated_at,
                "clock_start": leaver.clock_start, "clock_basis": leaver.clock_basis,
                "frozen_at": leaver.frozen_at, "revoked_at": max(revoked) if revoked else None,
                "transferred_at": leaver.transferred_at,
                "records_transferred": sum(leaver.transfers.values()),
                "deactivated_at": leaver.deactivated_at, "completed_at": leaver.completed_at,
                "elapsed_hours": f"{leaver.elapsed_hours:.2f}" if leaver.elapsed_hours is not None else None,
                "sla_hours": report.sla_hours, "sla_status": leaver.sla_status,
                "sla_breached": "yes" if leaver.sla_breached else "no",
                "failures": "; ".join(_failure_text(f) for f in leaver.failures),
                "leftovers": "; ".join(leaver.leftovers + (leaver.fresh_leftovers or [])),
                "trail_mismatches": "; ".join(leaver.trail_mismatches),
                "chain_head": report.verification.head, "log_verified": "yes" if report.verification.ok else "no",
            })
    return out.getvalue()


def _safe_row(writer: csv.DictWriter, row: dict[str, Any]) -> None:
    writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})


def _failure_text(failure: dict[str, Any]) -> str:
    parts = [failure.get("action") or "?"]
    if failure.get("label"):
        parts.append(str(failure["label"]))
    if failure.get("error_code"):
        parts.append(str(failure["error_code"]))
    if failure.get("message"):
        parts.append(str(failure["message"]))
    return " ".join(parts)


def _md(value: Any) -> str:
    """A value safe inside a Markdown table cell."""
    text = "-" if value is None or value == "" else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_report(report: Report, fmt: str) -> str:
    """The report as ``html``, ``markdown`` or ``csv`` text."""
    if fmt == "csv":
        return render_csv(report)
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("deprovision", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters.update(duration=duration, short_time=short_time, md=_md, failure_text=_failure_text)
    name = {"html": "report.html.j2", "markdown": "report.md.j2"}[fmt]
    text = env.get_template(name).render(report=report, revocation_actions=REVOCATION_ACTIONS, actions=ACTIONS,
                                         rollback_columns=ROLLBACK_COLUMNS)
    from deprovision.audit.crossorg import with_section

    return with_section(text, report, fmt)  # a leaver's runs in several orgs, side by side

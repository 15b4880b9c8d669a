"""``deprovision audit verify|show|report``: reviewing the audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deprovision.cli.common import AppContext, emit_json, info, org_options, org_options_from, pass_app
from deprovision.errors import DeprovisionError, InvalidInputError


class AuditLogBrokenError(DeprovisionError):
    """The audit log failed verification (tampering, or a torn tail after a crash)."""


def audit_log_option(func):
    """``--audit-log PATH``: the audit log to write or read (default: DEPROVISION_AUDIT_LOG or
    ``<state>/audit.jsonl``). For every command that writes or reads the log."""
    return click.option("--audit-log", "audit_log", type=click.Path(path_type=Path), default=None,
                        help="Audit log (default: DEPROVISION_AUDIT_LOG or <state-dir>/audit.jsonl).")(func)


def _log_path(app: AppContext, given: Path | None) -> Path:
    from deprovision.audit.log import resolve_audit_path

    return resolve_audit_path(app.state_dir, given)


def _recorded_heads(state_dir: Path) -> dict[str, str]:
    """``run <id>`` -> the chain head each run folder's summary recorded when the run ended."""
    import json

    heads = {}
    for summary in sorted((state_dir / "runs").glob("*/summary.json")):
        try:
            head = json.loads(summary.read_text()).get("audit_head")
        except (OSError, ValueError):
            continue
        if isinstance(head, str) and len(head) == 64:
            heads[f"run {summary.parent.name}"] = head
    return heads


@click.group()
def audit() -> None:
    """Review the audit log: check its hash chain, find events, build an evidence report."""


@audit.command("verify")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--expect-head", metavar="HASH", help="A chain head recorded earlier; it must be in the log.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@audit_log_option
@pass_app
def verify_cmd(app: AppContext, path: Path | None, expect_head: str | None, fmt: str,
               audit_log: Path | None) -> None:
    """Check the hash chain (and HMACs when DEPROVISION_AUDIT_KEY is set).

    Exit 0 when intact (prints the number of events and runs and the head); exit 1
    naming the first bad line and why: edited, removed, inserted, reordered, bad HMAC,
    torn tail (a crash, not tampering) or unexpected head. Checking the state folder's
    log, the chain head each run recorded in its summary must be in the log too.
    """
    from deprovision.audit.log import audit_key_from_env
    from deprovision.audit.verify import verify_log

    target = path or _log_path(app, audit_log)
    recorded = _recorded_heads(app.state_dir) if path is None and audit_log is None else {}
    result = verify_log(target, key=audit_key_from_env(), expect_head=expect_head, recorded_heads=recorded)
    if fmt == "json":
        emit_json(result.to_dict())
    elif result.ok:
        click.echo(f"{target}: {result.summary()}")
    if result.ok:
        return
    if result.kind == "torn_tail":
        raise AuditLogBrokenError(
            f"audit log {target} has a torn tail at line {result.line}: {result.reason}",
            details=[f"the {result.events} events before it are intact; head {result.head}"])
    if result.kind == "missing":
        raise AuditLogBrokenError(result.reason or f"no audit log at {target}")
    raise AuditLogBrokenError(f"audit log {target} is broken at line {result.line}: {result.kind}: {result.reason}",
                              details=[f"the {result.events} events before line {result.line} are intact"])


@audit.command("show")
@click.option("--run", "run_id", metavar="ID", help="Only this run.")
@click.option("--user", metavar="U", help="Only events about this user (username or id).")
@click.option("--action", metavar="A", help="Only this action (freeze, remove_permission_set, deactivate, ...).")
@click.option("--outcome", type=click.Choice(["applied", "skipped", "failed"]), help="Only this outcome.")
@click.option("--event", "event_name", metavar="NAME", help="Only this event (run_started, change_failed, ...).")
@click.option("--since", metavar="T", help="From this time (2026-11-26, 2026-11-26T10:00Z, 24h, 7d).")
@click.option("--until", metavar="T", help="Up to this time.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table",
              show_default=True)
@audit_log_option
@pass_app
def show_cmd(app: AppContext, run_id: str | None, user: str | None, action: str | None, outcome: str | None,
             event_name: str | None, since: str | None, until: str | None, fmt: str,
             audit_log: Path | None) -> None:
    """Find events: who did what to whom, when, why and with what result.

    Streams the log (nothing is loaded whole). Filters combine.
    """
    from deprovision.audit.show import EventFilter, iter_events, parse_time, write_json, write_table

    flt = EventFilter(run=run_id, user=user, action=action, outcome=outcome, event=event_name,
                      since=parse_time(since) if since else None,
                      until=parse_time(until, end_of_day=True) if until else None)
    events = iter_events(_log_path(app, audit_log), flt)
    out = sys.stdout
    try:
        if fmt == "table":
            count = write_table(events, out)
            info(f"{count} event(s).")
        else:
            write_json(events, out, lines=fmt == "jsonl")
        out.flush()
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        sys.stderr.close()
        sys.exit(0)


@audit.command("report")
@click.option("--run", "run_id", metavar="ID", help="The run to report on.")
@click.option("--since", metavar="T", help="Every run started since T (2026-11-01, 7d, ...).")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown", "csv"]), default="html", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout).")
@click.option("--sla-hours", type=click.FloatRange(min=0, min_open=True), default=24.0, show_default=True,
              help="Hours from termination (or run start) within which a leaver must be fully processed.")
@click.option("--cross-check", is_flag=True,
              help="Compare with Salesforce's Setup Audit Trail for the run's window (connects to the org).")
@click.option("--verify-results", is_flag=True,
              help="Re-read the org now and add what no longer holds (connects to the org).")
@audit_log_option
@org_options
@pass_app
def report_cmd(app: AppContext, run_id: str | None, since: str | None, fmt: str, out: Path | None,
               sla_hours: float, cross_check: bool, verify_results: bool, audit_log: Path | None,
               **kwargs) -> None:
    """Build an evidence pack per leaver: when each step happened, SLA, failures, the log's proof.

    Shows per leaver the termination time (when the playbook or CSV gave one), freeze, each
    kind of revocation, ownership transfer and deactivation, elapsed time against the SLA
    (breaches highlighted), failures and verify leftovers, the actor and reason, the chain
    head and whether the log verifies.
    """
    from deprovision.audit import crosscheck
    from deprovision.audit import report as rep
    from deprovision.audit.log import audit_key_from_env
    from deprovision.audit.render import render_report
    from deprovision.audit.show import parse_time

    if run_id and since:
        raise InvalidInputError("give --run or --since, not both")
    path = _log_path(app, audit_log)
    if not path.exists():
        raise InvalidInputError(f"no audit log at {path}")
    since_ts = parse_time(since) if since else None
    report = rep.build_report(path, run_id=run_id, since=since_ts, sla_hours=sla_hours,
                              key=audit_key_from_env(), state_dir=app.state_dir)
    if run_id and not report.runs:
        raise InvalidInputError(f"no run {run_id} in {path}")
    if cross_check or verify_results:
        from deprovision.org import open_client

        with open_client(org_options_from(app, kwargs), app.state_dir) as client:
            if cross_check:
                crosscheck.cross_check(report, client)
            if verify_results:
                crosscheck.add_fresh_verification(report, client, app.state_dir)
    text = render_report(report, fmt)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        info(f"Wrote {out}: {len(report.leavers)} leaver(s), {report.breaches} SLA breach(es); "
             f"log {'intact' if report.verification.ok else 'NOT intact'}, head {report.verification.head}.")
    else:
        click.echo(text, nl=False)


COMMANDS = [audit]

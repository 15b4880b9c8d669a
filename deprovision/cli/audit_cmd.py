"""``deprovision audit verify|show|report``: reviewing the audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deprovision.cli.common import AppContext, emit_json, info, pass_app
from deprovision.errors import DeprovisionError


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
    torn tail (a crash, not tampering) or unexpected head.
    """
    from deprovision.audit.log import audit_key_from_env
    from deprovision.audit.verify import verify_log

    target = path or _log_path(app, audit_log)
    result = verify_log(target, key=audit_key_from_env(), expect_head=expect_head)
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
    out = click.get_text_stream("stdout")
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


COMMANDS = [audit]

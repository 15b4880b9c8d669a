"""``deprovision drift``: did what past runs removed come back? ``--fix`` writes a plan removing it again."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deprovision.cli.common import emit_json, info, org_options, org_options_from, pass_app
from deprovision.errors import EXIT_FAILURE, InvalidInputError


def _since(value: str | None):
    from deprovision.clock import parse

    if value is None:
        return None
    moment = parse(value)
    if moment is None:
        raise InvalidInputError(f"--since {value!r}: expected an ISO date or date-time")
    return moment


def _audit(state_dir: Path, runs, findings, org_id: str | None) -> None:
    from deprovision.apply import audit_events
    from deprovision.audit import configure_audit, resolve_audit_path

    configure_audit(resolve_audit_path(state_dir))
    plans = {run.run_id: run.plan for run in runs}
    for finding in findings:
        audit_events.bind(finding.run_id, plans[finding.run_id], kind="drift")
        try:
            audit_events.event("drift_found", outcome="drift", target_user={"id": finding.user_id,
                                                                           "username": finding.username},
                               drift=finding.kind, what=finding.what, object=finding.object,
                               record_ids=finding.record_ids, changed_at=finding.when, changed_by=finding.by,
                               evidence=finding.source, checked_run_id=None)
        finally:
            audit_events.unbind()
    audit_events.event("drift_checked", outcome="drift" if findings else "clean", runs=sorted(plans),
                       findings=len(findings), org_id=org_id)


@click.command("drift")
@click.option("--since", "since", metavar="DATE", help="Only runs started on or after DATE (ISO date or time).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("--fix", is_flag=True, help="Write a plan that removes again what came back (apply it after review).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where --fix writes the plan (default: drift-fix-<time>.json in the state folder).")
@org_options
@pass_app
def drift(app, since: str | None, fmt: str, fix: bool, out: Path | None, **kwargs) -> None:
    """Re-read every user past runs deprovisioned: reactivated, unfrozen, access re-granted, records owned
    again, logins since the freeze. Exit 1 when anything came back, 0 when nothing did.

    \b
    Each finding names the run, the user, what changed, when and by whom (Setup Audit Trail where it
    records the change, LastModifiedBy otherwise, LoginHistory for logins) and is written to the audit log.
    """
    from deprovision.drift import find_drift, fix_plan, past_runs, read_org
    from deprovision.org import open_client

    if out is not None and not fix:
        raise InvalidInputError("--out goes with --fix")
    options = org_options_from(app, kwargs)
    state_dir = app.ensure_state_dir()
    runs = past_runs(state_dir, since=_since(since))
    if not runs:
        info("No applied runs to check.")
        if fmt == "json":
            emit_json({"runs": [], "findings": [], "notes": []})
        return
    with open_client(options, state_dir) as client:
        org_runs = [r for r in runs if not r.plan.org_id or not client.org_id
                    or r.plan.org_id[:15] == client.org_id[:15]]
        view = read_org(client, org_runs)
        findings = find_drift(org_runs, view)
        plan = fix_plan(client, findings, org_runs) if fix and findings else None
        org_id = client.org_id
    _audit(state_dir, org_runs, findings, org_id)
    if fmt == "json":
        emit_json({"runs": [r.run_id for r in org_runs], "findings": [f.to_dict() for f in findings],
                   "notes": view.notes})
    for note in view.notes:
        info(f"Note: {note}")
    for finding in findings:
        info(finding.line())
    users = len({c.user_id for r in org_runs for c, _ in r.done})
    if plan is not None:
        _write_fix(plan, out or _default_out(state_dir))
    if findings:
        info(f"Drift: {len(findings)} finding(s) for {len({f.user_id for f in findings})} of {users} users "
             f"across {len(org_runs)} run(s).")
        sys.exit(EXIT_FAILURE)
    info(f"No drift: {users} users of {len(org_runs)} run(s) are as the runs left them.")


def _default_out(state_dir: Path) -> Path:
    from deprovision.clock import now

    return state_dir / f"drift-fix-{now().strftime('%Y%m%dT%H%M%SZ')}.json"


def _write_fix(plan, path: Path) -> None:
    from deprovision.plan import render
    from deprovision.plan.planfile import write_plan

    info(render(plan, "text"))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_plan(plan, path)
    info(f"Fix plan written to {path}; review it, then: deprovision apply {path}")


COMMANDS = [drift]

"""``apply --due`` and the scheduled part of ``apply``: run what has come due, say what waits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from deprovision.cli.common import emit_json, info, org_options_from
from deprovision.errors import EXIT_FAILURE, InvalidInputError


def pending_text(summary: dict[str, Any]) -> str:
    """``12 changes at 2026-12-15T00:00:00Z`` (the soonest), for ``runs``."""
    pending = summary.get("pending") or []
    if not pending:
        return ""
    first = pending[0]
    more = f" (+{len(pending) - 1} later)" if len(pending) > 1 else ""
    return f"{first['changes']} change{'s' if first['changes'] != 1 else ''} at {first['at']}{more}"


def _say_pending(folder) -> None:
    for item in folder.read_summary().get("pending") or []:
        info(f"Waiting: {item['changes']} change(s) for {', '.join(item['users'])} at {item['at']} "
             "(run by `deprovision apply --due`).")


def run_now(client, plan, folder, *, progress):
    """Apply what of ``plan`` is due into ``folder``; None (and why) when nothing new is due yet."""
    from deprovision.multiorg.mapping import current, note_run
    from deprovision.schedule.run import run_due

    target = current()
    if target is not None:
        folder.update_summary(org_name=target.name)  # apply --due finds this run's org again
    result = run_due(client, plan, folder, progress=progress)
    note_run(folder.run_id, result)
    if result is None:
        info(f"Nothing due yet in run {folder.run_id}.")
    _say_pending(folder)
    return result


def apply_due(app, target: Path | None, *, due: bool, yes: bool, fmt: str, **kwargs: Any) -> None:
    """``apply --due``: every run with work that has come due, resumed one after the other (exit 1 if any
    of them failed). Runs carry the plan that was reviewed when they started: nothing is asked again."""
    from deprovision.cli.apply_cmd import _configure_audit, _progress, _report, _run_lock
    from deprovision.clock import iso, now
    from deprovision.org import open_client
    from deprovision.schedule.run import due_runs, run_due

    if target is not None and due:
        raise InvalidInputError("--due runs the scheduled runs already applied; give it no playbook or plan")
    if not due:
        raise InvalidInputError("missing TARGET: a playbook or a saved plan (PLAN.json), or --due")
    for name in ("variables", "expect_digest"):
        if kwargs.pop(name, None):
            raise InvalidInputError(f"--{name.replace('_', '-').rstrip('s')} does not go with --due")
    given = org_options_from(app, kwargs)
    state_dir = app.ensure_state_dir()
    moment = now()
    folders = due_runs(state_dir, moment)
    if not folders:
        info(f"Nothing due at {iso(moment)}.")
        if fmt == "json":
            emit_json([])
        return
    _configure_audit(state_dir)
    results, failed = [], False
    named = any(getattr(given, k) for k in ("org", "instance_url", "access_token"))
    for folder in folders:
        plan = folder.read_plan()
        with open_client(_options_for(folder.read_summary(), given), state_dir) as client:
            if plan.org_id and client.org_id and plan.org_id[:15] != client.org_id[:15]:
                if named:  # the org named is not this run's: its own `apply --due --org` runs it
                    info(f"Run {folder.run_id}: left for its own org {plan.org_id}.")
                else:
                    info(f"Run {folder.run_id}: skipped: it was made for org {plan.org_id}, reached "
                         f"{client.org_id}; name its org with --org.")
                    failed = True
                continue
            info(f"Run {folder.run_id} ({plan.playbook.get('name')}): running what came due by {iso(moment)}.")
            with _run_lock(folder):
                result = run_due(client, plan, folder, progress=_progress(client, quiet=fmt == "json"),
                                 moment=moment)
        if result is None:
            continue
        _report(result, "text")
        _say_pending(folder)
        results.append(result.to_dict())
        failed = failed or bool(result.failed)
    if fmt == "json":
        emit_json(results)
    if failed:
        sys.exit(EXIT_FAILURE)


def _options_for(summary: dict[str, Any], given):
    """The org a run belongs to: what the command names, else the connection the run recorded."""
    from deprovision.org.options import OrgOptions

    if any(getattr(given, k) for k in ("org", "instance_url", "access_token")):
        return given
    connection = summary.get("connection") or {}
    name = summary.get("org_name") or (connection.get("org") if connection.get("kind") == "named" else None)
    return OrgOptions(org=name, api_version=given.api_version) if name else given

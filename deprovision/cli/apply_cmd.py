"""``deprovision apply | verify | rollback | runs``: thin commands over ``deprovision.apply``."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import click

from deprovision.apply import runs as run_store
from deprovision.cli.common import emit_json, info, org_options, org_options_from, pass_app
from deprovision.errors import EXIT_FAILURE, DeprovisionError, InvalidInputError, StalePlanError
from deprovision.plan.model import Plan

_T0 = time.monotonic()


def _mark(label: str) -> None:
    """With DEPROVISION_PROFILE=1: elapsed time and peak memory at a point of the command (stderr)."""
    if os.environ.get("DEPROVISION_PROFILE") == "1":
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        info(f"[profile] {time.monotonic() - _T0:7.2f}s {rss:5d} MB  {label}")


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--var {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def _configure_audit(state_dir: Path) -> Path:
    from deprovision.audit import configure_audit, resolve_audit_path

    path = resolve_audit_path(state_dir)
    configure_audit(path)
    return path


def _audit_event(name: str, **fields: Any) -> None:
    from deprovision.audit import get_logger

    get_logger().info(name, **fields)


def _load_plan_file(path: Path) -> Plan:
    """A saved plan (PLAN.json): sidecars checked, and with DEPROVISION_PLAN_KEY set its HMAC required."""
    from deprovision.plan.approval import plan_key
    from deprovision.plan.planfile import read_plan

    return read_plan(path, key=plan_key())


def _validate(client, plan: Plan, shown_as: str, *, fingerprint: bool = False) -> dict[str, list[dict]] | None:
    """The whole plan checked (shape, rules against the org) before anything is written; exit 2 if not.

    ``fingerprint``: the stale-plan check's reads go out in the same Composite calls as the validation's
    (all of them before any write); their rows are returned for ``_check_fresh_plan``.
    """
    from deprovision.apply.parallel import ParallelReads
    from deprovision.plan.fingerprint import fingerprint_reads
    from deprovision.plan.validate import PlanInvalid, validate_plan

    reader = ParallelReads(client)  # its reads stand before the freeze: side by side
    also = (lambda: fingerprint_reads(reader, plan)) if fingerprint and isinstance(plan.fingerprint, dict) else None
    try:
        rows = validate_plan(reader, plan, shown_as, also=also)
        return rows if also is not None else None
    except PlanInvalid as exc:
        _audit_event("plan_refused", outcome="refused", reason_refused="invalid plan", problems=exc.problems[:200],
                     playbook=(plan.playbook or {}).get("name"), org_id=plan.org_id)
        raise


def _bind_digests(**digests: str | None) -> None:
    """Put the plan's digests (applied, approved) on the run's events, run_started included."""
    from deprovision.audit import bind_run

    fields = {k: v for k, v in digests.items() if v}
    if fields:
        bind_run(**fields)


def _is_plan_file(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    with contextlib.suppress(OSError):
        return path.read_text(encoding="utf-8", errors="replace").lstrip().startswith("{")
    return False


def _confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; refuse without one unless ``--yes`` (nothing has been written yet)."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise InvalidInputError("not a terminal and no --yes: refusing to change the org without confirmation "
                                "(nothing was written; pass --yes to apply non-interactively)")
    if not click.confirm(question, default=False, err=True):
        raise DeprovisionError("aborted; nothing was written")


@contextlib.contextmanager
def _run_lock(folder: run_store.RunFolder):
    """Hold the run's lock so two processes never drive one run at once."""
    fd = os.open(folder.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DeprovisionError(f"run {folder.run_id} is being applied by another process") from exc
        yield
    finally:
        os.close(fd)


def _show_plan(plan: Plan, *, full: bool) -> None:
    """The diff on stderr; for a saved plan applied with --yes just its closing line (it was shown when made)."""
    if full:
        info(_render(plan))
        return
    from deprovision.plan.render import summary_line

    info(f"Applying saved plan {(plan.playbook or {}).get('name')} made {plan.created_at}: {summary_line(plan)}")
    if plan.wind_down:
        from deprovision.winddown.render import as_text

        info(as_text(plan.wind_down).rstrip())


def _render(plan: Plan) -> str:
    from deprovision.plan import render
    from deprovision.winddown import with_section

    text = render(plan, "text", color=sys.stderr.isatty() and not os.environ.get("NO_COLOR"))
    return with_section(text, plan.wind_down, "text")  # wind-downs: contract timeline, export, licences


def _progress(client, quiet: bool):
    from deprovision.apply.progress import make_progress

    base = getattr(client, "api_calls", 0)

    def stats() -> dict[str, Any]:
        limit = getattr(client, "limit_info", None)
        return {"api_calls": getattr(client, "api_calls", base) - base,
                "limit_remaining": (limit[1] - limit[0]) if limit else None}

    return make_progress(stats, quiet=quiet)


def _report(result, fmt: str, *, what: str = "Apply") -> None:
    """Print the run's closing summary; machine output on stdout with --format json."""
    if fmt == "json":
        emit_json(result.to_dict())
    info("")
    for line in result.failures:
        info(f"  FAILED {line}")
    info(f"{what} {result.status}: run {result.run_id}: {result.applied} changes applied, {result.failed} failed, "
         f"{result.skipped} skipped ({result.records_applied:,} records); {result.api_calls} API calls, "
         f"{result.oauth_calls} OAuth revocations, {result.seconds:.1f}s.")
    if result.audit_head:
        info(f"Audit chain head: {result.audit_head}")


BULK_POLL_SECONDS = 5.0  # first wait before polling a Bulk API job (each poll is an API call)


def _plan_from_playbook(client, path: Path, variables: dict[str, str]) -> Plan:
    from deprovision.apply.runs import utc_now
    from deprovision.contract import today_from
    from deprovision.plan import compute_plan, read_snapshot
    from deprovision.plan.validate import attach_rules
    from deprovision.playbook import load_playbook
    from deprovision.winddown import plan_facts, read_facts

    playbook = load_playbook(path, variables)
    snapshot = read_snapshot(client, playbook)
    wind = read_facts(client, playbook)  # wind-down playbooks: contract, export, licences
    plan = attach_rules(compute_plan(playbook, snapshot, created_at=utc_now()), playbook)
    plan.wind_down = plan_facts(wind, playbook, plan, today_from(None))
    return plan


def _check_org(client, plan: Plan) -> None:
    """Refuse (exit 2) a saved plan made for another org."""
    if not plan.org_id or (client.org_id and plan.org_id[:15] != client.org_id[:15]):
        raise InvalidInputError(f"this plan was made for org {plan.org_id or '(none)'}, not {client.org_id}; "
                                "nothing was written")


def _check_fresh_plan(client, plan: Plan, rows: dict[str, list[dict]] | None = None) -> None:
    """Refuse (exit 4) a saved plan whose rows moved since it was made; writes ``plan_refused``.
    ``rows``: the fingerprint's reads, when they were read with the plan's validation."""
    from deprovision.apply.parallel import ParallelReads
    from deprovision.plan import read_fingerprint, stale_rows

    moved = stale_rows(plan.fingerprint or {}, read_fingerprint(ParallelReads(client), plan, rows))
    if moved:
        _audit_event("plan_refused", outcome="refused", reason_refused="stale plan", moved=moved[:200],
                     playbook=(plan.playbook or {}).get("name"), org_id=plan.org_id)
        raise StalePlanError(f"the plan is stale: {len(moved)} thing(s) changed in the org since it was made; "
                             "nothing was written. Make a new plan.", details=moved[:20])


@click.command("apply")
@click.argument("target", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--due", is_flag=True, help="Run what has come due of scheduled runs (for cron); no TARGET.")
@click.option("--yes", is_flag=True, help="Apply without asking (required when not on a terminal).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Playbook variable (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="Summary format; json prints the run result on stdout.")
@click.option("--expect-digest", metavar="SHA256",
              help="Apply the saved plan only if its digest (printed by `plan --out`) is this one.")
@org_options
@pass_app
def apply(app, target: Path, yes: bool, variables: tuple[str, ...], fmt: str, expect_digest: str | None,
          **kwargs) -> None:
    """Execute a playbook or a saved plan (PLAN.json) against the org.

    With a playbook: plans, shows the diff, asks for confirmation. With a saved plan: refuses it (exit 4)
    when the org moved since it was made. An interrupted run resumes where it stopped when the same
    command is run again (against the run's own org when none is given).
    """
    from deprovision.multiorg.cli import across_orgs_if_several

    if across_orgs_if_several():  # several --org (or a group): once per org, then a summary
        return
    if kwargs.get("due") or target is None:  # future leavers' removals, once their date has come
        from deprovision.cli.schedule_cli import apply_due

        apply_due(app, target, due=kwargs.pop("due"), yes=yes, fmt=fmt, variables=variables, **kwargs)
        return
    kwargs.pop("due", None)
    from deprovision.apply.preflight import check_api_budget
    from deprovision.cli.schedule_cli import run_now
    from deprovision.org import open_client
    from deprovision.org.binding import check_same_org, connection_record, options_for_run
    from deprovision.plan.approval import check_digest

    options = org_options_from(app, kwargs)
    state_dir = app.ensure_state_dir()
    var_map = _parse_vars(variables)
    plan_file = _is_plan_file(target)
    if plan_file and var_map:
        raise InvalidInputError("--var applies to playbooks, not to a saved plan")
    if expect_digest and not plan_file:
        raise InvalidInputError("--expect-digest applies to a saved plan (PLAN.json), not to a playbook")
    approved = check_digest(target, expect_digest) if expect_digest else None
    _configure_audit(state_dir)
    _mark("start")
    folder = None
    if plan_file:
        file_sha = run_store.file_digest(target)
        finished = run_store.find_run(state_dir, file_digest_value=file_sha, statuses=(run_store.STATUS_SUCCEEDED,))
        if finished is not None:
            info(f"Nothing to do: this plan was already applied by run {finished.run_id} (succeeded).")
            return
        folder = run_store.find_run(state_dir, file_digest_value=file_sha)
        if folder is not None:
            options = options_for_run(folder.read_summary(), options)
    with open_client(options, state_dir, bulk_poll_seconds=BULK_POLL_SECONDS) as client:
        _mark("connected")
        hashing = None
        if plan_file:
            plan = _load_plan_file(target) if folder is None else None
            _mark("plan loaded")
            if plan is not None:  # the canonical hash (for the run's summary) while the org is read
                pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
                hashing = pool.submit(run_store.plan_hash, plan)
                pool.shutdown(wait=False)
        else:
            plan = _plan_from_playbook(client, target, var_map)
            folder = run_store.find_run(state_dir, playbook_key_value=run_store.playbook_key(plan),
                                        statuses=(run_store.STATUS_RUNNING, "scheduled"))
        if folder is not None:
            check_same_org(folder.read_summary(), client, "resume")
            plan = folder.read_plan()
            info(f"Resuming unfinished run {folder.run_id} ({folder.read_summary().get('status')}) of this plan.")
            _confirm(f"Resume run {folder.run_id}?", yes)
        else:
            if plan.blocking_warnings:
                raise InvalidInputError("the plan has blocking problems; nothing was written",
                                        details=[w.message for w in plan.blocking_warnings])
            if not plan.changes:
                info("No changes: the org already matches the playbook. Nothing to do.")
                return
            if plan_file:
                _check_org(client, plan)
            fresh = _validate(client, plan, str(target), fingerprint=plan_file)
            _mark("plan validated")
            if plan_file:
                _check_fresh_plan(client, plan, fresh)
                _mark("fingerprint checked")
            _show_plan(plan, full=not plan_file or not yes)
            _confirm(f"Apply {len(plan.changes)} changes to {len(plan.users)} users in {plan.instance_url}?", yes)
            needed, remaining = check_api_budget(client, plan)
            if remaining is not None:
                info(f"Pre-flight: about {needed:,} API calls needed, {remaining:,} left today.")
            digest = hashing.result() if hashing is not None else None
            extra = {"connection": connection_record(options, client)}
            if approved:
                extra["approved_digest"] = approved
            folder = run_store.create_run(state_dir, plan, plan_file=target if plan_file else None, digest=digest,
                                          extra=extra)
            _mark("run folder written")
            info(f"Run {folder.run_id} started.")
        summary = folder.read_summary()
        _bind_digests(plan_digest=summary.get("plan_file_sha256"), approved_digest=summary.get("approved_digest"))
        with _run_lock(folder):
            result = run_now(client, plan, folder, progress=_progress(client, quiet=False))
    _mark("applied")
    if result is None:
        return
    _report(result, fmt)
    if result.failed:
        sys.exit(EXIT_FAILURE)


@click.command("verify")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@org_options
@pass_app
def verify(app, run_id: str, fmt: str, **kwargs) -> None:
    """Re-read the org: did every change of run RUN_ID hold? Exit 1 listing leftovers."""
    from deprovision.apply.verify import verify_run
    from deprovision.org import open_client
    from deprovision.org.binding import check_same_org, options_for_run

    options = org_options_from(app, kwargs)
    state_dir = app.ensure_state_dir()
    folder = run_store.open_run(state_dir, run_id)
    summary = folder.read_summary()
    options = options_for_run(summary, options)
    _configure_audit(state_dir)
    with open_client(options, state_dir) as client:
        check_same_org(summary, client, "verify")
        leftovers, checked = verify_run(client, folder.path, with_counts=True)
    plan = folder.read_plan()
    from deprovision.apply import audit_events

    audit_events.bind(folder.run_id, plan, kind="verify")
    try:
        _audit_event("verify_finished", outcome="leftovers" if leftovers else "clean",
                     leftovers=leftovers[:200], leftover_count=len(leftovers), checked=checked)
    finally:
        audit_events.unbind()
    if fmt == "json":
        emit_json({"run_id": folder.run_id, "ok": not leftovers, "checked": checked, "leftovers": leftovers})
    if leftovers:
        for line in leftovers:
            info(line)
        info(f"Verify failed: run {folder.run_id}: {len(leftovers)} leftover(s).")
        sys.exit(EXIT_FAILURE)
    info(f"Verify passed: run {folder.run_id}: {checked} changes checked, all held.")


@click.command("rollback")
@click.argument("run_id")
@click.option("--yes", is_flag=True, help="Roll back without asking (required when not on a terminal).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="Summary format; json prints the run result on stdout.")
@org_options
@pass_app
def rollback(app, run_id: str, yes: bool, fmt: str, **kwargs) -> None:
    """Reverse what run RUN_ID did (and only that), newest first, as a new run."""
    from deprovision.apply.rollback import execute_rollback, plan_rollback, render_rollback
    from deprovision.org import open_client
    from deprovision.org.binding import check_same_org, connection_record, options_for_run

    options = org_options_from(app, kwargs)
    state_dir = app.ensure_state_dir()
    source = run_store.open_run(state_dir, run_id)
    summary = source.read_summary()
    options = options_for_run(summary, options)
    _configure_audit(state_dir)
    with open_client(options, state_dir) as client:
        check_same_org(summary, client, "roll back")
        existing = run_store.find_run(state_dir, kind="rollback", statuses=(run_store.STATUS_RUNNING,))
        if existing is not None and existing.read_summary().get("rollback_of") == source.run_id:
            folder = existing
            plan = folder.read_plan()
            info(f"Resuming unfinished rollback run {folder.run_id}.")
            _confirm(f"Resume rollback {folder.run_id}?", yes)
        else:
            plan, notes = plan_rollback(client, source.path)
            for line in notes:
                info(line)
            if not plan.changes:
                info(f"Nothing to roll back for run {source.run_id}.")
                return
            info(render_rollback(plan))
            _confirm(f"Roll back {len(plan.changes)} changes of run {source.run_id}?", yes)
            folder = run_store.create_run(state_dir, plan, kind="rollback",
                                          extra={"rollback_of": source.run_id,
                                                 "connection": connection_record(options, client)})
            info(f"Rollback run {folder.run_id} started.")
        with _run_lock(folder):
            result = execute_rollback(client, plan, folder.path, progress=_progress(client, quiet=False))
    _report(result, fmt, what="Rollback")
    if result.failed:
        sys.exit(EXIT_FAILURE)


@click.command("runs")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@pass_app
def runs(app, fmt: str) -> None:
    """List runs: id, playbook, started, finished, status, users, changes, failures."""
    rows = run_store.list_runs(app.state_dir)
    if fmt == "json":
        emit_json(rows)
        return
    if not rows:
        info("No runs yet.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    from deprovision.cli.schedule_cli import pending_text

    for col in ("id", "kind", "playbook", "started", "finished", "status", "users", "changes", "failures",
                "pending"):
        table.add_column(col, justify="right" if col in ("users", "changes", "failures") else "left")
    for r in rows:
        table.add_row(r.get("run_id", ""), r.get("kind", "apply"), str(r.get("playbook") or ""),
                      str(r.get("started") or ""), str(r.get("finished") or ""), str(r.get("status") or ""),
                      str(r.get("users", "")), str(r.get("changes", "")), str(r.get("failures", "")),
                      pending_text(r))
    Console(width=200).print(table)


COMMANDS = [apply, verify, rollback, runs]

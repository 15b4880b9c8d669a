"""Run a single-org command (``plan`` or ``apply``) once per org, each org on its own; then one summary.

One org failing does not stop the others. Each org applied is a run of its own in the one audit log
(every event carries its org id). Exit: 1 when any org failed, else the command's own code (``plan
--detailed-exitcode``: 3 when any org has changes), else 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from deprovision.cli.common import emit_json, info
from deprovision.errors import EXIT_FAILURE, DeprovisionError
from deprovision.multiorg.mapping import OrgTarget, reading_for

EXIT_CHANGES = 3


@dataclass
class OrgOutcome:
    """How one org went: its exit code, the error if any, and what it planned / applied."""

    org: str
    code: int
    error: str | None
    target: OrgTarget

    def row(self) -> dict[str, Any]:
        plan = self.target.plans[-1] if self.target.plans else None
        run_id, result = self.target.runs[-1] if self.target.runs else (None, None)
        missing = [w.message for w in plan.warnings if "no user" in w.message] if plan is not None else []
        return {"org": self.org, "org_id": plan.org_id if plan is not None else None, "exit_code": self.code,
                "ok": self.code in (0, EXIT_CHANGES), "error": self.error,
                "users": len(plan.users) if plan is not None else None,
                "changes": len(plan.changes) if plan is not None else None,
                "notes": missing, "run_id": run_id, "status": getattr(result, "status", None)}


def _invoke(ctx: click.Context, command: click.Command, params: dict[str, Any], target: OrgTarget) -> OrgOutcome:
    try:
        with reading_for(target):
            ctx.invoke(command, **params, org=(target.name,))
        return OrgOutcome(target.name, 0, None, target)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_FAILURE
        return OrgOutcome(target.name, code, None if code in (0, EXIT_CHANGES) else "failed", target)
    except DeprovisionError as exc:
        info(f"Error: {exc.message}")
        for line in exc.details:
            info(f"  {line}")
        return OrgOutcome(target.name, exc.exit_code, exc.message, target)
    except click.ClickException as exc:
        info(f"Error: {exc.format_message()}")
        return OrgOutcome(target.name, 2, exc.format_message(), target)


def across_orgs(ctx: click.Context, command: click.Command, orgs: list[str], params: dict[str, Any], *,
                fmt: str = "text") -> None:
    """``command`` with ``params`` once per org in ``orgs`` (the first is the reference org), then the summary."""
    run_orgs(ctx, command, orgs, lambda _name: params, fmt=fmt)


def run_orgs(ctx: click.Context, command: click.Command, orgs: list[str],
             params_for: Callable[[str], dict[str, Any]], *, fmt: str = "text") -> None:
    """Like ``across_orgs``, with each org's own parameters (``plan --out``: a file per org)."""
    outcomes = []
    for i, name in enumerate(orgs):
        info(f"\n=== org {name} ({i + 1} of {len(orgs)}) ===")
        outcomes.append(_invoke(ctx, command, params_for(name), OrgTarget(name=name, primary=i == 0)))
    rows = [o.row() for o in outcomes]
    info("")
    info(f"{command.name} across {len(orgs)} orgs:")
    for r in rows:
        state = r["status"] or ("failed" if not r["ok"] else "changes" if r["exit_code"] == EXIT_CHANGES else "ok")
        counts = f"{r['users']} users, {r['changes']} changes" if r["users"] is not None else ""
        what = f"run {r['run_id']}" if r["run_id"] else ""
        line = "  ".join(x for x in (f"  {r['org']}", r["org_id"] or "", state, counts, what) if x)
        info(line + (f"  ({r['error']})" if r["error"] and r["error"] != "failed" else ""))
        for note in r["notes"]:
            info(f"      note: {note}")
    failed = [r["org"] for r in rows if not r["ok"]]
    if fmt == "json" and command.name == "apply":
        emit_json(rows)
    if failed:
        info(f"Failed in {len(failed)} of {len(orgs)} orgs: {', '.join(failed)}.")
        sys.exit(EXIT_FAILURE)
    if any(r["exit_code"] == EXIT_CHANGES for r in rows):
        sys.exit(EXIT_CHANGES)

"""``export``: a wind-down's full org export, run before anything else and verified before any step that
revokes or deactivates (a playbook with ``backup: {scope: org}``). An export that cannot be completed or
verified stops the run here: nothing was written to the org, and the same command resumes it."""

from __future__ import annotations

from pathlib import Path

from deprovision.apply import audit_events
from deprovision.apply.context import RunContext
from deprovision.errors import DeprovisionError
from deprovision.export.progress import ExportProgress
from deprovision.plan.model import Change


class ExportRefused(DeprovisionError):
    """The org export is not complete and verified: the run stops before it writes anything."""


class _RunProgress(ExportProgress):
    """Export progress as the run's progress messages."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def object_done(self, name: str, detail: str) -> None:
        if detail.startswith("failed"):
            self.ctx.progress.message(f"export {name}: {detail}")

    def message(self, text: str) -> None:
        self.ctx.progress.message(text)


def export_folder(ctx: RunContext) -> Path:
    """``<state>/exports/<org id>``: where ``deprovision export`` puts the same org's export."""
    return ctx.folder.path.parent.parent / "exports" / ctx.plan.org_id


class ExportStep:
    """Export the org (resuming an earlier export in the same folder), then verify it against its manifest."""

    name = "export"

    def run(self, ctx: RunContext, changes: list[Change]) -> None:
        if not (ctx.plan.wind_down or {}).get("org_backup") or self.name in ctx.state.finished_phases:
            return
        from deprovision.export import run_export, verify_export

        folder = export_folder(ctx)
        ctx.progress.start_phase(self.name, 0)
        result = run_export(ctx.client, folder, progress=_RunProgress(ctx))
        refused = "the org export is not complete; nothing was frozen, revoked or deactivated"
        if result.failed:
            audit_events.event("export_refused", folder=str(folder), failed=sorted(result.failed))
            raise ExportRefused(f"{refused} (run the same command again to resume it)",
                                details=[f"{n}: {e}" for n, e in sorted(result.failed.items())][:20])
        check = verify_export(folder)
        if not check.ok:
            audit_events.event("export_refused", folder=str(folder), problems=check.problems[:50])
            raise ExportRefused(f"{refused}: the export in {folder} does not match its manifest",
                                details=check.problems[:20])
        audit_events.event("export_verified", folder=str(folder), manifest_sha256=check.manifest_sha256,
                           files_checked=check.checked, **check.totals)
        ctx.progress.end_phase(self.name, f"{check.totals.get('objects', 0):,} objects, "
                                          f"{check.totals.get('rows', 0):,} rows, verified")

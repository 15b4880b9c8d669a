"""``deprovision export`` and ``export verify``: the whole org to disk, and the check of such a copy."""

from __future__ import annotations

from pathlib import Path

import click

from deprovision.cli.common import AppContext, emit_json, info, org_options, org_options_from, pass_app
from deprovision.errors import DeprovisionError

BULK_POLL_SECONDS = 0.25


def default_export_dir(state_dir: Path, org_id: str) -> Path:
    """Where an org's export goes unless ``--out`` says otherwise: ``<state>/exports/<org id>``."""
    return state_dir / "exports" / org_id


@click.group("export", invoke_without_command=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Export folder (default: <state-dir>/exports/<org id>). Run again to resume.")
@click.option("--objects", "objects", multiple=True, metavar="NAME[,NAME]",
              help="Only these objects (repeatable or comma-separated). Default: every exportable object.")
@click.option("--threads", type=click.IntRange(1, 8), default=4, show_default=True,
              help="Objects and files read side by side.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Summary on stdout as text or JSON.")
@org_options
@pass_app
@click.pass_context
def export(ctx: click.Context, app: AppContext, out: Path | None, objects: tuple[str, ...], threads: int,
           fmt: str, **kwargs) -> None:
    """Back up the whole org: every queryable, replicateable object the org describes (every field but
    files and compound fields) to CSV through Bulk API 2.0 query jobs (REST query where Bulk cannot), every
    file body (ContentVersion, Attachment, Document) to disk, a manifest and SHA256SUMS. Killed, it resumes
    where it stopped when run again. Exit 1 when an object or file could not be read."""
    if ctx.invoked_subcommand is not None:
        return
    from deprovision.apply.progress import memory_note
    from deprovision.export import run_export, summary_text
    from deprovision.export.progress import make_export_progress
    from deprovision.org.connection import open_client

    names = [n.strip() for group in objects for n in group.split(",") if n.strip()] or None
    options = org_options_from(app, kwargs)
    with open_client(options, app.ensure_state_dir(), bulk_poll_seconds=BULK_POLL_SECONDS) as client:
        folder = out or default_export_dir(app.state_dir, client.org_id)
        progress = make_export_progress()
        try:
            result = run_export(client, folder, objects=names, threads=threads, progress=progress)
        finally:
            progress.close()
    if fmt == "json":
        emit_json({"folder": str(folder), "complete": result.manifest.complete, "read": result.read,
                   "reused": result.reused, "failed": result.failed, "files_read": result.files_read,
                   "api_calls": result.api_calls, "seconds": round(result.seconds, 2),
                   **result.manifest.totals})
    info(summary_text(result) + (f" ({memory_note()})" if memory_note() else ""))
    if result.failed:
        raise DeprovisionError(f"the export is incomplete: {len(result.failed)} object(s) could not be read; "
                               f"run the same command again to retry them",
                               details=[f"{n}: {e}" for n, e in sorted(result.failed.items())])
    info(f"Check it with: deprovision export verify {folder}")


@export.command("verify")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify(folder: Path, fmt: str) -> None:
    """Check every file of an export against its manifest and SHA256SUMS. Exit 0 when intact, 1 naming
    every file missing or altered."""
    from deprovision.export import verify_export

    check = verify_export(folder)
    if fmt == "json":
        emit_json({"folder": str(folder), "ok": check.ok, "checked": check.checked, "problems": check.problems,
                   "manifest_sha256": check.manifest_sha256, "org_id": check.org_id, **check.totals})
    if not check.ok:
        raise DeprovisionError(f"the export in {folder} does not match its manifest "
                               f"({len(check.problems)} problem(s))", details=check.problems[:50])
    info(f"Export verified: {check.checked:,} files match SHA256SUMS; manifest sha256 {check.manifest_sha256}.")


COMMANDS = [export]

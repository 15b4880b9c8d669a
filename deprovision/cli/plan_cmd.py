"""``deprovision validate``, ``plan`` and ``schema``: playbooks in, a readable plan out."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from deprovision.cli.common import AppContext, info, is_tty, org_options, org_options_from, pass_app
from deprovision.errors import EXIT_CHANGES, PlaybookError

BULK_POLL_SECONDS = 0.25


def _variables(var: tuple[str, ...], vars_file: Path | None) -> dict[str, str]:
    from deprovision.playbook.variables import parse_var_options, read_vars_file

    merged = read_vars_file(vars_file) if vars_file else {}
    merged.update(parse_var_options(var))
    return merged


_var_options = [
    click.option("--var", "var", multiple=True, metavar="NAME=VALUE",
                 help="Template variable for the playbook's strings (repeatable)."),
    click.option("--vars-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="YAML file of template variables (--var wins)."),
]


def _with_var_options(func):
    for opt in reversed(_var_options):
        func = opt(func)
    return func


@click.command("validate")
@click.argument("playbooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@_with_var_options
def validate(playbooks: tuple[Path, ...], var: tuple[str, ...], vars_file: Path | None) -> None:
    """Check playbooks without touching any org. Exit 0 when all are valid, 2 otherwise; each problem
    is one line `file:line:col: path: message`."""
    from deprovision.playbook import PlaybookInvalid, load_playbook

    variables = _variables(var, vars_file)
    bad = 0
    for path in playbooks:
        try:
            playbook = load_playbook(path, variables)
        except PlaybookInvalid as exc:
            bad += 1
            for line in exc.lines:
                click.echo(line, err=True)
            continue
        click.echo(f"{path}: valid ({playbook.name})")
    if bad:
        noun = "playbook is" if bad == 1 else "playbooks are"
        raise PlaybookError(f"{bad} of {len(playbooks)} {noun} invalid")


@click.command("plan")
@click.argument("playbook", type=click.Path(path_type=Path))
@_with_var_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Save the plan as JSON for `deprovision apply PLAN.json`.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True, help="How to show the plan on stdout.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 3 when the plan has changes (0: nothing to change).")
@org_options
@pass_app
def plan(app: AppContext, playbook: Path, var: tuple[str, ...], vars_file: Path | None, out: Path | None,
         fmt: str, detailed_exitcode: bool, **kwargs) -> None:
    """Dry run: read the org and show every change the playbook would make, per user, before → after.
    Nothing is written to the org. Blocking problems exit 2. Several --org (or a [groups.NAME]): one plan
    per org, then a summary per org."""
    from deprovision.multiorg.cli import across_orgs_if_several

    if across_orgs_if_several():  # several --org (or a group): once per org, then a summary
        return
    from deprovision.contract import today_from
    from deprovision.org.connection import open_client
    from deprovision.plan import compute_plan, read_snapshot, render, write_plan
    from deprovision.plan.approval import plan_digest, plan_key
    from deprovision.plan.render import summary_line, write_json
    from deprovision.plan.validate import attach_rules
    from deprovision.playbook import load_playbook
    from deprovision.winddown import plan_facts, read_facts, with_section

    book = load_playbook(playbook, _variables(var, vars_file))
    options = org_options_from(app, kwargs)
    # Bulk query jobs of a dry run are short: poll them often rather than sleep a second each
    with open_client(options, app.ensure_state_dir(), bulk_poll_seconds=BULK_POLL_SECONDS) as client:
        snapshot = read_snapshot(client, book)
        wind = read_facts(client, book)  # wind-down playbooks: contract, export, licences
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = attach_rules(compute_plan(book, snapshot, created_at=created), book)
    result.wind_down = plan_facts(wind, book, result, today_from(None))
    color = fmt == "text" and is_tty() and not os.environ.get("NO_COLOR")
    if fmt == "json":
        write_json(result, click.get_text_stream("stdout"))
    else:
        click.echo(with_section(render(result, fmt, color=color), result.wind_down, fmt), nl=False)
    if fmt != "text":
        info(summary_line(result))
    info(f"Read the org in {snapshot.api_calls} API calls.")
    blocking = result.blocking_warnings
    if blocking:
        raise PlaybookError(f"the plan is blocked by {len(blocking)} problem(s); nothing was saved",
                            details=[w.message for w in blocking])
    if out:
        key = plan_key()
        sidecar = write_plan(result, out, key=key)
        info(f"Saved the plan to {out}" + (f" (record ids in {sidecar.name})" if sidecar else "")
             + (", signed with DEPROVISION_PLAN_KEY" if key else "") + ".")
        info(f"Plan digest: {plan_digest(out)}")
    if detailed_exitcode and result.changes:
        sys.exit(EXIT_CHANGES)


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of playbooks (for editors: yaml-language-server)."""
    from deprovision.playbook import playbook_json_schema

    click.echo(json.dumps(playbook_json_schema(), indent=2))


COMMANDS = [validate, plan, schema]

"""The ``deprovision`` command line: parsing, output and exit codes; no business logic."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from deprovision import __version__
from deprovision.cli.common import AppContext, OrgOptions, check_state_dir, default_state_dir
from deprovision.errors import EXIT_INVALID, DeprovisionError

# Each module defines the commands it names in COMMANDS.
_COMMAND_MODULES = (
    "deprovision.cli.localorg_cmd",
    "deprovision.cli.org_cmd",
    "deprovision.cli.plan_cmd",
    "deprovision.cli.apply_cmd",
    "deprovision.cli.audit_cmd",
    "deprovision.cli.drift_cmd",
    "deprovision.cli.contract_cmd",
    "deprovision.cli.export_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="deprovision")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="State folder (local org, runs, audit log). Default: .deprovision/ or DEPROVISION_STATE_DIR.")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, state_dir: Path | None, debug: bool) -> None:
    """Take people out of a Salesforce org safely, completely and provably.

    \b
    Exit codes:
      0  success, or no changes
      1  failure talking to the org, partial failure, verify found leftovers, audit log broken
      2  invalid input (usage, playbook, plan file)
      3  plan --detailed-exitcode: changes present
      4  stale plan refused
    """
    ctx.obj = AppContext(state_dir=state_dir or default_state_dir(), debug=debug, org=OrgOptions())
    check_state_dir(ctx.obj.state_dir)


for _name in _COMMAND_MODULES:
    _module = importlib.import_module(_name)
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into one ``Error:`` line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="deprovision", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Error: aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INVALID if exc.exit_code == 2 else exc.exit_code)
    except DeprovisionError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        for line in exc.details:
            click.echo(f"  {line}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Error: interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: no traceback unless --debug
        if debug:
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
        sys.exit(1)
    sys.exit(0)

"""``deprovision org check``: test the connection and the API user's permissions."""

from __future__ import annotations

import click

from deprovision.cli.common import AppContext, emit_json, org_options, org_options_from, pass_app
from deprovision.errors import DeprovisionError


@click.group("org")
def org() -> None:
    """Inspect the org a command would talk to."""


@org.command("check")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")
@org_options
@pass_app
def check(app: AppContext, fmt: str, **kwargs) -> None:
    """Connect and show org id, instance, API user, API version, requests left today, sandbox or
    production, and whether the API user may deprovision (Manage Users, View Setup, and Modify All
    Data or Transfer Record), and whether it sees every user's OAuth tokens, sessions and private reports
    and dashboards. Exit 1 when the connection or a permission is missing."""
    from deprovision.org.check import check_org, render_text
    from deprovision.org.connection import open_client

    options = org_options_from(app, kwargs)
    with open_client(options, app.ensure_state_dir()) as client:
        result = check_org(client)
    if fmt == "json":
        emit_json(result.to_dict())
    else:
        click.echo(render_text(result))
    if not result.ok:
        user = result.api_user.get("username") or "the API user"
        raise DeprovisionError(f"{user} lacks permissions deprovisioning needs: "
                               f"{'; '.join([*result.missing, *result.blind])}")


COMMANDS = [org]

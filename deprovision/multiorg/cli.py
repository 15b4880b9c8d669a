"""The glue of ``plan`` and ``apply`` to several orgs: called first thing by both commands."""

from __future__ import annotations

import re
from pathlib import Path

import click

from deprovision.errors import InvalidInputError
from deprovision.multiorg.targets import expand_orgs


def _per_org(path: Path, org: str) -> Path:
    """``plan.json`` -> ``plan.uat.json`` (``sf:dev`` -> ``sf-dev``)."""
    return path.with_name(f"{path.stem}.{re.sub(r'[^A-Za-z0-9_.-]', '-', org)}{path.suffix}")


def across_orgs_if_several() -> bool:
    """When the command's ``--org`` values name several orgs (or a group): run it once per org and sum up
    (True: done). False: one org, the command goes on as usual."""
    from deprovision.multiorg.drive import across_orgs

    ctx = click.get_current_context()
    orgs = expand_orgs(ctx.params.get("org"))
    if orgs is None:
        return False
    params = {k: v for k, v in ctx.params.items() if k != "org"}
    if ctx.params.get("instance_url") or ctx.params.get("access_token"):
        raise InvalidInputError("several --org go without --instance-url / --access-token")
    fmt = params.get("fmt") or "text"
    if ctx.command.name == "plan":
        if fmt == "json":
            raise InvalidInputError("--format json with several orgs: use --out PLAN.json (one file per org)")
        out = params.get("out")
        if out is not None:
            outs = {name: _per_org(Path(out), name) for name in orgs}
            return _across_with_outs(ctx, orgs, params, outs)
    if ctx.command.name == "apply":
        target = params.get("target")
        if target is not None and str(target).lower().endswith(".json"):
            raise InvalidInputError("a saved plan belongs to one org: apply it with its own --org")
        params["fmt"] = "text"  # one JSON summary of every org at the end
    across_orgs(ctx, ctx.command, orgs, params, fmt=fmt)
    return True


def _across_with_outs(ctx: click.Context, orgs: list[str], params: dict, outs: dict[str, Path]) -> bool:
    from deprovision.multiorg.drive import run_orgs

    run_orgs(ctx, ctx.command, orgs, lambda name: {**params, "out": outs[name]})
    return True

"""Runs are bound to their org: what a run records of its connection, and how later commands reuse it.

``summary.json`` of every run holds ``connection``: how the org was reached (a named connection, an
instance URL with its CA bundle, or the embedded local org), the org id and the API user; never a token.
``verify``, ``rollback`` and resume connect through it when no org is given, and refuse a connection
whose org id is not the run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deprovision.errors import InvalidInputError
from deprovision.org.options import OrgOptions

KIND_NAMED = "named"  # --org NAME or sf:ALIAS
KIND_INSTANCE = "instance"  # --instance-url / SF_INSTANCE_URL (a served local org, a session)
KIND_LOCAL = "local"  # the embedded local org of the state folder


def connection_record(options: OrgOptions, client: Any) -> dict[str, Any]:
    """What a run records of the connection ``options`` made (``client``): no secret."""
    api = client.api_user
    record: dict[str, Any] = {"org_id": client.org_id, "instance_url": client.instance_url,
                              "api_user": {"id": api.get("id", ""), "username": api.get("username", "")}}
    if options.org:
        record.update(kind=KIND_NAMED, org=options.org)
    elif options.instance_url:
        ca = options.ca_bundle
        record.update(kind=KIND_INSTANCE, instance_url=options.instance_url.strip().rstrip("/"),
                      ca_bundle=str(Path(ca).resolve()) if ca else None)
    else:
        record.update(kind=KIND_LOCAL)
    if options.api_version:
        record["api_version"] = options.api_version
    return record


def org_given(options: OrgOptions) -> bool:
    """True when the user named an org (``--org``, ``--instance-url`` or their variables)."""
    return bool(options.org or options.instance_url)


def options_for_run(summary: dict[str, Any], options: OrgOptions) -> OrgOptions:
    """The options to reach the run's org: ``options`` when they name an org, else the run's connection."""
    conn = summary.get("connection") or {}
    if org_given(options) or not conn:
        return options
    version = options.api_version or conn.get("api_version")
    kind = conn.get("kind")
    if kind == KIND_NAMED:
        return OrgOptions(org=conn.get("org"), ca_bundle=options.ca_bundle, api_version=version)
    if kind == KIND_INSTANCE:
        if not options.access_token:
            raise InvalidInputError(
                f"run {summary.get('run_id')} was applied to org {conn.get('org_id')} at {conn.get('instance_url')}: "
                "give its access token (--access-token or SF_ACCESS_TOKEN), or name the org with --org / "
                "--instance-url")
        return OrgOptions(instance_url=conn.get("instance_url"), access_token=options.access_token,
                          ca_bundle=options.ca_bundle or conn.get("ca_bundle"), api_version=version)
    return OrgOptions(access_token=None, api_version=version)  # the embedded local org


def check_same_org(summary: dict[str, Any], client: Any, what: str) -> None:
    """InvalidInputError (exit 2) when ``client`` is not connected to the run's org."""
    expected = (summary.get("connection") or {}).get("org_id") or summary.get("org_id")
    actual = client.org_id
    if expected and actual and expected[:15] != actual[:15]:
        raise InvalidInputError(
            f"run {summary.get('run_id')} was applied to org {expected}, but this connection is to org {actual} "
            f"({client.instance_url}): refusing to {what} another org's run; nothing was done")

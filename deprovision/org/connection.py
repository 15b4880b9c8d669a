"""``open_client``: pick the org the user asked for, connect, and hand out an ``OrgClient``.

Order: ``--org sf:ALIAS`` (the Salesforce CLI) → ``--org NAME`` (``deprovision.toml``) →
``--instance-url``/``--access-token`` (or SF_* variables) → the embedded local org in the state folder.
A named org wins over a session in the environment, so a stray SF_ACCESS_TOKEN never redirects ``--org``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from deprovision.errors import InvalidInputError
from deprovision.org.auth import OrgSession, make_login
from deprovision.org.client import OrgClient
from deprovision.org.config import load_org, normalise_api_version
from deprovision.org.options import OrgOptions
from deprovision.org.retry import RetryPolicy
from deprovision.org.sfcli import cli_session
from deprovision.org.transport import DEFAULT_API_VERSION, CallCounter, instrument, make_http_session, trust

LOCAL_DB_NAME = "localorg.sqlite3"
SCHEMA_CACHE = "schema"  # describes cached per org id and API version, in the state folder


@contextmanager
def open_client(
    options: OrgOptions | None,
    state_dir: Path,
    *,
    session: requests.Session | None = None,
    retry: RetryPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    bulk_poll_seconds: float = 1.0,
) -> Iterator[OrgClient]:
    """A connected ``OrgClient`` for the org ``options`` name; closed (and a local org stopped) after.

    ``session`` replaces the HTTP session (tests route login hosts to a local org through it).
    """
    options = options or OrgOptions()
    api_version = _version(options.api_version)
    common = {"retry": retry, "bulk_poll_seconds": bulk_poll_seconds, "schema_cache": state_dir / SCHEMA_CACHE}

    if options.org and options.org.startswith("sf:"):
        alias = options.org[3:]
        first = cli_session(alias, environ)
        http = _http(session, options.ca_bundle)
        with _closing(http):
            yield OrgClient(first, http, api_version=api_version, relogin=lambda: cli_session(alias, environ),
                            label=f"Salesforce CLI org {alias}", **common)
        return

    if options.org:
        config = load_org(options.org)
        http = _http(session, options.ca_bundle or config.ca_bundle, config.timeout)
        version = api_version if options.api_version else (config.api_version or DEFAULT_API_VERSION)
        login = make_login(config, http, version, environ)
        counter = CallCounter()
        instrument(http, counter)  # the first login is counted too
        with _closing(http):
            first = login()
            yield OrgClient(first, http, api_version=version, relogin=login, counter=counter,
                            label=f"org {config.name} ({config.method})", **common)
        return

    if options.instance_url or options.access_token:
        if not (options.instance_url and options.access_token):
            raise InvalidInputError("--instance-url and --access-token go together "
                                    "(or SF_INSTANCE_URL and SF_ACCESS_TOKEN)")
        url = options.instance_url.strip().rstrip("/")
        if not url.startswith("https://"):
            raise InvalidInputError(f"--instance-url must start with https:// (got {url})")
        http = _http(session, options.ca_bundle)
        with _closing(http):
            yield OrgClient(OrgSession(options.access_token, url), http, api_version=api_version,
                            label="direct session", **common)
        return

    with embedded_local_org(state_dir) as server:
        http = _http(session, str(server.ca_bundle))
        with _closing(http):
            yield OrgClient(OrgSession(server.access_token, server.instance_url), http,
                            api_version=api_version, label="local org", **common)


@contextmanager
def embedded_local_org(state_dir: Path) -> Iterator:
    """The local org of ``state_dir`` (created and demo-seeded on first use), served while in use."""
    from deprovision.localorg.server import LocalOrgServer  # the local org is only loaded when used

    state_dir.mkdir(parents=True, exist_ok=True)
    server = LocalOrgServer(state_dir / LOCAL_DB_NAME, port=0, seed="demo")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _http(session: requests.Session | None, ca_bundle: str | None,
          timeout: float | None = None) -> requests.Session:
    if session is None:
        return make_http_session(ca_bundle, timeout)
    trust(session, ca_bundle)
    return session


@contextmanager
def _closing(http: requests.Session) -> Iterator[None]:
    try:
        yield
    finally:
        http.close()


def _version(version: str | None) -> str:
    return normalise_api_version(version, "--api-version") if version else DEFAULT_API_VERSION

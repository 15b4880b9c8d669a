"""Logging in: one function per ``deprovision.toml`` method, each returning a renewable login.

Every flow goes through simple-salesforce's own login code (SOAP for ``password``, the OAuth token
endpoint for the others) over the ``requests.Session`` given, so tests can route the login hosts
to a local org with a transport adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives import serialization
from simple_salesforce.login import SalesforceLogin

from deprovision.errors import InvalidInputError
from deprovision.org.config import OrgConfig
from deprovision.org.results import to_org_error


@dataclass(frozen=True)
class OrgSession:
    """An access token and the instance it is valid for."""

    access_token: str
    instance_url: str

    def __repr__(self) -> str:  # never show the token
        return f"OrgSession(instance_url={self.instance_url!r}, access_token='***')"


Login = Callable[[], OrgSession]


def make_login(config: OrgConfig, http: requests.Session, api_version: str,
               environ: Mapping[str, str] | None = None) -> Login:
    """A callable that logs in with ``config`` (secrets are read now, so a missing one fails early)."""
    kwargs = login_kwargs(config, environ)
    kwargs.update(session=http, domain=config.login_domain)
    if config.method == "password":
        kwargs["sf_version"] = api_version

    def login() -> OrgSession:
        try:
            token, sf_instance = SalesforceLogin(**kwargs)
        except Exception as exc:  # simple-salesforce and requests errors alike
            raise to_org_error(exc, f"login to org '{config.name}' ({config.method})") from None
        return OrgSession(access_token=token, instance_url=f"https://{sf_instance}")

    return login


def login_kwargs(config: OrgConfig, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The ``SalesforceLogin`` arguments for ``config``, secrets resolved."""
    method = config.method
    if method == "password":
        return {
            "username": config.username,
            "password": config.secret("password", environ),
            "security_token": config.secret("security_token", environ) or "",
        }
    if method == "oauth-password":
        password = config.secret("password", environ) or ""
        password += config.secret("security_token", environ) or ""
        return {
            "username": config.username,
            "password": password,
            "consumer_key": config.key(environ),
            "consumer_secret": config.secret("consumer_secret", environ),
        }
    if method == "jwt":
        return {
            "username": config.username,
            "consumer_key": config.key(environ),
            "privatekey": _private_key(config, environ),
        }
    if method == "client-credentials":
        return {
            "consumer_key": config.key(environ),
            "consumer_secret": config.secret("consumer_secret", environ),
        }
    raise InvalidInputError(f"org '{config.name}': unknown method {method}")


def _private_key(config: OrgConfig, environ: Mapping[str, str] | None) -> str:
    """The PEM private key, checked to be one (a clear error beats a failed signature later)."""
    pem = config.secret("private_key", environ) or ""
    try:
        serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        ref = config.secrets["private_key"]
        raise InvalidInputError(f"org '{config.name}': the private key in {ref.describe()} is not an "
                                f"unencrypted PEM private key") from None
    return pem

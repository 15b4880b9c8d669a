"""Named org connections from ``deprovision.toml``.

Looked up in the current folder, then in the user's config folder (platformdirs), unless
``DEPROVISION_CONFIG`` names a file. Secrets never sit in the file: a secret is named by an
environment variable (``password_env = "SF_PROD_PASSWORD"``) or a file (``private_key_file``,
``consumer_secret_file``); an inline ``password = "..."`` is refused.

    [orgs.prod]
    method = "jwt"                      # password | oauth-password | jwt | client-credentials
    username = "deprovision@acme.com"
    consumer_key = "3MVG9..."
    private_key_file = "~/.config/deprovision/prod.key"
    domain = "acme.my"                  # My Domain; or sandbox = true for test.salesforce.com
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from deprovision.errors import InvalidInputError

CONFIG_NAME = "deprovision.toml"
METHODS = ("password", "oauth-password", "jwt", "client-credentials")
SECRETS = ("password", "security_token", "consumer_secret", "private_key")
_PLAIN_KEYS = {"method", "username", "consumer_key", "consumer_key_env", "domain", "sandbox",
               "api_version", "ca_bundle", "timeout", "instance_url"}
_SECRET_KEYS = {f"{s}_env" for s in SECRETS} | {f"{s}_file" for s in SECRETS}
# What each method needs (one of *_env / *_file for a secret).
_REQUIRED = {
    "password": ("username", "password"),
    "oauth-password": ("username", "password", "consumer_key", "consumer_secret"),
    "jwt": ("username", "consumer_key", "private_key"),
    "client-credentials": ("consumer_key", "consumer_secret", "domain"),
}


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file. Never its value."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def read(self, what: str, org: str, environ: Mapping[str, str] | None = None) -> str:
        """The secret's value; a clear ``InvalidInputError`` when it is missing."""
        environ = os.environ if environ is None else environ
        if self.env:
            value = environ.get(self.env)
            if not value:
                raise InvalidInputError(f"org '{org}': {what} is read from environment variable "
                                        f"{self.env}, which is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInputError(f"org '{org}': cannot read {what} file {self.file}: "
                                    f"{exc.strerror or type(exc).__name__}") from None


@dataclass(frozen=True)
class OrgConfig:
    """One named connection."""

    name: str
    method: str
    source: Path
    username: str | None = None
    consumer_key: str | None = None
    consumer_key_env: str | None = None
    domain: str | None = None
    sandbox: bool = False
    api_version: str | None = None
    ca_bundle: str | None = None
    timeout: float | None = None
    secrets: dict[str, SecretRef] = field(default_factory=dict)

    @property
    def login_domain(self) -> str:
        """The host prefix simple-salesforce logs in at: ``login``, ``test`` or a My Domain (``acme.my``)."""
        if self.domain:
            return self.domain
        return "test" if self.sandbox else "login"

    def secret(self, name: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The value of secret ``name`` or None when the connection does not name one."""
        ref = self.secrets.get(name)
        return ref.read(name.replace("_", " "), self.name, environ) if ref else None

    def key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The consumer key, inline or from its environment variable."""
        if self.consumer_key_env:
            environ = os.environ if environ is None else environ
            value = environ.get(self.consumer_key_env)
            if not value:
                raise InvalidInputError(f"org '{self.name}': consumer key is read from environment "
                                        f"variable {self.consumer_key_env}, which is not set")
            return value
        return self.consumer_key


def config_paths(cwd: Path | None = None) -> list[Path]:
    """Where ``deprovision.toml`` is looked for, first match wins."""
    explicit = os.environ.get("DEPROVISION_CONFIG")
    if explicit:
        return [Path(explicit).expanduser()]
    cwd = cwd or Path.cwd()
    return [cwd / CONFIG_NAME, Path(platformdirs.user_config_dir("deprovision")) / CONFIG_NAME]


def find_config(cwd: Path | None = None) -> Path | None:
    """The first ``deprovision.toml`` that exists, or None."""
    for path in config_paths(cwd):
        if path.is_file():
            return path
    return None


def load_org(name: str, path: Path | None = None) -> OrgConfig:
    """The connection called ``name``; ``InvalidInputError`` when there is no such connection or it is invalid."""
    path = path or find_config()
    if path is None:
        looked = ", ".join(str(p) for p in config_paths())
        raise InvalidInputError(f"unknown org '{name}': no {CONFIG_NAME} found (looked in {looked})")
    orgs = _read_orgs(path)
    if name not in orgs:
        known = ", ".join(sorted(orgs)) or "none"
        raise InvalidInputError(f"unknown org '{name}' in {path} (known: {known})")
    return parse_org(name, orgs[name], path)


def load_group(name: str, path: Path | None = None) -> list[str] | None:
    """The orgs of ``[groups.NAME] orgs = [...]`` (named connections or ``sf:ALIAS``), or None when
    there is no such group::

        [groups.all-envs]
        orgs = ["prod", "uat", "sf:dev-sandbox"]
    """
    path = path or find_config()
    if path is None:
        return None
    groups = _read_toml(path).get("groups", {})
    if not isinstance(groups, dict):
        raise InvalidInputError(f"{path}: [groups] must be a table of named groups of orgs")
    table = groups.get(name)
    if table is None:
        return None
    orgs = table.get("orgs") if isinstance(table, dict) else None
    if not isinstance(orgs, list) or not orgs or not all(isinstance(o, str) and o for o in orgs):
        raise InvalidInputError(f"{path}: [groups.{name}] needs orgs = [\"NAME\", ...] (named connections or "
                                "sf:ALIAS)")
    return list(orgs)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: invalid TOML: {exc}") from None


def _read_orgs(path: Path) -> dict[str, Any]:
    data = _read_toml(path)
    orgs = data.get("orgs", {})
    if not isinstance(orgs, dict):
        raise InvalidInputError(f"{path}: [orgs] must be a table of named connections")
    return orgs


def parse_org(name: str, table: Any, source: Path) -> OrgConfig:
    """Validate one ``[orgs.NAME]`` table."""
    where = f"{source}: [orgs.{name}]"
    if not isinstance(table, dict):
        raise InvalidInputError(f"{where} must be a table")
    for secret in SECRETS:
        if secret in table:
            raise InvalidInputError(
                f"{where}: {secret} must not be written in the file; use {secret}_env = \"VARIABLE\" "
                f"or {secret}_file = \"PATH\"")
    unknown = sorted(set(table) - _PLAIN_KEYS - _SECRET_KEYS)
    if unknown:
        raise InvalidInputError(f"{where}: unknown key {unknown[0]}")
    method = table.get("method")
    if method not in METHODS:
        raise InvalidInputError(f"{where}: method must be one of {', '.join(METHODS)} (got {method!r})")
    for key in _PLAIN_KEYS - {"sandbox", "timeout"}:
        if key in table and not isinstance(table[key], str):
            raise InvalidInputError(f"{where}: {key} must be a string")
    if "sandbox" in table and not isinstance(table["sandbox"], bool):
        raise InvalidInputError(f"{where}: sandbox must be true or false")
    timeout = table.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise InvalidInputError(f"{where}: timeout must be a positive number of seconds")

    secrets: dict[str, SecretRef] = {}
    for secret in SECRETS:
        env, file = table.get(f"{secret}_env"), table.get(f"{secret}_file")
        if env is not None and file is not None:
            raise InvalidInputError(f"{where}: give either {secret}_env or {secret}_file, not both")
        if env is not None:
            if not isinstance(env, str) or not env:
                raise InvalidInputError(f"{where}: {secret}_env must name an environment variable")
            secrets[secret] = SecretRef(env=env)
        elif file is not None:
            if not isinstance(file, str) or not file:
                raise InvalidInputError(f"{where}: {secret}_file must be a path")
            secrets[secret] = SecretRef(file=_resolve(file, source))

    present = {k for k in ("username", "domain") if table.get(k)} | set(secrets)
    if table.get("consumer_key") or table.get("consumer_key_env"):
        present.add("consumer_key")
    missing = [k for k in _REQUIRED[method] if k not in present]
    if missing:
        hint = missing[0] + ("_env or " + missing[0] + "_file" if missing[0] in SECRETS else "")
        raise InvalidInputError(f"{where}: method {method} needs {hint}")
    domain = _normalise_domain(table.get("domain"), where)
    if method == "client-credentials" and domain in ("login", "test"):
        raise InvalidInputError(f"{where}: client-credentials needs your My Domain (domain = \"acme.my\")")
    ca_bundle = table.get("ca_bundle")
    return OrgConfig(
        name=name, method=method, source=source,
        username=table.get("username"),
        consumer_key=table.get("consumer_key"), consumer_key_env=table.get("consumer_key_env"),
        domain=domain, sandbox=bool(table.get("sandbox", False)),
        api_version=normalise_api_version(table.get("api_version"), f"{where}: api_version"),
        ca_bundle=str(_resolve(ca_bundle, source)) if ca_bundle else None,
        timeout=float(timeout) if timeout is not None else None,
        secrets=secrets,
    )


def _resolve(path: str, source: Path) -> Path:
    """``~`` expanded; relative paths are relative to the config file."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (source.parent / p)


def _normalise_domain(domain: str | None, where: str) -> str | None:
    """``acme.my`` from ``https://acme.my.salesforce.com/`` and friends."""
    if not domain:
        return None
    d = domain.strip().lower()
    d = d.removeprefix("https://").removeprefix("http://").rstrip("/")
    d = d.removesuffix(".salesforce.com")
    if not d or "/" in d or " " in d:
        raise InvalidInputError(f"{where}: domain {domain!r} is not a login host such as \"acme.my\"")
    return d


def normalise_api_version(version: str | None, where: str) -> str | None:
    """``"v62.0"`` or ``"62.0"`` -> ``"62.0"``; None stays None; anything else is a one-line input error."""
    if version is None:
        return None
    v = version.strip().removeprefix("v")
    try:
        float(v)
    except ValueError:
        raise InvalidInputError(f"{where} must look like \"62.0\" (got {version!r})") from None
    return v

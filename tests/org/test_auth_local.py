"""Every way of connecting, end to end against the local org's login endpoints.

Login hosts (login./test.salesforce.com, My Domains) reach the local org through a transport
adapter on the ``requests.Session`` handed to ``open_client``; nothing is patched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from localorg_support import sf_or_skip

from deprovision.cli.common import OrgOptions
from deprovision.errors import InvalidInputError, OrgError
from deprovision.localorg.seed.empty import (
    ADMIN_USERNAME,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    DEMO_PASSWORD,
    DEMO_SECURITY_TOKEN,
)
from deprovision.localorg.server import LocalOrgServer
from deprovision.org.connection import open_client
from deprovision.org.routing import routed_session

from .conftest import ADMIN_ID


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, **env: str) -> None:
    path = tmp_path / "deprovision.toml"
    path.write_text(body)
    monkeypatch.setenv("DEPROVISION_CONFIG", str(path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def password_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, extra: str = "") -> None:
    write_config(tmp_path, monkeypatch, f"""
[orgs.local]
method = "password"
username = "{ADMIN_USERNAME}"
password_env = "TEST_SF_PASSWORD"
security_token_env = "TEST_SF_TOKEN"
{extra}
""", TEST_SF_PASSWORD=DEMO_PASSWORD, TEST_SF_TOKEN=DEMO_SECURITY_TOKEN)


def connect_and_identify(server: LocalOrgServer, tmp_path: Path, org: str) -> tuple[dict, list[str], str]:
    http, adapter = routed_session(server.instance_url, server.ca_bundle)
    with open_client(OrgOptions(org=org), tmp_path, session=http) as client:
        rows = list(client.query("SELECT Id FROM Organization"))
        return client.api_user, adapter.routed, rows[0]["Id"]


def test_password_login_over_soap(org_server: LocalOrgServer, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    password_config(tmp_path, monkeypatch)
    user, routed, org_id = connect_and_identify(org_server, tmp_path, "local")
    assert user["id"] == ADMIN_ID and user["username"] == ADMIN_USERNAME
    assert routed == ["login.salesforce.com"]
    assert org_id == org_server.org_id


def test_sandbox_logs_in_at_test_salesforce_com(org_server: LocalOrgServer, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    password_config(tmp_path, monkeypatch, extra="sandbox = true")
    _, routed, _ = connect_and_identify(org_server, tmp_path, "local")
    assert routed == ["test.salesforce.com"]


def test_a_wrong_password_is_an_org_error_without_the_secret(org_server: LocalOrgServer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    password_config(tmp_path, monkeypatch)
    monkeypatch.setenv("TEST_SF_PASSWORD", "wrong-password-123")
    with pytest.raises(OrgError) as err:
        connect_and_identify(org_server, tmp_path, "local")
    assert err.value.message.startswith("login to org 'local' (password) failed: login refused: INVALID_LOGIN")
    assert "wrong-password-123" not in err.value.message and DEMO_SECURITY_TOKEN not in err.value.message


def test_oauth_password_flow(org_server: LocalOrgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text(CONSUMER_SECRET + "\n")
    write_config(tmp_path, monkeypatch, f"""
[orgs.oauth]
method = "oauth-password"
username = "{ADMIN_USERNAME}"
password_env = "TEST_SF_PASSWORD"
consumer_key = "{CONSUMER_KEY}"
consumer_secret_file = "secret.txt"
domain = "acme.my"
""", TEST_SF_PASSWORD=DEMO_PASSWORD)
    user, routed, _ = connect_and_identify(org_server, tmp_path, "oauth")
    assert user["username"] == ADMIN_USERNAME
    assert routed == ["acme.my.salesforce.com"]


def test_a_wrong_consumer_secret_is_refused(org_server: LocalOrgServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, monkeypatch, f"""
[orgs.oauth]
method = "oauth-password"
username = "{ADMIN_USERNAME}"
password_env = "TEST_SF_PASSWORD"
consumer_key = "{CONSUMER_KEY}"
consumer_secret_env = "TEST_SF_SECRET"
""", TEST_SF_PASSWORD=DEMO_PASSWORD, TEST_SF_SECRET="not-the-secret")
    with pytest.raises(OrgError, match="login refused: invalid_client"):
        connect_and_identify(org_server, tmp_path, "oauth")


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deprovision-test")])
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_jwt_bearer_with_a_key_pair_registered_with_the_connected_app(
        org_server: LocalOrgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private_pem, cert_pem = _key_pair()
    org_server.store.register_connected_app("3MVG9.test.jwt", "unused-secret", name="jwt test",
                                            certificate_pem=cert_pem)
    (tmp_path / "jwt.key").write_text(private_pem)
    write_config(tmp_path, monkeypatch, f"""
[orgs.jwt]
method = "jwt"
username = "{ADMIN_USERNAME}"
consumer_key = "3MVG9.test.jwt"
private_key_file = "jwt.key"
""")
    user, routed, _ = connect_and_identify(org_server, tmp_path, "jwt")
    assert user["username"] == ADMIN_USERNAME and routed == ["login.salesforce.com"]

    other_pem, _ = _key_pair()  # a key the app does not know
    (tmp_path / "jwt.key").write_text(other_pem)
    with pytest.raises(OrgError, match="login refused: invalid_grant"):
        connect_and_identify(org_server, tmp_path, "jwt")


def test_client_credentials_with_my_domain(org_server: LocalOrgServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, monkeypatch, """
[orgs.cc]
method = "client-credentials"
consumer_key_env = "TEST_SF_KEY"
consumer_secret_env = "TEST_SF_SECRET"
domain = "acme.my"
""", TEST_SF_KEY=CONSUMER_KEY, TEST_SF_SECRET=CONSUMER_SECRET)
    user, routed, _ = connect_and_identify(org_server, tmp_path, "cc")
    assert user["id"] == ADMIN_ID and routed == ["acme.my.salesforce.com"]


def test_direct_token_with_a_ca_bundle(direct_options: OrgOptions, tmp_path: Path) -> None:
    with open_client(direct_options, tmp_path) as client:
        assert client.api_user["username"] == ADMIN_USERNAME
        assert client.label == "direct session"


def test_direct_token_from_environment_variables(org_server: LocalOrgServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_INSTANCE_URL", org_server.instance_url)
    monkeypatch.setenv("SF_ACCESS_TOKEN", org_server.access_token)
    monkeypatch.setenv("SF_CA_BUNDLE", org_server.ca_bundle)
    with open_client(OrgOptions.from_env(), tmp_path) as client:
        assert client.org_id == org_server.org_id


def test_half_a_direct_session_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="--instance-url and --access-token go together"):
        with open_client(OrgOptions(instance_url="https://x.my.salesforce.com"), tmp_path):
            pass


def test_an_untrusted_certificate_is_a_clear_error(org_server: LocalOrgServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    options = OrgOptions(instance_url=org_server.instance_url, access_token=org_server.access_token)
    with open_client(options, tmp_path) as client:
        with pytest.raises(OrgError, match="TLS certificate not trusted"):
            list(client.query("SELECT Id FROM Organization"))


def test_the_token_never_shows_in_repr_or_errors(org_server: LocalOrgServer, tmp_path: Path) -> None:
    bad = org_server.access_token[:-4] + "AAAA"
    options = OrgOptions(instance_url=org_server.instance_url, access_token=bad, ca_bundle=org_server.ca_bundle)
    with open_client(options, tmp_path) as client:
        with pytest.raises(OrgError) as err:
            list(client.query("SELECT Id FROM Organization"))
    assert bad not in err.value.message and org_server.access_token not in err.value.message


# --- the real Salesforce CLI -------------------------------------------------------------------------

def test_sf_alias_reuses_the_cli_login(org_server: LocalOrgServer, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    command = sf_or_skip()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
           "SF_USE_GENERIC_UNIX_KEYCHAIN": "true", "NODE_EXTRA_CA_CERTS": org_server.ca_bundle,
           "SF_ACCESS_TOKEN": org_server.access_token}
    login = subprocess.run([*command, "org", "login", "access-token", "--instance-url", org_server.instance_url,
                            "--alias", "localtest", "--no-prompt", "--json"],
                           env=env, capture_output=True, text=True, timeout=180, check=False)
    assert login.returncode == 0, login.stdout[-2000:] + login.stderr[-2000:]
    assert json.loads(login.stdout)["result"]["username"] == ADMIN_USERNAME
    for name in ("HOME", "NODE_EXTRA_CA_CERTS", "SF_USE_GENERIC_UNIX_KEYCHAIN"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("SF_ACCESS_TOKEN", raising=False)
    options = OrgOptions(org="sf:localtest", ca_bundle=org_server.ca_bundle)
    with open_client(options, tmp_path) as client:
        assert client.instance_url == org_server.instance_url
        assert client.api_user["username"] == ADMIN_USERNAME
        assert len(list(client.query("SELECT Id FROM Organization"))) == 1


def test_an_unknown_sf_alias_is_an_org_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf_or_skip()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SF_USE_GENERIC_UNIX_KEYCHAIN", "true")
    with pytest.raises(OrgError, match="sf org display failed"):
        with open_client(OrgOptions(org="sf:nobody"), tmp_path):
            pass


def test_a_named_org_wins_over_a_session_in_the_environment(org_server: LocalOrgServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    password_config(tmp_path, monkeypatch)
    monkeypatch.setenv("SF_INSTANCE_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("SF_ACCESS_TOKEN", "00D000000000001!stray")
    http, adapter = routed_session(org_server.instance_url, org_server.ca_bundle)
    with open_client(OrgOptions.from_env(org="local"), tmp_path, session=http) as client:
        assert client.label == "org local (password)"
        assert client.api_user["username"] == ADMIN_USERNAME
    assert adapter.routed == ["login.salesforce.com"]

"""Every login method, recorded against the local org's login endpoints and replayed without a server.

Live, the login hosts reach the local org through a routing adapter; in replay the same real login
code (simple-salesforce's SOAP and OAuth flows) gets vcrpy's scrubbed answers.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from deprovision.localorg.seed.empty import (
    ADMIN_USERNAME,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    DEMO_PASSWORD,
    DEMO_SECURITY_TOKEN,
)
from deprovision.org.auth import make_login
from deprovision.org.client import OrgClient
from deprovision.org.config import parse_org
from deprovision.org.retry import RetryPolicy
from deprovision.org.routing import routed_session

from .conftest import Target
from .contract_vcr import CASSETTES, make_vcr

pytestmark = pytest.mark.contract
JWT_APP = "3MVG9.contract.jwt"
METHODS = {
    "password": {"username": ADMIN_USERNAME, "password_env": "C_PW", "security_token_env": "C_TOKEN"},
    "oauth-password": {"username": ADMIN_USERNAME, "password_env": "C_PW", "consumer_key": CONSUMER_KEY,
                       "consumer_secret_env": "C_SECRET"},
    "jwt": {"username": ADMIN_USERNAME, "consumer_key": JWT_APP, "private_key_file": "jwt.key"},
    "client-credentials": {"consumer_key": CONSUMER_KEY, "consumer_secret_env": "C_SECRET", "domain": "acme.my"},
}
ENV = {"C_PW": DEMO_PASSWORD, "C_TOKEN": DEMO_SECURITY_TOKEN, "C_SECRET": CONSUMER_SECRET}


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deprovision-contract")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def login_and_query(method: str, http: requests.Session, folder: Path, env: dict[str, str]) -> OrgClient:
    config = parse_org("contract", {"method": method, **METHODS[method]}, folder / "deprovision.toml")
    login = make_login(config, http, "62.0", env)
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda s: None, rng=random.Random(0))
    client = OrgClient(login(), http, relogin=login, retry=retry)
    rows = list(client.query("SELECT Id, IsSandbox FROM Organization"))
    assert len(rows) == 1 and rows[0]["Id"].startswith("00D")
    assert client.api_user["id"].startswith("005")
    assert client.relogins == 0 and client.api_calls == 1  # the query; the login is not an API call
    assert client.oauth_calls == 1  # userinfo
    return client


@pytest.mark.parametrize("method", sorted(METHODS))
def test_login_live(contract_target: Target, method: str, tmp_path: Path) -> None:
    server = contract_target.server
    if server is None:
        pytest.skip("login flows are checked against the local org (a real org logs in through --org)")
    pem, cert = key_pair()
    server.store.register_connected_app(JWT_APP, "unused", name="contract jwt", certificate_pem=cert)
    (tmp_path / "jwt.key").write_text(pem)
    http, adapter = routed_session(server.instance_url, server.ca_bundle)
    if contract_target.record:
        (CASSETTES / "local" / f"login_{method}.yaml").unlink(missing_ok=True)
        with make_vcr("all").use_cassette(f"local/login_{method}.yaml"):
            login_and_query(method, http, tmp_path, ENV)
    else:
        login_and_query(method, http, tmp_path, ENV)
    assert len(adapter.routed) == 1


@pytest.mark.parametrize("method", sorted(METHODS))
def test_login_replay(method: str, tmp_path: Path) -> None:
    pem, _ = key_pair()  # any key: the assertion is scrubbed before matching
    (tmp_path / "jwt.key").write_text(pem)
    other_env = {"C_PW": "another-password", "C_TOKEN": "another-token", "C_SECRET": "another-secret"}
    with make_vcr("none").use_cassette(f"local/login_{method}.yaml") as recorded:
        login_and_query(method, requests.Session(), tmp_path, other_env)
        assert recorded.all_played

"""Login flows of simple-salesforce against the local org's token endpoint, revoke and userinfo.

simple-salesforce always logs in at ``https://{domain}.salesforce.com``; the tests give it a session
whose adapter sends those hosts to the local org (no patching of the client).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from localorg_support import connect, trusting_session
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from deprovision.localorg.seed.empty import (
    ADMIN_USERNAME,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    DEMO_PASSWORD,
    DEMO_SECURITY_TOKEN,
)


class LocalOrgAdapter(HTTPAdapter):
    """Sends every https:// request of the session to the local org (TLS kept)."""

    def __init__(self, instance_url: str, **kw) -> None:
        self.target = instance_url.rstrip("/")
        super().__init__(**kw)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = self.target + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def login_session(org) -> requests.Session:
    session = trusting_session(org.ca_bundle)
    session.mount("https://", LocalOrgAdapter(org.instance_url))
    return session


def _check(sf: Salesforce, org) -> None:
    assert sf.session_id.startswith(org.org_id[:15] + "!")
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1


def test_soap_login_with_password_and_security_token(empty_org):
    sf = Salesforce(username=ADMIN_USERNAME, password=DEMO_PASSWORD, security_token=DEMO_SECURITY_TOKEN,
                    session=login_session(empty_org))
    assert sf.sf_instance == urlsplit(empty_org.instance_url).netloc
    _check(sf, empty_org)


def test_soap_login_refuses_a_wrong_password(empty_org):
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(username=ADMIN_USERNAME, password="wrong", security_token=DEMO_SECURITY_TOKEN,
                   session=login_session(empty_org))
    assert raised.value.code == "INVALID_LOGIN"


def test_oauth_password_grant(empty_org):
    sf = Salesforce(username=ADMIN_USERNAME, password=DEMO_PASSWORD + DEMO_SECURITY_TOKEN,
                    consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, session=login_session(empty_org))
    _check(sf, empty_org)


def test_token_response_shape(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    response = session.post(empty_org.instance_url + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "username": ADMIN_USERNAME, "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert body["instance_url"] == empty_org.instance_url
    assert body["token_type"] == "Bearer"
    assert body["id"].endswith(f"/id/{empty_org.org_id}/{empty_org.store.api_user_id}")
    assert "Sforce-Limit-Info" not in response.headers
    assert empty_org.store.api_usage()[0] == 0  # OAuth endpoints are not REST API calls


@pytest.mark.parametrize("form, error", [
    ({"client_id": "unknown", "client_secret": CONSUMER_SECRET}, "invalid_client_id"),
    ({"client_id": CONSUMER_KEY, "client_secret": "wrong"}, "invalid_client"),
    ({"client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET, "password": "wrong"}, "invalid_grant"),
])
def test_password_grant_failures(empty_org, form, error):
    session = trusting_session(empty_org.ca_bundle)
    data = {"grant_type": "password", "username": ADMIN_USERNAME, "password": DEMO_PASSWORD, **form}
    response = session.post(empty_org.instance_url + "/services/oauth2/token", data=data)
    assert response.status_code == 400
    assert response.json()["error"] == error
    if error == "invalid_grant":
        assert response.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_unsupported_grant_type(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    response = session.post(empty_org.instance_url + "/services/oauth2/token", data={"grant_type": "magic"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("domain", ["login", "test", "acme.my"])
def test_jwt_bearer_with_the_connected_app_key(empty_org, domain):
    key = empty_org.store.connected_app_private_key(CONSUMER_KEY)
    sf = Salesforce(username=ADMIN_USERNAME, consumer_key=CONSUMER_KEY, privatekey=key, domain=domain,
                    session=login_session(empty_org))
    _check(sf, empty_org)


def test_jwt_bearer_refuses_a_foreign_key_or_audience(empty_org):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(username=ADMIN_USERNAME, consumer_key=CONSUMER_KEY, privatekey=foreign,
                   session=login_session(empty_org))
    assert "invalid_grant" in str(raised.value)
    key = empty_org.store.connected_app_private_key(CONSUMER_KEY)
    assertion = jwt.encode({"iss": CONSUMER_KEY, "sub": ADMIN_USERNAME, "aud": "https://evil.example",
                            "exp": int(time.time()) + 60}, key, algorithm="RS256")
    response = trusting_session(empty_org.ca_bundle).post(empty_org.instance_url + "/services/oauth2/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_client_credentials_runs_as_the_execution_user(empty_org):
    sf = Salesforce(consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, domain="acme.my",
                    session=login_session(empty_org))
    _check(sf, empty_org)
    info = sf.oauth2("userinfo")
    assert info["preferred_username"] == ADMIN_USERNAME


def test_frozen_and_inactive_users_cannot_get_tokens(served_org):
    sf = connect(served_org)
    nina = sf.query("SELECT Id FROM User WHERE Username = 'nina.patel@acme.example'")["records"][0]["Id"]
    login = sf.query(f"SELECT Id FROM UserLogin WHERE UserId = '{nina}'")["records"][0]["Id"]
    session = trusting_session(served_org.ca_bundle)
    form = {"grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
            "username": "nina.patel@acme.example", "password": DEMO_PASSWORD}
    url = served_org.instance_url + "/services/oauth2/token"
    assert session.post(url, data=form).status_code == 200
    sf.UserLogin.update(login, {"IsFrozen": True})
    frozen = session.post(url, data=form)
    assert frozen.status_code == 400 and frozen.json()["error"] == "invalid_grant"
    sf.UserLogin.update(login, {"IsFrozen": False})
    sf.User.update(nina, {"IsActive": False})
    inactive = session.post(url, data=form)
    assert inactive.status_code == 400
    assert inactive.json() == {"error": "invalid_grant", "error_description": "inactive user"}


def test_revoke_an_access_token(empty_org):
    session = trusting_session(empty_org.ca_bundle)
    token = session.post(empty_org.instance_url + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
        "username": ADMIN_USERNAME, "password": DEMO_PASSWORD}).json()["access_token"]
    sf = Salesforce(instance_url=empty_org.instance_url, session_id=token, session=session)
    sf.query("SELECT Id FROM User")
    response = session.post(empty_org.instance_url + "/services/oauth2/revoke", data={"token": token})
    assert response.status_code == 200 and response.content == b""
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM User")
    again = session.post(empty_org.instance_url + "/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400
    assert again.json() == {"error": "unsupported_token_type", "error_description": "this token type is not supported"}


def test_revoke_an_oauth_token_by_its_delete_token(served_org):
    sf = connect(served_org)
    rows = sf.query("SELECT AppName, UserId, DeleteToken FROM OauthToken")["records"]
    before = len(rows)
    response = sf.session.post(served_org.instance_url + "/services/oauth2/revoke",
                               params={"token": rows[0]["DeleteToken"]})
    assert response.status_code == 200
    assert sf.query("SELECT COUNT() FROM OauthToken")["totalSize"] == before - 1


def test_userinfo_and_identity(empty_org):
    sf = connect(empty_org)
    info = sf.oauth2("userinfo")
    assert info["user_id"] == empty_org.store.api_user_id
    assert info["organization_id"] == empty_org.org_id
    assert info["preferred_username"] == ADMIN_USERNAME
    assert info["email"] == ADMIN_USERNAME and info["name"] == "Ada Admin"
    identity = sf.session.get(info["sub"].replace(urlsplit(info["sub"]).netloc,
                                                  urlsplit(empty_org.instance_url).netloc),
                              headers=sf.headers).json()
    assert identity["username"] == ADMIN_USERNAME
    bad = trusting_session(empty_org.ca_bundle).get(empty_org.instance_url + "/services/oauth2/userinfo",
                                                    headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 403


def test_token_expiry_after_n_requests_then_relogin(empty_org):
    empty_org.store.configure(token_max_uses=2)
    sf = Salesforce(username=ADMIN_USERNAME, password=DEMO_PASSWORD + DEMO_SECURITY_TOKEN,
                    consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, session=login_session(empty_org))
    first = sf.session_id
    for _ in range(4):  # the client re-logs in on INVALID_SESSION_ID and retries
        assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    assert sf.session_id != first

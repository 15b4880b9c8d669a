"""Login and identity: the OAuth 2.0 token, revoke and userinfo endpoints, and the SOAP partner login.

None of these is a REST API call: they are not counted and never faulted.
Flows (reference/simple-salesforce.md section 4):
- ``grant_type=password``: client_id/client_secret of a registered connected app, username, password
  (optionally followed by the security token);
- ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 assertion signed with the key of
  the connected app's registered certificate; ``iss`` consumer key, ``sub`` username, ``aud`` the login
  host (login./test.salesforce.com or a My Domain); ``exp`` may be a string;
- ``grant_type=client_credentials``: HTTP Basic ``key:secret``; runs as the app's execution user;
- SOAP ``login`` (``POST /services/Soap/u/{version}``): username + password + security token.
The ``instance_url`` answered is ``https://`` + the request's Host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

import jwt
from cryptography import x509

from deprovision.localorg import errors
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
SOAP_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
# Why a login was refused -> error_description. "inactive user" is what Salesforce answers for a
# deactivated user (restforce/restforce#303); the wording for a frozen user is UNCONFIRMED.
_REFUSALS = {"inactive": "inactive user", "frozen": "this user is frozen"}


class OAuthError(Exception):
    """An OAuth failure: ``{"error", "error_description"}`` with HTTP 400 (401 for a bad client)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> Response:
        return Response.json({"error": self.error, "error_description": self.description}, self.status)


def _host(request: Request) -> str:
    return request.header("Host") or "127.0.0.1"


def _identity_url(request: Request, org_id: str, user_id: str) -> str:
    return f"https://{_host(request)}/id/{org_id}/{user_id}"


def _refused(exc: errors.SalesforceError) -> OAuthError:
    reason = getattr(exc, "reason", "")
    return OAuthError("invalid_grant", _REFUSALS.get(reason, "authentication failure"))


def _record_login(ctx: Ctx, request: Request, user_id: str, login_type: str) -> None:
    """One LoginHistory row for a successful login ("all successful and failed login attempts",
    Object Reference: LoginHistory; the local org records the successful ones)."""
    with ctx.store.transaction():
        ctx.store.system_write("LoginHistory", {
            "UserId": user_id, "LoginTime": ctx.store.now(), "LoginType": login_type, "Status": "Success",
            "LoginUrl": _host(request), "SourceIp": "127.0.0.1", "Application": login_type,
            "Platform": "Unknown", "Browser": "Unknown"}, actor_id=user_id)


def _issue(ctx: Ctx, request: Request, user_id: str, login_type: str) -> Response:
    try:
        token = ctx.store.issue_token(user_id, login_type=login_type)
    except errors.SalesforceError as exc:
        raise _refused(exc) from None
    _record_login(ctx, request, user_id, login_type)
    org_id = ctx.app.org_id
    identity = _identity_url(request, org_id, user_id)
    issued_at = str(int(time.time() * 1000))
    signature = base64.b64encode(hmac.new(org_id.encode(), (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    return Response.json({"access_token": token, "instance_url": f"https://{_host(request)}", "id": identity,
                          "token_type": "Bearer", "issued_at": issued_at, "signature": signature, "scope": "api"})


def _app(ctx: Ctx, consumer_key: str | None) -> Any:
    app = ctx.store.connected_app(consumer_key) if consumer_key else None
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    return app


def _password_grant(ctx: Ctx, request: Request, form: dict[str, str]) -> Response:
    app = _app(ctx, form.get("client_id"))
    if not app.check_secret(form.get("client_secret", "")):
        raise OAuthError("invalid_client", "invalid client credentials")
    try:
        user = ctx.store.verify_password(form.get("username", ""), form.get("password", ""))
    except errors.SalesforceError as exc:
        raise _refused(exc) from None
    return _issue(ctx, request, user["Id"], "Remote Access 2.0")


def _audiences(request: Request) -> list[str]:
    return [*LOGIN_AUDIENCES, f"https://{_host(request)}"]


def _jwt_grant(ctx: Ctx, request: Request, form: dict[str, str]) -> Response:
    assertion = form.get("assertion", "")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    app = _app(ctx, claims.get("iss"))
    if not app.certificate_pem:
        raise OAuthError("invalid_client", "invalid client credentials")
    public_key = x509.load_pem_x509_certificate(app.certificate_pem.encode()).public_key()
    audience = claims.get("aud")
    my_domain = isinstance(audience, str) and audience.startswith("https://") and audience.endswith(
        ".my.salesforce.com")
    try:
        if isinstance(claims.get("exp"), str):  # simple-salesforce sends exp as a string
            claims_exp = float(claims["exp"])
            if claims_exp < time.time():
                raise jwt.ExpiredSignatureError("expired")
        claims = jwt.decode(assertion, public_key, algorithms=["RS256"],
                            audience=[*_audiences(request), *([audience] if my_domain else [])],
                            options={"require": ["iss", "sub", "aud", "exp"]})
    except jwt.ExpiredSignatureError:
        raise OAuthError("invalid_grant", "expired authorization code") from None
    except (jwt.PyJWTError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    user = ctx.store.user_by_username(str(claims.get("sub", "")))
    if user is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return _issue(ctx, request, user["Id"], "Remote Access 2.0")


def _basic_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            key, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            return key, secret
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials") from None
    return form.get("client_id", ""), form.get("client_secret", "")


def _client_credentials_grant(ctx: Ctx, request: Request, form: dict[str, str]) -> Response:
    key, secret = _basic_credentials(request, form)
    app = _app(ctx, key)
    if not app.check_secret(secret):
        raise OAuthError("invalid_client", "invalid client credentials")
    user_id = getattr(app, "execution_user_id", None)
    if user_id is None:
        from deprovision.localorg.server import api_user_id

        user_id = api_user_id(ctx.store)
    return _issue(ctx, request, user_id, "Remote Access Client Credentials")


def token(ctx: Ctx, request: Request) -> Response:
    """``POST /services/oauth2/token``."""
    form = request.form()
    grant = form.get("grant_type", "")
    flows = {"password": _password_grant, JWT_GRANT: _jwt_grant, "client_credentials": _client_credentials_grant}
    try:
        flow = flows.get(grant)
        if flow is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return flow(ctx, request, form)
    except OAuthError as exc:
        return exc.response()


def revoke(ctx: Ctx, request: Request) -> Response:
    """``POST /services/oauth2/revoke`` (``token=`` in the form or the query): 200 with no body."""
    value = request.form().get("token", "")
    if value and ctx.store.revoke_token(value):
        return Response.empty(200)
    return OAuthError("unsupported_token_type", "this token type is not supported").response()


def _bearer_user(ctx: Ctx, request: Request) -> dict | None:
    scheme, _, value = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not value.strip():
        return None
    try:
        return ctx.store.user_for_token(value.strip())
    except errors.SalesforceError:
        return None


def _user_claims(ctx: Ctx, request: Request, user: dict) -> dict:
    org_id = ctx.app.org_id
    return {
        "sub": _identity_url(request, org_id, user["Id"]), "user_id": user["Id"], "organization_id": org_id,
        "preferred_username": user["Username"], "nickname": user.get("CommunityNickname") or user.get("Alias"),
        "name": " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p),
        "email": user.get("Email"), "email_verified": True, "given_name": user.get("FirstName"),
        "family_name": user.get("LastName"), "zoneinfo": user.get("TimeZoneSidKey"),
        "locale": user.get("LocaleSidKey"), "user_type": "STANDARD", "active": bool(user.get("IsActive")),
        "language": user.get("LanguageLocaleKey"), "updated_at": user.get("LastModifiedDate"),
        "is_app_installed": True, "urls": {
            "rest": f"https://{_host(request)}/services/data/v{{version}}/",
            "sobjects": f"https://{_host(request)}/services/data/v{{version}}/sobjects/",
            "query": f"https://{_host(request)}/services/data/v{{version}}/query/",
        },
    }


def userinfo(ctx: Ctx, request: Request) -> Response:
    """``GET /services/oauth2/userinfo``: OpenID Connect claims of the token's user (403 for a bad token)."""
    user = _bearer_user(ctx, request)
    if user is None:
        return Response(403, b"Bad_OAuth_Token", "text/plain")
    return Response.json(_user_claims(ctx, request, user))


def identity(ctx: Ctx, request: Request) -> Response:
    """``GET /id/{org}/{user}``: the identity service (same claims, Salesforce's identity key names)."""
    user = _bearer_user(ctx, request)
    if user is None or user["Id"] != ctx.param("user") and user["Id"][:15] != ctx.param("user")[:15]:
        return Response(403, b"Bad_OAuth_Token", "text/plain")
    claims = _user_claims(ctx, request, user)
    claims.update({"id": claims["sub"], "username": user["Username"], "display_name": claims["name"],
                   "nick_name": claims["nickname"]})
    return Response.json(claims)


# --- SOAP partner login ----------------------------------------------------------------------------

_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(500, body.encode("utf-8"), "text/xml;charset=UTF-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def soap_login(ctx: Ctx, request: Request) -> Response:
    """``POST /services/Soap/u/{version}``: the partner API ``login`` call."""
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return _soap_fault("INVALID_LOGIN", SOAP_INVALID_LOGIN)
    found = {_local(el.tag): (el.text or "") for el in root.iter()}
    if "login" not in found:
        return _soap_fault("UNSUPPORTED_CLIENT", "Only the login call is supported by the local org.")
    try:
        user = ctx.store.verify_password(found.get("username", ""), found.get("password", ""))
        session = ctx.store.issue_token(user["Id"], login_type="SOAP")
    except errors.SalesforceError:
        return _soap_fault("INVALID_LOGIN", SOAP_INVALID_LOGIN)
    _record_login(ctx, request, user["Id"], "SOAP")
    host, version, org_id = _host(request), ctx.param("version"), ctx.app.org_id
    full_name = escape(" ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>https://{host}/services/Soap/m/{version}/{org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>https://{host}/services/Soap/u/{version}/{org_id}</serverUrl>"
        f"<sessionId>{escape(session)}</sessionId><userId>{user['Id']}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userEmail>{escape(user.get('Email') or '')}"
        f"</userEmail><userFullName>{full_name}</userFullName><userId>{user['Id']}</userId>"
        f"<userName>{escape(user['Username'])}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(200, body.encode("utf-8"), "text/xml;charset=UTF-8")

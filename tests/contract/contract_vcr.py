"""vcrpy for the contract tests: scrub secrets and people before writing, match on the scrubbed request.

Scrubbed: tokens (``00D…!…``), ``Authorization``/``X-SFDC-Session``, OAuth form fields (the JWT
``assertion`` included), SOAP login fields and session ids, instance and login hosts, org ids, and
every username, email and person's name. Requests are scrubbed the same way when replayed, so a
replay matches on method, path, query and body after scrubbing.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import vcr

CASSETTES = Path(__file__).parent / "cassettes"
HOST = "org.invalid"
ORG_ID = "00D000000000000AAA"
REDACTED = "REDACTED"

TOKEN_RE = re.compile(r"00D\w{12,15}![\w.\-]+")
ORG_ID_RE = re.compile(r"\b00D\w{12}(?:\w{3})?\b")
EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
URL_HOST_RE = re.compile(r"https?://(?:127\.0\.0\.1|localhost|[\w.\-]+\.(?:salesforce|force|salesforce-setup)\.com)"
                         r"(?::\d+)?")
SOAP_FIELDS = ("sessionId", "userName", "userEmail", "userFullName",
               "organizationName", "username", "password")
SOAP_RE = re.compile(r"<((?:\w+:)?(?:" + "|".join(SOAP_FIELDS) + r"))>[^<]*</\1>")
# JSON keys whose values are people or secrets.
PERSON_KEYS = {"Name", "FirstName", "LastName", "Username", "Email", "CommunityNickname", "Alias", "Title",
               "name", "given_name", "family_name", "nickname", "preferred_username", "email", "picture",
               "display_name", "username", "FederationIdentifier", "Phone", "MobilePhone"}
SECRET_KEYS = {"access_token", "refresh_token", "id_token", "signature", "accessToken", "AccessToken",
               "DeleteToken", "RequestToken", "session_id", "client_secret", "password", "assertion", "token"}
FORM_SECRETS = ("client_id", "client_secret", "username", "password", "assertion", "token", "refresh_token")


def pseudonym(value: str) -> str:
    """A stable stand-in for a username or email that is not itself an email."""
    return "user-" + hashlib.sha256(value.lower().encode()).hexdigest()[:10] + ".example.invalid"


def scrub_text(text: str) -> str:
    """Tokens, SOAP fields, hosts, org ids and emails out of any text."""
    text = TOKEN_RE.sub(REDACTED, text)
    text = SOAP_RE.sub(lambda m: f"<{m.group(1)}>{REDACTED}</{m.group(1)}>", text)
    text = URL_HOST_RE.sub(f"https://{HOST}", text)
    text = ORG_ID_RE.sub(ORG_ID, text)
    return EMAIL_RE.sub(lambda m: pseudonym(m.group(0)), text)


# Keys that mark a describe (an object, a field, a child relationship): their ``name`` is an API name
# such as ``PermissionsManageUsers``, which clients act on and which names nobody.
SCHEMA_KEYS = ("soapType", "keyPrefix", "childSObject")


def scrub_json(value):
    """Scrub a parsed JSON document: people and secrets by key, the rest as text."""
    if isinstance(value, dict):
        out = {}
        schema = any(k in value for k in SCHEMA_KEYS)
        for key, item in value.items():
            if key in SECRET_KEYS and isinstance(item, str):
                out[key] = REDACTED
            elif schema and key == "name" and isinstance(item, str):
                out[key] = scrub_text(item)
            elif key in PERSON_KEYS and isinstance(item, str):
                out[key] = pseudonym(item) if "@" in item else REDACTED
            else:
                out[key] = scrub_json(item)
        return out
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_body(body: bytes | str | None, content_type: str = "") -> bytes | str | None:
    """A request or response body with nothing secret or personal left."""
    if body is None or body == b"" or body == "":
        return body
    was_bytes = isinstance(body, bytes)
    text = body.decode("utf-8", "replace") if was_bytes else body
    stripped = text.lstrip()
    if stripped[:1] in "[{":
        try:
            text = json.dumps(scrub_json(json.loads(text)), separators=(",", ":"), sort_keys=False)
        except ValueError:
            text = scrub_text(text)
    elif "x-www-form-urlencoded" in content_type or re.fullmatch(r"[\w.%\-+*]+=[^\s]*(&[\w.%\-+*]+=[^\s]*)*",
                                                                  text):
        pairs = [(k, REDACTED if k in FORM_SECRETS else scrub_text(v)) for k, v in parse_qsl(text, True)]
        text = urlencode(pairs)
    else:
        text = scrub_text(text)
    return text.encode() if was_bytes else text


def scrub_request(request):
    """vcrpy ``before_record_request``: also applied to live requests before matching."""
    url = urlsplit(request.uri)
    query = urlencode([(k, scrub_text(v)) for k, v in parse_qsl(url.query, keep_blank_values=True)])
    path = ORG_ID_RE.sub(ORG_ID, url.path)
    request.uri = urlunsplit(("https", HOST, path, query, ""))
    content_type = ""
    for name in list(request.headers):
        if name.lower() == "content-type":
            content_type = request.headers[name]
        if name.lower() in ("authorization", "x-sfdc-session", "cookie"):
            request.headers[name] = REDACTED
    request.body = scrub_body(request.body, content_type)
    return request


def scrub_response(response):
    """vcrpy ``before_record_response``."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in ("set-cookie", "date"):
            headers.pop(name)
        else:
            headers[name] = [scrub_text(v) for v in headers[name]]
    content_type = " ".join(headers.get("Content-Type", headers.get("content-type", [""])))
    body = response.get("body", {})
    if "string" in body:
        body["string"] = scrub_body(body["string"], content_type)
        for name in list(headers):
            if name.lower() == "content-length":
                headers[name] = [str(len(body["string"]))]
    return response


def make_vcr(record_mode: str) -> vcr.VCR:
    """The project's vcr: cassettes in ``tests/contract/cassettes``, scrubbed, replay-only unless recording."""
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=("method", "scheme", "host", "path", "query", "body"),
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
        serializer="yaml",
    )

"""Removing secrets from anything that is about to be logged, rendered or shown.

Two nets, applied recursively to dicts, lists and tuples:

- by key name: a value stored under a key that names a secret (``access_token``,
  ``password``, ``client_secret``, ``DeleteToken``, ``Authorization``, ``sessionId``,
  ``assertion``, ``private_key``, ...) is replaced whole;
- by value shape: anywhere inside any string, Salesforce session ids
  (``00D...!...``, also after ``OAuth``), ``Bearer ...`` credentials, PEM blocks, JWTs (``eyJ...``),
  refresh tokens (``5Aep...``), long opaque tokens mixing cases and digits, and ``secret=value`` pairs in URLs or JSON text are
  replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

# Compared after lower-casing and dropping "_" and "-".
_SECRET_KEYS = frozenset({
    "accesstoken", "refreshtoken", "deletetoken", "requesttoken", "idtoken", "securitytoken",
    "token", "password", "passwd", "newpassword", "clientsecret", "secret", "assertion",
    "privatekey", "authorization", "proxyauthorization", "sessionid", "sid", "cookie", "setcookie",
    "apikey", "hmackey", "auditkey", "signingkey", "consumersecret", "jwt", "credentials",
})
_SECRET_SUFFIXES = ("token", "password", "secret", "privatekey", "sessionid", "apikey")

_SECRET_NAME_ALTERNATION = (
    r"access_token|refresh_token|id_token|client_secret|password|assertion|private_key|"
    r"DeleteToken|AccessToken|RequestToken|sessionId|session_id|sid|token|client_assertion"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM blocks (private keys, certificates with keys): the whole block.
    (re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.S), REDACTED),
    # "Authorization: Bearer xyz" credentials (the word alone, as in prose, stays).
    (re.compile(r"\b(Bearer)\s+[\w\-.~+/=!]{12,}", re.I), r"\1 " + REDACTED),
    # Salesforce session ids / access tokens: org id, "!", opaque rest.
    (re.compile(r"\b00D\w{12,15}![\w.\-/+=]+"), REDACTED),
    # JSON Web Tokens: base64url header "eyJ..." . payload . signature.
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]+(?:\.[\w-]*)?"), REDACTED),
    # Salesforce refresh tokens.
    (re.compile(r"\b5Aep[\w.]{20,}"), REDACTED),
    # key=value in URLs, form bodies and headers.
    (re.compile(r"(?i)\b(" + _SECRET_NAME_ALTERNATION + r")=[^&\s\"']+"), r"\1=" + REDACTED),
    # "key": "value" inside JSON text carried in a string (an error body, a response).
    (re.compile(r"(?i)(\"(?:" + _SECRET_NAME_ALTERNATION + r")\"\s*:\s*\")[^\"]*(\")"),
     r"\1" + REDACTED + r"\2"),
]
# Opaque tokens without a known prefix (OauthToken DeleteTokens, security tokens): 32+ characters of
# token alphabet mixing upper case, lower case and digits. Hashes (lower-case hex), ids (18 chars),
# names with "_" or spaces never qualify.
_OPAQUE = re.compile(r"(?<![\w.~+=/-])[A-Za-z0-9.~+=-]{32,}(?![\w.~+=/-])")


def _opaque_token(match: re.Match[str]) -> str:
    text = match.group(0)
    mixed = any(c.islower() for c in text) and any(c.isupper() for c in text) and any(c.isdigit() for c in text)
    return REDACTED if mixed else text


# Cheap test before running the patterns one by one.
_TRIGGER = re.compile(r"-----BEGIN|Bearer|00D\w{12}|eyJ|5Aep|=|\"", re.I)


def is_secret_key(name: str) -> bool:
    """True when a key's name says its value is a secret."""
    norm = name.lower().replace("_", "").replace("-", "")
    return norm in _SECRET_KEYS or norm.endswith(_SECRET_SUFFIXES)


def redact_text(text: str) -> str:
    """``text`` with every secret-shaped substring replaced."""
    if len(text) >= 32:
        text = _OPAQUE.sub(_opaque_token, text)
    if not _TRIGGER.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of ``value`` with secrets removed by key name and by value shape, at any depth."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            skey = redact_text(key) if isinstance(key, str) else key
            if isinstance(key, str) and is_secret_key(key) and not _is_harmless(item):
                out[skey] = REDACTED
            else:
                out[skey] = redact(item)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    return value


def _is_harmless(value: Any) -> bool:
    """Values that cannot carry a secret even under a secret-sounding key (counts, flags, empty)."""
    return value is None or isinstance(value, (bool, int, float)) or value == ""


def redact_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the event with every secret removed."""
    return redact(event_dict)

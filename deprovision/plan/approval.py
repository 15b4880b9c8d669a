"""Binding a saved plan to its approval: the plan's digest and, with a key, its HMAC.

The digest is the SHA-256 of the plan file's bytes followed by its record-id sidecar's bytes when there is
one (without a sidecar it is exactly what ``sha256sum PLAN.json`` prints). ``plan --out`` prints it; a
reviewer approves that value; ``apply PLAN.json --expect-digest`` refuses any other file.

With ``DEPROVISION_PLAN_KEY`` set, ``plan --out`` adds ``"signature": {"alg": "HMAC-SHA256", "value": ...}``
to the plan: the HMAC of the rest of the document in canonical JSON (the sidecar is bound through the
``record_ids_ref`` digests inside it). ``apply`` with the key set requires a signature and checks it, so a
plan edited by someone without the key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deprovision.errors import InvalidInputError

KEY_ENV = "DEPROVISION_PLAN_KEY"
SIGNATURE_FIELD = "signature"
ALGORITHM = "HMAC-SHA256"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def plan_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The plan-signing key from ``DEPROVISION_PLAN_KEY``, or None when it is not set."""
    value = (environ if environ is not None else os.environ).get(KEY_ENV)
    return value.encode("utf-8") if value else None


def plan_digest(path: Path) -> str:
    """SHA-256 (hex) of the plan file's bytes, then its record-id sidecar's bytes when it has one."""
    from deprovision.plan.planfile import sidecar_path

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sidecar = sidecar_path(Path(path))
    if sidecar.is_file():
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


def normalise_digest(value: str) -> str:
    """``--expect-digest`` as 64 lower-case hex digits (an optional ``sha256:`` prefix is dropped)."""
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:"):]
    if not _HEX64.fullmatch(text):
        raise InvalidInputError(f"--expect-digest {value!r}: expected a SHA-256 (64 hex digits)")
    return text


def check_digest(path: Path, expected: str) -> str:
    """The plan's digest; InvalidInputError when it is not ``expected`` (the approved one)."""
    want = normalise_digest(expected)
    have = plan_digest(path)
    if not hmac.compare_digest(have, want):
        raise InvalidInputError(f"plan file {path} is not the approved plan: its digest is {have}, "
                                f"--expect-digest is {want}; nothing was written")
    return have


def _canonical(document: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_document(document: dict[str, Any], key: bytes) -> None:
    """Add the HMAC signature of ``document`` (a plan's JSON document) in place."""
    value = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    document[SIGNATURE_FIELD] = {"alg": ALGORITHM, "value": value}


def check_signature(document: Mapping[str, Any], key: bytes, shown_as: str) -> None:
    """InvalidInputError unless ``document`` carries a valid HMAC made with ``key``."""
    signature = document.get(SIGNATURE_FIELD)
    if not signature:
        raise InvalidInputError(f"plan file {shown_as} is not signed, and {KEY_ENV} is set: only plans made "
                                "with the key are applied; nothing was written")
    if not isinstance(signature, Mapping) or signature.get("alg") != ALGORITHM \
            or not isinstance(signature.get("value"), str):
        raise InvalidInputError(f"plan file {shown_as}: signature is not {ALGORITHM}; nothing was written")
    expected = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature["value"]):
        raise InvalidInputError(f"plan file {shown_as}: signature does not match (the plan was changed after "
                                f"it was made, or made with another {KEY_ENV}); nothing was written")

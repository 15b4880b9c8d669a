"""The hash chain: canonical form, event hashes, HMACs, and reading the tail of a log.

Every event carries ``seq`` (1, 2, 3, ... across the whole log), ``prev`` (the
``hash`` of the previous event; 64 zeros for the first) and ``hash``:

    canonical = json.dumps(event without "hash"/"hmac", sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    hash      = sha256(utf8(prev + canonical))
    hmac      = HMAC-SHA256(key, utf8(prev + canonical))      (only with a key)

A line on disk is the canonical form with ``"hash"`` (and ``"hmac"``) appended
before the closing brace, so a verifier may hash the raw bytes up to the
``,"hash":`` suffix instead of re-serialising (``canonical_bytes_of_line``).
"""

from __future__ import annotations

import hashlib
import hmac as hmac_mod
import json
import os
import re
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
HASH_FIELDS = ("hash", "hmac")
_LINE_SUFFIX = re.compile(rb',"hash":"([0-9a-f]{64})"(?:,"hmac":"([0-9a-f]{64})")?\}\r?\n?$')
_TAIL_BLOCK = 64 * 1024
_TAIL_LIMIT = 16 * 1024 * 1024


def canonical(event: dict[str, Any]) -> str:
    """The canonical JSON form of an event, without its hash fields."""
    body = {k: v for k, v in event.items() if k not in HASH_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev: str, canonical_bytes: bytes) -> str:
    """SHA-256 over ``prev`` and the canonical form."""
    return hashlib.sha256(prev.encode("ascii") + canonical_bytes).hexdigest()


def event_hmac(key: bytes, prev: str, canonical_bytes: bytes) -> str:
    """HMAC-SHA256 with ``key`` over ``prev`` and the canonical form."""
    return hmac_mod.new(key, prev.encode("ascii") + canonical_bytes, hashlib.sha256).hexdigest()


def seal(event: dict[str, Any], key: bytes | None) -> tuple[str, str]:
    """The line to append for ``event`` (which already has ``seq`` and ``prev``) and its hash."""
    body = canonical(event)
    raw = body.encode("utf-8")
    digest = event_hash(event["prev"], raw)
    suffix = f',"hash":"{digest}"'
    if key is not None:
        suffix += f',"hmac":"{event_hmac(key, event["prev"], raw)}"'
    return body[:-1] + suffix + "}\n", digest


def canonical_bytes_of_line(raw: bytes) -> bytes | None:
    """The canonical bytes of a line as written by ``seal``, or None when the line has another shape."""
    match = _LINE_SUFFIX.search(raw)
    if match is None:
        return None
    return raw[: match.start()] + b"}"


def canonical_bytes(event: dict[str, Any], raw: bytes) -> bytes:
    """The bytes an event's hash covers: sliced from the raw line when possible, else re-serialised."""
    sliced = canonical_bytes_of_line(raw)
    return sliced if sliced is not None else canonical(event).encode("utf-8")


def parse_event(raw: bytes) -> dict[str, Any] | None:
    """The event on one line, or None when the line is not a JSON object with a hash."""
    try:
        event = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("hash"), str):
        return None
    return event


@dataclass
class Tail:
    """What a writer needs from the end of a log."""

    seq: int  # seq of the last intact event (0 for an empty log)
    hash: str  # its hash (GENESIS for an empty log)
    size: int  # file size when read
    torn: bytes | None = None  # an unparsable final fragment, if any
    torn_offset: int = 0  # where that fragment starts
    needs_newline: bool = False  # the file does not end with "\n"


class TailError(Exception):
    """The end of the log is damaged beyond a single torn line."""


MAX_TORN_LINES = 16  # damaged lines after the last intact event that a writer will repair


def read_tail(fd: int) -> Tail:
    """Read the end of the log open at ``fd`` (seeking from the end, never reading the whole file).

    Everything after the last intact event (normally one torn line; several after repeated
    crashes, up to ``MAX_TORN_LINES``) is the torn region a writer repairs.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return Tail(seq=0, hash=GENESIS, size=0)
    lines, start = _last_lines(fd, size, MAX_TORN_LINES + 1)
    needs_newline = not lines[-1].endswith(b"\n")
    torn_lines = 0
    for line in reversed(lines):
        event = parse_event(line)
        if event is not None:
            break
        torn_lines += 1
    else:
        event = None
    if torn_lines == 0:
        return Tail(seq=int(event.get("seq", 0)), hash=event["hash"], size=size, needs_newline=needs_newline)
    region = b"".join(lines[len(lines) - torn_lines:])
    torn_offset = size - len(region)
    fragment = region[:-1] if region.endswith(b"\n") else region
    if event is None:
        if start > 0:
            raise TailError(f"the last {len(lines)} lines of the audit log (from byte {start}) are not events")
        return Tail(seq=0, hash=GENESIS, size=size, torn=fragment, torn_offset=torn_offset,
                    needs_newline=needs_newline)
    return Tail(seq=int(event.get("seq", 0)), hash=event["hash"], size=size, torn=fragment,
                torn_offset=torn_offset, needs_newline=needs_newline)


def _last_lines(fd: int, size: int, count: int) -> tuple[list[bytes], int]:
    """Up to ``count`` last lines (each with its newline, if any) and the offset of the first."""
    block = _TAIL_BLOCK
    while True:
        start = max(0, size - block)
        data = os.pread(fd, size - start, start)
        body = data[:-1] if data.endswith(b"\n") else data
        # count+1 newlines in the body guarantee `count` complete lines after the first cut.
        if start == 0 or body.count(b"\n") >= count:
            pieces = split_lines(data)
            if start > 0:
                pieces = pieces[1:]  # the first piece may be cut
            return pieces[-count:], size - sum(len(p) for p in pieces[-count:])
        if block >= _TAIL_LIMIT:
            raise TailError("the last line of the audit log is longer than 16 MiB")
        block *= 4


def split_lines(data: bytes) -> list[bytes]:
    """``data`` cut after each ``\\n`` (kept); a final piece without one is kept as is."""
    parts = data.split(b"\n")
    pieces = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        pieces.append(parts[-1])
    return pieces

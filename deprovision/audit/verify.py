"""Checking an audit log: every event intact, in order, none missing or added.

One pass over the file, line by line, constant memory (besides the set of run ids).
The first problem stops the check and is reported with its line number and kind:

- ``edited``: a line's content no longer matches its hash (or a line was replaced
  and re-hashed, so the next event does not chain from it);
- ``removed``: ``seq`` jumps: events are missing before this line;
- ``inserted``: an extra event that the following event does not chain from;
- ``reordered``: events out of sequence;
- ``bad_hmac`` / ``missing_hmac``: with a key, an event whose HMAC is wrong or absent
  (a forged log re-chained by someone without the key);
- ``not_an_event``: a line that is not a sealed JSON event, in the middle of the log;
- ``side_file``: a record-id file an event names is missing or no longer matches its SHA-256;
- ``torn_tail``: the last line is incomplete (a crash during a write), not tampering;
- ``unexpected_head``: ``expect_head`` is not in the chain (events removed from the end,
  or a rewritten log).

A torn line followed by the ``torn_tail_repaired`` event naming it (same SHA-256 and
length, chaining from the last intact event) is accepted and listed in ``repairs``.
"""

from __future__ import annotations

import hashlib
import hmac as hmac_mod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deprovision.audit.chain import (
    GENESIS,
    MAX_TORN_LINES,
    canonical,
    canonical_bytes,
    event_hash,
    event_hmac,
    parse_event,
)

PROBLEM_KINDS = ("edited", "removed", "inserted", "reordered", "bad_hmac", "missing_hmac",
                 "not_an_event", "side_file", "torn_tail", "unexpected_head", "missing")


@dataclass
class VerifyResult:
    """The outcome of ``verify_log``."""

    path: str
    ok: bool
    events: int = 0
    runs: int = 0
    head: str = GENESIS  # hash of the last intact event
    last_seq: int = 0
    lines: int = 0
    hmac_checked: bool = False
    hmac_present: bool = False
    line: int | None = None  # first bad line (1-based)
    kind: str | None = None  # one of PROBLEM_KINDS
    reason: str | None = None
    repairs: list[int] = field(default_factory=list)  # lines of torn writes repaired by a later writer
    expected_head_line: int | None = None
    seen_heads: set[str] = field(default_factory=set)  # recorded heads found in the chain
    recorded_heads_checked: int = 0

    @property
    def torn_tail(self) -> bool:
        return self.kind == "torn_tail"

    def summary(self) -> str:
        """One line for people: what was checked and the verdict."""
        if not self.ok:
            where = f"line {self.line}: " if self.line else ""
            return f"{where}{self.kind}: {self.reason}"
        text = f"intact: {self.events} events, {self.runs} runs, head {self.head}"
        if self.hmac_checked:
            text += ", HMAC verified"
        elif self.hmac_present:
            text += " (HMACs present but not checked: DEPROVISION_AUDIT_KEY not set)"
        if self.repairs:
            text += f"; torn write(s) repaired at line(s) {', '.join(map(str, self.repairs))}"
        if self.recorded_heads_checked:
            text += f"; the {self.recorded_heads_checked} chain head(s) recorded by runs are in it"
        if self.expected_head_line is not None and self.expected_head_line != self.lines:
            text += f"; expected head found at line {self.expected_head_line}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path, "ok": self.ok, "events": self.events, "runs": self.runs, "head": self.head,
            "last_seq": self.last_seq, "lines": self.lines, "hmac_checked": self.hmac_checked,
            "line": self.line, "kind": self.kind, "reason": self.reason, "repairs": self.repairs,
            "summary": self.summary(),
        }


@dataclass
class _Good:
    line: int
    seq: int
    hash: str
    prev: str


class _Lines:
    """Numbered raw lines with one line of look-ahead."""

    def __init__(self, stream) -> None:
        self._iter: Iterator[bytes] = iter(stream)
        self._pushed: list[tuple[int, bytes]] = []
        self.number = 0

    def next(self) -> tuple[int, bytes] | None:
        if self._pushed:
            return self._pushed.pop()
        raw = next(self._iter, None)
        if raw is None:
            return None
        self.number += 1
        return self.number, raw

    def peek(self) -> tuple[int, bytes] | None:
        item = self.next()
        if item is not None:
            self._pushed.append(item)
        return item


def verify_log(path: Path, key: bytes | None = None, expect_head: str | None = None,
               observer: Callable[[dict[str, Any], bytes], None] | None = None,
               recorded_heads: dict[str, str] | None = None) -> VerifyResult:
    """Check the chain of the log at ``path`` (and HMACs with ``key``; ``expect_head`` must be in it).

    ``observer(event, raw_line)`` is called for every intact event, so a caller that needs the
    events too (the report) reads the log once. ``recorded_heads`` (where -> hash, e.g. each run
    folder's recorded chain head) must all be in the chain too.
    """
    result = VerifyResult(path=str(path), ok=True, hmac_checked=key is not None)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return _fail(result, None, "missing", f"no audit log at {path}")
    with stream:
        wanted = set((recorded_heads or {}).values())
        _scan(_Lines(stream), result, key, expect_head, observer, wanted)
    missing = {where: head for where, head in (recorded_heads or {}).items() if head not in result.seen_heads}
    if result.ok and missing:
        where, head = sorted(missing.items())[0]
        _fail(result, result.lines + 1, "unexpected_head",
              f"the chain head {head} recorded by {where} is not in the log: events were removed from "
              f"the end, or the log was rewritten" + (f" ({len(missing)} recorded heads missing)"
                                                       if len(missing) > 1 else ""))
    if result.ok:
        result.recorded_heads_checked = len(recorded_heads or {})
    if result.ok and expect_head and result.expected_head_line is None:
        _fail(result, result.lines + 1, "unexpected_head",
              f"the log ends at seq {result.last_seq} with head {result.head}, and the expected head "
              f"{expect_head} is not in it: events were removed from the end, or the log was rewritten")
    return result


def _scan(lines: _Lines, result: VerifyResult, key: bytes | None, expect_head: str | None,
          observer: Callable[[dict[str, Any], bytes], None] | None, wanted: set[str]) -> None:
    good: _Good | None = None  # last intact event
    before_good: _Good | None = None  # the one before it
    runs: set[str] = set()
    folder = Path(result.path).parent
    checked_files: set[str] = set()
    while (item := lines.next()) is not None:
        number, raw = item
        result.lines = number
        event = parse_event(raw)
        if event is None:
            if not _accept_torn_line(lines, result, number, raw, good, key):
                return
            continue
        expected_prev = good.hash if good else GENESIS
        expected_seq = good.seq + 1 if good else 1
        problem = _check_seal(event, raw, key, result)
        if problem:
            kind, reason = problem
            if kind == "missing_hmac" and good is None:
                reason = ("the log carries no HMAC from its first event: it was written without "
                          "DEPROVISION_AUDIT_KEY (check its chain without the key), or it was forged")
            _fail(result, number, kind, reason)
            return
        seq = event.get("seq")
        if event.get("prev") != expected_prev or seq != expected_seq:
            _fail(result, *_diagnose_link(lines, number, event, good, before_good))
            return
        side_problem = _check_side_file(event, folder, checked_files) if "record_ids_file" in event else None
        if side_problem:
            _fail(result, number, "side_file", side_problem)
            return
        before_good, good = good, _Good(number, seq, event["hash"], event["prev"])
        result.events += 1
        result.head, result.last_seq = good.hash, good.seq
        run_id = event.get("run_id")
        if isinstance(run_id, str):
            runs.add(run_id)
        result.runs = len(runs)
        if observer is not None:
            observer(event, raw)
        if expect_head and event["hash"] == expect_head:
            result.expected_head_line = number
        if wanted and event["hash"] in wanted:
            result.seen_heads.add(event["hash"])


def _check_side_file(event: dict[str, Any], folder: Path, checked: set[str]) -> str | None:
    """Problem with the record-id file an event names (it must exist and match its SHA-256)."""
    name, digest = event.get("record_ids_file"), event.get("record_ids_sha256")
    if not isinstance(name, str) or not isinstance(digest, str):
        return "the record-id file or its SHA-256 is missing from the event"
    if digest in checked:
        return None
    target = folder / name
    try:
        sha = hashlib.sha256()
        with open(target, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                sha.update(block)
    except OSError:
        return f"its record-id file {name} is missing"
    if sha.hexdigest() != digest:
        return f"its record-id file {name} does not match the SHA-256 in the event (the file was changed)"
    checked.add(digest)
    return None


def _check_seal(event: dict[str, Any], raw: bytes, key: bytes | None,
                result: VerifyResult) -> tuple[str, str] | None:
    prev = event.get("prev")
    if not isinstance(prev, str):
        return "edited", "the event has no prev field"
    body = canonical_bytes(event, raw)
    if event_hash(prev, body) != event["hash"]:
        # The raw bytes differ from what was sealed; the content decides (spacing alone is no edit).
        body = canonical(event).encode("utf-8")
        if event_hash(prev, body) != event["hash"]:
            return "edited", "its content does not match its hash (the event was changed after it was written)"
    mac = event.get("hmac")
    if mac is not None:
        result.hmac_present = True
    if key is None:
        return None
    if not isinstance(mac, str):
        return "missing_hmac", "the event has no HMAC although a key is configured (forged or re-chained)"
    if not hmac_mod.compare_digest(mac, event_hmac(key, prev, body)):
        return "bad_hmac", "its HMAC does not match (forged or re-chained without the key, or a different key)"
    return None


def _diagnose_link(lines: _Lines, number: int, event: dict[str, Any], good: _Good | None,
                   before_good: _Good | None) -> tuple[int, str, str]:
    """Why ``event`` does not follow ``good``: (line to blame, kind, reason)."""
    seq, prev = event.get("seq"), event.get("prev")
    if not isinstance(seq, int):
        return number, "edited", "the event has no valid seq"
    expected_seq = good.seq + 1 if good else 1
    if good and event["hash"] == good.hash:
        return number, "inserted", f"a copy of line {good.line}"
    if good and prev == good.prev and seq == good.seq:
        origin = f"line {before_good.line}" if before_good else "the start of the log"
        return (good.line, "inserted",
                f"an event not in the chain: line {number} (seq {seq}) chains from {origin}, not from this one")
    nxt = lines.peek()
    follower = parse_event(nxt[1]) if nxt else None
    expected_prev = good.hash if good else GENESIS
    if follower and follower.get("prev") == expected_prev and follower.get("seq") == expected_seq:
        return (number, "reordered",
                f"seq {seq} appears before seq {expected_seq} (line {nxt[0]}): events were swapped or moved")
    if seq < expected_seq:
        after = f"after seq {good.seq} (line {good.line})" if good else "at the start"
        return number, "reordered", f"seq {seq} appears {after}: events were moved"
    if seq > expected_seq:
        missing = seq - expected_seq
        where = f"after line {good.line} (seq {good.seq})" if good else "at the start of the log"
        return (number, "removed",
                f"{missing} event(s) missing {where}: seq jumps to {seq}")
    if good:
        return (good.line, "edited",
                f"its hash is not the one line {number} recorded as prev: the line was replaced or re-hashed")
    return number, "edited", "the first event does not start the chain (prev is not 64 zeros)"


def _accept_torn_line(lines: _Lines, result: VerifyResult, number: int, raw: bytes, good: _Good | None,
                      key: bytes | None) -> bool:
    """True when the unparsable line ``number`` (with any damaged lines right after it) is a torn
    region that the next event, a ``torn_tail_repaired`` naming its SHA-256 and length, repaired."""
    region = [raw]
    while True:
        nxt = lines.peek()
        if nxt is None:
            complete = raw.endswith(b"\n")
            _fail(result, number, "torn_tail",
                  "the last line is incomplete (" + ("unparsable" if complete else "no newline") +
                  "): a write was interrupted by a crash; this is not tampering, and the next run records "
                  "a torn_tail_repaired event and continues the chain from the last intact event")
            return False
        follower = parse_event(nxt[1])
        if follower is not None or len(region) > MAX_TORN_LINES:
            break
        region.append(lines.next()[1])
        result.lines = nxt[0]
    data = b"".join(region)
    fragment = data[:-1] if data.endswith(b"\n") else data
    expected_prev = good.hash if good else GENESIS
    expected_seq = good.seq + 1 if good else 1
    if (follower is not None and follower.get("event") == "torn_tail_repaired"
            and follower.get("torn_sha256") == hashlib.sha256(fragment).hexdigest()
            and follower.get("torn_bytes") == len(fragment)
            and follower.get("prev") == expected_prev and follower.get("seq") == expected_seq):
        result.repairs.append(number)
        return True
    reason = "an empty line inside the log" if not raw.strip() else "not a sealed JSON event (corrupted or edited)"
    _fail(result, number, "not_an_event", reason)
    return False


def _fail(result: VerifyResult, line: int | None, kind: str, reason: str) -> VerifyResult:
    result.ok = False
    result.line, result.kind, result.reason = line, kind, reason
    return result

"""Salesforce record ids: 15-character base id plus the 3-character case checksum."""

from __future__ import annotations

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitive."""
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


def make_id(prefix: str, number: int, pod: str = "8d") -> str:
    """An 18-character id: key prefix, a 2-character pod, the number in base 62, the checksum."""
    body = []
    n = number
    for _ in range(10):
        body.append(_ALPHABET[n % 62])
        n //= 62
    id15 = prefix + pod + "".join(reversed(body))
    return id15 + checksum(id15)


def to18(record_id: str) -> str:
    """An id in its 18-character form (15-character ids get their checksum)."""
    if len(record_id) == 15:
        return record_id + checksum(record_id)
    return record_id


def is_valid_id(record_id: str) -> bool:
    """True when ``record_id`` has the shape of a Salesforce id (15 or 18, checksum right)."""
    if len(record_id) not in (15, 18) or not record_id.isalnum():
        return False
    return len(record_id) == 15 or checksum(record_id[:15]) == record_id[15:]

"""Salesforce record ids: a 15-character case-sensitive id plus the 3-character case checksum.

Neutral ground: the product and the local org both use these helpers; neither owns them.
"""

from __future__ import annotations

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


def key_prefix(record_id: str) -> str:
    """The first three characters of an id: the key prefix naming its object."""
    return record_id[:3]

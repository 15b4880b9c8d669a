"""Salesforce record ids: a 15-character case-sensitive id plus the 3-character case checksum.

Neutral ground: the product and the local org both use these helpers; neither owns them.
"""

from __future__ import annotations

from collections.abc import Sequence

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


_CASE_BITS = str.maketrans({**{c: "1" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
                            **{c: "0" for c in "abcdefghijklmnopqrstuvwxyz0123456789"}})

_CHUNK = {format(b, "05b")[::-1]: _SUFFIX[b] for b in range(32)}  # five characters' bits -> suffix letter


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitive: per 5 characters, a bit for
    each capital letter (first character lowest), as an index into A-Z0-5."""
    bits = id15[:15].translate(_CASE_BITS)
    try:
        return _CHUNK[bits[0:5]] + _CHUNK[bits[5:10]] + _CHUNK[bits[10:15]]
    except KeyError:  # shorter, or not only ASCII letters and digits
        return _checksum_slow(id15)


def _checksum_slow(id15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


_SUFFIX_BIT = [str.maketrans({ch: "1" if n >> bit & 1 else "0" for n, ch in enumerate(_SUFFIX)}) for bit in range(5)]


def all_valid(record_ids: Sequence[object], prefix: str | None = None) -> bool:
    """True when every item is an 18-character id whose checksum is right (and that starts with ``prefix``).

    Checked column by column over the joined ids (string slicing and ``translate`` do the work), so a
    million ids take a fraction of a second; False means at least one is not, ``is_valid_id`` says which.
    """
    if not record_ids:
        return True
    if not all(isinstance(r, str) and len(r) == 18 for r in record_ids):
        return False
    joined = "".join(record_ids)  # type: ignore[arg-type]
    if not joined.isascii() or not joined.isalnum():
        return False
    n = len(record_ids)
    if prefix is not None and any(joined[k::18] != ch * n for k, ch in enumerate(prefix)):
        return False
    for chunk in range(3):
        suffix = joined[15 + chunk::18]
        for bit in range(5):
            if joined[5 * chunk + bit::18].translate(_CASE_BITS) != suffix.translate(_SUFFIX_BIT[bit]):
                return False
    return True


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

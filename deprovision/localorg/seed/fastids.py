"""Record ids in bulk: the same ids as ``ids.make_id``, about twenty times faster (for the scale seed)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from deprovision.localorg import ids

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_LIMIT = 62**5


def _upper_bits(text: str, shift: int) -> int:
    return sum(1 << (i + shift) for i, ch in enumerate(text) if "A" <= ch <= "Z")


_LO = [(a + b, _upper_bits(a + b, 3)) for a in _ALPHABET for b in _ALPHABET]


def id_range(prefix: str, start: int, count: int, pod: str = "8d") -> Iterator[str]:
    """Ids number ``start`` .. ``start + count - 1`` of ``prefix`` (numbers below 62**5)."""
    if start < 1 or start + count > _LIMIT:
        yield from (ids.make_id(prefix, n, pod) for n in range(start, start + count))
        return
    head = prefix + pod + "00000"
    checksum01 = ids.checksum(head + "00000")[:2]
    return_count = 0
    hi_index, lo_index = divmod(start, len(_LO))
    while return_count < count:
        hi = ids.make_id(prefix, hi_index * len(_LO), pod)[10:13]
        hi_bits = _upper_bits(hi, 0)
        base = head + hi
        take = min(len(_LO) - lo_index, count - return_count)
        for lo, lo_bits in islice(_LO, lo_index, lo_index + take):
            yield base + lo + checksum01 + _SUFFIX[hi_bits | lo_bits]
        return_count += take
        hi_index, lo_index = hi_index + 1, 0

"""Salesforce record ids: 15-character base id plus the 3-character case checksum."""

from __future__ import annotations

from deprovision.ids import checksum, is_valid_id, to18

__all__ = ["checksum", "is_valid_id", "make_id", "to18"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def make_id(prefix: str, number: int, pod: str = "8d") -> str:
    """An 18-character id: key prefix, a 2-character pod, the number in base 62, the checksum."""
    body = []
    n = number
    for _ in range(10):
        body.append(_ALPHABET[n % 62])
        n //= 62
    id15 = prefix + pod + "".join(reversed(body))
    return id15 + checksum(id15)

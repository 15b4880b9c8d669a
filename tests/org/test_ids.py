"""Salesforce id checksums: the fast paths answer exactly what the character-by-character rule answers."""

from __future__ import annotations

import random
import string

import pytest

from deprovision import ids

LETTERS = string.ascii_letters + string.digits


def _rule(id15: str) -> str:
    """The documented rule, spelled out: per 5 characters, bit i set when character i is a capital letter."""
    out = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]) if "A" <= ch <= "Z")
        out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return out


def _new_id(rng: random.Random, prefix: str = "003") -> str:
    body = prefix + "".join(rng.choice(LETTERS) for _ in range(12))
    return body + ids.checksum(body)


@pytest.mark.parametrize("known", [("001000000000001", "AAA"), ("0058d000000007H", "AAQ"),
                                   ("0018d00000ABCDE", "AA5")])
def test_checksum_of_known_ids(known):
    id15, suffix = known
    assert ids.checksum(id15) == suffix == _rule(id15)


def test_checksum_matches_the_rule_for_random_and_odd_input():
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(LETTERS) for _ in range(rng.choice([15, 15, 14, 16])))
        assert ids.checksum(text) == _rule(text)
    for odd in ("", "abc", "é" * 15, "AB-CD" * 3, "A" * 15):
        assert ids.checksum(odd) == _rule(odd)


def test_all_valid_agrees_with_is_valid_id_one_by_one():
    rng = random.Random(11)
    for _ in range(3_000):
        batch = [_new_id(rng) for _ in range(rng.randint(1, 6))]
        k = rng.randrange(len(batch))
        chars = list(batch[k])
        chars[rng.randrange(18)] = rng.choice(LETTERS + "-é")
        batch[k] = "".join(chars) if rng.random() > 0.1 else batch[k][:17]
        expected = all(len(i) == 18 and i.isascii() and ids.is_valid_id(i) and i.startswith("003") for i in batch)
        assert ids.all_valid(batch, "003") is expected


def test_all_valid_checks_prefix_type_and_length():
    rng = random.Random(3)
    good = [_new_id(rng) for _ in range(100)]
    assert ids.all_valid(good, "003") and ids.all_valid(good) and ids.all_valid([])
    assert not ids.all_valid(good, "001")
    assert not ids.all_valid([*good, None])
    assert not ids.all_valid([*good, good[0][:15]])  # 15-character ids go the slow way

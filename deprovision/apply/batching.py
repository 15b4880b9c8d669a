"""Splitting work into API-sized batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from deprovision.org.objects import is_setup_object

T = TypeVar("T")

COLLECTION_SIZE = 200  # sObject Collections: at most 200 records per call
MAX_TYPE_CHUNKS = 10  # sObject Collections: at most 10 contiguous runs of one type per call
BULK_THRESHOLD = 2000  # above this many records of one object, reassign through Bulk API 2.0


def chunks(items: Sequence[T], size: int = COLLECTION_SIZE) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def type_chunks(types: Sequence[str]) -> int:
    """How many contiguous runs of one type a Collections payload has (Salesforce allows 10)."""
    runs = 0
    previous = None
    for t in types:
        if t != previous:
            runs += 1
            previous = t
    return runs


def collection_batches(items: Sequence[T], type_of, size: int = COLLECTION_SIZE,
                       max_type_chunks: int = MAX_TYPE_CHUNKS, key_of=None,
                       is_setup: Callable[[str], bool] = is_setup_object) -> Iterator[list[T]]:
    """Batches of at most ``size`` items, never mixing setup and data objects and never exceeding
    ``max_type_chunks`` contiguous type runs. Items are expected to be grouped by type already.
    Setup or data: ``is_setup`` (``OrgSchema.is_setup``; by default the same documented rule by name).

    With ``key_of``, a record never appears twice in one batch (Salesforce refuses a duplicate id in
    one DML list): a repeated key starts a new batch.
    """
    batch: list[T] = []
    keys: set = set()
    runs = 0
    previous: str | None = None
    batch_setup: bool | None = None
    for item in items:
        t = type_of(item)
        setup = is_setup(t)
        new_run = t != previous
        key = key_of(item) if key_of else None
        if batch and (len(batch) >= size or (batch_setup is not None and setup != batch_setup)
                      or (new_run and runs >= max_type_chunks) or (key is not None and key in keys)):
            yield batch
            batch, runs, previous = [], 0, None
            keys = set()
            new_run = True
        if new_run:
            runs += 1
        if key is not None:
            keys.add(key)
        batch.append(item)
        previous = t
        batch_setup = setup
    if batch:
        yield batch

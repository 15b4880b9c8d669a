"""Chunked ``IN`` reads sent side by side: the same API calls, a fraction of the waiting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from deprovision.org.client import in_budget
from deprovision.org.soql import MAX_IN_CLAUSE_CHARS, chunked_in

READ_THREADS = 6


class ParallelReads:
    """Wraps an ``OrgClient``: ``query_in`` runs its chunks concurrently (rows still come in chunk order).

    Every other attribute is the client's own, so this can stand in for the client wherever only
    reads are made (the stale-plan check, the backup).
    """

    def __init__(self, client: Any, threads: int = READ_THREADS) -> None:
        self._client = client
        self._threads = threads

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query_in(self, template: str, values: Iterable[object], **kwargs: Any) -> Iterator[dict]:
        """Like ``OrgClient.query_in``; chunks of the ``IN`` list are read in parallel."""
        if template.count("{ids}") != 1:
            raise ValueError("query_in template needs exactly one {ids} slot")
        values = list(values)
        if not values:
            return iter(())
        chunks = list(chunked_in(values, max_chars=in_budget(template, MAX_IN_CLAUSE_CHARS)))
        if len(chunks) == 1:
            return self._client.query(template.replace("{ids}", chunks[0]), **kwargs)

        def read(chunk: str) -> list[dict]:
            return list(self._client.query(template.replace("{ids}", chunk), **kwargs))

        pool = ThreadPoolExecutor(max_workers=min(self._threads, len(chunks)))
        try:
            pages = list(pool.map(read, chunks))
        finally:
            pool.shutdown(wait=True)
        return (row for page in pages for row in page)

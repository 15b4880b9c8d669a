"""``query`` and ``queryAll``: SOQL over REST with Salesforce's paging protocol.

The first call opens a cursor on the SOQL engine's streaming ``iter_execute``
and answers the first page (2,000 rows, or ``Sforce-Query-Options:
batchSize=N`` between 200 and 2,000); ``nextRecordsUrl`` is
``/services/data/vXX.X/query/<locator>-<offset>`` and each follow-up call pulls
the next page from the same cursor, so a million rows page without being held
in memory. ``?columns=true`` answers the column metadata the Salesforce CLI asks for.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from deprovision.localorg import errors
from deprovision.localorg.http import Request, Response
from deprovision.localorg.routes import Ctx

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
CURSOR_IDLE_S = 15 * 60  # Salesforce keeps a query locator for 15 minutes of inactivity
MAX_CURSORS = 200
_LOCATOR = re.compile(r"^(?P<locator>01g[0-9A-Za-z]{15})-(?P<offset>\d+)$")
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(request: Request) -> int:
    """The page size asked for in ``Sforce-Query-Options``, clamped to Salesforce's 200..2,000."""
    m = _BATCH_OPTION.search(request.header("Sforce-Query-Options") or "")
    if not m:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(m.group(1))))


def open_stream(store: Any, soql: str, include_deleted: bool, api_version: str = "62.0",
                viewer: Any = None) -> tuple[int, Iterator[dict]]:
    """``(total_size, rows)`` streamed from the SOQL engine: over a connection of the stream's own when the
    store offers one (a snapshot: count and rows agree, and the store's connection stays free to write while
    other processes write too), else over the store's connection. ``viewer``: who runs it (``visibility``)."""
    from deprovision.localorg.soql import iter_execute

    opener = getattr(store, "stream_connection", None)
    own = opener() if callable(opener) else None
    if own is None:
        with store_lock(store):
            return iter_execute(store.conn, soql, include_deleted=include_deleted, api_version=api_version,
                                viewer=viewer)
    try:
        own.execute("BEGIN")  # one read snapshot for the count and every page
        total, rows = iter_execute(own, soql, include_deleted=include_deleted, api_version=api_version,
                                   viewer=viewer)
    except BaseException:
        store.release_stream_connection(own)
        raise
    return total, _closing(rows, own, store)


def _closing(rows: Iterator[dict], conn: Any, store: Any) -> Iterator[dict]:
    """``rows``, then the stream's own connection given back (also when the stream is closed early)."""
    try:
        yield from rows
    finally:
        close = getattr(rows, "close", None)
        if callable(close):
            close()
        store.release_stream_connection(conn)


def store_lock(store: Any):
    """The store's lock when it exposes one (its connection is shared between threads)."""
    lock = getattr(store, "lock", None) or getattr(store, "_lock", None)
    return lock if lock is not None else contextlib.nullcontext()


@dataclass
class QueryCursor:
    """An open query: its stream, how far it has been read, and one row of look-ahead."""

    locator: str
    soql: str
    include_deleted: bool
    total: int
    rows: Iterator[dict]
    api_version: str = "62.0"
    viewer: Any = None
    position: int = 0
    lookahead: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)

    def take(self, store: Any, count: int) -> tuple[list[dict], bool]:
        """The next ``count`` rows and whether the query is done after them."""
        with store_lock(store):
            page = self.lookahead + list(itertools.islice(self.rows, count + 1 - len(self.lookahead)))
        self.lookahead = page[count:]
        page = page[:count]
        self.position += len(page)
        self.last_used = time.monotonic()
        return page, not self.lookahead

    def close(self, store: Any) -> None:
        """Release the SQLite cursor behind the stream."""
        close = getattr(self.rows, "close", None)
        if callable(close):
            with store_lock(store):
                close()

    def skip_to(self, store: Any, offset: int) -> None:
        """Move to ``offset`` (re-running the query when asked to go back)."""
        if offset < self.position:
            self.close(store)
            self.total, self.rows = open_stream(store, self.soql, self.include_deleted, self.api_version,
                                                self.viewer)
            self.position, self.lookahead = 0, []
        while self.position < offset:
            _, done = self.take(store, min(offset - self.position, 10_000))
            if done:
                break


class QueryCursors:
    """Open query locators of one served org (kept 15 idle minutes, at most ``MAX_CURSORS``)."""

    def __init__(self, store: Any = None) -> None:
        self.store = store
        self._cursors: OrderedDict[str, QueryCursor] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, cursor: QueryCursor) -> None:
        with self._lock:
            self._expire()
            self._cursors[cursor.locator] = cursor
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)[1].close(self.store)

    def close_all(self) -> None:
        """Close every stream (before the store closes)."""
        with self._lock:
            for cursor in self._cursors.values():
                cursor.close(self.store)
            self._cursors.clear()

    def get(self, locator: str) -> QueryCursor:
        with self._lock:
            self._expire()
            cursor = self._cursors.get(locator)
            if cursor is None:
                raise errors.SalesforceError("invalid query locator", error_code="INVALID_QUERY_LOCATOR")
            self._cursors.move_to_end(locator)
            return cursor

    def __len__(self) -> int:
        return len(self._cursors)

    def _expire(self) -> None:
        now = time.monotonic()
        for locator in [k for k, c in self._cursors.items() if now - c.last_used > CURSOR_IDLE_S]:
            self._cursors.pop(locator).close(self.store)


def _page(ctx: Ctx, cursor: QueryCursor, request: Request) -> Response:
    records, done = cursor.take(ctx.store, batch_size(request))
    body: dict[str, Any] = {"totalSize": cursor.total, "done": done}
    if not done:
        body["nextRecordsUrl"] = f"{ctx.base}/query/{cursor.locator}-{cursor.position}"
    body["records"] = records
    return Response.json(body)


def _run(ctx: Ctx, request: Request, include_deleted: bool) -> Response:
    soql = request.query.get("q")
    if soql is None or not soql.strip():
        raise errors.MALFORMED_QUERY("A query string must be provided.")
    if request.query.get("columns", "").lower() == "true":
        from deprovision.localorg.soql import column_metadata

        return Response.json(column_metadata(soql))
    viewer = running_user(ctx)
    total, rows = open_stream(ctx.store, soql, include_deleted, ctx.version, viewer)
    cursor = QueryCursor("01g" + secrets.token_hex(8)[:15], soql, include_deleted, total, rows, ctx.version,
                         viewer)
    with cursor.lock:
        response = _page(ctx, cursor, request)
        if cursor.lookahead:
            ctx.app.cursors.add(cursor)
    return response


def running_user(ctx: Ctx) -> Any:
    """The ``visibility.Viewer`` of the request's user (what its queries may see)."""
    from deprovision.localorg.visibility import viewer_for

    if not hasattr(ctx.store, "settings"):
        return None
    return viewer_for(ctx.store, ctx.user)


def query(ctx: Ctx, request: Request) -> Response:
    """``GET query?q=SOQL``: the first page; deleted rows hidden."""
    return _run(ctx, request, include_deleted=False)


def query_all(ctx: Ctx, request: Request) -> Response:
    """``GET queryAll?q=SOQL``: the first page, soft-deleted rows included."""
    return _run(ctx, request, include_deleted=True)


def query_more(ctx: Ctx, request: Request) -> Response:
    """``GET query/<locator>-<offset>``: the next page of an open query."""
    m = _LOCATOR.match(ctx.param("locator"))
    if not m:
        raise errors.SalesforceError("invalid query locator", error_code="INVALID_QUERY_LOCATOR")
    cursor = ctx.app.cursors.get(m.group("locator"))
    with cursor.lock:
        cursor.skip_to(ctx.store, int(m.group("offset")))
        return _page(ctx, cursor, request)

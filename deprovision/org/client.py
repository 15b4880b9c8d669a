"""``OrgClient``: every read and write the project makes to an org, with batching and retries.

Callers never see simple-salesforce exceptions: transient errors are retried here, everything
else leaves as ``deprovision.errors.OrgError`` carrying Salesforce's error code.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from simple_salesforce.util import exception_handler

from deprovision.errors import OrgError
from deprovision.org import bulk, soap
from deprovision.org.auth import Login, OrgSession
from deprovision.org.objects import refuse_mixed, well_known_object
from deprovision.org.results import BulkResult, RecordResult, first_error, redact
from deprovision.org.retry import TRANSIENT_CODES, RetryHooks, RetryPolicy, call_with_retry
from deprovision.org.schema import OrgSchema
from deprovision.org.soql import MAX_IN_CLAUSE_CHARS, chunked_in
from deprovision.org.transport import DEFAULT_API_VERSION, CallCounter, build_salesforce, instrument

COLLECTION_SIZE = 200  # sObject Collections: at most 200 records per call
COMPOSITE_SIZE = 25  # Composite: at most 25 subrequests per call, one API call for all of them
COMPOSITE_QUERIES = 5  # of which at most 5 query operations (Query, QueryAll, query more) or sObject Collections
WHERE_LIMIT = 4000  # SOQL: a WHERE clause is at most 4,000 characters
PARALLEL_READS = 8  # read-only Composite calls in flight at once (REST API calls may run concurrently)
IN_SUBREQUEST_CHARS = 3000  # an IN list in a Composite subrequest's URL (kept well under the URI limits)
_ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
_WHERE_RE = re.compile(r"\bWHERE\b", re.IGNORECASE)
_QUERY_URL_RE = re.compile(r"^(?:/services/data)?/v\d+\.\d+/(?:query|queryAll|composite/sobjects)(?:[/?]|$)",
                           re.IGNORECASE)


class OrgClient:
    """A connection to one org: queries that stream, batched writes, retries, API-call accounting."""

    def __init__(
        self,
        session: OrgSession,
        http: requests.Session,
        *,
        api_version: str | None = None,
        relogin: Login | None = None,
        retry: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        bulk_poll_seconds: float = 1.0,
        label: str = "org",
        schema_cache: Path | None = None,
    ) -> None:
        self.http = http
        self.api_version = api_version or DEFAULT_API_VERSION
        self.retry = retry or RetryPolicy.from_env()
        self.counter = counter or CallCounter()
        self.label = label
        self.bulk_poll_seconds = bulk_poll_seconds
        self.relogins = 0
        self.retries = 0  # transient failures retried (whole calls and single records)
        instrument(http, self.counter)
        self._relogin = relogin
        self._hooks = RetryHooks(relogin=self._renew if relogin else None, check_limit=self._check_daily_limit,
                                 on_retry=self._count_retry)
        self._identity: dict[str, Any] | None = None
        self._use(session)
        self.schema = OrgSchema(self, schema_cache)  # what this org has, described once per run

    # -- session --------------------------------------------------------------------------------
    def _use(self, session: OrgSession) -> None:
        self.instance_url = session.instance_url.rstrip("/")
        self.sf = build_salesforce(self.instance_url, session.access_token, self.http, self.api_version)

    def _renew(self) -> None:
        """Log in again (login-based connections only) after the session expired."""
        assert self._relogin is not None
        self._use(self._relogin())
        self.relogins += 1

    def _count_retry(self, action: str, kind: object, attempt: int, wait: float) -> None:
        self.retries += 1

    def _call(self, action: str, fn: Callable[[], Any], *, idempotent: bool = True,
              record_id: str | None = None) -> Any:
        return call_with_retry(fn, action, self.retry, self._hooks, idempotent=idempotent, record_id=record_id)

    def _check_daily_limit(self) -> None:
        """Called on REQUEST_LIMIT_EXCEEDED: stop at once when the daily allowance is used up."""
        try:
            limits = self.sf.limits()
        except Exception as exc:  # the limits call itself refused: the allowance is gone
            code, _, _ = first_error(getattr(exc, "content", None))
            if code == "REQUEST_LIMIT_EXCEEDED":
                raise self._exhausted(None) from None
            return
        daily = (limits or {}).get("DailyApiRequests") or {}
        if daily.get("Remaining") is not None and int(daily["Remaining"]) <= 0:
            raise self._exhausted(daily.get("Max"))

    @staticmethod
    def _exhausted(maximum: Any) -> OrgError:
        of = f" of {maximum}" if maximum is not None else ""
        return OrgError(f"the org's daily API request limit{of} is exhausted; stopping (it frees up "
                        f"over a rolling 24 hours)", error_code="REQUEST_LIMIT_EXCEEDED", status=403)

    # -- accounting and identity ----------------------------------------------------------------
    @property
    def api_calls(self) -> int:
        """REST API calls made by this client, as the org counts them (logins and OAuth calls not included)."""
        return self.counter.api_calls

    @property
    def oauth_calls(self) -> int:
        """Calls to the OAuth endpoints (token revocation, userinfo), which the org does not count."""
        return self.counter.oauth_calls

    @property
    def limit_info(self) -> tuple[int, int] | None:
        """The last ``Sforce-Limit-Info`` reading: (used, max)."""
        return self.counter.limit_info

    def identity(self) -> dict[str, Any]:
        """The token's identity from ``/services/oauth2/userinfo`` (read once)."""
        if self._identity is None:
            self._identity = self._call("read the API user's identity", lambda: self.sf.oauth2("userinfo")) or {}
        return self._identity

    @property
    def org_id(self) -> str:
        org_id = self.identity().get("organization_id")
        if not org_id:
            rows = list(self.query("SELECT Id FROM Organization LIMIT 1"))
            org_id = rows[0]["Id"] if rows else ""
            self._identity = {**self.identity(), "organization_id": org_id}
        return org_id

    @property
    def api_user(self) -> dict[str, str]:
        """The user the client acts as: ``{"id", "username", "name"}``."""
        ident = self.identity()
        return {"id": ident.get("user_id", ""), "username": ident.get("preferred_username", ""),
                "name": ident.get("name", "")}

    # -- reads ----------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None) -> Iterator[dict]:
        """Yield the records of ``soql`` page by page (never the whole result in memory).

        ``batch_size`` (200 to 2,000) asks for smaller pages (``Sforce-Query-Options``).
        """
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        page = self._call("query", lambda: self.sf.query(soql, include_deleted=include_deleted, headers=headers))
        for records in self._pages(page, headers):
            yield from records

    def _pages(self, page: dict, headers: dict | None = None) -> Iterator[list[dict]]:
        """The records of ``page`` and of every query more page after it, one list per page."""
        while True:
            yield page.get("records", [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call("query", lambda url=next_url: self.sf.query_more(url, identifier_is_url=True,
                                                                               headers=headers or {}))

    def query_in(self, template: str, values: Iterable[object], **kwargs: Any) -> Iterator[dict]:
        """Run ``template`` once per chunk of ``values``; its one ``{ids}`` slot receives a SOQL list.

        Chunks keep the WHERE clause under SOQL's 4,000-character limit.
        """
        if template.count("{ids}") != 1:
            raise ValueError("query_in template needs exactly one {ids} slot")
        values = list(values)
        if not values:
            return
        budget = in_budget(template, MAX_IN_CLAUSE_CHARS)
        if budget < 100:
            raise ValueError("query_in template leaves no room for its IN list under the WHERE limit")
        for chunk in chunked_in(values, max_chars=budget):
            yield from self.query(template.replace("{ids}", chunk), **kwargs)

    def query_in_many(self, reads: dict[str, tuple[str, list[str]]], *,
                      refused: Collection[str] = ()) -> dict[str, Any]:
        """Several independent ``query_in`` reads at once through Composite: one API call for up to 5 queries
        ("Send Multiple Requests Using Composite", REST API Developer Guide), query more pages likewise.

        ``reads``: name -> (template, values); every ``{ids}`` slot of a template (one or more) receives the
        same chunk of values. Returns every row of each, by name. A query the Composite call refuses is read
        again on its own (retried, and refused as ``query`` would refuse it), so a failure means what it means
        for ``query_in``; except that a read refused with an error code in ``refused`` answers that
        ``OrgError`` (instead of its rows) without being read again.
        """
        soqls: list[tuple[str, str]] = []  # (name, soql), one per IN chunk
        for name, (template, values) in reads.items():
            soqls.extend((name, soql) for soql in in_soqls(template, values))
        parts: list[list[dict]] = [[] for _ in soqls]
        errors: dict[str, OrgError] = {}
        for i, page in self.query_pages([soql for _, soql in soqls], refused=refused):
            if isinstance(page, OrgError):
                errors.setdefault(soqls[i][0], page)
            else:
                parts[i].extend(page)
        rows: dict[str, Any] = {name: [] for name in reads}
        for (name, _), found in zip(soqls, parts, strict=True):
            if name not in errors:
                rows[name].extend(found)
        rows.update(errors)
        return rows

    def query_pages(self, soqls: list[str], *,
                    refused: Collection[str] = ()) -> Iterator[tuple[int, list[dict] | OrgError]]:
        """Run independent queries through Composite, 5 per API call, their query more pages likewise as soon
        as they are known; while full calls can be made, up to ``PARALLEL_READS`` are in flight at once
        (a call with an empty query slot goes out only when no other is on its way).

        Yields ``(index in soqls, records of one page)`` as the answers come (the pages of one query in order),
        or ``(index, OrgError)`` once for a query refused with an error code in ``refused`` (nothing more of
        it follows). Any other refused subrequest is read again on its own (retried, or raised as ``query``
        raises it).
        """
        base = f"/services/data/v{self.api_version}/query?q="
        pending = deque((i, base + quote(soql), True) for i, soql in enumerate(soqls))
        running: dict[Future, list[tuple[int, str, bool]]] = {}
        with ThreadPoolExecutor(max_workers=PARALLEL_READS, thread_name_prefix="composite-read") as pool:
            while pending or running:
                while pending and len(running) < PARALLEL_READS and (len(pending) >= COMPOSITE_QUERIES
                                                                      or not running):
                    batch = [pending.popleft() for _ in range(min(COMPOSITE_QUERIES, len(pending)))]
                    subs = [{"method": "GET", "url": url, "referenceId": f"q{n}"}
                            for n, (_, url, _) in enumerate(batch)]
                    running[pool.submit(self.composite, subs)] = batch
                done = next(iter(wait(running, return_when=FIRST_COMPLETED).done))
                batch = running.pop(done)
                for (i, url, first), answer in zip(batch, done.result(), strict=True):
                    body = answer.get("body")
                    if answer.get("httpStatusCode") == 200 and isinstance(body, dict):
                        yield i, body.get("records", [])
                        if not body.get("done", True) and body.get("nextRecordsUrl"):
                            pending.append((i, body["nextRecordsUrl"], False))
                        continue
                    error = _subrequest_error(answer)
                    if error.error_code in refused:
                        yield i, error
                        continue
                    if first:  # on its own: retried, or refused with its error
                        page = self._call("query", lambda q=soqls[i]: self.sf.query(q))
                    else:
                        page = self._call("query", lambda u=url: self.sf.query_more(u, identifier_is_url=True))
                    for records in self._pages(page):
                        yield i, records

    def rest_get(self, path: str, *, headers: dict | None = None, action: str = "read",
                 stream: bool = False) -> requests.Response:
        """GET a REST resource under ``/services/data/vXX.X/``; a 304 (``If-Modified-Since``) is an answer.

        ``stream``: the body is read by the caller (``iter_content``), for file contents.
        """
        def get() -> requests.Response:
            response = self.http.get(self.sf.base_url + path, headers={**self.sf.headers, **(headers or {})},
                                     stream=stream)
            if response.status_code >= 400:
                exception_handler(response, path)
            return response

        return self._call(action, get)

    def rest_post(self, path: str, body: dict, *, action: str = "request") -> Any:
        """POST JSON to a REST resource (``composite/batch`` and the like); the parsed answer."""
        return self._call(action, lambda: self.sf.restful(path, method="POST", json=body))

    def limits(self) -> dict:
        """The org's limits (``/limits``): ``{"DailyApiRequests": {"Max", "Remaining"}, ...}``."""
        return self._call("read limits", self.sf.limits) or {}

    # -- single-record writes -------------------------------------------------------------------
    def update(self, obj: str, record_id: str, values: dict, *, headers: dict | None = None) -> None:
        """PATCH one record (``headers`` such as ``Sforce-Auto-Assign: FALSE`` are passed on)."""
        self._call(f"update {obj} {record_id}",
                   lambda: self.sf.__getattr__(obj).update(record_id, values, headers=headers),
                   record_id=record_id)

    # -- sObject Collections --------------------------------------------------------------------
    def collection_update(self, records: list[dict], *, all_or_none: bool = False,
                          headers: dict | None = None) -> list[RecordResult]:
        """Update records (each with ``attributes.type`` and ``Id``) in calls of 200; results in input order."""
        prepared = [self._typed(r, need_id=True) for r in records]
        refuse_mixed((r["attributes"]["type"] for r in prepared), "collection_update", self.schema.is_setup)
        ids = [r.get("Id") or r.get("id") for r in prepared]
        return self._collections("PATCH", "update records", prepared, ids, all_or_none, headers)

    def collection_create(self, records: list[dict], *, all_or_none: bool = False,
                          headers: dict | None = None) -> list[RecordResult]:
        """Create records (each with ``attributes.type``) in calls of 200; results carry the new ids."""
        prepared = [self._typed(r, need_id=False) for r in records]
        refuse_mixed((r["attributes"]["type"] for r in prepared), "collection_create", self.schema.is_setup)
        return self._collections("POST", "create records", prepared, [None] * len(prepared), all_or_none, headers)

    def collection_delete(self, ids: list[str], *, all_or_none: bool = False) -> list[RecordResult]:
        """Delete records by id in calls of 200; results in input order."""
        object_of = self.schema.object_of_id if self.schema.loaded else well_known_object
        known = [t for t in map(object_of, ids) if t]
        refuse_mixed(known, "collection_delete", self.schema.is_setup)
        return self._collections("DELETE", "delete records", list(ids), list(ids), all_or_none, None)

    @staticmethod
    def _typed(record: dict, *, need_id: bool) -> dict:
        rtype = (record.get("attributes") or {}).get("type")
        if not rtype:
            raise ValueError("every record needs attributes.type")
        if need_id and not (record.get("Id") or record.get("id")):
            raise ValueError(f"{rtype} record without Id")
        if not need_id and (record.get("Id") or record.get("id")):
            raise ValueError(f"{rtype} record to create must not have an Id")
        return record

    def _collections(self, method: str, action: str, items: list, ids: list[str | None],
                     all_or_none: bool, headers: dict | None) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(items), COLLECTION_SIZE):
            chunk = items[start:start + COLLECTION_SIZE]
            chunk_ids = ids[start:start + COLLECTION_SIZE]
            results.extend(self._collection_chunk(method, action, chunk, chunk_ids, all_or_none, headers))
        return results

    def _collection_chunk(self, method: str, action: str, chunk: list, ids: list[str | None],
                          all_or_none: bool, headers: dict | None) -> list[RecordResult]:
        """One call of at most 200, then per-record retries of records that failed transiently."""
        results: list[RecordResult | None] = [None] * len(chunk)
        pending = list(range(len(chunk)))
        attempt = 0
        while pending:
            attempt += 1
            answer = self._collection_call(method, action, [chunk[i] for i in pending], all_or_none, headers)
            for i, item in zip(pending, answer, strict=False):
                results[i] = RecordResult.from_collection_item(item, ids[i])
            retry = [i for i in pending if _transient(results[i])]
            if all_or_none and retry:
                retry = [i for i in pending if _transient(results[i]) or results[i].error_code == _ROLLED_BACK]
            if not retry or attempt >= self.retry.max_attempts:
                break
            self.retries += len(retry)
            self.retry.sleep(self.retry.delay(attempt))
            pending = retry
        return [r if r is not None else RecordResult.failed(ids[i], "NO_RESULT", "no result returned")
                for i, r in enumerate(results)]

    def _collection_call(self, method: str, action: str, chunk: list, all_or_none: bool,
                         headers: dict | None) -> list[dict]:
        if method == "DELETE":
            params = {"ids": ",".join(chunk), "allOrNone": "true" if all_or_none else "false"}
            call = lambda: self.sf.restful("composite/sobjects", method="DELETE", params=params)  # noqa: E731
        else:
            body = {"allOrNone": all_or_none, "records": chunk}
            call = lambda: self.sf.restful("composite/sobjects", method=method, json=body,  # noqa: E731
                                           headers=headers or {})
        answer = self._call(action, call, idempotent=method != "POST")
        if not isinstance(answer, list) or len(answer) != len(chunk):
            raise OrgError(f"{action} failed: the org answered {len(answer or [])} results for "
                           f"{len(chunk)} records")
        return answer

    # -- SOAP -----------------------------------------------------------------------------------
    def soap_update(self, records: list[dict], *, keep_account_team: bool = False,
                    keep_sales_team: bool = False) -> list[RecordResult]:
        """Update at most 200 records in one partner SOAP ``update()`` call; results in input order.

        ``keep_account_team`` / ``keep_sales_team``: the ``OwnerChangeOptions`` that keep an Account's /
        Opportunity's team on an owner change, which every REST write path deletes (``org/soap.py``).
        """
        return soap.soap_update(self, records, keep_account_team=keep_account_team,
                                keep_sales_team=keep_sales_team)

    # -- Composite ------------------------------------------------------------------------------
    def composite(self, subrequests: list[dict], *, all_or_none: bool = False) -> list[dict]:
        """Send subrequests through the Composite API; returns each subrequest's result, in order.

        Each call carries at most 25 subrequests, of which at most 5 are queries or sObject Collections, and
        counts as ONE API call ("Send Multiple Requests Using Composite", REST API Developer Guide). Without
        ``all_or_none`` a failing subrequest does not stop the others (only those that reference it).
        Subrequests that reference each other (``@{ref}``) or run all-or-none cannot be split.
        """
        chunks = composite_chunks(subrequests)
        if len(chunks) > 1 and (all_or_none or "@{" in repr(subrequests)):
            raise ValueError(f"composite: more than {COMPOSITE_SIZE} subrequests (or {COMPOSITE_QUERIES} queries) "
                             f"that reference each other or run all-or-none cannot be split")
        out: list[dict] = []
        for chunk in chunks:
            body = {"allOrNone": all_or_none, "compositeRequest": chunk}
            writes = any(s.get("method", "GET").upper() == "POST" for s in chunk)
            answer = self._call("composite request",
                                lambda b=body: self.sf.restful("composite", method="POST", json=b),
                                idempotent=not writes)
            out.extend((answer or {}).get("compositeResponse", []))
        return out

    # -- Bulk API 2.0 ---------------------------------------------------------------------------
    def bulk_ingest(self, obj: str, operation: str, columns: list[str], rows: Iterable[list]) -> BulkResult:
        """Run a Bulk API 2.0 ingest job from rows in ``columns`` order; per-record outcomes."""
        return bulk.ingest(self, obj, operation, columns, rows)

    def bulk_query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict]:
        """Stream the rows of a Bulk API 2.0 query job as dicts of strings (``""`` for null)."""
        return bulk.query(self, soql, include_deleted=include_deleted)

    # -- OAuth ----------------------------------------------------------------------------------
    def revoke_token(self, token: str) -> RecordResult:
        """Revoke an OAuth token (an access or refresh token, or an OauthToken's DeleteToken)."""
        url = f"{self.instance_url}/services/oauth2/revoke"

        def post() -> requests.Response:
            response = self.http.post(url, data={"token": token},
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            if response.status_code >= 500:
                exception_handler(response, "oauth2/revoke")
            return response

        response = self._call("revoke token", post)
        if response.status_code == 200:
            return RecordResult.ok(None)
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("error") if isinstance(body, dict) else None
        message = body.get("error_description") if isinstance(body, dict) else None
        return RecordResult.failed(None, code or f"HTTP_{response.status_code}",
                                   redact(message or response.text[:200] or "revoke refused"))


def where_length(template: str) -> int:
    """Characters of ``template``'s WHERE clause without its ``{ids}`` slots."""
    match = _WHERE_RE.search(template)
    rest = template[match.end():] if match else template
    return len(rest) - len("{ids}") * template.count("{ids}")


def in_budget(template: str, max_chars: int = IN_SUBREQUEST_CHARS) -> int:
    """Characters each ``{ids}`` slot of ``template`` may take in a Composite subrequest: the IN lists
    together stay under ``max_chars`` and the WHERE clause under SOQL's 4,000 characters."""
    slots = template.count("{ids}")
    if slots < 1:
        raise ValueError("query_in template needs an {ids} slot")
    return min(max_chars, WHERE_LIMIT - where_length(template) - 50) // slots


def in_soqls(template: str, values: Iterable[object]) -> list[str]:
    """``template`` once per chunk of ``values`` (every ``{ids}`` slot receives the chunk), sized for Composite."""
    values = list(values)
    budget = in_budget(template)
    if not values:
        return []
    if budget < 100:
        raise ValueError("query_in template leaves no room for its IN list under the WHERE limit")
    return [template.replace("{ids}", chunk) for chunk in chunked_in(values, max_chars=budget)]


def _subrequest_error(answer: dict) -> OrgError:
    """A refused Composite query subrequest as the ``OrgError`` ``query`` raises for the same answer."""
    status = answer.get("httpStatusCode")
    code, message, fields = first_error(answer.get("body"))
    text = f"{code}: {message}" if code and message else (code or message or f"HTTP {status}")
    if fields:
        text += f" [{', '.join(fields)}]"
    return OrgError(redact(f"query failed: {text}"), error_code=code, status=status)


def _transient(result: RecordResult | None) -> bool:
    return result is not None and not result.success and result.error_code in TRANSIENT_CODES


def is_query_subrequest(subrequest: dict) -> bool:
    """A Composite subrequest under the 5-per-call rule: query, queryAll, query more, sObject Collections."""
    return bool(_QUERY_URL_RE.match(str(subrequest.get("url", "")).strip()))


def composite_chunks(subrequests: list[dict]) -> list[list[dict]]:
    """``subrequests`` in order, cut into Composite calls of at most 25, at most 5 of them queries."""
    chunks: list[list[dict]] = []
    queries = 0
    for sub in subrequests:
        query = is_query_subrequest(sub)
        if not chunks or len(chunks[-1]) >= COMPOSITE_SIZE or (query and queries >= COMPOSITE_QUERIES):
            chunks.append([])
            queries = 0
        chunks[-1].append(sub)
        queries += query
    return chunks

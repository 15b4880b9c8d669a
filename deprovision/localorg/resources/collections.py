"""sObject Collections (``composite/sobjects``): create, update, delete and retrieve up to 200 records.

Answers HTTP 200 with one ``{id, success, errors: [{statusCode, message, fields}]}``
per record, in request order (reference/salesforce-api.md 5.7). ``allOrNone``
runs every record inside one ``store.transaction()``; when any fails, all are
rolled back, the failing ones keep their own error and every other record
gets ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Setup and non-setup objects: the reference (5.7) says only that they "can't be
mixed in one call"; Salesforce reports the mix per record, as a
``MIXED_DML_OPERATION`` on each record whose kind differs from the call's first
record (the same error Apex raises for a mixed transaction), so that is what
the local org answers. Records of the first kind are processed normally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deprovision.localorg import errors, ids, schema
from deprovision.localorg.http import Request, Response
from deprovision.localorg.resources.common import (
    auto_assign,
    in_version,
    record_values,
    resolve_type,
    split_csv_param,
)
from deprovision.localorg.routes import Ctx

MAX_RECORDS = 200
MAX_CHUNKS = 10
ROLLED_BACK = ("Record rolled back because not all records were valid and the request was using AllOrNone "
               "header")


class _Rollback(Exception):
    """Raised inside the transaction to undo an allOrNone call."""


def _limit_error() -> errors.SalesforceError:
    return errors.TOO_MANY_RECORDS("record limit reached. cannot submit more than 200 records into this call")


def _chunk_error() -> errors.SalesforceError:
    return errors.INVALID_BATCH_REQUEST(
        "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.")


def _as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _count_chunks(types: list[str | None]) -> int:
    chunks, previous = 0, object()
    for name in types:
        if name != previous:
            chunks += 1
            previous = name
    return chunks


def _mixed_error(spec: schema.ObjectSpec, first: schema.ObjectSpec) -> errors.SalesforceError:
    return errors.SalesforceError(
        "DML operation on setup object is not permitted after you have updated a non-setup object "
        f"(or vice versa): {spec.name}, original object: {first.name}", error_code="MIXED_DML_OPERATION")


def _result(record_id: str | None, error: errors.SalesforceError | None) -> dict:
    out: dict[str, Any] = {"id": record_id} if record_id else {}
    out["success"] = error is None
    out["errors"] = [] if error is None else [error.collection_error()]
    return out


def _run(ctx: Ctx, items: list[tuple[str | None, schema.ObjectSpec | None, errors.SalesforceError | None]],
         operation: Callable[[int, schema.ObjectSpec], str | None], all_or_none: bool) -> Response:
    """Apply ``operation`` per item (index, spec) and shape the per-record results."""
    first = next((spec for _, spec, _ in items if spec is not None), None)
    outcomes: list[tuple[str | None, errors.SalesforceError | None]] = []

    def apply_all() -> None:
        for index, (record_id, spec, problem) in enumerate(items):
            if problem is None and spec is not None and first is not None and spec.setup != first.setup:
                problem = _mixed_error(spec, first)
            if problem is not None or spec is None:
                outcomes.append((record_id, problem))
                continue
            try:  # each store write is its own savepoint: a refused record leaves nothing behind
                new_id = operation(index, spec)
                outcomes.append((new_id or record_id, None))
            except errors.SalesforceError as exc:
                outcomes.append((record_id, exc))

    if all_or_none:
        try:
            with ctx.store.transaction():
                apply_all()
                if any(err is not None for _, err in outcomes):
                    raise _Rollback
        except _Rollback:
            rolled = errors.ALL_OR_NONE_OPERATION_ROLLED_BACK(ROLLED_BACK)
            created = {index for index, _ in enumerate(items) if items[index][0] is None}
            outcomes = [(None if i in created else rid, err if err is not None else rolled)
                        for i, (rid, err) in enumerate(outcomes)]
    else:
        apply_all()
    return Response.json([_result(rid, err) for rid, err in outcomes])


def _records(request: Request) -> tuple[list[Any], bool]:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise errors.JSON_PARSER_ERROR("The request body must be an object with a 'records' array.")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise _limit_error()
    return records, _as_bool(body.get("allOrNone", False))


def _typed(record: Any, *, need_id: bool) -> tuple[str | None, schema.ObjectSpec | None,
                                                   errors.SalesforceError | None, dict]:
    if not isinstance(record, dict):
        return None, None, errors.JSON_PARSER_ERROR("Each record must be a JSON object."), {}
    values = record_values(record)
    type_name = (record.get("attributes") or {}).get("type") if isinstance(record.get("attributes"), dict) else None
    record_id = values.pop("id", None) or values.pop("Id", None)
    spec = schema.get_object(type_name) if type_name else None
    if not type_name:
        return record_id, None, errors.INVALID_TYPE("sObject type is required in the attributes of each record"), {}
    if spec is None:
        return record_id, None, errors.INVALID_TYPE(f"sObject type '{type_name}' is not supported."), {}
    if need_id and not record_id:
        return None, spec, errors.MALFORMED_ID("Id is required for an update", ["Id"]), {}
    if not need_id and record_id:
        return record_id, spec, errors.INVALID_FIELD("The Id field should not be specified in the sobject data."), {}
    return record_id, spec, None, values


def _check_chunks(specs: list[schema.ObjectSpec | None]) -> None:
    if _count_chunks([s.name if s else None for s in specs]) > MAX_CHUNKS:
        raise _chunk_error()


def create(ctx: Ctx, request: Request) -> Response:
    """``POST composite/sobjects``: create up to 200 records of any types."""
    records, all_or_none = _records(request)
    typed = [_typed(r, need_id=False) for r in records]
    _check_chunks([t[1] for t in typed])
    items = [(None, spec, err) for _, spec, err, _ in typed]
    assign = auto_assign(request)

    def operation(index: int, spec: schema.ObjectSpec) -> str:
        return ctx.store.create(spec.name, typed[index][3], actor_id=ctx.actor_id, auto_assign=assign)

    return _run(ctx, items, operation, all_or_none)


def update(ctx: Ctx, request: Request) -> Response:
    """``PATCH composite/sobjects``: update up to 200 records; ``Sforce-Auto-Assign`` honoured."""
    records, all_or_none = _records(request)
    typed = [_typed(r, need_id=True) for r in records]
    _check_chunks([t[1] for t in typed])
    assign = auto_assign(request)
    items = [(rid, spec, err) for rid, spec, err, _ in typed]

    def operation(index: int, spec: schema.ObjectSpec) -> None:
        ctx.store.update(spec.name, typed[index][0], typed[index][3], actor_id=ctx.actor_id, auto_assign=assign)

    return _run(ctx, items, operation, all_or_none)


def delete(ctx: Ctx, request: Request) -> Response:
    """``DELETE composite/sobjects?ids=a,b&allOrNone=false``."""
    record_ids = split_csv_param(request.query.get("ids"))
    if not record_ids:
        raise errors.MALFORMED_ID("ids is required", ["ids"])
    if len(record_ids) > MAX_RECORDS:
        raise _limit_error()
    items: list[tuple[str | None, schema.ObjectSpec | None, errors.SalesforceError | None]] = []
    for record_id in record_ids:
        spec = schema.object_for_id(record_id) if ids.is_valid_id(record_id) else None
        problem = None if spec else errors.MALFORMED_ID(f"malformed id {record_id}")
        items.append((record_id, spec, problem))
    _check_chunks([spec for _, spec, _ in items])

    def operation(index: int, spec: schema.ObjectSpec) -> None:
        ctx.store.delete(spec.name, items[index][0], actor_id=ctx.actor_id)

    return _run(ctx, items, operation, _as_bool(request.query.get("allOrNone", "false")))


def retrieve(ctx: Ctx, request: Request) -> Response:
    """``GET composite/sobjects/{type}?ids=&fields=`` (or POST with a JSON body): records, null when absent."""
    spec = resolve_type(ctx.param("type"))
    if request.method == "POST":
        body = request.json()
        record_ids = list(body.get("ids") or []) if isinstance(body, dict) else []
        fields = list(body.get("fields") or []) if isinstance(body, dict) else []
    else:
        record_ids = split_csv_param(request.query.get("ids"))
        fields = split_csv_param(request.query.get("fields"))
    if not fields:
        raise errors.SalesforceError("The fields parameter is required", error_code="INVALID_FIELD")
    if len(record_ids) > 2000:
        raise errors.TOO_MANY_RECORDS("record limit reached. cannot submit more than 2000 records into this call")
    out = []
    for record_id in record_ids:
        try:
            out.append(in_version(ctx.store.retrieve(spec.name, record_id, fields), ctx.version))
        except (errors.NOT_FOUND, errors.ENTITY_IS_DELETED, errors.MALFORMED_ID):
            out.append(None)
    return Response.json(out)

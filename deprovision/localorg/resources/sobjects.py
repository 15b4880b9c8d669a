"""sObject resources: describe global, basic info, describe, and one record's create/read/update/delete."""

from __future__ import annotations

from deprovision.localorg import describe as describing
from deprovision.localorg import errors, files, ids
from deprovision.localorg.http import Request, Response
from deprovision.localorg.resources.common import (
    auto_assign,
    in_version,
    record_values,
    resolve_type,
    split_csv_param,
)
from deprovision.localorg.routes import Ctx

_BASIC_KEYS = ("activateable", "createable", "custom", "customSetting", "deletable", "deprecatedAndHidden",
               "feedEnabled", "keyPrefix", "label", "labelPlural", "layoutable", "mergeable", "mruEnabled",
               "name", "queryable", "replicateable", "retrieveable", "searchable", "triggerable", "undeletable",
               "updateable", "urls")


def _not_modified(ctx: Ctx, request: Request) -> Response | None:
    """304 when ``If-Modified-Since`` is at or after the schema's last change (REST API Developer Guide,
    "sObject Describe" and "Describe Global": "If-Modified-Since ... 304 Not Modified")."""
    stamp = getattr(ctx.store, "schema_stamp", None)
    if stamp and describing.not_modified_since(request.header("If-Modified-Since"), stamp):
        return Response.empty(304)
    return None


def _last_modified(ctx: Ctx, response: Response) -> Response:
    stamp = getattr(ctx.store, "schema_stamp", None)
    if stamp:
        response.headers["Last-Modified"] = describing.http_date(stamp)
    return response


def describe_global(ctx: Ctx, request: Request) -> Response:
    """``GET sobjects``: every object's basic description."""
    return _not_modified(ctx, request) or _last_modified(
        ctx, Response.json(ctx.store.describe_global(api_version=ctx.version)))


def basic_info(ctx: Ctx, request: Request) -> Response:
    """``GET sobjects/{type}``: ``{"objectDescribe": {...}, "recentItems": []}``."""
    spec = resolve_type(ctx.param("type"))
    full = ctx.store.describe(spec.name, api_version=ctx.version)
    basic = {k: full[k] for k in _BASIC_KEYS if k in full}
    return Response.json({"objectDescribe": basic, "recentItems": []})


def describe(ctx: Ctx, request: Request) -> Response:
    """``GET sobjects/{type}/describe``: fields and flags, derived from the schema."""
    spec = resolve_type(ctx.param("type"))
    return _not_modified(ctx, request) or _last_modified(
        ctx, Response.json(ctx.store.describe(spec.name, api_version=ctx.version)))


def create(ctx: Ctx, request: Request) -> Response:
    """``POST sobjects/{type}``: 201 ``{id, success, errors}``."""
    spec = resolve_type(ctx.param("type"))
    values = record_values(request.json())
    if any(k.lower() == "id" for k in values):
        raise errors.INVALID_FIELD("The Id field should not be specified in the sobject data.")
    new_id = ctx.store.create(spec.name, values, actor_id=ctx.actor_id, auto_assign=auto_assign(request))
    return Response.json({"id": new_id, "success": True, "errors": []}, 201)


def retrieve(ctx: Ctx, request: Request) -> Response:
    """``GET sobjects/{type}/{id}[?fields=a,b]``: the record in REST shape."""
    spec = resolve_type(ctx.param("type"))
    fields = split_csv_param(request.query.get("fields")) or None
    return Response.json(in_version(ctx.store.retrieve(spec.name, ctx.param("id"), fields), ctx.version))


def update(ctx: Ctx, request: Request) -> Response:
    """``PATCH sobjects/{type}/{id}``: 204 with no body; ``Sforce-Auto-Assign: FALSE`` honoured."""
    spec = resolve_type(ctx.param("type"))
    values = record_values(request.json())
    values = {k: v for k, v in values.items() if not (k.lower() == "id" and v == ctx.param("id"))}
    ctx.store.update(spec.name, ctx.param("id"), values, actor_id=ctx.actor_id, auto_assign=auto_assign(request))
    return Response.empty(204)


def delete(ctx: Ctx, request: Request) -> Response:
    """``DELETE sobjects/{type}/{id}``: 204 with no body."""
    spec = resolve_type(ctx.param("type"))
    ctx.store.delete(spec.name, ctx.param("id"), actor_id=ctx.actor_id)
    return Response.empty(204)


# --- by external id / idLookup field: GET and upsert (PATCH) ---------------------------------------

# Salesforce accepts External ID and idLookup fields; the schema marks neither, so the local org takes these
# (Name and DeveloperName are a convenience: no object here has a custom External ID field).
_LOOKUP_FIELDS = ("Id", "Username", "Email", "FederationIdentifier", "EmployeeNumber", "DeveloperName", "Name")


def _lookup_field(spec, name: str):
    f = spec.field(name)
    if f is None or not (f.name in _LOOKUP_FIELDS or f.custom or f.id_lookup or f.external_id):
        raise errors.NOT_FOUND(f"Provided external ID field does not exist or is not accessible: {name}")
    return f


def _matches(ctx: Ctx, spec, field_name: str, value: str) -> list[str]:
    from deprovision.org.soql import soql_literal

    soql = f"SELECT Id FROM {spec.name} WHERE {field_name} = {soql_literal(value)} LIMIT 3"
    return [r["Id"] for r in ctx.store.query(soql).records]


def _multiple(ctx: Ctx, spec, found: list[str]) -> Response:
    return Response.json([f"{ctx.base}/sobjects/{spec.name}/{record_id}" for record_id in found], 300)


def retrieve_by_field(ctx: Ctx, request: Request) -> Response:
    """``GET sobjects/{type}/{field}/{value}``: the one record whose field has that value; for
    ``sobjects/{type}/{id}/{base64 field}`` the field's bytes (``blob``)."""
    spec = resolve_type(ctx.param("type"))
    blob_field = spec.field(ctx.param("value"))
    if blob_field is not None and blob_field.type == "base64" and ids.is_valid_id(ctx.param("field")):
        return blob(ctx, spec, ctx.param("field"), blob_field.name)
    f = _lookup_field(spec, ctx.param("field"))
    found = [ctx.param("value")] if f.name == "Id" else _matches(ctx, spec, f.name, ctx.param("value"))
    if not found:
        raise errors.NOT_FOUND("The requested resource does not exist")
    if len(found) > 1:
        return _multiple(ctx, spec, found)
    fields = split_csv_param(request.query.get("fields")) or None
    return Response.json(in_version(ctx.store.retrieve(spec.name, found[0], fields), ctx.version))


def blob(ctx: Ctx, spec, record_id: str, field_name: str) -> Response:
    """``GET sobjects/{type}/{id}/{field}`` of a base64 field: its raw bytes (REST API Developer Guide,
    "Get Blob Data": ContentVersion.VersionData, Attachment.Body, Document.Body)."""
    row = ctx.store.retrieve(spec.name, record_id, ["Id"])
    data = files.get(ctx.store, spec.name, row["Id"], field_name)
    if data is None:
        raise errors.NOT_FOUND("The requested resource does not exist")
    return Response(200, data, "application/octetstream")


def upsert(ctx: Ctx, request: Request) -> Response:
    """``PATCH sobjects/{type}/{field}/{value}``: update the match (200) or create one (201); 300 if several."""
    spec = resolve_type(ctx.param("type"))
    f = _lookup_field(spec, ctx.param("field"))
    values = record_values(request.json())
    value = ctx.param("value")
    if f.name == "Id":
        ctx.store.update(spec.name, value, values, actor_id=ctx.actor_id, auto_assign=auto_assign(request))
        return Response.json({"id": value, "success": True, "errors": [], "created": False}, 200)
    found = _matches(ctx, spec, f.name, value)
    if len(found) > 1:
        return _multiple(ctx, spec, found)
    if found:
        values = {k: v for k, v in values.items() if k.lower() != f.name.lower()}
        ctx.store.update(spec.name, found[0], values, actor_id=ctx.actor_id, auto_assign=auto_assign(request))
        return Response.json({"id": found[0], "success": True, "errors": [], "created": False}, 200)
    new_id = ctx.store.create(spec.name, {**values, f.name: value}, actor_id=ctx.actor_id,
                              auto_assign=auto_assign(request))
    return Response.json({"id": new_id, "success": True, "errors": [], "created": True}, 201)

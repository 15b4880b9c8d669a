"""Binary fields (``base64``: ContentVersion.VersionData, Attachment.Body, Document.Body) and files.

A base64 field's bytes live in the internal ``_blob`` table; its column holds
what Salesforce returns for the field in a record or a query: the URL of the
blob, ``/services/data/vXX.X/sobjects/ContentVersion/068.../VersionData``,
which ``GET`` answers with the raw bytes (REST API Developer Guide, "Get Blob
Data", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_blob_retrieve.htm).

Creating a ContentVersion without a ContentDocumentId creates its ContentDocument
and, with FirstPublishLocationId, the ContentDocumentLink to that record (Object
Reference, ContentVersion: "FirstPublishLocationId ... the document is
automatically shared with the location"; ContentDocument: "represents a document
... each document has one or more versions").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

from deprovision.localorg import errors
from deprovision.localorg import schema as s

if TYPE_CHECKING:
    from deprovision.localorg.store import Store

BLOB_TABLE = ('CREATE TABLE IF NOT EXISTS "_blob" (object TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, '
              "data BLOB NOT NULL, PRIMARY KEY (object, id, field))")
API_VERSION = "59.0"
# File types Salesforce derives from the extension of PathOnClient (ContentVersion.FileType).
_FILE_TYPES = {"pdf": "PDF", "txt": "TEXT", "csv": "CSV", "png": "PNG", "jpg": "JPG", "jpeg": "JPG", "gif": "GIF",
               "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL", "xlsx": "EXCEL_X", "ppt": "POWER_POINT",
               "pptx": "POWER_POINT_X", "zip": "ZIP", "html": "HTML", "xml": "XML", "json": "JSON"}


def decode(f: s.FieldSpec, value: object) -> bytes:
    """A base64 field's JSON value as bytes; JSON_PARSER_ERROR when it is not base64."""
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise errors.JSON_PARSER_ERROR(f"Cannot deserialize instance of base64 from VALUE_STRING value {value} "
                                       f"or request may be missing a required field", [f.name]) from None


def blob_url(obj: str, record_id: str, field: str, api_version: str = API_VERSION) -> str:
    """What a record shows for a base64 field: the URL of its bytes."""
    return f"/services/data/v{api_version}/sobjects/{obj}/{record_id}/{field}"


def put(conn: Any, obj: str, record_id: str, field: str, data: bytes) -> str:
    """Store a field's bytes; returns the value its column holds (the blob URL)."""
    conn.execute(BLOB_TABLE)
    conn.execute('INSERT INTO "_blob"(object, id, field, data) VALUES (?, ?, ?, ?) '
                 "ON CONFLICT(object, id, field) DO UPDATE SET data = excluded.data", (obj, record_id, field, data))
    return blob_url(obj, record_id, field)


def get(store: Store, obj: str, record_id: str, field: str) -> bytes | None:
    """A field's bytes, or None."""
    with store.lock:
        store.conn.execute(BLOB_TABLE)
        row = store.conn.execute('SELECT data FROM "_blob" WHERE object = ? AND id = ? AND field = ?',
                                 (obj, record_id, field)).fetchone()
    return None if row is None else bytes(row[0])


def file_facts(path: str | None, data: bytes) -> dict[str, object]:
    """ContentSize, Checksum, FileExtension and FileType of a version's bytes."""
    ext = path.rsplit(".", 1)[-1].lower() if path and "." in path else ""
    return {"ContentSize": len(data), "Checksum": hashlib.md5(data).hexdigest(),  # noqa: S324 - Salesforce's MD5
            "FileExtension": ext or None, "FileType": _FILE_TYPES.get(ext, "UNKNOWN")}


def before_write(store: Store, spec: s.ObjectSpec, record_id: str, data: dict, *, creating: bool) -> None:
    """Move the bytes of base64 fields to ``_blob`` and fill the fields Salesforce derives from them."""
    for f in spec.fields:
        value = data.get(f.name)
        if f.type != s.BASE64 or not isinstance(value, bytes):
            continue
        data[f.name] = put(store.conn, spec.name, record_id, f.name, value)
        if spec.name in ("Attachment", "Document"):
            data["BodyLength"] = len(value)
        elif spec.name == "ContentVersion":
            facts = file_facts(data.get("PathOnClient"), value)
            data.update({k: v for k, v in facts.items() if v is not None})
    if creating and spec.name == "ContentVersion":
        _new_version(store, record_id, data)


def _new_version(store: Store, record_id: str, data: dict) -> None:
    if not data.get("Title") and data.get("PathOnClient"):
        data["Title"] = str(data["PathOnClient"]).rsplit("/", 1)[-1].rsplit(".", 1)[0]
    data.setdefault("IsLatest", 1)
    if data.get("ContentDocumentId"):
        document_id = data["ContentDocumentId"]
        previous = store.select('SELECT COUNT(*) AS n FROM "ContentVersion" WHERE "ContentDocumentId" = ?',
                                (document_id,))[0]["n"]
        store.conn.execute('UPDATE "ContentVersion" SET "IsLatest" = 0 WHERE "ContentDocumentId" = ?', (document_id,))
        data["VersionNumber"] = str(previous + 1)
        store.update_row("ContentDocument", document_id, {
            "LatestPublishedVersionId": record_id, "Title": data.get("Title"), "ContentSize": data.get("ContentSize"),
            "FileType": data.get("FileType"), "FileExtension": data.get("FileExtension"),
            "ContentModifiedDate": store.now()})
        return
    owner = data.get("OwnerId") or data.get("CreatedById")
    document_id = store.system_write("ContentDocument", {
        "OwnerId": owner, "Title": data.get("Title"), "PublishStatus": "P", "LatestPublishedVersionId": record_id,
        "ContentSize": data.get("ContentSize"), "FileType": data.get("FileType"),
        "FileExtension": data.get("FileExtension"), "ContentModifiedDate": store.now()},
        actor_id=data.get("CreatedById") or owner)
    data["ContentDocumentId"] = document_id
    data["VersionNumber"] = "1"
    location = data.get("FirstPublishLocationId")
    if location:
        store.system_write("ContentDocumentLink", {"ContentDocumentId": document_id, "LinkedEntityId": location,
                                                   "ShareType": "V" if not location.startswith("005") else "I",
                                                   "Visibility": "AllUsers"},
                           actor_id=data.get("CreatedById") or owner)

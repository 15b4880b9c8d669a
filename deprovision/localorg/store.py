"""The local org's backend: records in SQLite and every Salesforce rule, without HTTP.

Tables follow the storage convention of docs/architecture.md (one table per
object, one column per field). Generic rules (unknown or read-only fields,
required fields, value types, references, owners) derive from ``schema``;
behaviour that really is special lives in ``rules``. Internal bookkeeping
(settings, id counters, tokens, credentials, API usage) sits in tables whose
names start with ``_`` and that no SOQL query can name.

Thread-safe: one connection (``check_same_thread=False``) guarded by a
re-entrant lock; a ``transaction()`` holds the lock until it ends.

Several processes may serve one database file at once (two ``deprovision`` runs
on one state folder): the file is in WAL mode, every connection waits up to
``BUSY_TIMEOUT_S`` for another's write lock, a transaction takes the write
lock when it starts (``BEGIN IMMEDIATE``, retried while another process holds
it), id counters are incremented in the database in one statement, and long
query streams read through a connection of their own (``stream_connection``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from deprovision.localorg import describe as describing
from deprovision.localorg import errors, files, ids, rules, schema, shapes, teams
from deprovision.localorg.settings import OrgSettings
from deprovision.localorg.soql import tables
from deprovision.localorg.soql.tables import sql_type

API_VERSION = "59.0"
ORG_ID = ids.make_id("00D", 1)  # the org id of databases created before each had its own


def org_id_for(nonce: str) -> str:
    """The org id of the database created with ``nonce`` (random, drawn once at creation): a valid
    18-character ``00D`` id, so every local org has its own id as real orgs do."""
    n = int.from_bytes(hashlib.sha256(nonce.encode()).digest()[:8], "big") % (62 ** 10 - 1) + 1
    return ids.make_id("00D", n)


_MEMORY = ":memory:"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INTERNAL_TABLES = (
    'CREATE TABLE IF NOT EXISTS "_meta" (key TEXT PRIMARY KEY, value TEXT)',
    'CREATE TABLE IF NOT EXISTS "_counter" (object TEXT PRIMARY KEY, n INTEGER NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "_token" (hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, session_id TEXT,'
    ' created TEXT NOT NULL, uses INTEGER NOT NULL DEFAULT 0)',
    'CREATE TABLE IF NOT EXISTS "_credential" (user_id TEXT PRIMARY KEY, salt TEXT NOT NULL,'
    ' password_hash TEXT NOT NULL, security_token TEXT)',
    'CREATE TABLE IF NOT EXISTS "_api_usage" (day TEXT PRIMARY KEY, used INTEGER NOT NULL)',
    'CREATE TABLE IF NOT EXISTS "_connected_app" (consumer_key TEXT PRIMARY KEY, name TEXT NOT NULL,'
    ' secret_hash TEXT NOT NULL, certificate_pem TEXT, private_key_pem TEXT, execution_user_id TEXT)',
)
_PASSWORD_ITERATIONS = 20_000
BUSY_TIMEOUT_S = 30.0  # how long a statement waits for another process's write lock
_MAX_IDLE_READERS = 4


# --------------------------------------------------------------------------------------------
# tables (storage convention; the DDL is the SOQL engine's ``soql.tables``)


def create_tables(conn: sqlite3.Connection, *, indexes: bool = True) -> None:
    """Create every object's table (the SOQL engine's DDL), the internal tables and, unless told not to,
    the indexes; columns added to the schema since the database was made are added too."""
    for spec in schema.current().objects:
        create, *index_sql = tables.table_ddl(spec)
        conn.execute(create)
        existing = {row[1] for row in conn.execute(f'PRAGMA table_info("{spec.name}")')}
        for f in spec.fields:
            if f.name not in existing:
                conn.execute(f'ALTER TABLE "{spec.name}" ADD COLUMN "{f.name}" {sql_type(f)}')
        if indexes:
            for stmt in index_sql:
                conn.execute(stmt)
    for stmt in _INTERNAL_TABLES:
        conn.execute(stmt)
    app_columns = {row[1] for row in conn.execute('PRAGMA table_info("_connected_app")')}
    if "execution_user_id" not in app_columns:
        conn.execute('ALTER TABLE "_connected_app" ADD COLUMN execution_user_id TEXT')


def create_indexes(conn: sqlite3.Connection) -> None:
    """Create the convention's indexes (idempotent; the scale seed calls it after its inserts)."""
    for spec in schema.current().objects:
        for stmt in tables.table_ddl(spec)[1:]:
            conn.execute(stmt)


# --------------------------------------------------------------------------------------------
# values


def now_text(moment: datetime | None = None) -> str:
    """A datetime in storage form: ``YYYY-MM-DDTHH:MM:SS.000+0000`` (UTC)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def field_label(f: schema.FieldSpec) -> str:
    """The label Salesforce uses in messages: ``OwnerId`` -> ``Owner ID``."""
    if f.label:
        return f.label
    if f.is_reference and f.name.endswith("Id") and len(f.name) > 2:
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", f.name[:-2]) + " ID"
    return f.name


def _parser_error(f: schema.FieldSpec, value: object, kind: str) -> errors.SalesforceError:
    return errors.JSON_PARSER_ERROR(
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} "
        f"or request may be missing a required field", [f.name])


def _parse_datetime(text: str) -> datetime:
    t = text.strip().replace("Z", "+00:00")
    t = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", t)
    moment = datetime.fromisoformat(t)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def to_storage(f: schema.FieldSpec, value: object) -> object:
    """Validate ``value`` for field ``f`` and convert it to its storage form (None stays None)."""
    if value is None or (value == "" and f.type not in (schema.BOOLEAN,)):
        return None
    if isinstance(value, (dict, list)):
        raise errors.JSON_PARSER_ERROR(f"Cannot deserialize instance of {f.type} from START_OBJECT value",
                                       [f.name])
    t = f.type
    if t == schema.BOOLEAN:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise _parser_error(f, value, "boolean")
    if t in (schema.INT, schema.LONG):
        if isinstance(value, bool):
            raise _parser_error(f, value, "int")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _parser_error(f, value, "int") from None
        if number != int(number):
            raise _parser_error(f, value, "int")
        return int(number)
    if t in (schema.DOUBLE, schema.CURRENCY, schema.PERCENT):
        if isinstance(value, bool):
            raise _parser_error(f, value, "double")
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _parser_error(f, value, "double") from None
    if t == schema.DATE:
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise _parser_error(f, value, "date") from None
    if t == schema.DATETIME:
        try:
            return now_text(_parse_datetime(str(value)))
        except ValueError:
            raise _parser_error(f, value, "datetime") from None
    if t == schema.BASE64:
        return files.decode(f, value)  # bytes; the store moves them to _blob
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value)
    if t == schema.REFERENCE:
        if not ids.is_valid_id(text):
            raise errors.MALFORMED_ID(f"{field_label(f)}: id value of incorrect type: {text}", [f.name])
        return ids.to18(text)
    if len(text) > f.length:
        raise errors.SalesforceError(
            f"{field_label(f)}: data value too large: {text[:40]} (max length={f.length})", [f.name],
            error_code="STRING_TOO_LONG")
    if t == schema.EMAIL and not _EMAIL.match(text):
        raise errors.SalesforceError(f"{field_label(f)}: invalid email address: {text}", [f.name],
                                     error_code="INVALID_EMAIL_ADDRESS")
    if t == schema.PICKLIST and f.restricted_picklist and f.picklist_values and text not in f.picklist_values:
        raise errors.SalesforceError(f"{field_label(f)}: bad value for restricted picklist field: {text}",
                                     [f.name], error_code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    return text


def from_storage(f: schema.FieldSpec, value: object) -> object:
    """A stored value in its REST (JSON) form."""
    if value is None:
        return None
    if f.type == schema.BOOLEAN:
        return bool(value)
    return value


def record_url(obj: str, record_id: str | None, api_version: str = API_VERSION) -> str:
    """The ``attributes.url`` of a record (or of the object when ``record_id`` is None)."""
    base = f"/services/data/v{api_version}/sobjects/{obj}"
    return f"{base}/{record_id}" if record_id else base


def _method_not_allowed(spec: schema.ObjectSpec, method: str) -> errors.SalesforceError:
    allowed = ["GET", "HEAD"]
    if spec.updateable:
        allowed.append("PATCH")
    if spec.deletable:
        allowed.append("DELETE")
    return errors.METHOD_NOT_ALLOWED(f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRefused(errors.SalesforceError):
    """A login or token request for a user who may not log in (unknown, inactive or frozen)."""

    error_code = "INVALID_LOGIN"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__("authentication failure")
        self.reason = reason  # "unknown", "inactive", "frozen", "password"


@dataclass(frozen=True)
class ConnectedApp:
    """A connected app registered in the org: what the OAuth endpoints check."""

    consumer_key: str
    name: str
    certificate_pem: str | None
    execution_user_id: str | None  # the user client-credentials tokens run as
    _secret_hash: str

    def check_secret(self, secret: str) -> bool:
        """True when ``secret`` is this app's consumer secret."""
        return hmac.compare_digest(_hash_token(secret), self._secret_hash)


# --------------------------------------------------------------------------------------------
# the store


class Store:
    """One local org: its records, settings, sessions and API usage."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._counters: dict[str, int] = {}
        self._readers: list[sqlite3.Connection] = []  # idle stream connections (``stream_connection``)
        self._readers_lock = threading.Lock()
        self._closed = False
        self.settings = OrgSettings.from_json(self._meta("settings"))
        self.org_id = self._meta("org_id") or ORG_ID
        self.schema = shapes.schema_from_text(self._meta("shape"))  # the org's shape, kept in the database
        self._shaped = self.schema is not schema.BASE
        if self._shaped:
            schema.push(self.schema)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, shape: dict | None = None) -> Store:
        """Open (creating on first use) the org database at ``path``; ``":memory:"`` works too.

        ``shape`` (``shapes.py``) shapes a new database; an existing one keeps the shape it was made with."""
        conn = _connect(str(path))
        _prepare_shape(conn, shape)
        store = cls(conn, str(path))
        create_tables(conn)
        if store._meta("org_id") is None:
            nonce = secrets.token_hex(16)
            store._set_meta("db_nonce", nonce)
            store._set_meta("org_id", org_id_for(nonce))
            store.org_id = org_id_for(nonce)
            store._set_meta("settings", store.settings.to_json())
        return store

    @classmethod
    def open_copy(cls, template: str | Path, path: str | Path = _MEMORY) -> Store:
        """A fresh store at ``path`` holding a copy of the database ``template`` (fast: SQLite backup)."""
        source = sqlite3.connect(str(template))
        try:
            conn = _connect(str(path))
            source.backup(conn)
        finally:
            source.close()
        if str(path) != _MEMORY:
            conn.execute("PRAGMA journal_mode=WAL")
        _prepare_shape(conn, None)
        store = cls(conn, str(path))
        create_tables(conn)
        return store

    def close(self) -> None:
        """Close the database connection (and give back the schema it made active)."""
        with self._readers_lock:
            self._closed = True
            idle, self._readers = self._readers, []
        for reader in idle:
            reader.close()
        with self._lock:
            self._conn.close()
        if self._shaped:
            schema.pop(self.schema)
            self._shaped = False

    @property
    def schema_stamp(self) -> str:
        """When this org's schema last changed (storage form): what ``If-Modified-Since`` is compared with."""
        return self._meta("schema_stamp") or "2026-01-01T00:00:00.000+0000"

    @property
    def conn(self) -> sqlite3.Connection:
        """The raw connection (for the SOQL engine and seeds; hold ``lock`` while using it)."""
        return self._conn

    @property
    def lock(self) -> threading.RLock:
        """The lock every use of ``conn`` holds."""
        return self._lock

    def stream_connection(self) -> sqlite3.Connection | None:
        """A connection of its own for a long query stream (None for an in-memory org: use ``conn``).

        A stream's open statement holds a read snapshot; on the shared connection it would stop that
        connection from writing once another process has written (SQLITE_BUSY_SNAPSHOT)."""
        if self.path == _MEMORY or self.path.startswith("file::memory:"):
            return None
        with self._readers_lock:
            if self._readers:
                return self._readers.pop()
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        return conn

    def release_stream_connection(self, conn: sqlite3.Connection) -> None:
        """Give back a stream's connection (its snapshot ended); a few are kept for the next streams, since
        opening one reads the whole schema again."""
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._readers_lock:
                if len(self._readers) < _MAX_IDLE_READERS and not self._closed:
                    self._readers.append(conn)
                    return
        conn.close()

    @property
    def api_user_id(self) -> str | None:
        """The org's API user (the seeded administrator), or None in an unseeded org."""
        return self._meta("api_user_id")

    def set_api_user(self, user_id: str) -> None:
        """Name the org's API user (seeds do this)."""
        with self._lock:
            self._set_meta("api_user_id", user_id)

    # --- meta, settings, counters ------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute('SELECT value FROM "_meta" WHERE key = ?', (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute('INSERT INTO "_meta"(key, value) VALUES (?, ?) '
                           'ON CONFLICT(key) DO UPDATE SET value = excluded.value', (key, value))

    def configure(self, **changes: object) -> OrgSettings:
        """Change org settings (names as in ``OrgSettings``) and persist them.

        User settings (``*_id``, ``*_ids``) also take usernames, stored as the users' ids.
        """
        with self._lock:
            for name, value in list(changes.items()):
                if name.endswith("_id") and isinstance(value, str):
                    changes[name] = self._user_ref(value)
                elif name.endswith("_ids") and isinstance(value, list):
                    changes[name] = [self._user_ref(v) for v in value]
            self.settings = self.settings.changed(**changes)
            self._set_meta("settings", self.settings.to_json())
            return self.settings

    def _user_ref(self, value: str) -> str:
        if "@" not in value:
            return ids.to18(value)
        user = self.user_by_username(value)
        if user is None:
            raise ValueError(f"no user with username {value!r}")
        return user["Id"]

    def next_number(self, key: str) -> int:
        """The next value of the persistent counter ``key`` (1, 2, ...): one statement in the database, so
        two processes serving the same file never hand out the same number."""
        with self._lock:
            return self._conn.execute('INSERT INTO "_counter"(object, n) VALUES (?, 1) '
                                      'ON CONFLICT(object) DO UPDATE SET n = n + 1 RETURNING n', (key,)).fetchone()[0]

    def next_id(self, obj: str) -> str:
        """A new record id for ``obj`` from its per-object counter."""
        spec = self.spec(obj)
        return ids.make_id(spec.key_prefix, self.next_number(spec.name))

    def set_counter(self, obj: str, n: int) -> None:
        """Set ``obj``'s id counter (seeds call this after bulk inserts)."""
        with self._lock:
            self._counters[obj] = n
            self._conn.execute('INSERT INTO "_counter"(object, n) VALUES (?, ?) '
                               'ON CONFLICT(object) DO UPDATE SET n = excluded.n', (obj, n))

    def now(self) -> str:
        """The current time in storage form."""
        return now_text(self.clock())

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is kept together or rolled back together (nests: inner ones are SAVEPOINTs;
        the outermost takes the database's write lock first, so another process cannot interleave)."""
        with self._lock:
            self._depth += 1
            name = f"sp{self._depth}"
            began = self._depth == 1 and not self._conn.in_transaction
            if began:
                try:
                    _begin_immediate(self._conn)
                except BaseException:
                    self._depth -= 1
                    raise
            self._conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                self._counters.clear()
                raise
            else:
                self._conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
                if began and self._conn.in_transaction:
                    self._conn.execute("COMMIT")  # after RELEASE or ROLLBACK TO: keeps what is left

    # --- schema --------------------------------------------------------------------------------

    def spec(self, obj: str) -> schema.ObjectSpec:
        """The object called ``obj``; NOT_FOUND (404) when there is none."""
        spec = schema.get_object(obj)
        if spec is None:
            raise errors.NOT_FOUND("The requested resource does not exist")
        return spec

    def describe(self, obj: str, *, api_version: str = API_VERSION) -> dict:
        """The describe of ``obj`` in Salesforce's shape (``describe.py``)."""
        return describing.describe(self.schema, self.spec(obj), api_version)

    def describe_global(self, *, api_version: str = API_VERSION) -> dict:
        """``/sobjects``: every object with its flags."""
        return describing.describe_global(self.schema, api_version)

    # --- reading -------------------------------------------------------------------------------

    def row(self, obj: str, record_id: str) -> dict | None:
        """The stored row (storage form, deleted rows included) or None."""
        with self._lock:
            cur = self._conn.execute(f'SELECT * FROM "{obj}" WHERE "Id" = ?', (record_id,))
            data = cur.fetchone()
            if data is None:
                return None
            return dict(zip([c[0] for c in cur.description], data, strict=True))

    def _live_row(self, spec: schema.ObjectSpec, record_id: str) -> dict:
        if not isinstance(record_id, str) or not ids.is_valid_id(record_id):
            raise errors.MALFORMED_ID(f"{spec.name} ID: id value of incorrect type: {record_id}", ["Id"])
        record_id = ids.to18(record_id)
        if record_id[:3] != spec.key_prefix:
            raise errors.NOT_FOUND("The requested resource does not exist")
        row = self.row(spec.name, record_id)
        if row is None:
            raise errors.NOT_FOUND("The requested resource does not exist")
        if row.get("IsDeleted"):
            raise errors.ENTITY_IS_DELETED("entity is deleted")
        return row

    def retrieve(self, obj: str, record_id: str, fields: list[str] | None = None, *,
                 api_version: str = API_VERSION) -> dict:
        """One record in REST shape; ``fields`` limits the fields (unknown ones: INVALID_FIELD)."""
        spec = self.spec(obj)
        wanted = []
        for name in fields or [f.name for f in spec.fields]:
            f = spec.field(name)
            if f is None:
                raise errors.INVALID_FIELD(f"No such column '{name}' on sobject of type {spec.name}")
            wanted.append(f)
        row = self._live_row(spec, record_id)
        out: dict[str, Any] = {"attributes": {"type": spec.name,
                                              "url": record_url(spec.name, row["Id"], api_version)}}
        for f in wanted:
            out[f.name] = from_storage(f, row.get(f.name))
        return out

    def query(self, soql: str, *, include_deleted: bool = False, **options: Any):
        """Run SOQL through the SOQL engine (options such as ``api_version`` pass through); a QueryResult."""
        from deprovision.localorg import soql as engine

        with self._lock:
            return engine.execute(self._conn, soql, include_deleted=include_deleted, **options)

    def select(self, sql: str, params: tuple | list = ()) -> list[dict]:
        """Plain SQL read returning rows as dicts (for rules, seeds and tests)."""
        with self._lock:
            cur = self._conn.execute(sql, params)
            names = [c[0] for c in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # --- writing -------------------------------------------------------------------------------

    def create(self, obj: str, values: dict, *, actor_id: str, auto_assign: bool = False) -> str:
        """Create a record; returns its id. Raises SalesforceError subclasses."""
        spec = self.spec(obj)
        if not spec.createable:
            raise _method_not_allowed(spec, "POST")
        with self.transaction():
            data = self._clean(spec, values, creating=True)
            for f in spec.fields:
                if f.name not in data and f.default is not None and f.createable:
                    data[f.name] = to_storage(f, f.default)
            if spec.has_owner and data.get("OwnerId") is None:
                data["OwnerId"] = actor_id
            missing = [f.name for f in spec.fields if not f.nillable and f.createable
                       and not f.defaulted_on_create and data.get(f.name) is None]
            if missing:
                raise errors.REQUIRED_FIELD_MISSING(f"Required fields are missing: [{', '.join(missing)}]",
                                                    missing)
            for name, value in data.items():
                f = spec.field(name)
                if f is not None and f.is_reference and value is not None:
                    self.check_reference(spec, f, value)
            existing = rules.before_create(self, spec, data, actor_id)
            if existing is not None:
                return existing
            record_id = self.next_id(spec.name)
            stamp = self.now()
            for f in spec.fields:  # read-only defaults (IsClosed, IsActive, ...)
                if f.name not in data and f.default is not None:
                    data[f.name] = to_storage(f, f.default)
            data.update({"Id": record_id, "IsDeleted": 0, "CreatedDate": stamp, "LastModifiedDate": stamp,
                         "SystemModstamp": stamp, "CreatedById": actor_id, "LastModifiedById": actor_id})
            rules.derive(spec, data)
            files.before_write(self, spec, record_id, data, creating=True)
            self.insert_row(spec.name, data)
            rules.after_create(self, spec, data, actor_id)
            if auto_assign:
                rules.apply_assignment_rule(self, spec, record_id, actor_id)
            return record_id

    def update(self, obj: str, record_id: str, values: dict, *, actor_id: str, auto_assign: bool = True,
               owner_change: teams.OwnerChangeOptions | None = None) -> None:
        """Update fields of a record. ``auto_assign=False`` is the ``Sforce-Auto-Assign: FALSE`` header;
        ``owner_change`` the SOAP ``OwnerChangeOptions`` header (every other path deletes teams: ``teams``)."""
        spec = self.spec(obj)
        if not spec.updateable:
            raise _method_not_allowed(spec, "PATCH")
        with self.transaction():
            old = self._live_row(spec, record_id)
            values = {k: v for k, v in values.items()
                      if k != "attributes" and not (k.lower() == "id" and ids.to18(str(v)) == old["Id"])}
            changes = self._clean(spec, values, creating=False)
            missing = [n for n, v in changes.items() if v is None and not spec.field(n).nillable]
            if missing:
                raise errors.REQUIRED_FIELD_MISSING(f"Required fields are missing: [{', '.join(missing)}]",
                                                    missing)
            changes = {n: v for n, v in changes.items() if v != old.get(n)}
            for name, value in changes.items():
                f = spec.field(name)
                if f.is_reference and value is not None:
                    self.check_reference(spec, f, value)
            rules.before_update(self, spec, old, changes, actor_id)
            new = dict(old)
            new.update(changes)
            rules.derive(spec, new)
            changes = {k: v for k, v in new.items() if v != old.get(k)}
            stamp = self.now()
            changes.update({"LastModifiedDate": stamp, "SystemModstamp": stamp, "LastModifiedById": actor_id})
            files.before_write(self, spec, old["Id"], changes, creating=False)
            self.update_row(spec.name, old["Id"], changes)
            rules.after_update(self, spec, old, changes, actor_id)
            teams.on_owner_change(self, spec, old, changes, options=owner_change)
            if auto_assign:
                rules.apply_assignment_rule(self, spec, old["Id"], actor_id)

    def update_owners(self, obj: str, items: list[tuple[str, object]], *, actor_id: str
                      ) -> list[errors.SalesforceError | None]:
        """Owner-only updates of many records in one pass: per item (record id, new OwnerId) its error or None.

        The same checks, in the same order, and the same side effects as ``update`` with ``auto_assign=False``
        for each item, but rows are read and written in sets and each distinct new owner is checked once.
        Objects with rules of their own (User, UserLogin), and items naming one record twice (the second
        update sees the first), go through ``update`` one by one.
        """
        spec = self.spec(obj)
        normal = [ids.to18(r) if isinstance(r, str) and ids.is_valid_id(r) else None for r, _ in items]
        wanted = sorted({r for r in normal if r is not None})
        if spec.name in ("User", "UserLogin") or not spec.updateable or len(wanted) < sum(map(bool, normal)):
            return [self._update_one(spec.name, rid, {"OwnerId": owner}, actor_id) for rid, owner in items]
        outcome: list[errors.SalesforceError | None] = [None] * len(items)
        with self.transaction():
            found: dict[str, dict] = {}
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                marks = ", ".join("?" for _ in part)
                for row in self.select(f'SELECT "Id", "OwnerId", "IsDeleted" FROM "{spec.name}" '
                                       f'WHERE "Id" IN ({marks})', part):
                    found[row["Id"]] = row
            owners: dict[object, tuple[object, errors.SalesforceError | None]] = {}
            checked: dict[object, errors.SalesforceError | None] = {}
            changed: list[tuple[dict, object]] = []
            touched: list[str] = []
            for index, (record_id, value) in enumerate(items):
                try:
                    old = self._found_row(spec, record_id, normal[index], found)
                    if value not in owners:
                        owners[value] = self._owner_value(spec, value)
                    new_owner, problem = owners[value]
                    if problem is not None:
                        raise problem
                    if new_owner != old.get("OwnerId") and new_owner is not None:
                        if new_owner not in checked:
                            checked[new_owner] = self._reference_problem(spec, "OwnerId", new_owner)
                        if checked[new_owner] is not None:
                            raise checked[new_owner]
                except errors.SalesforceError as exc:
                    outcome[index] = exc
                    continue
                touched.append(old["Id"])
                if new_owner != old.get("OwnerId"):
                    changed.append((old, new_owner))
            stamp = self.now()
            new_of = {old["Id"]: owner for old, owner in changed}
            self._conn.executemany(
                f'UPDATE "{spec.name}" SET "OwnerId" = ?, "LastModifiedDate" = ?, "SystemModstamp" = ?, '
                f'"LastModifiedById" = ? WHERE "Id" = ?',
                [(new_of[rid] if rid in new_of else found[rid]["OwnerId"], stamp, stamp, actor_id, rid)
                 for rid in touched])
            teams.on_owner_changes(self, spec, changed)
        return outcome

    def _update_one(self, obj: str, record_id: str, values: dict, actor_id: str) -> errors.SalesforceError | None:
        try:
            self.update(obj, record_id, values, actor_id=actor_id, auto_assign=False)
        except errors.SalesforceError as exc:
            return exc
        return None

    @staticmethod
    def _found_row(spec: schema.ObjectSpec, record_id: object, normal: str | None, found: dict[str, dict]) -> dict:
        """``_live_row``'s answer from rows read beforehand (``normal``: the 18-character id, None if invalid)."""
        if normal is None:
            raise errors.MALFORMED_ID(f"{spec.name} ID: id value of incorrect type: {record_id}", ["Id"])
        row = found.get(normal)
        if normal[:3] != spec.key_prefix or row is None:
            raise errors.NOT_FOUND("The requested resource does not exist")
        if row.get("IsDeleted"):
            raise errors.ENTITY_IS_DELETED("entity is deleted")
        return row

    def _owner_value(self, spec: schema.ObjectSpec, value: object) -> tuple[object, errors.SalesforceError | None]:
        """The storage form of a new OwnerId, or the error ``update`` raises for it before any write."""
        try:
            changes = self._clean(spec, {"OwnerId": value}, creating=False)
            if changes.get("OwnerId") is None and not spec.field("OwnerId").nillable:
                raise errors.REQUIRED_FIELD_MISSING("Required fields are missing: [OwnerId]", ["OwnerId"])
        except errors.SalesforceError as exc:
            return None, exc
        return changes["OwnerId"], None

    def _reference_problem(self, spec: schema.ObjectSpec, name: str, value: object) -> errors.SalesforceError | None:
        try:
            self.check_reference(spec, spec.field(name), value)
        except errors.SalesforceError as exc:
            return exc
        return None

    def delete(self, obj: str, record_id: str, *, actor_id: str) -> None:
        """Delete a record (soft: ``IsDeleted`` = true, still visible to queryAll)."""
        spec = self.spec(obj)
        if not spec.deletable:
            raise _method_not_allowed(spec, "DELETE")
        with self.transaction():
            row = self._live_row(spec, record_id)
            rules.before_delete(self, spec, row, actor_id)
            stamp = self.now()
            self.update_row(spec.name, row["Id"], {"IsDeleted": 1, "LastModifiedDate": stamp,
                                                   "SystemModstamp": stamp, "LastModifiedById": actor_id})
            rules.after_delete(self, spec, row, actor_id)

    def insert_row(self, obj: str, data: dict) -> None:
        """Insert a row as given (no rules); keys are column names."""
        cols = ", ".join(f'"{k}"' for k in data)
        marks = ", ".join("?" for _ in data)
        with self._lock:
            self._conn.execute(f'INSERT INTO "{obj}" ({cols}) VALUES ({marks})', list(data.values()))

    def update_row(self, obj: str, record_id: str, changes: dict) -> None:
        """Update a row's columns as given (no rules)."""
        if not changes:
            return
        sets = ", ".join(f'"{k}" = ?' for k in changes)
        with self._lock:
            self._conn.execute(f'UPDATE "{obj}" SET {sets} WHERE "Id" = ?', [*changes.values(), record_id])

    def system_write(self, obj: str, values: dict, *, actor_id: str) -> str:
        """Insert a record bypassing createable flags (system-made rows: UserLogin, audit trail, ...)."""
        spec = self.spec(obj)
        record_id = self.next_id(spec.name)
        stamp = self.now()
        data = {f.name: to_storage(f, f.default) for f in spec.fields if f.default is not None}
        data.update(values)
        data.update({"Id": record_id, "IsDeleted": 0, "CreatedDate": stamp, "LastModifiedDate": stamp,
                     "SystemModstamp": stamp, "CreatedById": actor_id, "LastModifiedById": actor_id})
        self.insert_row(spec.name, data)
        return record_id

    def _clean(self, spec: schema.ObjectSpec, values: dict, *, creating: bool) -> dict:
        """Validate field names, flags and values; returns storage-form values keyed by real names."""
        out: dict[str, object] = {}
        locked = []
        for name, value in values.items():
            if name == "attributes":
                continue
            f = spec.field(name)
            if f is None:
                raise errors.INVALID_FIELD(f"No such column '{name}' on sobject of type {spec.name}", [name])
            if f.name == "Id":
                raise errors.INVALID_FIELD("The Id field should not be specified in the sobject data.")
            allowed = f.createable if creating else f.updateable
            if not allowed or f.calculated:
                locked.append(f.name)
                continue
            out[f.name] = to_storage(f, value)
        if locked:
            raise errors.INVALID_FIELD_FOR_INSERT_UPDATE(
                f"Unable to create/update fields: {', '.join(locked)}. Please check the security settings of this "
                f"field and verify that it is read/write for your profile or permission set.", locked)
        return out

    def check_reference(self, spec: schema.ObjectSpec, f: schema.FieldSpec, value: str) -> None:
        """A reference must point at a live record of an allowed type (owners: see rules)."""
        target = schema.object_for_id(value)
        if target is None or target.name not in f.reference_to:
            raise errors.FIELD_INTEGRITY_EXCEPTION(f"{field_label(f)}: id value of incorrect type: {value}",
                                                   [f.name])
        row = self.row(target.name, value)
        if row is None or row.get("IsDeleted"):
            raise errors.INVALID_CROSS_REFERENCE_KEY("invalid cross reference id", [f.name])
        rules.check_reference_target(self, spec, f, target, row)

    # --- audit trail -------------------------------------------------------------------------------

    def audit(self, action: str, section: str, display: str, *, actor_id: str) -> None:
        """Append one SetupAuditTrail row."""
        self.system_write("SetupAuditTrail", {"Action": action, "Section": section, "Display": display[:1000]},
                          actor_id=actor_id)

    # --- credentials and sessions ---------------------------------------------------------------

    def set_password(self, user_id: str, password: str, security_token: str | None = None) -> None:
        """Give a user a password (and security token) for the password login flows."""
        salt = secrets.token_hex(8)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), _PASSWORD_ITERATIONS).hex()
        with self._lock:
            self._conn.execute('INSERT INTO "_credential"(user_id, salt, password_hash, security_token) '
                               'VALUES (?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET salt = excluded.salt, '
                               'password_hash = excluded.password_hash, security_token = excluded.security_token',
                               (user_id, salt, digest, security_token))

    def user_by_username(self, username: str) -> dict | None:
        """The User row with this username (case-insensitive), or None."""
        rows = self.select('SELECT * FROM "User" WHERE lower("Username") = lower(?) AND "IsDeleted" = 0',
                           (username,))
        return rows[0] if rows else None

    def verify_password(self, username: str, password: str) -> dict:
        """The User row when ``password`` (optionally followed by the security token) is right.

        Raises LoginRefused (reason ``unknown``, ``password``, ``inactive`` or ``frozen``).
        """
        user = self.user_by_username(username)
        if user is None:
            raise LoginRefused("unknown")
        creds = self.select('SELECT * FROM "_credential" WHERE user_id = ?', (user["Id"],))
        if not creds:
            raise LoginRefused("password")
        cred = creds[0]
        candidates = [password]
        token = cred["security_token"]
        if token and password.endswith(token):
            candidates.append(password[: -len(token)])
        for candidate in candidates:
            digest = hashlib.pbkdf2_hmac("sha256", candidate.encode(), cred["salt"].encode(),
                                         _PASSWORD_ITERATIONS).hex()
            if hmac.compare_digest(digest, cred["password_hash"]):
                self.check_can_log_in(user["Id"])
                return user
        raise LoginRefused("password")

    def check_can_log_in(self, user_id: str) -> dict:
        """The User row if that user may log in; LoginRefused if unknown, inactive or frozen."""
        user = self.row("User", user_id) if ids.is_valid_id(user_id) else None
        if user is None or user["IsDeleted"]:
            raise LoginRefused("unknown")
        if not user["IsActive"]:
            raise LoginRefused("inactive")
        if self.is_frozen(user_id):
            raise LoginRefused("frozen")
        return user

    def is_frozen(self, user_id: str) -> bool:
        """True when the user's UserLogin is frozen."""
        rows = self.select('SELECT "IsFrozen" FROM "UserLogin" WHERE "UserId" = ? AND "IsDeleted" = 0', (user_id,))
        return bool(rows and rows[0]["IsFrozen"])

    def issue_token(self, user_id: str, *, login_type: str = "Remote Access 2.0", source_ip: str = "127.0.0.1") -> str:
        """A new access token (``00D…!…``) for an active, unfrozen user; opens an AuthSession."""
        with self.transaction():
            user = self.check_can_log_in(ids.to18(user_id))
            token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48).replace('-', '.')}"  # sf CLI: 00D\w+![.\w]*
            session_id = self.system_write("AuthSession", {
                "UsersId": user["Id"], "SessionType": "Oauth2", "LoginType": login_type, "SourceIp": source_ip,
                "NumSecondsValid": 7200, "UserType": "Standard", "IsCurrent": 0,
                "SessionSecurityLevel": "STANDARD"}, actor_id=user["Id"])
            self._conn.execute('INSERT INTO "_token"(hash, user_id, session_id, created) VALUES (?, ?, ?, ?)',
                               (_hash_token(token), user["Id"], session_id, self.now()))
            self.update_row("User", user["Id"], {"LastLoginDate": self.now()})
            return token

    def user_for_token(self, token: str) -> dict:
        """The User row behind an access token; INVALID_SESSION_ID (401) when it is not valid."""
        invalid = errors.INVALID_SESSION_ID("Session expired or invalid")
        if not token:
            raise invalid
        with self._lock:
            rows = self.select('SELECT * FROM "_token" WHERE hash = ?', (_hash_token(token),))
            if not rows:
                raise invalid
            tok = rows[0]
            session = self.row("AuthSession", tok["session_id"]) if tok["session_id"] else None
            if session is not None and session["IsDeleted"]:
                raise invalid
            user = self.row("User", tok["user_id"])
            if user is None or not user["IsActive"]:
                raise invalid
            if self.settings.freeze_ends_sessions and self.is_frozen(user["Id"]):
                raise invalid
            limit = self.settings.token_max_uses
            if limit is not None:
                if tok["uses"] >= limit:
                    raise invalid
                self._conn.execute('UPDATE "_token" SET uses = uses + 1 WHERE hash = ?', (tok["hash"],))
            return user

    def revoke_token(self, token: str) -> bool:
        """Revoke an access token, or an OauthToken by its DeleteToken (the row disappears). True if found."""
        with self.transaction():
            digest = _hash_token(token)
            rows = self.select('SELECT * FROM "_token" WHERE hash = ?', (digest,))
            if rows:
                self._conn.execute('DELETE FROM "_token" WHERE hash = ?', (digest,))
                if rows[0]["session_id"]:
                    self.update_row("AuthSession", rows[0]["session_id"], {"IsDeleted": 1})
                return True
            cur = self._conn.execute('DELETE FROM "OauthToken" WHERE "DeleteToken" = ?', (token,))
            return cur.rowcount > 0

    def register_connected_app(self, consumer_key: str, consumer_secret: str, *, name: str,
                               certificate_pem: str | None = None, private_key_pem: str | None = None,
                               execution_user_id: str | None = None) -> None:
        """Register a connected app (secret stored hashed; the private key only for local testing)."""
        with self._lock:
            self._conn.execute(
                'INSERT INTO "_connected_app"(consumer_key, name, secret_hash, certificate_pem, private_key_pem, '
                'execution_user_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(consumer_key) DO UPDATE SET '
                'name = excluded.name, secret_hash = excluded.secret_hash, certificate_pem = excluded.certificate_pem, '
                'private_key_pem = excluded.private_key_pem, execution_user_id = excluded.execution_user_id',
                (consumer_key, name, _hash_token(consumer_secret), certificate_pem, private_key_pem,
                 execution_user_id))

    def connected_app(self, consumer_key: str) -> ConnectedApp | None:
        """The connected app with this consumer key, or None."""
        rows = self.select('SELECT * FROM "_connected_app" WHERE consumer_key = ?', (consumer_key,))
        if not rows:
            return None
        r = rows[0]
        return ConnectedApp(r["consumer_key"], r["name"], r["certificate_pem"], r["execution_user_id"],
                            r["secret_hash"])

    def connected_app_private_key(self, consumer_key: str) -> str | None:
        """The private key (PEM) of a locally generated connected app: a test fixture of the local org."""
        rows = self.select('SELECT private_key_pem FROM "_connected_app" WHERE consumer_key = ?', (consumer_key,))
        return rows[0]["private_key_pem"] if rows else None

    # --- API limits ----------------------------------------------------------------------------

    def api_limit(self) -> int:
        """The daily API request allocation."""
        if self.settings.daily_api_limit is not None:
            return self.settings.daily_api_limit
        rows = self.select('SELECT COALESCE(SUM("TotalLicenses"), 0) AS n FROM "UserLicense" '
                           "WHERE \"Name\" IN ('Salesforce', 'Salesforce Platform') AND \"IsDeleted\" = 0")
        return 100_000 + 1_000 * int(rows[0]["n"])

    def api_usage(self) -> tuple[int, int]:
        """(used today, daily maximum) without counting a call."""
        rows = self.select('SELECT used FROM "_api_usage" WHERE day = ?', (self.now()[:10],))
        return (rows[0]["used"] if rows else 0), self.api_limit()

    def count_api_call(self) -> tuple[int, int]:
        """Count one API request; returns (used, max); REQUEST_LIMIT_EXCEEDED (403) past the max."""
        limit = self.api_limit()
        with self._lock:
            day = self.now()[:10]
            used = self._conn.execute(
                'INSERT INTO "_api_usage"(day, used) VALUES (?, 1) ON CONFLICT(day) DO UPDATE SET used = used + 1 '
                "RETURNING used", (day,)).fetchone()[0]
        if used > limit:
            raise errors.REQUEST_LIMIT_EXCEEDED("TotalRequests Limit exceeded.")
        return used, limit

    def set_api_usage(self, used: int) -> None:
        """Set today's API usage (tests and demos of the limit)."""
        with self._lock:
            self._conn.execute('INSERT INTO "_api_usage"(day, used) VALUES (?, ?) '
                               'ON CONFLICT(day) DO UPDATE SET used = excluded.used', (self.now()[:10], used))


def _begin_immediate(conn: sqlite3.Connection, deadline_s: float = 4 * BUSY_TIMEOUT_S) -> None:
    """``BEGIN IMMEDIATE``, retried with a growing pause while SQLite answers SQLITE_BUSY (another process
    writes; the busy handler does not cover every case, e.g. a WAL snapshot that moved)."""
    start = time.monotonic()
    pause = 0.005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() - start > deadline_s:
                raise
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, 0.5)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    if path != _MEMORY:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


def _prepare_shape(conn: sqlite3.Connection, shape: dict | None) -> None:
    """Record a new database's shape and schema timestamp (an existing database keeps its own)."""
    conn.execute(_INTERNAL_TABLES[0])
    stored = conn.execute('SELECT value FROM "_meta" WHERE key = \'shape\'').fetchone()
    if stored is None and shape is not None:
        conn.execute('INSERT INTO "_meta"(key, value) VALUES (\'shape\', ?)', (shapes.to_text(shape),))
    if conn.execute('SELECT 1 FROM "_meta" WHERE key = \'schema_stamp\'').fetchone() is None:
        conn.execute('INSERT INTO "_meta"(key, value) VALUES (\'schema_stamp\', ?)', (now_text(),))

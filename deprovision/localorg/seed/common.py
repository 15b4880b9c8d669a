"""Bulk insertion for seeds: rows per object, ids from counters, one executemany per object.

Seeds bypass the store's rules for speed, so they must write what the rules
would have written (UserLogin and profile assignment per user, aggregate
permission sets per group); ``Seeder.user`` does that.
"""

from __future__ import annotations

from collections import defaultdict

from deprovision.localorg import ids, rules, schema
from deprovision.localorg.store import Store, sql_type, to_storage

SEED_TIME = "2026-01-05T09:00:00.000+0000"


class Seeder:
    """Collects rows per object and writes them with ``executemany`` in one transaction."""

    def __init__(self, store: Store, *, actor_id: str | None = None) -> None:
        self.store = store
        self.actor_id = actor_id or ids.make_id("005", 1)
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.counters: dict[str, int] = {}
        for row in store.select('SELECT object, n FROM "_counter"'):
            self.counters[row["object"]] = row["n"]

    def new_id(self, obj: str) -> str:
        """The next id of ``obj``."""
        n = self.counters.get(obj, 0) + 1
        self.counters[obj] = n
        return ids.make_id(schema.get_object(obj).key_prefix, n)

    def add(self, obj: str, values: dict, *, created: str = SEED_TIME, record_id: str | None = None) -> str:
        """Queue one row; values are in REST form (booleans as bool); returns its id."""
        spec = schema.get_object(obj)
        if spec is None:  # an object this org's shape lacks (a custom object, Territory Management off)
            return ids.make_id("000", 0)
        record_id = record_id or self.new_id(obj)
        row = {f.name: f.default for f in spec.fields if f.default is not None}
        row.update(values)
        row.update({"Id": record_id, "IsDeleted": False, "CreatedDate": created, "LastModifiedDate": created,
                    "SystemModstamp": created, "CreatedById": values.get("CreatedById", self.actor_id),
                    "LastModifiedById": values.get("LastModifiedById", self.actor_id)})
        self.rows[obj].append(row)
        return record_id

    def user(self, values: dict, *, frozen: bool = False, created: str = SEED_TIME) -> str:
        """Queue a User with its UserLogin and its profile-owned permission set assignment."""
        user_id = self.add("User", values, created=created)
        self.add("UserLogin", {"UserId": user_id, "IsFrozen": frozen, "IsPasswordLocked": False}, created=created)
        profile_ps = self.profile_ps[values["ProfileId"]]
        self.add("PermissionSetAssignment", {"AssigneeId": user_id, "PermissionSetId": profile_ps}, created=created)
        return user_id

    profile_ps: dict[str, str]  # profile id -> its profile-owned permission set id (set by the empty seed)

    def flush(self) -> None:
        """Write every queued row (derived fields computed, values converted) and the id counters."""
        conn = self.store.conn
        with self.store.transaction():
            for obj, rows in self.rows.items():
                spec = schema.get_object(obj)
                if spec is None or not rows:  # an object this org's shape lacks (only read, never added)
                    continue
                given = set().union(*(row.keys() for row in rows))
                if obj in ("User", "Contact", "Lead"):
                    given.add("Name")
                if obj in ("Opportunity", "Case", "Task"):
                    given.add("IsClosed")
                if obj == "Opportunity":
                    given.add("IsWon")
                used = [f for f in spec.fields if f.name in given]  # the others stay NULL (or their DEFAULT)
                names = [f.name for f in used]
                converters = [_converter(f) for f in used]
                cols = ", ".join(f'"{n}"' for n in names)
                marks = ", ".join("?" for _ in names)
                sql = f'INSERT INTO "{obj}" ({cols}) VALUES ({marks})'
                derive = obj in ("User", "Contact", "Lead", "Opportunity", "Case", "Task")
                batch = []
                for row in rows:
                    if derive:
                        rules.derive(spec, row)
                    batch.append([conv(row.get(n)) for n, conv in zip(names, converters, strict=True)])
                conn.executemany(sql, batch)
            for obj, n in self.counters.items():
                self.store.set_counter(obj, n)
        self.rows.clear()


def _converter(f: schema.FieldSpec):
    kind = sql_type(f)
    if f.type == schema.BOOLEAN:
        return lambda v: None if v is None else int(bool(v))
    if f.type in (schema.DATE, schema.DATETIME, schema.REFERENCE):
        return lambda v: v
    if kind == "TEXT":
        return lambda v: v
    return lambda v: None if v is None else to_storage(f, v)

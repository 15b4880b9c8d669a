"""Objects of the local org, described as data.

Everything else (SQLite tables, ``describe``, SOQL validation, the generic
create/update/delete rules) derives from these descriptions. The standard
objects, with their fields and describe flags, are data in
``data/standard_objects.json`` (taken from recorded describes of real orgs and
the Salesforce Object Reference); an org's *shape* (``shapes.py``: custom and
managed objects and fields, record types, features such as Territory
Management or person accounts) is laid over them to give one ``Schema``.

``get_object`` / ``object_for_id`` / ``OBJECTS`` answer for the active schema:
the default shape unless a store opened on a differently shaped org made its
own schema active (``activate``). Only behaviour that really is special
(UserLogin, OauthToken, deactivation, ...) is code, in ``rules.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

# Salesforce field types (describe's "type" values).
ID, STRING, BOOLEAN, REFERENCE, DATETIME, DATE = "id", "string", "boolean", "reference", "datetime", "date"
PICKLIST, EMAIL, INT, DOUBLE, CURRENCY, TEXTAREA, PHONE = (
    "picklist", "email", "int", "double", "currency", "textarea", "phone",
)
PERCENT, LONG, URL, BASE64, ADDRESS, LOCATION, COMBOBOX, MULTIPICKLIST, TIME = (
    "percent", "long", "url", "base64", "address", "location", "combobox", "multipicklist", "time",
)
NUMBER_TYPES = frozenset({INT, DOUBLE, CURRENCY, PERCENT, LONG})
TEXT_TYPES = frozenset({STRING, PICKLIST, EMAIL, TEXTAREA, PHONE, URL, COMBOBOX, MULTIPICKLIST, "encryptedstring"})
COMPOUND_TYPES = frozenset({ADDRESS, LOCATION})

_SOAP_TYPES = {ID: "tns:ID", REFERENCE: "tns:ID", BOOLEAN: "xsd:boolean", INT: "xsd:int", DOUBLE: "xsd:double",
               CURRENCY: "xsd:double", PERCENT: "xsd:double", DATE: "xsd:date", DATETIME: "xsd:dateTime",
               TIME: "xsd:time", BASE64: "xsd:base64Binary", ADDRESS: "urn:address", LOCATION: "urn:location",
               LONG: "xsd:long", "anyType": "xsd:anyType"}
DATA_FILE = Path(__file__).with_name("data") / "standard_objects.json"
MASTER_RECORD_TYPE_ID = "012000000000000AAA"


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object, with the flags ``describe`` reports.

    ``default`` is what the store writes when a create leaves the field out; the describe facts
    (``defaulted_on_create``, ``filterable``, ...) are None where they follow from the type.
    """

    name: str
    type: str = STRING
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    default: object = None
    calculated: bool = False
    custom: bool = False
    length: int = 255
    picklist_values: tuple[str, ...] = ()
    label: str = ""
    # describe facts
    defaulted_on_create: bool | None = None
    filterable: bool | None = None
    sortable: bool | None = None
    groupable: bool | None = None
    aggregatable: bool | None = None
    id_lookup: bool = False
    name_field: bool = False
    unique: bool = False
    external_id: bool = False
    auto_number: bool = False
    restricted_picklist: bool = False
    picklist_labels: tuple[str, ...] = ()
    picklist_default: str | None = None
    flags: frozenset[str] = frozenset()  # the other true describe flags, by describe name
    extras: tuple[tuple[str, object], ...] = ()  # other describe attributes (precision, compoundFieldName, ...)
    child_relationship: str | None = None  # the parent's name for this field's children (Account -> Contacts)
    child_cascade_delete: bool = False
    child_restricted_delete: bool = False
    hierarchy: bool = False  # a custom User -> User hierarchy lookup

    @property
    def is_reference(self) -> bool:
        return self.type == REFERENCE

    @property
    def soap_type(self) -> str:
        return str(dict(self.extras).get("soapType") or _SOAP_TYPES.get(self.type, "xsd:string"))


@dataclass(frozen=True)
class RecordTypeSpec:
    """A record type of an object (besides the Master record type every object has)."""

    developer_name: str
    label: str
    record_type_id: str
    default: bool = False


@dataclass(frozen=True)
class ObjectSpec:
    """One sObject type: its key prefix, which calls it supports, its fields, its describe flags."""

    name: str
    key_prefix: str
    fields: tuple[FieldSpec, ...]
    setup: bool = False  # setup objects never share a Collections call with data objects
    queue_ownable: bool = False  # a queue may own it if QueueSobject lists it
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    custom: bool = False
    label: str = ""
    label_plural: str = ""
    describe_flags: tuple[tuple[str, object], ...] = ()  # activateable, feedEnabled, replicateable, ...
    record_types: tuple[RecordTypeSpec, ...] = ()
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The reference field whose relationship name is ``name`` (case-insensitive)."""
        lname = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lname:
                return f
        return None

    @property
    def has_owner(self) -> bool:
        return self.field("OwnerId") is not None

    def flag(self, name: str, default: object = False) -> object:
        """A describe flag (``feedEnabled``, ``replicateable``, ...)."""
        return dict(self.describe_flags).get(name, default)


@dataclass(frozen=True)
class ChildRelationship:
    """One entry of a describe's ``childRelationships``."""

    child: str
    field: str
    relationship_name: str | None
    cascade_delete: bool
    restricted_delete: bool


class Schema:
    """One org's objects: the standard ones with the shape's customisations and features applied."""

    def __init__(self, objects: tuple[ObjectSpec, ...], *, shape: dict | None = None) -> None:
        self.objects = objects
        self.shape = shape or {}
        self._by_name = {o.name.lower(): o for o in objects}
        self._by_prefix = {o.key_prefix: o for o in objects}

    def get(self, name: str) -> ObjectSpec | None:
        """The object called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    def for_id(self, record_id: str) -> ObjectSpec | None:
        """The object whose key prefix starts ``record_id``, or None."""
        return self._by_prefix.get(record_id[:3])

    @cached_property
    def _children(self) -> dict[str, list[ChildRelationship]]:
        out: dict[str, list[ChildRelationship]] = {}
        for obj in self.objects:
            for f in obj.fields:
                if not f.is_reference or f.name in ("CreatedById", "LastModifiedById"):
                    continue
                for target in f.reference_to:
                    out.setdefault(target, []).append(ChildRelationship(
                        obj.name, f.name, f.child_relationship, f.child_cascade_delete, f.child_restricted_delete))
        return out

    def child_relationships(self, name: str) -> list[ChildRelationship]:
        """Every reference field of every object pointing at ``name``, sorted as Salesforce sorts them."""
        return sorted(self._children.get(name, []), key=lambda c: (c.child, c.field))


# --------------------------------------------------------------------------------------------
# loading the standard objects


_FLAG_NAMES: dict[str, str] = {}


def _field_from_data(row: list, flag_names: dict[str, str]) -> FieldSpec:
    name, ftype, label, length, letters, extras = row
    flags = {flag_names[ch] for ch in letters}
    extras = dict(extras)
    picklist = extras.pop("picklistValues", [])
    values = tuple(p[0] for p in picklist)
    labels = tuple(p[1] for p in picklist)
    picklist_default = next((p[0] for p in picklist if len(p) > 2 and p[2]), None)
    child = extras.pop("child", None)
    storage_default = extras.pop("_storageDefault", None)
    reference_to = tuple(extras.pop("referenceTo", ()))
    relationship_name = extras.pop("relationshipName", None)
    describe_default = extras.get("defaultValue")
    default = storage_default
    if default is None:
        if picklist_default is not None:
            default = picklist_default
        elif ftype == BOOLEAN and "calculated" not in flags:
            default = bool(describe_default) if describe_default is not None else False
    known = ("createable", "updateable", "nillable", "calculated", "defaultedOnCreate", "filterable", "sortable",
             "groupable", "aggregatable", "idLookup", "nameField", "unique", "externalId", "autoNumber",
             "restrictedPicklist")
    return _fast_field(
        name=name, type=ftype, reference_to=reference_to, relationship_name=relationship_name,
        createable="createable" in flags, updateable="updateable" in flags, nillable="nillable" in flags,
        default=default, calculated="calculated" in flags, custom=name.endswith("__c"), length=int(length or 0),
        picklist_values=values, label=label, defaulted_on_create="defaultedOnCreate" in flags,
        filterable="filterable" in flags, sortable="sortable" in flags, groupable="groupable" in flags,
        aggregatable="aggregatable" in flags, id_lookup="idLookup" in flags, name_field="nameField" in flags,
        unique="unique" in flags, external_id="externalId" in flags, auto_number="autoNumber" in flags,
        restricted_picklist="restrictedPicklist" in flags, picklist_labels=labels, picklist_default=picklist_default,
        flags=frozenset(flags - set(known)), extras=tuple(sorted(extras.items())),
        child_relationship=child[0] if child else None, child_cascade_delete=bool(child and child[1]),
        child_restricted_delete=bool(child and child[2]))


_FIELD_DEFAULTS = {f.name: f.default for f in fields(FieldSpec)}


def _fast_field(**values: object) -> FieldSpec:
    """A FieldSpec without the frozen dataclass's ``__init__`` (one ``object.__setattr__`` per attribute):
    start-up builds about 1,100 of them."""
    spec = object.__new__(FieldSpec)
    spec.__dict__.update(_FIELD_DEFAULTS)
    spec.__dict__.update(values)
    return spec


_OBJECT_KEYS = ("name", "keyPrefix", "label", "labelPlural", "setup", "queueOwnable", "createable", "updateable",
                "deletable", "queryable", "fields")


def _person_name(fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """A person's Name (User, Contact, Lead) is made from FirstName and LastName: the local org computes it."""
    if not any(f.name == "LastName" for f in fields):
        return fields
    return tuple(replace(f, calculated=True, flags=f.flags | {"compoundName"}) if f.name == "Name" else f
                 for f in fields)


def _object_from_data(data: dict, flag_names: dict[str, str]) -> ObjectSpec:
    flags = tuple(sorted((k, v if not isinstance(v, list) else tuple(
        tuple(sorted(x.items())) if isinstance(x, dict) else x for x in v)) for k, v in data.items()
        if k not in _OBJECT_KEYS))
    return ObjectSpec(
        data["name"], data["keyPrefix"], _person_name(tuple(_field_from_data(r, flag_names) for r in data["fields"])),
        setup=data.get("setup", False), queue_ownable=data.get("queueOwnable", False),
        createable=data.get("createable", True), updateable=data.get("updateable", True),
        deletable=data.get("deletable", True), queryable=data.get("queryable", True),
        label=data.get("label") or data["name"], label_plural=data.get("labelPlural") or "",
        describe_flags=flags)


def load_standard_objects(path: Path = DATA_FILE) -> tuple[ObjectSpec, ...]:
    """The standard objects of ``data/standard_objects.json``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    flag_names = data["fieldFlags"]
    return tuple(_object_from_data(o, flag_names) for o in data["objects"])


STANDARD_OBJECTS: tuple[ObjectSpec, ...] = load_standard_objects()


def _default_schema() -> Schema:
    from deprovision.localorg.shapes import DEFAULT_SHAPE, build_schema

    return build_schema(DEFAULT_SHAPE)


BASE: Schema = _default_schema()
OBJECTS: tuple[ObjectSpec, ...] = BASE.objects  # the default shape's objects
_active: Schema = BASE


def current() -> Schema:
    """The active schema (the default shape unless a differently shaped org is open)."""
    return _active


def activate(new: Schema) -> Schema:
    """Make ``new`` the active schema; returns the one it replaces (to restore later)."""
    global _active
    previous, _active = _active, new
    return previous


_open_shaped: list[Schema] = []  # schemas of the shaped stores now open, most recent last


def push(opened: Schema) -> None:
    """A store of a non-default shape opened: its schema becomes the active one."""
    _open_shaped.append(opened)
    activate(opened)


def pop(closed: Schema) -> None:
    """That store closed: the most recently opened shaped store still open wins, else the default shape."""
    for i in range(len(_open_shaped) - 1, -1, -1):
        if _open_shaped[i] is closed:
            del _open_shaped[i]
            break
    activate(_open_shaped[-1] if _open_shaped else BASE)


def get_object(name: str) -> ObjectSpec | None:
    """The object called ``name`` (case-insensitive), or None."""
    return _active.get(name)


def object_for_id(record_id: str) -> ObjectSpec | None:
    """The object whose key prefix starts ``record_id``, or None."""
    return _active.for_id(record_id)

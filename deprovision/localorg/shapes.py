"""Org shapes: what makes one local org's schema unlike another's.

A shape is a small mapping (a YAML or JSON file, ``shapes/*.yaml``) laid over
the standard objects of ``schema``:

```yaml
name: custom
features: {territory_management: false, person_accounts: false}
record_types: {Account: [Customer, Partner]}
objects:                                # custom and managed-package objects
  acme__Thing__c:
    label: Thing
    owner: user_or_queue                # user (default), user_or_queue, or none
    fields:
      acme__Amount__c: {type: currency}
      acme__Account__c: {type: reference, to: Account, child: Things__r}
fields:                                 # custom fields on standard objects
  User: {Mentor__c: {type: reference, to: User, hierarchy: true}}
  Account: {Region__c: {type: picklist, values: [EMEA, NA, APAC]}}
custom_objects: 300                     # generated Bench_0001__c ... (discovery benchmarks)
```

Tables, describe, SOQL validation and the store's rules all read the ``Schema``
``build_schema`` returns. A store keeps its shape in its database, so a served
org and a re-opened file agree.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any


class _SchemaModule:
    """``schema``, looked up when used: ``schema`` imports this module while it is itself being imported."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sys.modules["deprovision.localorg.schema"], name)


s: Any = _SchemaModule()
SHAPES_DIR = Path(__file__).with_name("shapes")
TERRITORY_OBJECTS = ("Territory2", "Territory2Model", "Territory2Type", "UserTerritory2Association")
# Objects whose polymorphic "parent" lookups list every activity-enabled custom object (Object Reference:
# Task.WhatId, Event.WhatId, Attachment.ParentId, Note.ParentId, ContentDocumentLink.LinkedEntityId).
_PARENT_LOOKUPS = (("Task", "WhatId"), ("Event", "WhatId"), ("Attachment", "ParentId"), ("Note", "ParentId"),
                   ("ContentDocumentLink", "LinkedEntityId"), ("ContentVersion", "FirstPublishLocationId"))

# The demo org's shape: one custom object, one custom hierarchy lookup on User, two record types.
DEFAULT_SHAPE: dict[str, Any] = {
    "name": "default",
    "features": {"territory_management": True, "person_accounts": False},
    "record_types": {"Account": ["Customer", "Partner"], "Case": ["Support", "Internal"]},
    "objects": {
        "Project__c": {
            "label": "Project", "key_prefix": "a01", "owner": "user_or_queue", "queue_ownable": True,
            "fields": {
                "Status__c": {"type": "picklist", "values": ["Planned", "In Progress", "Completed", "Cancelled"]},
                "Account__c": {"type": "reference", "to": "Account", "child": "Projects__r"},
            },
        },
    },
    "fields": {
        "User": {"Backup_Approver__c": {"type": "reference", "to": "User", "hierarchy": True,
                                        "label": "Backup Approver", "child": "Backup_Approvers__r"}},
    },
}


class ShapeError(ValueError):
    """A shape file that does not describe an org."""


def load_shape_file(path: str | Path) -> dict[str, Any]:
    """A shape from a YAML or JSON file."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ShapeError(f"{path}: a shape is a mapping")
    return data


def with_generated_objects(shape: dict[str, Any] | None, count: int) -> dict[str, Any]:
    """``shape`` (default: the demo's) plus ``count`` generated custom objects."""
    out = dict(shape or DEFAULT_SHAPE)
    out["custom_objects"] = int(out.get("custom_objects") or 0) + count
    return out


def to_text(shape: dict[str, Any]) -> str:
    """The canonical JSON text of a shape (what a database stores)."""
    return json.dumps(shape, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=16)
def schema_from_text(text: str | None) -> s.Schema:
    """The schema of a stored shape (None: the default shape)."""
    if text is None:
        return s.BASE
    shape = json.loads(text)
    if to_text(shape) == to_text(DEFAULT_SHAPE):
        return s.BASE
    return build_schema(shape)


# --------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    bare = re.sub(r"__c$", "", name)
    bare = re.sub(r"^[A-Za-z0-9]+__", "", bare)  # managed namespace
    return bare.replace("_", " ")


_TYPE_LENGTH = {"string": 255, "textarea": 32768, "picklist": 255, "email": 80, "phone": 40, "url": 255,
                "multipicklist": 4099}


def _custom_field(obj: str, name: str, spec: dict[str, Any]) -> s.FieldSpec:
    if not name.endswith("__c"):
        raise ShapeError(f"{obj}.{name}: custom field names end in __c")
    ftype = str(spec.get("type", s.STRING)).lower()
    ftype = {"text": s.STRING, "number": s.DOUBLE, "checkbox": s.BOOLEAN, "lookup": s.REFERENCE,
             "longtextarea": s.TEXTAREA, "datetime": s.DATETIME}.get(ftype, ftype)
    targets = spec.get("to") or ()
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    if ftype == s.REFERENCE and not targets:
        raise ShapeError(f"{obj}.{name}: a reference names its target with 'to'")
    values = tuple(str(v) for v in spec.get("values", ()))
    length = int(spec.get("length") or _TYPE_LENGTH.get(ftype, 0))
    extras: dict[str, object] = {}
    if ftype in (s.CURRENCY, s.DOUBLE, s.PERCENT):
        extras.update(precision=int(spec.get("precision", 18)), scale=int(spec.get("scale", 2)))
    if ftype == s.TEXTAREA and length > 255:
        extras["extraTypeInfo"] = "plaintextarea"
    if spec.get("hierarchy"):
        extras["relationshipOrder"] = None
    boolean = ftype == s.BOOLEAN
    long_text = ftype == s.TEXTAREA and length > 255
    return s.FieldSpec(
        name, ftype, reference_to=targets, relationship_name=name[:-3] + "__r" if ftype == s.REFERENCE else None,
        createable=True, updateable=True, nillable=not boolean and not spec.get("required"),
        default=(bool(spec.get("default", False)) if boolean else spec.get("default")), custom=True,
        length=length, picklist_values=values, label=str(spec.get("label") or _label(name)),
        defaulted_on_create=boolean or spec.get("default") is not None,
        filterable=not long_text, sortable=not long_text and ftype != s.MULTIPICKLIST,
        groupable=ftype in (s.STRING, s.PICKLIST, s.BOOLEAN, s.REFERENCE, s.EMAIL, s.PHONE, s.URL, s.DATE, s.INT),
        aggregatable=not boolean and not long_text and ftype != s.MULTIPICKLIST,
        unique=bool(spec.get("unique")), external_id=bool(spec.get("external_id")),
        id_lookup=bool(spec.get("external_id")), restricted_picklist=bool(spec.get("restricted")),
        picklist_labels=values, flags=frozenset({"permissionable"} if not spec.get("required") else ()),
        extras=tuple(sorted(extras.items())), child_relationship=spec.get("child"),
        child_cascade_delete=bool(spec.get("master_detail")), hierarchy=bool(spec.get("hierarchy")))


def _system_fields(obj: str, owner: str) -> list[s.FieldSpec]:
    """The fields every custom object has (Object Reference, "Custom Objects": standard fields)."""
    ro = {"createable": False, "updateable": False, "nillable": False, "defaulted_on_create": True,
          "filterable": True, "sortable": True}
    fields = [
        s.FieldSpec("Id", s.ID, label="Record ID", length=18, id_lookup=True, groupable=True, aggregatable=True, **ro),
    ]
    if owner != "none":
        targets = ("Group", "User") if owner == "user_or_queue" else ("User",)
        fields.append(s.FieldSpec("OwnerId", s.REFERENCE, reference_to=targets, relationship_name="Owner",
                                  nillable=False, defaulted_on_create=True, label="Owner ID", length=18,
                                  groupable=True, aggregatable=True, filterable=True, sortable=True))
    fields += [
        s.FieldSpec("IsDeleted", s.BOOLEAN, default=False, label="Deleted", groupable=True, **ro),
        s.FieldSpec("CreatedDate", s.DATETIME, label="Created Date", aggregatable=True, **ro),
        s.FieldSpec("CreatedById", s.REFERENCE, reference_to=("User",), relationship_name="CreatedBy",
                    label="Created By ID", length=18, groupable=True, aggregatable=True, **ro),
        s.FieldSpec("LastModifiedDate", s.DATETIME, label="Last Modified Date", aggregatable=True, **ro),
        s.FieldSpec("LastModifiedById", s.REFERENCE, reference_to=("User",), relationship_name="LastModifiedBy",
                    label="Last Modified By ID", length=18, groupable=True, aggregatable=True, **ro),
        s.FieldSpec("SystemModstamp", s.DATETIME, label="System Modstamp", aggregatable=True, **ro),
        s.FieldSpec("LastActivityDate", s.DATE, createable=False, updateable=False, label="Last Activity Date",
                    filterable=True, sortable=True, groupable=True, aggregatable=True),
        s.FieldSpec("LastViewedDate", s.DATETIME, createable=False, updateable=False, label="Last Viewed Date",
                    filterable=True, sortable=True, aggregatable=True),
        s.FieldSpec("LastReferencedDate", s.DATETIME, createable=False, updateable=False,
                    label="Last Referenced Date", filterable=True, sortable=True, aggregatable=True),
    ]
    return fields


def _prefixes(used: set[str]):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    for first in "a":
        for second in digits:
            for third in digits:
                prefix = first + second + third
                if prefix not in used and prefix != "a00":
                    yield prefix


def _custom_object(name: str, spec: dict[str, Any], prefix: str) -> s.ObjectSpec:
    if not name.endswith("__c"):
        raise ShapeError(f"{name}: custom object names end in __c")
    owner = str(spec.get("owner", "user"))
    if owner not in ("user", "user_or_queue", "none"):
        raise ShapeError(f"{name}: owner is user, user_or_queue or none")
    label = str(spec.get("label") or _label(name))
    fields = _system_fields(name, owner)
    name_type = spec.get("name_field", "text")
    if name_type == "autonumber":
        fields.insert(2, s.FieldSpec("Name", s.STRING, createable=False, updateable=False, nillable=False,
                                     label=f"{label} Number", length=80, defaulted_on_create=True, name_field=True,
                                     auto_number=True, id_lookup=True, filterable=True, sortable=True,
                                     groupable=True, aggregatable=True))
    else:
        fields.insert(2, s.FieldSpec("Name", s.STRING, nillable=False, label=f"{label} Name", length=80,
                                     name_field=True, id_lookup=True, filterable=True, sortable=True,
                                     groupable=True, aggregatable=True))
    fields += [_custom_field(name, fname, fspec or {}) for fname, fspec in (spec.get("fields") or {}).items()]
    plural = str(spec.get("plural") or label + "s")
    flags = {"activateable": False, "compactLayoutable": True, "deepCloneable": False, "feedEnabled": False,
             "mergeable": False, "mruEnabled": True, "replicateable": True, "retrieveable": True,
             "searchable": True, "triggerable": True, "undeletable": True, "layoutable": True,
             "searchLayoutable": True, "customSetting": False,
             "supportedScopes": (((("label", f"All {plural.lower()}"), ("name", "everything"))),
                                 ((("label", f"My {plural.lower()}"), ("name", "mine")))) if owner != "none" else ()}
    return s.ObjectSpec(name, str(spec.get("key_prefix") or prefix), tuple(fields), custom=True,
                        queue_ownable=bool(spec.get("queue_ownable", owner == "user_or_queue")),
                        label=label, label_plural=plural, describe_flags=tuple(sorted(flags.items())))


def _generated_objects(count: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n in range(1, count + 1):
        out[f"Bench_{n:04d}__c"] = {
            "label": f"Bench {n:04d}", "owner": "user_or_queue" if n % 3 == 0 else "user",
            "fields": {"Amount__c": {"type": "currency"}, "Status__c": {"type": "picklist",
                                                                       "values": ["Open", "Closed"]},
                       "Account__c": {"type": "reference", "to": "Account", "child": f"Bench_{n:04d}s__r"},
                       "Reviewer__c": {"type": "reference", "to": "User", "child": f"Bench_{n:04d}_Reviews__r"}},
        }
    return out


def _with_fields(obj: s.ObjectSpec, extra: list[s.FieldSpec]) -> s.ObjectSpec:
    """``obj`` with ``extra`` fields: a field of the same name is replaced in place, new ones go last."""
    by_name = {f.name.lower(): f for f in extra}
    kept = tuple(by_name.pop(f.name.lower(), f) for f in obj.fields)
    return _replace(obj, fields=kept + tuple(by_name.values()))


def _replace(obj: s.ObjectSpec, **changes: Any) -> s.ObjectSpec:
    import dataclasses

    return dataclasses.replace(obj, _by_name={}, **changes)


def _record_type_field() -> s.FieldSpec:
    return s.FieldSpec("RecordTypeId", s.REFERENCE, reference_to=("RecordType",), relationship_name="RecordType",
                       label="Record Type ID", length=18, filterable=True, sortable=True, groupable=True,
                       aggregatable=True, flags=frozenset({"permissionable"}))


def record_type_id(index: int) -> str:
    """The id of the shape's ``index``-th record type (1-based), as the store creates its RecordType rows."""
    from deprovision.localorg import ids

    return ids.make_id("012", index)


def build_schema(shape: dict[str, Any]) -> s.Schema:
    """The schema of an org of ``shape`` (see the module docstring)."""
    unknown = set(shape) - {"name", "description", "features", "record_types", "objects", "fields", "custom_objects"}
    if unknown:
        raise ShapeError(f"unknown shape keys: {', '.join(sorted(unknown))}")
    features = {"territory_management": True, "person_accounts": False, **(shape.get("features") or {})}
    objects: dict[str, s.ObjectSpec] = {o.name: o for o in s.STANDARD_OBJECTS}
    if not features["territory_management"]:
        for name in TERRITORY_OBJECTS:
            objects.pop(name, None)
    if features["person_accounts"]:
        objects["Account"] = _with_fields(objects["Account"], _person_account_fields("Account"))
        objects["Contact"] = _with_fields(objects["Contact"], _person_account_fields("Contact"))
    # custom objects
    declared = dict(shape.get("objects") or {})
    declared.update(_generated_objects(int(shape.get("custom_objects") or 0)))
    used = {o.key_prefix for o in objects.values()} | {str(v.get("key_prefix")) for v in declared.values()
                                                        if isinstance(v, dict) and v.get("key_prefix")}
    prefixes = _prefixes(used)
    custom_names = []
    for name, spec in declared.items():
        spec = spec or {}
        if name in objects:
            raise ShapeError(f"{name}: already an object of this org")
        objects[name] = _custom_object(name, spec, "" if spec.get("key_prefix") else next(prefixes))
        if spec.get("activities", str(spec.get("owner", "user")) != "none"):
            custom_names.append(name)
    # custom fields on standard objects
    for obj_name, fields in (shape.get("fields") or {}).items():
        if obj_name not in objects:
            raise ShapeError(f"fields for {obj_name}: no such object in this shape")
        objects[obj_name] = _with_fields(objects[obj_name], [_custom_field(obj_name, n, f or {})
                                                             for n, f in fields.items()])
    # record types
    rt_index = 0
    for obj_name, names in (shape.get("record_types") or {}).items():
        if obj_name not in objects:
            raise ShapeError(f"record types for {obj_name}: no such object in this shape")
        specs = []
        for i, dev in enumerate(names):
            rt_index += 1
            specs.append(s.RecordTypeSpec(str(dev), str(dev).replace("_", " "), record_type_id(rt_index), i == 0))
        obj = _with_fields(objects[obj_name], [_record_type_field()])
        objects[obj_name] = _replace(obj, record_types=tuple(specs))
    if features["person_accounts"]:
        rt_index += 1
        obj = objects["Account"]
        if obj.field("RecordTypeId") is None:
            obj = _with_fields(obj, [_record_type_field()])
        objects["Account"] = _replace(obj, record_types=obj.record_types + (
            s.RecordTypeSpec("PersonAccount", "Person Account", record_type_id(rt_index), not obj.record_types),))
    # polymorphic parents list the custom objects; lookups to absent objects lose them
    present = set(objects)
    for obj_name, field_name in _PARENT_LOOKUPS:
        obj = objects.get(obj_name)
        f = obj.field(field_name) if obj else None
        if f is not None:
            targets = tuple(t for t in f.reference_to if t in present or t not in TERRITORY_OBJECTS)
            objects[obj_name] = _with_fields(obj, [_copy_field(f, reference_to=tuple(
                sorted(set(targets) | set(custom_names))))])
    for obj_name, obj in list(objects.items()):
        changed = [
            _copy_field(f, reference_to=tuple(t for t in f.reference_to if t not in TERRITORY_OBJECTS or t in present))
            for f in obj.fields if f.is_reference and any(t in TERRITORY_OBJECTS and t not in present
                                                           for t in f.reference_to)]
        if changed:
            objects[obj_name] = _with_fields(obj, changed)
    ordered = tuple(objects.values())
    return s.Schema(ordered, shape=shape)


def _copy_field(f: s.FieldSpec, **changes: Any) -> s.FieldSpec:
    import dataclasses

    return dataclasses.replace(f, **changes)


@lru_cache(maxsize=2)
def _person_account_data() -> dict[str, list]:
    data = json.loads(s.DATA_FILE.read_text(encoding="utf-8"))
    return {"fieldFlags": data["fieldFlags"], **data.get("personAccountFields", {})}


def _person_account_fields(obj: str) -> list[s.FieldSpec]:
    """The fields person accounts add (recorded describe of a person-account org, SFDO-Tooling/CumulusCI
    cumulusci/tests/cassettes/GET_sobjects_Account_PersonAccount_describe.yaml)."""
    data = _person_account_data()
    return [s._field_from_data(row, data["fieldFlags"]) for row in data.get(obj, [])]


# Last: ``schema`` builds its default schema from this module at import (either module may be imported first).
from deprovision.localorg import schema as _schema  # noqa: E402, F401

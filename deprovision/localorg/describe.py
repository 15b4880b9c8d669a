"""``describe`` and ``describeGlobal`` in the shape real orgs send, derived from the schema.

Top-level keys and per-field attributes follow recorded describes of real orgs
(SFDO-Tooling/CumulusCI ``cumulusci/tests/shared_cassettes/GET_sobjects_*_describe.yaml``)
and the REST API Developer Guide, "sObject Describe" and "Describe Global"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from deprovision.localorg import schema as s

_DATA_URLS = ("compactLayouts", "rowTemplate", "approvalLayouts", "listviews", "describe", "quickActions",
              "layouts", "sobject")
_SETUP_URLS = ("rowTemplate", "describe", "sobject")


def _plain(value: Any) -> Any:
    """Describe flags are stored as tuples (hashable); lists of pairs become dicts again."""
    if isinstance(value, tuple):
        items = [_plain(v) for v in value]
        if items and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _plain(v) for k, v in value}
        return items
    return value


def _urls(spec: s.ObjectSpec, api_version: str) -> dict[str, str]:
    base = f"/services/data/v{api_version}/sobjects/{spec.name}"
    urls = {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"}
    if spec.flag("layoutable", not spec.setup):
        urls.update(compactLayouts=base + "/describe/compactLayouts", approvalLayouts=base + "/describe/approvalLayouts",
                    listviews=base + "/listviews", quickActions=base + "/quickActions",
                    layouts=base + "/describe/layouts")
    if spec.name == "User":
        urls["passwordUtilities"] = base + "/{ID}/password"
    return urls


def _label_plural(spec: s.ObjectSpec) -> str:
    return spec.label_plural or (spec.label or spec.name) + "s"


def _object_flags(spec: s.ObjectSpec) -> dict[str, Any]:
    data = not spec.setup
    return {
        "activateable": bool(spec.flag("activateable")),
        "compactLayoutable": bool(spec.flag("compactLayoutable", data)),
        "createable": spec.createable, "custom": spec.custom, "customSetting": bool(spec.flag("customSetting")),
        "deepCloneable": bool(spec.flag("deepCloneable")), "deletable": spec.deletable,
        "deprecatedAndHidden": False, "feedEnabled": bool(spec.flag("feedEnabled", data)),
        "hasSubtypes": False, "isInterface": False, "isSubtype": False,
        "keyPrefix": spec.key_prefix, "label": spec.label or spec.name, "labelPlural": _label_plural(spec),
        "layoutable": bool(spec.flag("layoutable", data)), "mergeable": bool(spec.flag("mergeable")),
        "mruEnabled": bool(spec.flag("mruEnabled", data)), "name": spec.name, "queryable": spec.queryable,
        "replicateable": bool(spec.flag("replicateable", data)), "retrieveable": bool(spec.flag("retrieveable", True)),
        "searchable": bool(spec.flag("searchable", data)), "triggerable": bool(spec.flag("triggerable", data)),
        "undeletable": bool(spec.flag("undeletable", data)) and spec.deletable, "updateable": spec.updateable,
    }


def global_entry(spec: s.ObjectSpec, api_version: str) -> dict[str, Any]:
    """One ``sobjects`` entry of describeGlobal."""
    entry = {"activateable": False, "associateEntityType": None, "associateParentEntity": None}
    entry.update(_object_flags(spec))
    del entry["compactLayoutable"]  # a describe key, not a describeGlobal one
    entry["urls"] = _urls(spec, api_version)
    return dict(sorted(entry.items()))


def describe_global(schema: s.Schema, api_version: str) -> dict[str, Any]:
    """``GET /sobjects``: encoding, maxBatchSize and every object's entry."""
    return {"encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": [global_entry(o, api_version) for o in sorted(schema.objects, key=lambda o: o.name)]}


def _byte_length(f: s.FieldSpec) -> int:
    given = dict(f.extras).get("byteLength")
    if given is not None:
        return int(given)  # type: ignore[arg-type]
    if f.type in (s.ID, s.REFERENCE):
        return 18
    if f.type in s.TEXT_TYPES:
        return f.length * 3
    return 0


def field_label(f: s.FieldSpec) -> str:
    """The field's label (recorded, given, or made from its name as Salesforce labels standard fields)."""
    if f.label:
        return f.label
    if f.is_reference and f.name.endswith("Id") and len(f.name) > 2:
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", f.name[:-2]) + " ID"
    return f.name


def _derived(value: bool | None, fallback: bool) -> bool:
    return fallback if value is None else value


def describe_field(f: s.FieldSpec) -> dict[str, Any]:
    """One entry of a describe's ``fields``, with every attribute a real describe has."""
    extras = dict(f.extras)
    long_text = f.type == s.TEXTAREA and f.length > 255
    compound = f.type in s.COMPOUND_TYPES
    default_value = extras.get("defaultValue")
    if default_value is None and f.type == s.BOOLEAN and not f.calculated:
        default_value = bool(f.default)  # recorded describes: every boolean's defaultValue is false or true
    picklist = []
    labels = f.picklist_labels or f.picklist_values
    for value, label in zip(f.picklist_values, labels, strict=False):
        picklist.append({"active": True, "defaultValue": value == f.picklist_default, "label": label,
                         "validFor": None, "value": value})
    out = {
        "aggregatable": _derived(f.aggregatable, f.type not in (s.BOOLEAN, s.BASE64) and not long_text
                                 and not compound),
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": _byte_length(f),
        "calculated": f.calculated and "compoundName" not in f.flags,
        "calculatedFormula": extras.get("calculatedFormula"),
        "cascadeDelete": "cascadeDelete" in f.flags,
        "caseSensitive": "caseSensitive" in f.flags,
        "compoundFieldName": extras.get("compoundFieldName"),
        "controllerName": extras.get("controllerName"),
        "createable": f.createable and not f.calculated,  # a person's Name: never createable
        "custom": f.custom,
        "defaultValue": default_value,
        "defaultValueFormula": extras.get("defaultValueFormula"),
        "defaultedOnCreate": _derived(f.defaulted_on_create, f.default is not None),
        "dependentPicklist": "dependentPicklist" in f.flags,
        "deprecatedAndHidden": "deprecatedAndHidden" in f.flags,
        "digits": int(extras.get("digits", 9 if f.type == s.INT else 0)),  # type: ignore[arg-type]
        "displayLocationInDecimal": "displayLocationInDecimal" in f.flags,
        "encrypted": "encrypted" in f.flags,
        "externalId": f.external_id,
        "extraTypeInfo": extras.get("extraTypeInfo"),
        "filterable": _derived(f.filterable, not long_text and f.type != s.BASE64),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": "formulaTreatNullNumberAsZero" in f.flags,
        "groupable": _derived(f.groupable, f.type in (s.STRING, s.PICKLIST, s.BOOLEAN, s.REFERENCE, s.ID, s.EMAIL,
                                                      s.PHONE, s.URL, s.DATE, s.INT, s.COMBOBOX)),
        "highScaleNumber": "highScaleNumber" in f.flags,
        "htmlFormatted": "htmlFormatted" in f.flags,
        "idLookup": f.id_lookup or f.name == "Id",
        "inlineHelpText": None,
        "label": field_label(f),
        "length": f.length if f.type in s.TEXT_TYPES or f.type in (s.ID, s.REFERENCE) else 0,
        "mask": extras.get("mask"),
        "maskType": extras.get("maskType"),
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": "namePointing" in f.flags,
        "nillable": f.nillable,
        "permissionable": "permissionable" in f.flags,
        "picklistValues": picklist,
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": int(extras.get("precision", 0)),  # type: ignore[arg-type]
        "queryByDistance": "queryByDistance" in f.flags,
        "referenceTargetField": extras.get("referenceTargetField"),
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name if f.is_reference else None,
        "relationshipOrder": extras.get("relationshipOrder"),
        "restrictedDelete": "restrictedDelete" in f.flags,
        "restrictedPicklist": f.restricted_picklist,
        "scale": int(extras.get("scale", 0)),  # type: ignore[arg-type]
        "searchPrefilterable": "searchPrefilterable" in f.flags,
        "soapType": f.soap_type,
        "sortable": _derived(f.sortable, not long_text and not compound and f.type not in (s.MULTIPICKLIST,
                                                                                            s.BASE64)),
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable and not f.calculated,
        "writeRequiresMasterRead": "writeRequiresMasterRead" in f.flags,
    }
    return out


def _record_type_infos(spec: s.ObjectSpec, api_version: str) -> list[dict[str, Any]]:
    base = f"/services/data/v{api_version}/sobjects/{spec.name}/describe/layouts/"
    infos = [{"active": True, "available": True, "defaultRecordTypeMapping": rt.default,
              "developerName": rt.developer_name, "master": False, "name": rt.label,
              "recordTypeId": rt.record_type_id, "urls": {"layout": base + rt.record_type_id}}
             for rt in spec.record_types]
    infos.append({"active": True, "available": True, "defaultRecordTypeMapping": not spec.record_types,
                  "developerName": "Master", "master": True, "name": "Master",
                  "recordTypeId": s.MASTER_RECORD_TYPE_ID, "urls": {"layout": base + s.MASTER_RECORD_TYPE_ID}})
    return infos


def describe(schema: s.Schema, spec: s.ObjectSpec, api_version: str) -> dict[str, Any]:
    """``GET /sobjects/{type}/describe``."""
    out: dict[str, Any] = {
        "actionOverrides": [],
        "childRelationships": [
            {"cascadeDelete": c.cascade_delete, "childSObject": c.child, "deprecatedAndHidden": False,
             "field": c.field, "junctionIdListNames": [], "junctionReferenceTo": [],
             "relationshipName": c.relationship_name, "restrictedDelete": c.restricted_delete}
            for c in schema.child_relationships(spec.name)],
        "defaultImplementation": None, "extendedBy": None, "extendsInterfaces": None,
        "fields": [describe_field(f) for f in spec.fields],
        "implementedBy": None, "implementsInterfaces": None, "listviewable": None, "lookupLayoutable": None,
        "namedLayoutInfos": [], "networkScopeFieldName": spec.flag("networkScopeFieldName", None),
        "recordTypeInfos": _record_type_infos(spec, api_version),
        "searchLayoutable": bool(spec.flag("searchLayoutable", not spec.setup)),
        "supportedScopes": _plain(spec.flag("supportedScopes", ())) or [],
        "urls": _urls(spec, api_version),
    }
    out.update(_object_flags(spec))
    return dict(sorted(out.items()))


# --- If-Modified-Since ------------------------------------------------------------------------


def http_date(stamp: str) -> str:
    """A storage timestamp (``YYYY-MM-DDTHH:MM:SS.mmm+0000``) as an HTTP date."""
    moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return format_datetime(moment, usegmt=True)


def not_modified_since(header: str | None, stamp: str) -> bool:
    """True when ``If-Modified-Since: header`` is at or after the schema's timestamp (answer 304)."""
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    changed = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return changed <= since

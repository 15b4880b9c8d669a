"""The partner SOAP ``update()`` call: the one write only SOAP can make, an owner change that keeps teams.

Since Winter '21 an API owner change of an Account deletes its account team (and an Opportunity's
its opportunity team) unless the SOAP ``OwnerChangeOptions`` header keeps it (KB 000390190; SOAP API
Developer Guide, "OwnerChangeOptions", API 45.0+). REST, sObject Collections and Bulk API 2.0 have no
such option, so ``soap_update`` is how the product reassigns records without removing colleagues.

Wire format (SOAP API Developer Guide: update(), SaveResult, SessionHeader, CallOptions; recorded
responses in SFDO-Tooling/CumulusCI ``cumulusci/tasks/salesforce/tests/test_profiles.py``): a
``SessionHeader`` with the client's access token, ``OwnerChangeOptions/options`` (``type``,
``execute``), ``update/sObjects`` with ``type``, ``fieldsToNull``, ``Id`` and the fields in
``urn:sobject.partner.soap.sforce.com``; the answer is one ``result`` (``errors``, ``id``, ``success``)
per sObject in request order, or a SOAP fault (``faultcode sf:CODE``) for the whole call.

The call goes through the REST client's ``requests`` session (TLS trust, timeouts, the API-call
counter, ``Sforce-Call-Options``) to ``{instance}/services/Soap/u/{version}``. A fault is raised as a
simple-salesforce error carrying Salesforce's fault code and the status the REST API would give it,
so ``deprovision.org.retry`` treats it as it treats REST errors: an expired session is renewed once,
``REQUEST_LIMIT_EXCEEDED``, ``SERVER_UNAVAILABLE`` and ``UNABLE_TO_LOCK_ROW`` are retried; records that
fail with a transient status code are sent again, up to the retry policy's attempts.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from simple_salesforce.exceptions import SalesforceError

from deprovision.errors import OrgError
from deprovision.org.results import RecordResult
from deprovision.org.retry import TRANSIENT_CODES
from deprovision.org.transport import CALL_OPTIONS

if TYPE_CHECKING:
    from deprovision.org.client import OrgClient

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_RECORDS = 200  # SOAP API Call Limits: update() changes up to 200 records per call
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # sObject and field API names
# The REST status of a fault code, so the retry policy classifies SOAP faults as it does REST errors.
_FAULT_STATUS = {"INVALID_SESSION_ID": 401, "REQUEST_LIMIT_EXCEEDED": 403, "SERVER_UNAVAILABLE": 503}


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"soap_update: {what} {name!r} is not an API name")
    return name


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple, set)):
        raise ValueError("soap_update: field values must be scalars")
    return str(value)


def record_id(record: dict) -> str:
    """The ``id`` (or ``Id``) of a record to update."""
    value = record.get("id") or record.get("Id")
    if not value:
        raise ValueError(f"soap_update: {(record.get('attributes') or {}).get('type')} record without id")
    return str(value)


def _sobject(parent: ET.Element, record: dict) -> None:
    """One ``sObjects`` element: type, fieldsToNull, Id, then the fields, every value escaped by ElementTree."""
    element = ET.SubElement(parent, _q(PARTNER, "sObjects"))
    rtype = _check_name((record.get("attributes") or {}).get("type"), "attributes.type")
    ET.SubElement(element, _q(SOBJECT, "type")).text = rtype
    fields = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
    for name, value in fields.items():
        if value is None:
            ET.SubElement(element, _q(SOBJECT, "fieldsToNull")).text = _check_name(name, "field")
    ET.SubElement(element, _q(SOBJECT, "Id")).text = record_id(record)
    for name, value in fields.items():
        if value is not None:
            ET.SubElement(element, _q(SOBJECT, _check_name(name, "field"))).text = _text(value)


def update_envelope(session_id: str, records: list[dict], *, keep_account_team: bool = False,
                    keep_sales_team: bool = False, client_name: str | None = None) -> bytes:
    """The SOAP request of an ``update()`` call (UTF-8 bytes)."""
    envelope = ET.Element(_q(SOAP_ENV, "Envelope"))
    header = ET.SubElement(envelope, _q(SOAP_ENV, "Header"))
    session = ET.SubElement(header, _q(PARTNER, "SessionHeader"))
    ET.SubElement(session, _q(PARTNER, "sessionId")).text = session_id
    if client_name:
        call_options = ET.SubElement(header, _q(PARTNER, "CallOptions"))
        ET.SubElement(call_options, _q(PARTNER, "client")).text = client_name
    options = ET.SubElement(header, _q(PARTNER, "OwnerChangeOptions"))
    for option_type, execute in (("KeepAccountTeam", keep_account_team), ("KeepSalesTeam", keep_sales_team)):
        option = ET.SubElement(options, _q(PARTNER, "options"))
        ET.SubElement(option, _q(PARTNER, "type")).text = option_type
        ET.SubElement(option, _q(PARTNER, "execute")).text = _text(execute)
    call = ET.SubElement(ET.SubElement(envelope, _q(SOAP_ENV, "Body")), _q(PARTNER, "update"))
    for record in records:
        _sobject(call, record)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------------------------
# answers


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _find(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _value(element: ET.Element | None, name: str) -> str | None:
    found = _find(element, name)
    return None if found is None or found.text is None else found.text.strip()


def fault_of(root: ET.Element) -> tuple[str, str] | None:
    """(fault code, message) of a SOAP fault, or None when the answer is not one."""
    fault = _find(root, "Fault")
    if fault is None:
        return None
    code = _value(fault, "exceptionCode") or (_value(fault, "faultcode") or "").rsplit(":", 1)[-1] or "UNKNOWN"
    message = _value(fault, "exceptionMessage")
    if message is None:
        message = _value(fault, "faultstring") or ""
        message = message.removeprefix(f"{code}: ")
    return code, message


def _fault_error(url: str, code: str, message: str) -> SalesforceError:
    return SalesforceError(url, _FAULT_STATUS.get(code, 400), "Soap/update", [{"errorCode": code, "message": message}])


def results_of(root: ET.Element, sent_ids: list[str]) -> list[RecordResult]:
    """The ``result`` elements of an ``updateResponse``, as RecordResults in request order."""
    response = _find(root, "updateResponse")
    results = [] if response is None else [e for e in response if _local(e.tag) == "result"]
    out = []
    for element, sent in zip(results, sent_ids, strict=False):
        errors = [{"statusCode": _value(e, "statusCode"), "message": _value(e, "message"),
                   "fields": [f.text or "" for f in e if _local(f.tag) == "fields"]}
                  for e in element if _local(e.tag) == "errors"]
        item = {"id": _value(element, "id") or None, "success": (_value(element, "success") or "") == "true",
                "errors": errors}
        out.append(RecordResult.from_collection_item(item, sent))
    return out


def limit_info(root: ET.Element) -> tuple[int, int] | None:
    """(current, limit) from the response's ``LimitInfoHeader`` for ``API REQUESTS``."""
    header = _find(root, "LimitInfoHeader")
    for info in [] if header is None else [e for e in header if _local(e.tag) == "limitInfo"]:
        if _value(info, "type") == "API REQUESTS":
            try:
                return int(_value(info, "current") or ""), int(_value(info, "limit") or "")
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------------------------
# the call


def _post(client: OrgClient, records: list[dict], sent_ids: list[str], options: dict[str, bool]) -> list[RecordResult]:
    """One ``update()`` request; faults raise, results come back in request order."""
    url = f"{client.instance_url}/services/Soap/u/{client.api_version}"
    body = update_envelope(client.sf.session_id, records, client_name=CALL_OPTIONS.removeprefix("client="),
                           **options)
    response = client.sf.session.post(url, data=body, headers={"Content-Type": "text/xml; charset=UTF-8",
                                                                "SOAPAction": "update"})
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        if response.status_code >= 500:
            raise SalesforceError(url, response.status_code, "Soap/update", response.text[:300]) from None
        raise OrgError(f"SOAP update failed: the org answered HTTP {response.status_code} without a SOAP "
                       f"envelope", status=response.status_code) from None
    fault = fault_of(root)
    if fault is not None:
        raise _fault_error(url, *fault)
    usage = limit_info(root)
    if usage is not None:
        client.counter.limit_info = usage
    results = results_of(root, sent_ids)
    if len(results) != len(records):
        raise OrgError(f"SOAP update failed: the org answered {len(results)} results for {len(records)} records")
    return results


def soap_update(client: OrgClient, records: list[dict], *, keep_account_team: bool = False,
                keep_sales_team: bool = False) -> list[RecordResult]:
    """Update up to 200 records (``{"attributes": {"type": ...}, "id": ..., field: value}``) in one SOAP call.

    ``keep_account_team`` / ``keep_sales_team`` set ``OwnerChangeOptions`` ``KeepAccountTeam`` /
    ``KeepSalesTeam``; false (Salesforce's default) lets an owner change delete the team.
    A value of None is sent as ``fieldsToNull``. Results come back in input order.
    """
    if len(records) > MAX_RECORDS:
        raise ValueError(f"soap_update: at most {MAX_RECORDS} records per call (got {len(records)})")
    if not records:
        return []
    ids = [record_id(r) for r in records]
    update_envelope("", records)  # refuse bad names and values before anything is sent
    options = {"keep_account_team": keep_account_team, "keep_sales_team": keep_sales_team}
    results: list[RecordResult | None] = [None] * len(records)
    pending = list(range(len(records)))
    attempt = 0
    while pending:
        attempt += 1
        sent = [records[i] for i in pending]
        answer = client._call(f"SOAP update of {len(sent)} records",
                              lambda sent=sent, pending=pending: _post(client, sent, [ids[i] for i in pending],
                                                                       options))
        for i, result in zip(pending, answer, strict=True):
            results[i] = result
        retry = [i for i in pending if _transient(results[i])]
        if not retry or attempt >= client.retry.max_attempts:
            break
        client.retries += len(retry)
        client.retry.sleep(client.retry.delay(attempt))
        pending = retry
    return [r if r is not None else RecordResult.failed(ids[i], "NO_RESULT", "no result returned")
            for i, r in enumerate(results)]


def _transient(result: RecordResult | None) -> bool:
    return result is not None and not result.success and result.error_code in TRANSIENT_CODES

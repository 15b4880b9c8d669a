"""The partner SOAP endpoint ``POST /services/Soap/u/{version}[/{orgId}]``: ``login`` and ``update``.

Wire format (SOAP API Developer Guide: update(), SaveResult, SessionHeader, OwnerChangeOptions,
AssignmentRuleHeader, AllOrNoneHeader; recorded responses in SFDO-Tooling/CumulusCI
``cumulusci/tasks/salesforce/tests/test_profiles.py``):
- request: ``SessionHeader/sessionId`` (the same access tokens the REST API takes), ``update/sObjects``
  elements of ``urn:partner.soap.sforce.com`` whose ``type``, ``fieldsToNull``, ``Id`` and field
  elements are in ``urn:sobject.partner.soap.sforce.com`` (fields are matched by local name, as lax as
  the WSDL's ``any``);
- response: ``updateResponse`` with one ``result`` per sObject in request order, each
  ``errors*`` (``fields*``, ``message``, ``statusCode``), ``id`` (``xsi:nil`` on failure), ``success``;
  ``soapenv:Header/LimitInfoHeader`` carries the org's API usage (``API REQUESTS``);
- whole-call errors are SOAP faults (HTTP 500): ``faultcode sf:CODE``, ``faultstring "CODE: message"``,
  ``detail`` with ``exceptionCode`` / ``exceptionMessage``. A bad session answers
  ``INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session``
  (``UnexpectedErrorFault``); more than 200 sObjects answer ``EXCEEDED_ID_LIMIT: record limit reached.
  cannot submit more than 200 records into this call`` (SOAP API Call Limits; the message as
  superfell/Beatbox#3 quotes it; the detail type ``UnexpectedErrorFault`` is UNCONFIRMED).

Each record goes through ``Store.update`` like a REST update (same rules, same errors), with the
``OwnerChangeOptions`` header deciding whether an owner change keeps the team (``localorg.teams``).
Assignment rules run only when ``AssignmentRuleHeader`` asks for them (SOAP's default is none).
An ``update`` is one API call (counted like REST) and honours injected latency and faults; ``login``
is neither counted nor faulted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from deprovision.localorg import errors, ids, schema, teams
from deprovision.localorg.http import Request, Response
from deprovision.localorg.resources import oauth
from deprovision.localorg.resources.collections import ROLLED_BACK, _mixed_error
from deprovision.localorg.routes import SUPPORTED_VERSIONS, Ctx

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_RECORDS = 200
ILLEGAL_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"
TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"
_XML = "text/xml;charset=UTF-8"
_TRUE = ("true", "1")


class SoapFault(Exception):
    """A whole-call failure, answered as a SOAP fault."""

    def __init__(self, code: str, message: str, fault_type: str = "UnexpectedErrorFault", status: int = 500) -> None:
        super().__init__(message)
        self.code, self.message, self.fault_type, self.status = code, message, fault_type, status

    def response(self) -> Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{FAULT_NS}" xmlns:xsi="{XSI}">'
            "<soapenv:Body><soapenv:Fault>"
            f"<faultcode>sf:{escape(self.code)}</faultcode>"
            f"<faultstring>{escape(self.code)}: {escape(self.message)}</faultstring>"
            f'<detail><sf:{self.fault_type} xsi:type="sf:{self.fault_type}">'
            f"<sf:exceptionCode>{escape(self.code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(self.message)}</sf:exceptionMessage>"
            f"</sf:{self.fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Response(self.status, body.encode("utf-8"), _XML)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if element is None else [c for c in element if _local(c.tag) == name]


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _is_true(element: ET.Element | None) -> bool:
    return _text(element).lower() in _TRUE


# --------------------------------------------------------------------------------------------
# request


@dataclass
class UpdateCall:
    """A parsed ``update`` request."""

    session_id: str
    records: list[ET.Element]
    owner_change: teams.OwnerChangeOptions = field(default_factory=teams.OwnerChangeOptions)
    auto_assign: bool = False
    all_or_none: bool = False


def owner_change_options(header: ET.Element | None) -> teams.OwnerChangeOptions:
    """``OwnerChangeOptions``: API 35.0+ ``options`` (``type`` + ``execute``) elements.

    The pre-35.0 boolean form (``transferAttachments``, ``transferOpenActivities``) names no team
    option, so it is accepted and leaves both teams to be deleted (Salesforce's default).
    """
    chosen = {_text(_child(o, "type")): _is_true(_child(o, "execute")) for o in _children(header, "options")}
    return teams.OwnerChangeOptions(keep_account_team=chosen.get("KeepAccountTeam", False),
                                    keep_sales_team=chosen.get("KeepSalesTeam", False))


def parse_update(header: ET.Element | None, call: ET.Element) -> UpdateCall:
    """The session, headers and sObjects of an ``update`` call."""
    session = _text(_child(_child(header, "SessionHeader"), "sessionId"))
    rule = _child(header, "AssignmentRuleHeader")
    auto_assign = rule is not None and (_is_true(_child(rule, "useDefaultRule"))
                                        or bool(_text(_child(rule, "assignmentRuleId"))))
    return UpdateCall(session, _children(call, "sObjects"), owner_change_options(_child(header, "OwnerChangeOptions")),
                      auto_assign, _is_true(_child(_child(header, "AllOrNoneHeader"), "allOrNone")))


@dataclass
class SObject:
    """One sObject of the call: its type, id and field values (None for ``fieldsToNull``)."""

    spec: schema.ObjectSpec
    record_id: str
    values: dict[str, object]


def read_sobject(element: ET.Element) -> SObject:
    """An ``sObjects`` element; unknown types and fields are whole-call faults, as in the partner API."""
    type_name = _text(_child(element, "type"))
    if not type_name:
        raise SoapFault("INVALID_TYPE", "Must send a concrete entity type.", "InvalidSObjectFault")
    spec = schema.get_object(type_name)
    if spec is None:
        raise SoapFault("INVALID_TYPE", f"sObject type '{type_name}' is not supported. If you are attempting to "
                        "use a custom object, be sure to append the '__c' after the entity name. Please reference "
                        "your WSDL or the describe call for the appropriate names.", "InvalidSObjectFault")
    record_id, values = "", {}
    for child in element:
        name = _local(child.tag)
        if name == "type":
            continue
        if name == "Id":
            record_id = _text(child)
            continue
        target = _text(child) if name == "fieldsToNull" else name
        if spec.field(target) is None:
            raise SoapFault("INVALID_FIELD", f"No such column '{target}' on entity '{spec.name}'. If you are "
                            "attempting to use a custom field, be sure to append the '__c' after the custom field "
                            "name. Please reference your WSDL or the describe call for the appropriate names.",
                            "InvalidFieldFault")
        nil = (child.get(f"{{{XSI}}}nil") or "").lower() in _TRUE
        values[target] = None if name == "fieldsToNull" or nil else (child.text or "")
    return SObject(spec, record_id, values)


# --------------------------------------------------------------------------------------------
# response


def _result_xml(record_id: str | None, error: errors.SalesforceError | None) -> str:
    if error is None:
        return f"<result><id>{escape(record_id or '')}</id><success>true</success></result>"
    fields = "".join(f"<fields>{escape(f)}</fields>" for f in error.fields)
    return (f"<result><errors>{fields}<message>{escape(error.message)}</message>"
            f"<statusCode>{escape(error.error_code)}</statusCode></errors>"
            '<id xsi:nil="true"/><success>false</success></result>')


def update_response(outcomes: list[tuple[str | None, errors.SalesforceError | None]], usage: tuple[int, int]) -> Response:
    """``updateResponse`` with the results in request order and the LimitInfoHeader."""
    used, limit = usage
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER}" xmlns:xsi="{XSI}">'
        "<soapenv:Header><LimitInfoHeader><limitInfo>"
        f"<current>{used}</current><limit>{limit}</limit><type>API REQUESTS</type>"
        "</limitInfo></LimitInfoHeader></soapenv:Header>"
        "<soapenv:Body><updateResponse>"
        + "".join(_result_xml(rid, err) for rid, err in outcomes)
        + "</updateResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(200, body.encode("utf-8"), _XML)


# --------------------------------------------------------------------------------------------
# the endpoint


def endpoint(ctx: Ctx, request: Request) -> Response:
    """``POST /services/Soap/u/{version}``: dispatch on the operation element of the body."""
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return SoapFault("INVALID_XML", "The request is not well-formed XML.", "UnexpectedErrorFault").response()
    body = _child(root, "Body")
    call = next(iter(body), None) if body is not None else None
    operation = _local(call.tag) if call is not None else ""
    if operation == "login":
        return oauth.soap_login(ctx, request)
    if operation != "update":
        return SoapFault("UNSUPPORTED_CLIENT", "Only the login and update calls are supported by the local org."
                         ).response()
    try:
        return _update(ctx, parse_update(_child(root, "Header"), call))
    except SoapFault as fault:
        return fault.response()


def _session_user(ctx: Ctx, session_id: str) -> dict:
    try:
        return ctx.store.user_for_token(session_id)
    except errors.SalesforceError:
        raise SoapFault("INVALID_SESSION_ID", ILLEGAL_SESSION) from None


def _update(ctx: Ctx, call: UpdateCall) -> Response:
    version = ctx.param("version")
    if version not in SUPPORTED_VERSIONS:
        raise SoapFault("UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}")
    user = _session_user(ctx, call.session_id)
    ctx.app.faults.delay()
    first_id = _text(_child(call.records[0], "Id")) if call.records else None
    fault = ctx.app.faults.draw(first_id or None)
    if fault is not None and fault.error_code != "UNABLE_TO_LOCK_ROW":
        raise SoapFault(fault.error_code, fault.message, status=503 if fault.status == 503 else 500)
    try:
        usage = ctx.store.count_api_call()
    except errors.SalesforceError as exc:
        raise SoapFault(exc.error_code, exc.message) from None
    if len(call.records) > MAX_RECORDS:
        raise SoapFault("EXCEEDED_ID_LIMIT", TOO_MANY)
    sobjects = [read_sobject(r) for r in call.records]
    if fault is not None:  # a lock held elsewhere: every record of the call reports it, nothing is written
        return update_response([(None, fault) for _ in sobjects], usage)
    return update_response(_apply(ctx, user["Id"], call, sobjects), usage)


def _apply(ctx: Ctx, actor_id: str, call: UpdateCall,
           sobjects: list[SObject]) -> list[tuple[str | None, errors.SalesforceError | None]]:
    """Each record through ``Store.update``; ``AllOrNoneHeader`` rolls every record back when one fails."""
    first = sobjects[0].spec if sobjects else None
    outcomes: list[tuple[str | None, errors.SalesforceError | None]] = []

    def apply_all() -> None:
        for item in sobjects:
            try:
                if not item.record_id:
                    raise errors.SalesforceError("Id not specified in an update call", error_code="MISSING_ARGUMENT")
                if first is not None and item.spec.setup != first.setup:
                    raise _mixed_error(item.spec, first)
                ctx.store.update(item.spec.name, item.record_id, item.values, actor_id=actor_id,
                                 auto_assign=call.auto_assign, owner_change=call.owner_change)
                outcomes.append((ids.to18(item.record_id), None))
            except errors.SalesforceError as exc:
                outcomes.append((None, exc))

    if not call.all_or_none:
        apply_all()
        return outcomes
    try:
        with ctx.store.transaction():
            apply_all()
            if any(err is not None for _, err in outcomes):
                raise _RolledBack
    except _RolledBack:
        rolled = errors.ALL_OR_NONE_OPERATION_ROLLED_BACK(ROLLED_BACK)
        outcomes = [(None, err if err is not None else rolled) for _, err in outcomes]
    return outcomes


class _RolledBack(Exception):
    """Raised inside the transaction to undo an all-or-none call."""

"""Raw partner SOAP calls for the local org's tests, written the way SoapUI-style clients write them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import requests
from localorg_support import API_VERSION, trusting_session

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def sobject(type_name: str, record_id: str, fields_to_null: tuple[str, ...] = (), **fields: str) -> str:
    """One ``<urn:sObjects>`` element (fields in the sobject namespace)."""
    nulls = "".join(f"<urn1:fieldsToNull>{escape(n)}</urn1:fieldsToNull>" for n in fields_to_null)
    values = "".join(f"<urn1:{k}>{escape(v)}</urn1:{k}>" for k, v in fields.items())
    return (f"<urn:sObjects><urn1:type>{escape(type_name)}</urn1:type>{nulls}"
            f"<urn1:Id>{escape(record_id)}</urn1:Id>{values}</urn:sObjects>")


def keep_teams(account: bool = True, sales: bool = True) -> str:
    """The API 45.0+ ``OwnerChangeOptions`` header."""
    options = "".join(f"<urn:options><urn:type>{t}</urn:type><urn:execute>{str(v).lower()}</urn:execute>"
                      f"</urn:options>" for t, v in (("KeepAccountTeam", account), ("KeepSalesTeam", sales)))
    return f"<urn:OwnerChangeOptions>{options}</urn:OwnerChangeOptions>"


def envelope(session_id: str, sobjects: list[str], headers: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV}" '
            f'xmlns:urn="{PARTNER}" xmlns:urn1="urn:sobject.partner.soap.sforce.com"><soapenv:Header>'
            f"<urn:SessionHeader><urn:sessionId>{escape(session_id)}</urn:sessionId></urn:SessionHeader>{headers}"
            f"</soapenv:Header><soapenv:Body><urn:update>{''.join(sobjects)}</urn:update></soapenv:Body>"
            "</soapenv:Envelope>")


def post(server, body: str, *, path: str | None = None, session: requests.Session | None = None) -> requests.Response:
    """POST a SOAP body to the served org's partner endpoint."""
    http = session or trusting_session(server.ca_bundle)
    url = server.instance_url + (path or f"/services/Soap/u/{API_VERSION}")
    return http.post(url, data=body.encode("utf-8"), headers={"Content-Type": "text/xml; charset=UTF-8",
                                                              "SOAPAction": '""'})


def update(server, sobjects: list[str], headers: str = "", session_id: str | None = None) -> requests.Response:
    return post(server, envelope(server.access_token if session_id is None else session_id, sobjects, headers))


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def results(response: requests.Response) -> list[ET.Element]:
    """The ``result`` elements of an ``updateResponse``."""
    root = ET.fromstring(response.content)
    return list(root.find(f"{{{ENV}}}Body").find(f"{{{PARTNER}}}updateResponse"))


def as_dict(result: ET.Element) -> dict:
    """A ``result`` as ``{"id", "success", "errors": [{"fields", "message", "statusCode"}]}`` (child order kept)."""
    out: dict = {"order": [local(c.tag) for c in result], "errors": []}
    for child in result:
        name = local(child.tag)
        if name == "errors":
            out["errors"].append({"order": [local(e.tag) for e in child],
                                  "fields": [e.text for e in child if local(e.tag) == "fields"],
                                  "message": child.findtext(f"{{{PARTNER}}}message"),
                                  "statusCode": child.findtext(f"{{{PARTNER}}}statusCode")})
        elif name == "id":
            out["id"] = child.text
            out["id_nil"] = child.get(f"{{{XSI}}}nil") == "true"
        elif name == "success":
            out["success"] = child.text
    return out


def fault(response: requests.Response) -> dict:
    """``{"faultcode", "faultstring", "exceptionCode", "exceptionMessage", "type"}`` of a SOAP fault."""
    root = ET.fromstring(response.content)
    node = root.find(f"{{{ENV}}}Body").find(f"{{{ENV}}}Fault")
    detail = list(node.find("detail"))[0]
    return {"faultcode": node.findtext("faultcode"), "faultstring": node.findtext("faultstring"),
            "exceptionCode": detail.findtext("{urn:fault.partner.soap.sforce.com}exceptionCode"),
            "exceptionMessage": detail.findtext("{urn:fault.partner.soap.sforce.com}exceptionMessage"),
            "type": detail.get(f"{{{XSI}}}type")}

"""A transport adapter that sends Salesforce login hosts to another instance (a local org).

simple-salesforce always logs in at ``https://{login,test,<mydomain>}.salesforce.com``. Mounting this
adapter on the ``requests.Session`` given to ``open_client(..., session=)`` routes those hosts to
a local org's token and SOAP endpoints, without patching anything.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import requests

from deprovision.org.transport import TimeoutAdapter, trust

LOGIN_HOST_RE = re.compile(r"^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$", re.IGNORECASE)


class LoginRoutingAdapter(TimeoutAdapter):
    """Rewrites requests for Salesforce login hosts to ``target`` (``https://127.0.0.1:PORT``)."""

    def __init__(self, target: str, **kwargs) -> None:
        parts = urlsplit(target)
        self.scheme, self.netloc = parts.scheme or "https", parts.netloc
        self.routed: list[str] = []  # the login hosts asked for, in order
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        url = urlsplit(request.url)
        if url.hostname and LOGIN_HOST_RE.search(url.hostname):
            self.routed.append(url.hostname)
            request.url = urlunsplit((self.scheme, self.netloc, url.path, url.query, url.fragment))
            request.headers.pop("Host", None)
        return super().send(request, **kwargs)


def routed_session(target: str, ca_bundle: str | None = None) -> tuple[requests.Session, LoginRoutingAdapter]:
    """A session whose login requests go to ``target``; returns the session and its adapter."""
    http = requests.Session()
    adapter = LoginRoutingAdapter(target)
    http.mount("https://", adapter)
    trust(http, ca_bundle)
    return http, adapter

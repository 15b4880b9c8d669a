"""A requests session that sends simple-salesforce's login hosts to a served local org."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from localorg_support import trusting_session
from requests.adapters import HTTPAdapter


class _ToLocalOrg(HTTPAdapter):
    def __init__(self, instance_url: str, **kw) -> None:
        self.target = instance_url.rstrip("/")
        super().__init__(**kw)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = self.target + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def login_session(org) -> requests.Session:
    """Logins at login.salesforce.com reach ``org`` (TLS kept, its certificate trusted)."""
    session = trusting_session(org.ca_bundle)
    session.mount("https://", _ToLocalOrg(org.instance_url))
    return session

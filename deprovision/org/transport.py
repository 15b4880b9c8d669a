"""The HTTP layer under simple-salesforce: TLS trust, timeouts, headers, API-call accounting.

``build_salesforce`` is the one place a ``simple_salesforce.Salesforce`` is built. It is always
built in direct (session id) mode: logins are done by ``deprovision.org.auth`` and renewed by the
retry layer exactly once, so simple-salesforce's own unbounded re-login loop on a persistent 401
(upstream issue 804) can never start.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

DEFAULT_API_VERSION = "62.0"
DEFAULT_TIMEOUT = (10.0, 120.0)  # connect, read (seconds)
CALL_OPTIONS = "client=deprovision"
_LIMIT_RE = re.compile(r"api-usage=(\d+)/(\d+)")
# Paths that are API calls (not logins): REST, Bulk, and the identity/revoke endpoints on the instance.
_API_PATH_RE = re.compile(r"^/services/(data|async)\b")  # REST API calls, as the org counts them
_OAUTH_PATH_RE = re.compile(r"^/services/oauth2/(revoke|userinfo)\b")  # not counted by the org
_SOAP_PATH_RE = re.compile(r"^/services/Soap/u/")  # partner API: a call, except the login itself


class TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout to every request that does not set one."""

    def __init__(self, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, **kwargs) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


@dataclass
class CallCounter:
    """Counts the API calls made through a session and keeps the last ``Sforce-Limit-Info`` reading."""

    api_calls: int = 0
    oauth_calls: int = 0
    logins: int = 0
    limit_info: tuple[int, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        """A requests response hook: one count per response."""
        path = requests.utils.urlparse(response.url).path
        with self._lock:
            if _API_PATH_RE.match(path):
                n = _batch_size(response, path)
                self.api_calls += n
                log = os.environ.get("DEPROVISION_CALL_LOG")  # benchmarks: one line per counted call
                if log:
                    with open(log, "a", encoding="utf-8") as fh:
                        fh.write(f"{n}\t{response.request.method}\t{path}\t{response.url.partition('?')[2]}\n")
            elif _SOAP_PATH_RE.match(path) and not _is_login(response):
                self.api_calls += 1
            elif _OAUTH_PATH_RE.match(path):
                self.oauth_calls += 1
            else:
                self.logins += 1
            header = response.headers.get("Sforce-Limit-Info")
            if header:
                match = _LIMIT_RE.search(header)
                if match:
                    self.limit_info = (int(match.group(1)), int(match.group(2)))
        return response


def _batch_size(response: requests.Response, path: str) -> int:
    """How many API requests the org counts for one REST response: a Composite Batch call counts each of
    its subrequests (salesforce-api.md 5.8, 5.10); every other call counts once."""
    if not path.rstrip("/").endswith("/composite/batch") or response.status_code >= 300:
        return 1
    try:
        body = json.loads(response.request.body or b"{}")
    except (ValueError, TypeError):
        return 1
    requests_ = body.get("batchRequests") if isinstance(body, dict) else None
    return max(1, len(requests_)) if isinstance(requests_, list) else 1


def _is_login(response: requests.Response) -> bool:
    """A SOAP ``login`` (simple-salesforce sends ``SOAPAction: login``), which is not an API call."""
    request = response.request
    return request is None or (request.headers.get("SOAPAction") or "").strip('"').lower() == "login"


def make_http_session(ca_bundle: str | None = None,
                      timeout: float | tuple[float, float] | None = None) -> requests.Session:
    """A ``requests.Session`` for one org connection.

    With ``ca_bundle`` the session trusts that bundle and ignores the environment
    (``REQUESTS_CA_BUNDLE`` would otherwise override ``verify``).
    """
    http = requests.Session()
    adapter = TimeoutAdapter(timeout or DEFAULT_TIMEOUT)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    trust(http, ca_bundle)
    return http


def trust(http: requests.Session, ca_bundle: str | None) -> None:
    """Make ``http`` verify TLS against ``ca_bundle`` (and nothing from the environment)."""
    if ca_bundle:
        http.verify = str(ca_bundle)
        http.trust_env = False


def instrument(http: requests.Session, counter: CallCounter) -> None:
    """Add the client identification header and the call counter to ``http`` (once)."""
    http.headers["Sforce-Call-Options"] = CALL_OPTIONS
    hooks = http.hooks.setdefault("response", [])
    if counter.hook not in hooks:
        hooks.append(counter.hook)


def build_salesforce(instance_url: str, access_token: str, http: requests.Session,
                     api_version: str | None = None) -> Salesforce:
    """The one place a ``simple_salesforce.Salesforce`` is built (direct session mode, plain dicts)."""
    return Salesforce(
        instance_url=instance_url,
        session_id=access_token,
        session=http,
        version=api_version or DEFAULT_API_VERSION,
        object_pairs_hook=dict,
    )

"""No cassette may hold a token, a password, an email address or a local host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deprovision.localorg.seed.empty import CONSUMER_SECRET, DEMO_PASSWORD, DEMO_SECURITY_TOKEN

from .contract_vcr import CASSETTES, scrub_body, scrub_text

LEAKS = {
    "token": re.compile(r"00D\w{12,15}![\w.\-]+"),
    "bearer token": re.compile(r"Bearer\s+(?!REDACTED)\S+"),
    "email address": re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"),
    "password field": re.compile(r"(?:password|client_secret|assertion)=(?!REDACTED)[^&\s'\"]+"
                                 r"|<(?:\w+:)?password>(?!REDACTED)"
                                 r"|\"(?:password|access_token|refresh_token)\"\s*:\s*\"(?!REDACTED)"),
    "local host": re.compile(r"127\.0\.0\.1|localhost"),
    "known secret": re.compile("|".join(re.escape(s) for s in (DEMO_PASSWORD, DEMO_SECURITY_TOKEN, CONSUMER_SECRET))),
}


def leaks(text: str) -> list[str]:
    """What in ``text`` looks like a secret or a person."""
    return [f"{kind}: {m.group(0)[:40]}" for kind, rx in LEAKS.items() for m in rx.finditer(text)]


def cassettes() -> list[Path]:
    return sorted(CASSETTES.rglob("*.yaml"))


def test_cassettes_are_committed() -> None:
    assert len(cassettes()) >= 10


@pytest.mark.parametrize("path", cassettes(), ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret_and_no_person(path: Path) -> None:
    assert leaks(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("planted", [
    "Authorization: Bearer 00D5g000004abcd!AQ4AQFakeTokenValue.x-y",
    "grant_type=password&password=hunter2",
    "<n1:password>LocalOrg-2026!LOCALORGTOKEN</n1:password>",
    '{"access_token": "abc"}',
    "alice.smith@acme.com",
    "https://127.0.0.1:41234/services/data",
])
def test_the_scan_finds_planted_leaks(planted: str) -> None:
    assert leaks(planted)


@pytest.mark.parametrize("raw, content_type", [
    ("<n1:username>alice@acme.com</n1:username><n1:password>LocalOrg-2026!LOCALORGTOKEN</n1:password>", "text/xml"),
    ("grant_type=password&client_id=CK&client_secret=local-org-consumer-secret&username=a%40b.com&password=pw",
     "application/x-www-form-urlencoded"),
    ('{"access_token":"00D5g000004abcd!AQ-x.y","instance_url":"https://acme.my.salesforce.com",'
     '"records":[{"Username":"bob@acme.com","Name":"Bob Jones"}]}', "application/json"),
    ("Id,Email\n005000000000001AAA,carol@acme.com\n", "text/csv"),
])
def test_scrubbing_removes_what_the_scan_looks_for(raw: str, content_type: str) -> None:
    assert leaks(raw)
    scrubbed = scrub_body(raw, content_type)
    assert leaks(scrubbed) == []
    assert "Bob Jones" not in scrubbed


def test_scrubbing_is_stable_so_replays_match() -> None:
    once = scrub_text("SELECT Id FROM User WHERE Username = 'alice@acme.com'")
    assert scrub_text(once) == once


def test_every_recorded_request_identifies_the_client() -> None:
    """The client sends ``Sforce-Call-Options: client=deprovision`` on every call (event logs show it)."""
    import yaml

    for path in cassettes():
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            if "/services/oauth2/token" in interaction["request"]["uri"] or "/Soap/" in interaction["request"]["uri"]:
                continue  # logins happen before a client exists
            headers = {k.lower(): v for k, v in interaction["request"]["headers"].items()}
            assert headers.get("sforce-call-options") == ["client=deprovision"], (path.name, interaction["request"]["uri"])

"""No secret the project handles ever reaches the audit log, `audit show` or a report."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deprovision.audit import bind_run, configure_audit, get_logger, reset_audit, unbind_run
from deprovision.audit.redact import REDACTED, redact, redact_text
from deprovision.cli import cli

ACCESS_TOKEN = "00D5g000004XyZ9!AQ0AQNc3.uA_Fake.Sess1onValue_kJ2r9QzY8bVb"
REFRESH_TOKEN = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrpUQf3mFWmPkUyR9Sfz2Wd9m4oi3tQ"
DELETE_TOKEN = "DTqZ4mV8nB2xC7kL1pR9sT3wY6hJ0fG5dA8eU2iO"
OAUTH_ACCESS = "5Aep861q2W3e4R5t6Y7u8I9o0PaSdF"
PASSWORD = "Winter-2026-p4ss!"
SECURITY_TOKEN = "Xk3pQ9sLm2Zt7Vb4Nc8Rw1Yd"
CLIENT_SECRET = "8C4F2A1B9D7E6F5A3C2B1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A"
HMAC_KEY = "audit-hmac-key-never-logged"
PRIVATE_KEY = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
               "q2w3e4r5t6y7u8i9o0p\n-----END PRIVATE KEY-----\n")
_header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').rstrip(b"=").decode()
_claims = base64.urlsafe_b64encode(b'{"iss":"3MVG9","sub":"admin@acme.example"}').rstrip(b"=").decode()
JWT = f"{_header}.{_claims}.c2lnbmF0dXJlLXZhbHVlLXRoYXQtaXMtbG9uZw"
SECRETS = [ACCESS_TOKEN, REFRESH_TOKEN, DELETE_TOKEN, OAUTH_ACCESS, PASSWORD, SECURITY_TOKEN, CLIENT_SECRET,
           HMAC_KEY, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", JWT,
           ACCESS_TOKEN.split("!")[1]]


def _every_secret_by_key_and_by_shape() -> dict:
    """Secrets where the project meets them: under their own names, in headers, URLs, bodies, messages."""
    return {
        "access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "password": PASSWORD,
        "security_token": SECURITY_TOKEN, "client_secret": CLIENT_SECRET, "assertion": JWT,
        "private_key": PRIVATE_KEY, "sessionId": ACCESS_TOKEN,
        "headers": {"Authorization": f"Bearer {ACCESS_TOKEN}", "Cookie": f"sid={ACCESS_TOKEN}"},
        "before": {"AppName": "Dataloader", "DeleteToken": DELETE_TOKEN, "AccessToken": OAUTH_ACCESS,
                   "RequestToken": None, "UseCount": 12},
        "tokens": [{"DeleteToken": DELETE_TOKEN}, DELETE_TOKEN],
        "error_message": f"INVALID_SESSION_ID: Session expired or invalid: {ACCESS_TOKEN}",
        "url": f"https://login.salesforce.com/services/oauth2/revoke?token={DELETE_TOKEN}",
        "form": f"grant_type=password&username=a@b.c&password={PASSWORD}&client_secret={CLIENT_SECRET}",
        "body": json.dumps({"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "id_token": JWT}),
        "note": f"jwt bearer with {JWT} signed by {PRIVATE_KEY}",
        "nested": [[{"deep": {"client_assertion": JWT, "text": f"OAuth {ACCESS_TOKEN}"}}]],
        "auth": (f"Bearer {REFRESH_TOKEN}",),
    }


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret leaked: {secret[:12]}..."
    assert "BEGIN PRIVATE KEY" not in text


def test_redact_removes_every_secret_by_key_and_by_shape() -> None:
    cleaned = json.dumps(redact(_every_secret_by_key_and_by_shape()))
    _assert_clean(cleaned)
    assert REDACTED in cleaned


def test_redaction_keeps_what_a_reviewer_needs() -> None:
    event = {"action": "revoke_oauth_token", "label": "revoked OAuth token Dataloader", "token_count": 3,
             "record_ids": ["0Pa000000000001AAA"], "record_ids_sha256": "ab" * 32, "reason": "HR-4821",
             "before": {"AppName": "Dataloader", "UseCount": 12}, "target_user": {"username": "n@acme.example"},
             "error_message": "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record",
             "access_token": None}
    assert redact(event) == event
    assert redact_text("Authorization header missing") == "Authorization header missing"


def test_no_secret_reaches_the_log_show_or_any_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPROVISION_AUDIT_KEY", HMAC_KEY)
    log_path = tmp_path / "audit.jsonl"
    configure_audit(log_path)
    secrets = _every_secret_by_key_and_by_shape()
    bind_run(run_id="r-secrets", actor={"id": "005A", "username": "admin@acme.example"}, reason="HR-1",
             access_token=ACCESS_TOKEN, variables={"password": PASSWORD, "token": SECURITY_TOKEN})
    log = get_logger()
    log.info("run_started", users=[{"id": "005B", "username": "nina.patel@acme.example"}], **secrets)
    log.info("change_applied", target_user={"id": "005B", "username": "nina.patel@acme.example"},
             action="revoke_oauth_token", object="OauthToken", outcome="applied", **secrets)
    log.info("change_failed", target_user={"id": "005B", "username": "nina.patel@acme.example"},
             action="deactivate", object="User", outcome="failed", error_code="INVALID_SESSION_ID",
             record_ids=["005B"], **secrets)
    log.info("run_finished", status="partial", **secrets)
    unbind_run()
    reset_audit()

    outputs = {"log": log_path.read_text(encoding="utf-8")}
    runner = CliRunner()
    base = ["--state-dir", str(tmp_path)]
    for fmt in ("table", "json", "jsonl"):
        result = runner.invoke(cli, [*base, "audit", "show", "--audit-log", str(log_path), "--format", fmt])
        assert result.exit_code == 0, result.output
        outputs[f"show {fmt}"] = result.output
    for fmt in ("html", "markdown", "csv"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(cli, [*base, "audit", "report", "--audit-log", str(log_path), "--run", "r-secrets",
                                     "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs[f"report {fmt}"] = out.read_text(encoding="utf-8") + result.output
    result = runner.invoke(cli, [*base, "audit", "verify", str(log_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["hmac_checked"] is True
    outputs["verify"] = result.output
    for name, text in outputs.items():
        try:
            _assert_clean(text)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    assert "nina.patel@acme.example" in outputs["report html"]

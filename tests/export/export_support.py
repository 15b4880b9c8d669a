"""Helpers for export tests: the CLI against a served org, row counts as the org gives them."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def org_args(server) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", server.access_token,
            "--ca-bundle", server.ca_bundle]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def exportable(sf) -> dict[str, list[str]]:
    """Objects the org describes as exportable, with their base64 fields."""
    out = {}
    for entry in sf.describe()["sobjects"]:
        if not entry.get("queryable") or not entry.get("replicateable", entry.get("retrieveable")):
            continue
        if entry["name"] in ("OauthToken", "AuthSession"):
            continue
        fields = getattr(sf, entry["name"]).describe()["fields"]
        out[entry["name"]] = [f["name"] for f in fields if f["type"] == "base64"]
    return out

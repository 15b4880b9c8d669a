"""Helpers for export tests: the CLI against a served org, row counts as the org gives them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from export_helpers import exportable, skip_unless_every_object_reads  # noqa: F401


def org_args(server) -> list[str]:
    return ["--instance-url", server.instance_url, "--access-token", server.access_token,
            "--ca-bundle", server.ca_bundle]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))

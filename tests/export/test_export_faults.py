"""Transient faults (503, UNABLE_TO_LOCK_ROW) during an export are retried: the export still completes,
every row and file body is as the org holds it, and it verifies."""

from __future__ import annotations

import base64
import random
from pathlib import Path

from export_support import csv_rows

from deprovision.export import run_export, verify_export
from deprovision.org.connection import open_client
from deprovision.org.options import OrgOptions
from deprovision.org.retry import RetryPolicy


def test_export_completes_through_transient_faults(served_org, sf, tmp_path: Path):
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    bodies = {}
    for n in range(6):
        data = random.Random(n).randbytes(20_000 + n)
        made = sf.Attachment.create({"Name": f"f{n}.bin", "ParentId": account,
                                     "Body": base64.b64encode(data).decode()})
        bodies[made["id"]] = data
    served_org.faults.configure(fail_rate=0.3, fault_seed=11, kinds=["SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"])
    options = OrgOptions(instance_url=served_org.instance_url, access_token=served_org.access_token,
                         ca_bundle=served_org.ca_bundle)
    retry = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.01, rng=random.Random(3))
    out = tmp_path / "out"
    with open_client(options, tmp_path, retry=retry, bulk_poll_seconds=0.05) as client:
        result = run_export(client, out, objects=["Account", "Contact", "Attachment"], poll_seconds=0.05)
        retries = client.retries
    served_org.faults.configure(fail_rate=0.0)
    assert not result.failed and retries > 0
    for name in ("Account", "Contact", "Attachment"):
        total = sf.query(f"SELECT COUNT() FROM {name}")["totalSize"]
        assert len(csv_rows(out / "data" / f"{name}.csv")) == total == result.manifest.objects[name].rows
    for record_id, data in bodies.items():
        assert (out / "files" / "Attachment" / f"{record_id}.Body").read_bytes() == data
    assert verify_export(out).ok

"""``deprovision export`` end to end on the demo org: every object and file, killed twice and resumed,
verified; a tampered, missing or unfinished export is named by ``export verify``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from export_support import csv_rows, exportable, manifest, org_args, skip_unless_every_object_reads

CRASH = {"DEPROVISION_TESTING": "1"}


def _add_files(sf) -> dict[str, bytes]:
    """Files of three kinds on the demo org: ContentVersion, Attachment, Document bodies (id -> bytes)."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    bodies = {}
    for n, size in enumerate((10, 70_000, 300_000)):
        data = os.urandom(size)
        made = sf.ContentVersion.create({"Title": f"Contract {n}", "PathOnClient": f"contract-{n}.pdf",
                                         "VersionData": base64.b64encode(data).decode(),
                                         "FirstPublishLocationId": account})
        bodies[f"ContentVersion/{made['id']}.VersionData"] = data
    for n in range(2):
        data = f"attachment {n}\n".encode() * 1000
        made = sf.Attachment.create({"Name": f"note-{n}.txt", "ParentId": account,
                                     "Body": base64.b64encode(data).decode()})
        bodies[f"Attachment/{made['id']}.Body"] = data
    return bodies


def _file_count(sf) -> int:
    """Every file body the org holds (one per row of an object with a base64 field)."""
    return sum(sf.query(f"SELECT COUNT() FROM {n}")["totalSize"] * len(f) for n, f in exportable(sf).items() if f)


def _export(cli, server, out: Path, *extra: str, env: dict | None = None):
    return cli("export", "--out", str(out), *org_args(server), *extra, env=env)


def test_export_reads_every_object_and_file_and_verifies(cli, served_org, sf, tmp_path: Path):
    skip_unless_every_object_reads(sf)
    bodies = _add_files(sf)
    out = tmp_path / "export"
    code, stdout, err = _export(cli, served_org, out, "--format", "json")
    assert code == 0, err
    summary = json.loads(stdout)
    for rel, data in bodies.items():
        assert (out / "files" / rel).read_bytes() == data, rel
    assert summary["files"] == _file_count(sf)
    sums = (out / "SHA256SUMS").read_text()
    assert all(f"files/{rel}" in sums for rel in bodies)
    assert summary["complete"] and not summary["failed"]
    data = manifest(out)
    expected = exportable(sf)
    assert set(data["objects"]) == set(expected)
    assert data["org_id"] == served_org.org_id and data["complete"]
    assert "OauthToken" in data["skipped"]
    for name, files in expected.items():
        entry = data["objects"][name]
        total = sf.query(f"SELECT COUNT() FROM {name}")["totalSize"]
        assert entry["rows"] == total, name
        rows = csv_rows(out / entry["path"])
        assert len(rows) == total and entry["read_at"] and entry["method"] == "bulk"
        assert not any(f in rows[0] for f in files) if rows else True  # file bodies are not columns
        if files:
            assert entry["files"] + entry["files_missing"] == total * len(files), name
            for row in rows[:3]:
                body = out / "files" / name / f"{row['Id']}.{files[0]}"
                assert body.exists() or (body.parent / f"{body.name}.none").exists()
    user_rows = csv_rows(out / "data" / "User.csv")
    assert {"Id", "Username", "IsActive", "ManagerId"} <= set(user_rows[0])
    code, _, err = cli("export", "verify", str(out))
    assert code == 0, err
    assert "Export verified" in err


def test_killed_twice_resumes_without_reading_again(cli, served_org, sf, tmp_path: Path):
    skip_unless_every_object_reads(sf)
    bodies = _add_files(sf)
    out = tmp_path / "export"
    code, _, _ = _export(cli, served_org, out, env={**CRASH, "DEPROVISION_EXPORT_CRASH_AFTER": "object:4"})
    assert code == -9
    first = {n: e["read_at"] for n, e in manifest(out)["objects"].items() if e["status"] == "complete"}
    assert len(first) >= 4
    code, _, _ = _export(cli, served_org, out, env={**CRASH, "DEPROVISION_EXPORT_CRASH_AFTER": "page:3"})
    assert code == -9
    assert list(out.glob("data/*.part")), "a kill mid-object leaves only a .part file"
    second = {n: e["read_at"] for n, e in manifest(out)["objects"].items() if e["status"] == "complete"}
    assert all(second[n] == t for n, t in first.items()), "complete objects were read again"
    code, _, err = cli("export", "verify", str(out))
    assert code == 1 and "incomplete" in err
    code, _, _ = _export(cli, served_org, out, env={**CRASH, "DEPROVISION_EXPORT_CRASH_AFTER": "file:2"})
    assert code == -9
    fetched = {p.relative_to(out / "files").as_posix(): p.stat().st_mtime_ns
               for p in (out / "files").glob("*/*") if not p.name.endswith(".part")}
    assert len(fetched) >= 2
    code, stdout, err = _export(cli, served_org, out, "--format", "json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert not set(summary["read"]) & set(second)
    assert summary["files_read"] == _file_count(sf) - len(fetched)  # complete before the kill: not again
    assert all((out / "files" / rel).stat().st_mtime_ns == t for rel, t in fetched.items())
    for rel, data in bodies.items():
        assert (out / "files" / rel).read_bytes() == data, rel
    assert not list(out.rglob("*.part"))
    code, _, err = cli("export", "verify", str(out))
    assert code == 0, err


def test_second_export_reads_nothing(cli, served_org, sf, tmp_path: Path):
    skip_unless_every_object_reads(sf)
    out = tmp_path / "export"
    assert _export(cli, served_org, out).code == 0
    before = (out / "manifest.json").read_bytes()
    code, stdout, err = _export(cli, served_org, out, "--format", "json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["read"] == [] and summary["files_read"] == 0
    assert (out / "manifest.json").read_bytes() == before  # the digest a reviewer recorded still holds


def test_tampered_missing_and_extra_lines_are_named(cli, served_org, tmp_path: Path):
    out = tmp_path / "export"
    assert _export(cli, served_org, out, "--objects", "Account,Contact,User").code == 0
    assert set(manifest(out)["objects"]) == {"Account", "Contact", "User"}
    with open(out / "data" / "Account.csv", "r+b") as fh:
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(b"X" if byte != b"X" else b"Y")
    os.unlink(out / "data" / "Contact.csv")
    code, _, err = cli("export", "verify", str(out))
    assert code == 1
    assert "altered: data/Account.csv" in err and "missing: data/Contact.csv" in err
    assert "User.csv" not in err


def test_rewritten_sums_file_is_caught(cli, served_org, tmp_path: Path):
    out = tmp_path / "export"
    assert _export(cli, served_org, out, "--objects", "Account").code == 0
    csv_path = out / "data" / "Account.csv"
    csv_path.write_text(csv_path.read_text() + "001000000000000AAA\n")
    import hashlib

    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    (out / "SHA256SUMS").write_text(f"{digest}  data/Account.csv\n")  # re-hashed to hide the edit
    code, _, err = cli("export", "verify", str(out))
    assert code == 1
    assert "altered: SHA256SUMS" in err and "not the file the manifest recorded for Account" in err


def test_unknown_object_and_other_org_refused(cli, served_org, tmp_path: Path):
    out = tmp_path / "export"
    code, _, err = _export(cli, served_org, out, "--objects", "Nope__c")
    assert code == 1 and "no object called nope__c" in err
    assert _export(cli, served_org, out, "--objects", "Account").code == 0
    data = manifest(out)
    data["org_id"] = "00D000000000000AAA"
    (out / "manifest.json").write_text(json.dumps(data))
    code, _, err = _export(cli, served_org, out, "--objects", "Account")
    assert code == 2 and "holds an export of org 00D000000000000AAA" in err


def test_verify_of_a_folder_without_export(cli, tmp_path: Path):
    code, _, err = cli("export", "verify", str(tmp_path))
    assert code == 1 and "missing: manifest.json" in err

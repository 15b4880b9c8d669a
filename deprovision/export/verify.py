"""``verify_export``: every file of an export checked against its manifest; what is missing or altered."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deprovision.export.manifest import MANIFEST, SUMS, Manifest
from deprovision.export.sink import sha256_file


@dataclass
class ExportCheck:
    """The outcome of a verification."""

    folder: Path
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    manifest_sha256: str = ""
    org_id: str = ""
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _parse_sums(path: Path):
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            digest, sep, rel = line.rstrip("\n").partition("  ")
            yield number, digest, rel if sep else ""


def verify_export(folder: Path) -> ExportCheck:
    """Check the manifest is complete, SHA256SUMS is the one it recorded, and every listed file hashes right."""
    check = ExportCheck(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        check.problems.append(f"missing: {MANIFEST} (no export in {folder})")
        return check
    manifest = Manifest.load(folder)
    assert manifest is not None
    check.manifest_sha256, _ = sha256_file(manifest_path)
    check.org_id, check.totals = manifest.org_id, manifest.totals
    unfinished = sorted(n for n, e in manifest.objects.items() if not e.done)
    if not manifest.complete or unfinished:
        names = ", ".join(unfinished[:10]) or "(none started)"
        check.problems.append(f"incomplete: the export has not finished; unfinished objects: {names}")
        return check
    sums = folder / SUMS
    if not sums.exists():
        check.problems.append(f"missing: {SUMS}")
        return check
    digest, _ = sha256_file(sums)
    if digest != manifest.sums_sha256:
        check.problems.append(f"altered: {SUMS} (its SHA-256 is not the one the manifest recorded)")
    listed: dict[str, str] = {}
    per_object_files: dict[str, int] = {}
    for number, expected, rel in _parse_sums(sums):
        if not rel or len(expected) != 64:
            check.problems.append(f"altered: {SUMS} line {number} is not 'sha256  path'")
            continue
        check.checked += 1
        path = folder / rel
        if rel.startswith("data/") or rel.endswith(".jsonl"):
            listed[rel] = expected
        elif rel.startswith("files/"):
            obj = rel.split("/")[1]
            per_object_files[obj] = per_object_files.get(obj, 0) + 1
        if not path.is_file():
            check.problems.append(f"missing: {rel}")
            continue
        actual, _ = sha256_file(path)
        if actual != expected:
            check.problems.append(f"altered: {rel}")
    for name, entry in sorted(manifest.objects.items()):
        if listed.get(entry.path) != entry.sha256:
            check.problems.append(f"altered: {entry.path} is not the file the manifest recorded for {name}")
        if per_object_files.get(name, 0) != entry.files:
            check.problems.append(f"missing: {entry.files - per_object_files.get(name, 0)} of {name}'s "
                                  f"{entry.files} files are not listed in {SUMS}")
    return check

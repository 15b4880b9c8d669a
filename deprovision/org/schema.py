"""``OrgSchema``: the org's objects and fields, as the org describes them.

The one place the product learns what an org has: describeGlobal once per run, object describes on
demand (25 per Composite call, which the org counts as one API request however many describes it carries;
Composite Batch would count each), both kept in memory for the run and on disk per org id and API
version. A cached describeGlobal is revalidated with ``If-Modified-Since``: 304 means no object's metadata
changed, so the cached describes still hold; any other answer replaces the cache and the describes are
fetched again when asked for. A feature that is off (Territory Management, ...) is an object missing from
describeGlobal: ``has()`` says False and callers read nothing there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from deprovision.org.objects import is_setup_object

BATCH_SIZE = 25  # Composite: at most 25 subrequests per call (describes are sObject resources, not queries)
# Suffixes of objects that never have an owner of their own (shares, history, feeds, events, metadata).
_OWNERLESS = re.compile(r"(Share|History|Feed|ChangeEvent|__mdt|__e|__x|__b|__hd|__chn|Tag)$")
# Describe facts a plan depends on; the digest covers these and nothing else (urls, labels, ...).
_OBJECT_FACTS = ("name", "keyPrefix", "custom", "queryable", "createable", "updateable", "deletable")
_FIELD_FACTS = ("name", "type", "referenceTo", "createable", "updateable", "nillable", "calculated",
                "custom", "nameField")
_NAME_FALLBACKS = ("Name", "Subject", "Title", "CaseNumber")


class OrgSchema:
    """Objects, fields, prefixes and features of the org ``client`` talks to."""

    def __init__(self, client: Any, cache_dir: Path | None = None) -> None:
        self.client = client
        self.cache_root = Path(cache_dir) if cache_dir else None
        self.round_trips = 0  # HTTP calls made by the schema service
        self.requests = 0  # API requests the org counts for them (a Composite call counts once)
        self._lock = threading.RLock()
        self._global: dict[str, dict] | None = None  # lower-case name -> describeGlobal entry
        self._by_prefix: dict[str, str] = {}
        self._described: dict[str, dict | None] = {}  # lower-case name -> describe (None: not in the org)
        self._disk_valid = False  # the on-disk describes belong to the current describeGlobal

    # -- describeGlobal ---------------------------------------------------------------------------
    def objects(self) -> dict[str, dict]:
        """Every object the org lists (describeGlobal), by API name."""
        return {entry["name"]: entry for entry in self._entries().values()}

    def has(self, name: str) -> bool:
        """True when the org has ``name`` (a feature that is off has no objects)."""
        return name.lower() in self._entries()

    def name_of(self, name: str) -> str | None:
        """The org's spelling of ``name`` (``account`` -> ``Account``), None when it has no such object."""
        entry = self._entries().get(name.lower())
        return entry["name"] if entry else None

    @property
    def loaded(self) -> bool:
        """Whether describeGlobal has been read in this run."""
        return self._global is not None

    def object_of_id(self, record_id: str) -> str | None:
        """The object a record id belongs to, from its key prefix."""
        self._entries()
        return self._by_prefix.get(str(record_id)[:3])

    def key_prefix_of(self, name: str) -> str | None:
        """The key prefix of ``name``'s ids."""
        entry = self._entries().get(name.lower())
        return entry.get("keyPrefix") if entry else None

    def is_setup(self, name: str) -> bool:
        """Setup object or data object (the rule: ``deprovision.org.objects``).

        Before describeGlobal was read, the rule's name test alone decides (no call just for this).
        """
        entry = self._global.get(name.lower()) if self._global is not None else None
        return is_setup_object(name, entry)

    def owner_candidates(self) -> list[str]:
        """Queryable objects that may have an owner: the ones worth describing to find OwnerId fields."""
        return sorted(e["name"] for e in self._entries().values()
                      if e.get("queryable") and not e.get("deprecatedAndHidden") and not _OWNERLESS.search(e["name"]))

    def _entries(self) -> dict[str, dict]:
        with self._lock:
            if self._global is None:
                self._load_global()
            assert self._global is not None
            return self._global

    def _load_global(self) -> None:
        cached = self._read_json(self._global_path())
        headers = {"If-Modified-Since": cached["fetched"]} if cached and cached.get("fetched") else {}
        response = self.client.rest_get("sobjects", headers=headers, action="describe the org's objects")
        self.round_trips += 1
        self.requests += 1
        if response.status_code == 304 and cached:
            sobjects = cached["sobjects"]
            self._disk_valid = True
        else:
            sobjects = response.json().get("sobjects", [])
            fetched = response.headers.get("Date") or formatdate(usegmt=True)
            self._clear_describes()
            self._write_json(self._global_path(), {"fetched": fetched, "sobjects": sobjects})
            self._disk_valid = True
        self._global = {e["name"].lower(): e for e in sobjects if e.get("name")}
        self._by_prefix = {e["keyPrefix"]: e["name"] for e in sobjects if e.get("keyPrefix")}

    # -- describes --------------------------------------------------------------------------------
    def describe(self, name: str) -> dict | None:
        """The describe of ``name``; None when the org has no such object."""
        return self.describe_many([name]).get(self.name_of(name) or name)

    def describe_many(self, names: Iterable[str]) -> dict[str, dict | None]:
        """Describes of ``names`` by the org's spelling (None for objects the org lacks), 25 per Composite call."""
        wanted = list(dict.fromkeys(names))
        entries = self._entries()
        with self._lock:
            missing = [entries[n.lower()]["name"] for n in wanted
                       if n.lower() in entries and n.lower() not in self._described]
            fetch = []
            for name in missing:
                cached = self._read_json(self._describe_path(name)) if self._disk_valid else None
                if cached is not None:
                    self._described[name.lower()] = cached
                else:
                    fetch.append(name)
            for start in range(0, len(fetch), BATCH_SIZE):
                self._fetch(fetch[start:start + BATCH_SIZE])
            return {entries[n.lower()]["name"] if n.lower() in entries else n:
                    self._described.get(n.lower()) for n in wanted}

    def _fetch(self, names: list[str]) -> None:
        """One Composite call of at most 25 describes, allOrNone false: each subrequest stands alone, so an
        object the org refuses to describe is None and the others still come back."""
        base = f"/services/data/v{self.client.api_version}/sobjects"
        subrequests = [{"method": "GET", "url": f"{base}/{name}/describe", "referenceId": f"d{i}"}
                       for i, name in enumerate(names)]
        answers = self.client.composite(subrequests)
        self.round_trips += 1
        self.requests += 1
        for name, result in zip(names, answers, strict=False):
            describe = result.get("body") if result.get("httpStatusCode") == 200 else None
            self._described[name.lower()] = describe
            if describe is not None:
                self._write_json(self._describe_path(name), describe)

    # -- fields -----------------------------------------------------------------------------------
    def fields(self, name: str) -> list[dict]:
        """The fields ``name``'s describe lists (empty when the org has no such object)."""
        return list((self.describe(name) or {}).get("fields", []))

    def field(self, name: str, field_name: str) -> dict | None:
        """One field of ``name`` (case-insensitive), or None."""
        wanted = field_name.lower()
        return next((f for f in self.fields(name) if f["name"].lower() == wanted), None)

    def name_field(self, name: str) -> str | None:
        """The field that names ``name``'s records (describe's ``nameField``; else Name, Subject, ...)."""
        fields = self.fields(name)
        flagged = next((f["name"] for f in fields if f.get("nameField")), None)
        if flagged:
            return flagged
        present = {f["name"] for f in fields}
        return next((n for n in _NAME_FALLBACKS if n in present), None)

    def owner_can_reference(self, name: str, target: str) -> bool:
        """Whether ``name``'s OwnerId may point at a ``target`` (``User``, or ``Group`` for queues)."""
        owner = self.field(name, "OwnerId")
        return bool(owner) and target in (owner.get("referenceTo") or [])

    def user_references(self, name: str = "User") -> list[str]:
        """Updateable fields of ``name`` that reference User (on User: its hierarchy fields)."""
        return sorted(f["name"] for f in self.fields(name)
                      if f.get("type") == "reference" and "User" in (f.get("referenceTo") or [])
                      and f.get("updateable"))

    # -- digest -----------------------------------------------------------------------------------
    def object_digest(self, name: str) -> str | None:
        """SHA-256 of the describe facts of ``name`` a plan depends on; None when the org lacks it."""
        describe = self.describe(name)
        if describe is None:
            return None
        facts = {k: describe.get(k) for k in _OBJECT_FACTS}
        facts["fields"] = sorted(({k: f.get(k) for k in _FIELD_FACTS} for f in describe.get("fields", [])),
                                 key=lambda f: str(f["name"]).lower())
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()

    def digest(self, names: Iterable[str] | None = None) -> dict[str, str | None]:
        """Per-object digests of ``names`` (default: every object described so far)."""
        chosen = sorted(names if names is not None else
                        (d["name"] for d in self._described.values() if d), key=str.lower)
        self.describe_many(chosen)
        return {name: self.object_digest(name) for name in chosen}

    # -- disk cache -------------------------------------------------------------------------------
    def _folder(self) -> Path | None:
        if self.cache_root is None:
            return None
        org_id = self.client.org_id or "unknown-org"
        return self.cache_root / org_id / f"v{self.client.api_version}"

    def _global_path(self) -> Path | None:
        folder = self._folder()
        return folder / "describeGlobal.json" if folder else None

    def _describe_path(self, name: str) -> Path | None:
        folder = self._folder()
        return folder / "describe" / f"{name}.json" if folder else None

    def _clear_describes(self) -> None:
        folder = self._folder()
        if folder and (folder / "describe").is_dir():
            for path in (folder / "describe").glob("*.json"):
                path.unlink(missing_ok=True)

    @staticmethod
    def _read_json(path: Path | None) -> Any:
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged cache file is only a cache miss

    @staticmethod
    def _write_json(path: Path | None, data: Any) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

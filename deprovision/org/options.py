"""``OrgOptions``: which org a command talks to, as the user chose it (flags or SF_* variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class OrgOptions:
    """How the user chose an org; all None means the embedded local org."""

    org: str | None = None
    instance_url: str | None = None
    access_token: str | None = None
    ca_bundle: str | None = None
    api_version: str | None = None

    @classmethod
    def from_env(cls, **given: Any) -> OrgOptions:
        """Options given on the command line, falling back to SF_* environment variables."""
        return cls(
            org=given.get("org") or os.environ.get("DEPROVISION_ORG"),
            instance_url=given.get("instance_url") or os.environ.get("SF_INSTANCE_URL"),
            access_token=given.get("access_token") or os.environ.get("SF_ACCESS_TOKEN"),
            ca_bundle=given.get("ca_bundle") or os.environ.get("SF_CA_BUNDLE"),
            api_version=given.get("api_version") or os.environ.get("SF_API_VERSION"),
        )

"""The org layer: connections (every auth method), the client with batching and retries.

Names are loaded on first use, so ``deprovision.org.soql`` stays a light import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OrgClient": "deprovision.org.client",
    "open_client": "deprovision.org.connection",
    "BulkResult": "deprovision.org.results",
    "RecordResult": "deprovision.org.results",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'deprovision.org' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

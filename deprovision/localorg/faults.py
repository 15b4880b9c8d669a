"""Latency and transient faults the local org can inject, reproducibly.

A ``FaultInjector`` decides per request, before the store is touched, whether
to answer with a transient error instead: 503 ``SERVER_UNAVAILABLE``, 400
``UNABLE_TO_LOCK_ROW`` or 403 ``REQUEST_LIMIT_EXCEEDED``. Draws come from a
``random.Random(fault_seed)``, so the same seed and request order give the same
faults. The versions list and the OAuth endpoints are never faulted (the router
decides that). Settings can change while the server runs: tests call
``POST /_localorg/faults`` (see ``resources/admin.py``).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from deprovision.localorg import errors

KINDS = ("SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED")


@dataclass
class FaultSettings:
    """What to inject: a latency per request and a probability of a transient fault."""

    latency_ms: int = 0
    fail_rate: float = 0.0
    fault_seed: int = 0
    kinds: tuple[str, ...] = KINDS
    fail_next: list[str] = field(default_factory=list)  # exact faults for the next requests, in order

    def as_dict(self) -> dict:
        return {"latency_ms": self.latency_ms, "fail_rate": self.fail_rate, "fault_seed": self.fault_seed,
                "kinds": list(self.kinds), "fail_next": list(self.fail_next)}


class FaultInjector:
    """Thread-safe source of latency and faults for the request handlers."""

    def __init__(self, latency_ms: int = 0, fail_rate: float = 0.0, fault_seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.injected = 0
        self.configure(latency_ms=latency_ms, fail_rate=fail_rate, fault_seed=fault_seed)

    def configure(self, **changes) -> FaultSettings:
        """Replace some settings; a new ``fault_seed`` (or ``fail_rate``) restarts the random sequence."""
        with self._lock:
            current = getattr(self, "settings", FaultSettings())
            values = current.as_dict() | {k: v for k, v in changes.items() if v is not None}
            kinds = tuple(values["kinds"])
            unknown = [k for k in kinds + tuple(values["fail_next"]) if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown fault kind(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
            rate = float(values["fail_rate"])
            if not 0.0 <= rate <= 1.0:
                raise ValueError("fail_rate must be between 0 and 1")
            if int(values["latency_ms"]) < 0:
                raise ValueError("latency_ms must not be negative")
            self.settings = FaultSettings(int(values["latency_ms"]), rate, int(values["fault_seed"]), kinds,
                                          list(values["fail_next"]))
            self._random = random.Random(self.settings.fault_seed)
            return self.settings

    def delay(self) -> None:
        """Sleep for the configured latency."""
        ms = self.settings.latency_ms
        if ms:
            time.sleep(ms / 1000.0)

    def draw(self, record_hint: str | None = None) -> errors.SalesforceError | None:
        """The fault to answer this request with, or None to serve it normally."""
        with self._lock:
            settings = self.settings
            if settings.fail_next:
                kind = settings.fail_next.pop(0)
            elif settings.fail_rate and self._random.random() < settings.fail_rate:
                kind = settings.kinds[self._random.randrange(len(settings.kinds))] if settings.kinds else None
            else:
                kind = None
            if kind is None:
                return None
            self.injected += 1
        return make_fault(kind, record_hint)


def make_fault(kind: str, record_hint: str | None = None) -> errors.SalesforceError:
    """The error Salesforce answers for a transient fault of this kind."""
    if kind == "SERVER_UNAVAILABLE":
        return errors.SERVER_UNAVAILABLE("Server temporarily unavailable, please retry later.")
    if kind == "UNABLE_TO_LOCK_ROW":
        record = record_hint or "000000000000000AAA"
        return errors.UNABLE_TO_LOCK_ROW(f"unable to obtain exclusive access to this record or 1 records: {record}")
    if kind == "REQUEST_LIMIT_EXCEEDED":
        return errors.REQUEST_LIMIT_EXCEEDED("TotalRequests Limit exceeded.")
    raise ValueError(f"unknown fault kind: {kind}")

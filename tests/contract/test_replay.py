"""The client contract replayed from the committed cassettes, with no org at all.

The real client code runs (simple-salesforce, retries, batching, CSV parsing); only the network is
vcrpy's recorded and scrubbed answers. ``record_mode="none"``: a request the cassette does not hold
fails the test.
"""

from __future__ import annotations

import random

import pytest
import requests

from deprovision.org.auth import OrgSession
from deprovision.org.client import OrgClient
from deprovision.org.retry import RetryPolicy

from .contract_vcr import CASSETTES, HOST, make_vcr
from .scenarios import SCENARIOS

pytestmark = pytest.mark.contract
RECORDED = CASSETTES / "local"


def replay_client() -> OrgClient:
    """A client for the scrubbed org: any token, the scrubbed host, no server behind it."""
    http = requests.Session()
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda s: None, rng=random.Random(0))
    return OrgClient(OrgSession("00D000000000000!replay", f"https://{HOST}"), http, retry=retry,
                     bulk_poll_seconds=0)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_replay(name: str) -> None:
    cassette = RECORDED / f"{name}.yaml"
    assert cassette.is_file(), f"no cassette for {name}: record with pytest tests/contract --record"
    with make_vcr("none").use_cassette(f"local/{name}.yaml") as recorded:
        SCENARIOS[name](replay_client())
        assert recorded.all_played, f"{name}: {len(recorded.data) - recorded.play_count} recorded calls not made"

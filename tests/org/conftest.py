"""Fixtures of the org-layer tests: a served local org with a little data, connections to it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions
from deprovision.localorg import ids
from deprovision.localorg.server import LocalOrgServer
from deprovision.org.connection import open_client
from deprovision.org.retry import RetryPolicy

ADMIN_ID = ids.make_id("005", 1)
ACCOUNTS = 450  # more than two Collections calls and two query pages of 200


@pytest.fixture(scope="module")
def org_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrgServer]:
    """A served local org (empty seed) with ``ACCOUNTS`` accounts named ``Acct 000`` ..."""
    folder = tmp_path_factory.mktemp("org")
    server = LocalOrgServer(folder / "org.db", seed="empty").start()
    store = server.store
    with store.transaction():
        for n in range(ACCOUNTS):
            store.create("Account", {"Name": f"Acct {n:03d}"}, actor_id=ADMIN_ID)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults and session settings never leak from one test into the next."""
    yield
    if "org_server" in request.fixturenames:
        server = request.getfixturevalue("org_server")
        server.faults.configure(fail_next=[], fail_rate=0.0, latency_ms=0)
        server.store.configure(token_max_uses=None, daily_api_limit=None)


@pytest.fixture()
def sleeps() -> list[float]:
    """The waits the retry policy asked for (nobody really sleeps in these tests)."""
    return []


@pytest.fixture()
def fast_retry(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_delay=0.001, sleep=sleeps.append, rng=random.Random(7))


@pytest.fixture()
def direct_options(org_server: LocalOrgServer) -> OrgOptions:
    return OrgOptions(instance_url=org_server.instance_url, access_token=org_server.access_token,
                      ca_bundle=org_server.ca_bundle)


@pytest.fixture()
def client(direct_options: OrgOptions, fast_retry: RetryPolicy, tmp_path: Path):
    with open_client(direct_options, tmp_path, retry=fast_retry, bulk_poll_seconds=0) as c:
        yield c

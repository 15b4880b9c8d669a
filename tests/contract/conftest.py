"""Contract tests of the client: against a served local org by default, against a real org with ``--org``.

    pytest tests/contract                       live against a served local org, then replay the committed
                                                cassettes (tests/contract/cassettes/local) without any server
    pytest tests/contract --record              re-record tests/contract/cassettes/local from a served local org
    pytest tests/contract --org NAME            live against the org NAME of deprovision.toml
    pytest tests/contract --org NAME --record   ... and record scrubbed cassettes in cassettes/NAME
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from deprovision.cli.common import OrgOptions
from deprovision.org.client import OrgClient
from deprovision.org.connection import open_client
from deprovision.org.retry import RetryPolicy

from .contract_vcr import CASSETTES, make_vcr


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "client contract tests")
    group.addoption("--org", action="store", default=None, metavar="NAME",
                    help="run the contract tests against the org NAME of deprovision.toml (or sf:ALIAS)")
    group.addoption("--record", action="store_true", default=False,
                    help="record scrubbed cassettes (vcrpy record_mode 'all'; otherwise 'none')")


def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_delay=0.01, rng=random.Random(3))


@dataclass
class Target:
    """Where the live contract tests run and whether they record."""

    name: str  # "local" or the org name; also the cassette folder
    record: bool
    connect: Callable[[], object]  # a context manager factory yielding an OrgClient
    server: object | None = None  # the served local org, when the target is local

    @contextmanager
    def client(self, scenario: str) -> Iterator[OrgClient]:
        if self.record:
            (CASSETTES / self.name / f"{scenario}.yaml").unlink(missing_ok=True)  # "all" would append
            with make_vcr("all").use_cassette(f"{self.name}/{scenario}.yaml"):
                with self.connect() as client:
                    yield client
        else:
            with self.connect() as client:
                yield client


@pytest.fixture(scope="session")
def contract_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    org = request.config.getoption("--org", default=None)
    record = bool(request.config.getoption("--record", default=False))
    state = tmp_path_factory.mktemp("contract-state")
    if org:
        yield Target(org.replace(":", "_"), record,
                     lambda: open_client(OrgOptions(org=org), state, retry=fast_retry(), bulk_poll_seconds=0.5))
        return
    from deprovision.localorg import seed
    from deprovision.localorg.server import LocalOrgServer

    db = Path(state) / "org.db"
    shutil.copyfile(seed.template("demo"), db)  # the demo org, built once per test session
    server = LocalOrgServer(db).start()
    options = OrgOptions(instance_url=server.instance_url, access_token=server.access_token,
                         ca_bundle=server.ca_bundle)
    try:
        yield Target("local", record, lambda: open_client(options, state, retry=fast_retry(), bulk_poll_seconds=0),
                     server=server)
    finally:
        server.stop()

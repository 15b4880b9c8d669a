"""The client contract, live: a served local org by default, a real org with ``--org NAME``."""

from __future__ import annotations

import pytest

from .conftest import Target
from .scenarios import SCENARIOS

pytestmark = pytest.mark.contract


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_live(contract_target: Target, name: str) -> None:
    with contract_target.client(name) as client:
        SCENARIOS[name](client)

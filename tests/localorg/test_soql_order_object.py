"""``Order`` is an object (Salesforce: SELECT Id FROM Order) as well as the start of ORDER BY."""

from __future__ import annotations

import pytest

from deprovision.localorg.soql import parse


@pytest.mark.parametrize("soql", [
    "SELECT Id FROM Order",
    "SELECT Id, OrderNumber FROM Order WHERE Status = 'Draft' ORDER BY OrderNumber",
    "SELECT COUNT() FROM Order",
])
def test_order_is_an_object_name(soql):
    assert parse(soql).object_name.lower() == "order"


def test_order_by_still_orders():
    query = parse("SELECT Id FROM Account ORDER BY Name")
    assert query.object_name == "Account" and query.order_by

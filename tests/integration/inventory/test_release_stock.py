"""release_stock handler: the compensation of reserve_stock."""

from __future__ import annotations

from services.inventory.dal.records import ReservationRecord
from services.inventory.handlers import release_stock, reserve_stock
from tests.integration.inventory.conftest import available, invoke
from tests.support.tables import table_items

ORDER = "order-0002"
RESERVE = {"order_id": ORDER, "items": [{"sku": "SKU-A", "quantity": 2}]}
RELEASE = {"order_id": ORDER}


def test_release_returns_the_stock(add_product):
    add_product("SKU-A", available=5)
    invoke(reserve_stock.lambda_handler, RESERVE)

    result = invoke(release_stock.lambda_handler, RELEASE)

    assert result == {"order_id": ORDER, "status": "RELEASED", "released_now": True}
    assert available("SKU-A") == 5
    [stored] = table_items(ReservationRecord)
    assert stored["status"] == "RELEASED"


def test_release_twice_returns_the_stock_once(add_product):
    add_product("SKU-A", available=5)
    invoke(reserve_stock.lambda_handler, RESERVE)

    invoke(release_stock.lambda_handler, RELEASE)
    second = invoke(release_stock.lambda_handler, RELEASE)

    assert second["released_now"] is False
    assert available("SKU-A") == 5


def test_release_before_reserve_is_a_no_op_that_leaves_a_tombstone(add_product):
    add_product("SKU-A", available=5)

    result = invoke(release_stock.lambda_handler, RELEASE)

    assert result["released_now"] is False
    assert available("SKU-A") == 5
    [tombstone] = table_items(ReservationRecord)
    assert tombstone["status"] == "RELEASED"
    assert tombstone.get("lines", []) == []

"""reserve_stock handler against moto tables: all lines or none, priced from the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from services.inventory.dal.records import ReservationRecord
from services.inventory.handlers import release_stock, reserve_stock
from shared.errors import (
    AlreadyCompensatedError,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
    OutOfStockError,
    UnknownSkuError,
)
from tests.integration.inventory.conftest import available, invoke
from tests.support.tables import table_items

ORDER = "order-0001"


def reserve_event(items: list[dict[str, Any]], order_id: str = ORDER) -> dict[str, Any]:
    return {"order_id": order_id, "items": items}


def test_reserves_every_line_and_prices_from_the_catalog(add_product):
    # Given two products in the catalog
    add_product("SKU-A", available=5, unit_price=1_000)
    add_product("SKU-B", available=2, unit_price=250)

    # When an order reserves some of each
    result = invoke(
        reserve_stock.lambda_handler,
        reserve_event([{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 2}]),
    )

    # Then stock is decremented, the lines carry catalog prices and the total is server-side
    assert available("SKU-A") == 3
    assert available("SKU-B") == 0
    assert result["total"] == {"amount": 2 * 1_000 + 2 * 250, "currency": "EUR"}
    assert [line["unit_price"] for line in result["lines"]] == [1_000, 250]
    [stored] = table_items(ReservationRecord)
    assert stored["status"] == "RESERVED"
    assert stored["total_amount"] == 2_500


def test_same_order_twice_reserves_once_and_returns_the_same_result(add_product):
    add_product("SKU-A", available=5)
    event = reserve_event([{"sku": "SKU-A", "quantity": 2}])

    first = invoke(reserve_stock.lambda_handler, event)
    second = invoke(reserve_stock.lambda_handler, event)

    assert first == second
    assert available("SKU-A") == 3
    assert len(table_items(ReservationRecord)) == 1


def test_same_order_with_different_lines_is_a_conflict(add_product):
    add_product("SKU-A", available=5)
    invoke(reserve_stock.lambda_handler, reserve_event([{"sku": "SKU-A", "quantity": 2}]))

    with pytest.raises(IdempotencyConflictError):
        invoke(reserve_stock.lambda_handler, reserve_event([{"sku": "SKU-A", "quantity": 3}]))

    assert available("SKU-A") == 3


def test_out_of_stock_reserves_nothing_at_all(add_product):
    # Given one line that fits and one that does not
    add_product("SKU-A", available=5)
    add_product("SKU-B", available=1)

    # When the order asks for both, it fails as a business error naming the short sku
    with pytest.raises(OutOfStockError, match="SKU-B"):
        invoke(
            reserve_stock.lambda_handler,
            reserve_event([{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 2}]),
        )

    # Then no line was reserved (all or nothing) and no reservation was recorded
    assert available("SKU-A") == 5
    assert available("SKU-B") == 1
    assert table_items(ReservationRecord) == []


def test_price_changes_are_picked_up_not_trusted_from_a_stale_read(add_product):
    add_product("SKU-A", available=5, unit_price=1_000)
    add_product("SKU-A", available=5, unit_price=1_200)  # repriced

    result = invoke(reserve_stock.lambda_handler, reserve_event([{"sku": "SKU-A", "quantity": 1}]))

    assert result["total"]["amount"] == 1_200


def test_reserve_after_release_is_refused_and_holds_no_stock(add_product):
    # Given the compensation ran first (the reserve timed out and is landing late)
    add_product("SKU-A", available=5)
    invoke(release_stock.lambda_handler, {"order_id": ORDER})

    # When the late reserve arrives, it is refused
    with pytest.raises(AlreadyCompensatedError):
        invoke(reserve_stock.lambda_handler, reserve_event([{"sku": "SKU-A", "quantity": 2}]))

    # Then no stock is held
    assert available("SKU-A") == 5
    [tombstone] = table_items(ReservationRecord)
    assert tombstone["status"] == "RELEASED"


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({"items": [{"sku": "SKU-A", "quantity": 1}]}, "order_id", id="missing-order"),
        pytest.param(reserve_event([]), "items", id="no-lines"),
        pytest.param(reserve_event([{"sku": "SKU-A", "quantity": 0}]), "quantity", id="zero"),
        pytest.param(reserve_event([{"sku": "SKU-A", "quantity": -3}]), "quantity", id="negative"),
        pytest.param(reserve_event([{"sku": "SKU-A", "quantity": "2"}]), "quantity", id="string"),
        pytest.param(reserve_event([{"sku": "SKU-A", "quantity": 10**6}]), "quantity", id="huge"),
        pytest.param(
            reserve_event([{"sku": "SKU-A", "quantity": 1}] * 2), "duplicate", id="duplicate-sku"
        ),
        pytest.param(
            reserve_event([{"sku": f"SKU-{i}", "quantity": 1} for i in range(26)]),
            "items",
            id="too-many-lines",
        ),
        pytest.param(
            {**reserve_event([{"sku": "SKU-A", "quantity": 1}]), "price": 1}, "price", id="extra"
        ),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(add_product, event, problem):
    add_product("SKU-A", available=5)

    with pytest.raises(InvalidInputError, match=problem):
        invoke(reserve_stock.lambda_handler, event)

    assert available("SKU-A") == 5
    assert table_items(ReservationRecord) == []


def test_unknown_sku_is_named_and_writes_nothing(add_product):
    add_product("SKU-A", available=5)

    with pytest.raises(UnknownSkuError, match="SKU-NOPE"):
        invoke(
            reserve_stock.lambda_handler,
            reserve_event([{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-NOPE", "quantity": 1}]),
        )

    assert available("SKU-A") == 5
    assert table_items(ReservationRecord) == []


def test_injected_fault_fails_before_any_write(add_product):
    add_product("SKU-A", available=5)
    event = {**reserve_event([{"sku": "SKU-A", "quantity": 1}]), "fault": "inventory.reserve"}

    with pytest.raises(InjectedFaultError):
        invoke(reserve_stock.lambda_handler, event)

    assert available("SKU-A") == 5
    assert table_items(ReservationRecord) == []


def test_injected_fault_is_ignored_in_production(add_product, monkeypatch):
    from services.inventory.bootstrap import start as get_settings

    monkeypatch.setenv("STAGE", "prod")
    get_settings.cache_clear()
    add_product("SKU-A", available=5)
    event = {**reserve_event([{"sku": "SKU-A", "quantity": 1}]), "fault": "inventory.reserve"}

    invoke(reserve_stock.lambda_handler, event)

    assert available("SKU-A") == 4


def test_a_total_beyond_the_money_limit_is_invalid_input_and_writes_nothing(add_product):
    # Given lines that are each within limits but whose total is not
    add_product("SKU-A", available=1_000, unit_price=200_000)

    with pytest.raises(InvalidInputError, match="exceeds"):
        invoke(reserve_stock.lambda_handler, reserve_event([{"sku": "SKU-A", "quantity": 600}]))

    assert available("SKU-A") == 1_000
    assert table_items(ReservationRecord) == []

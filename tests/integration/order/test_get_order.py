"""get_order: the read function the checkout status API answers from (the order is the record)."""

from __future__ import annotations

from typing import Any

import pytest

from services.order.handlers import cancel_order, confirm_order, create_order, get_order
from shared.errors import InvalidInputError
from tests.integration.order.conftest import (
    ORDER,
    OUT_OF_STOCK_MESSAGE,
    TOTAL,
    cancel_event,
    confirm_event,
    create_event,
    invoke,
    stored_order,
)


def _read(order_id: str = ORDER) -> dict[str, Any]:
    return invoke(get_order.lambda_handler, {"order_id": order_id})


def test_an_unknown_order_reads_as_none(orders):
    assert _read() == {"order": None}


def test_a_pending_order_reads_as_stored(orders):
    invoke(create_order.lambda_handler, create_event())

    order = _read()["order"]

    assert order == {
        "order_id": ORDER,
        "status": "PENDING",
        "total": None,
        "reason_code": None,
        "reason": None,
        "compensations": [],
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "next_action": None,  # nothing for the customer to do: no approval is awaited
    }
    assert stored_order()["created_at"].startswith(order["created_at"][:19])
    assert order["created_at"] <= order["updated_at"]


def test_a_confirmed_order_reads_with_what_was_charged(orders):
    invoke(create_order.lambda_handler, create_event())
    invoke(confirm_order.lambda_handler, confirm_event())

    order = _read()["order"]

    assert order["status"] == "CONFIRMED"
    assert order["total"] == TOTAL
    assert order["reason_code"] is None


def test_a_cancelled_order_reads_with_its_reason_and_rollback(orders):
    invoke(create_order.lambda_handler, create_event())
    rollback = {"release_stock": {"status": "RELEASED", "released_now": True}}
    cancel = {**cancel_event(), "total": TOTAL, "compensations": rollback}
    invoke(cancel_order.lambda_handler, cancel)

    order = _read()["order"]

    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "OutOfStockError"
    assert order["reason"] == OUT_OF_STOCK_MESSAGE
    assert order["total"] == TOTAL
    assert order["compensations"] == [{"operation": "release_stock", "status": "RELEASED"}]


def test_a_tombstone_reads_as_cancelled(orders):
    invoke(cancel_order.lambda_handler, cancel_event(error="States.Timeout", cause=None))

    order = _read()["order"]

    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "States.Timeout"
    assert order["total"] is None


@pytest.mark.parametrize("order_id", ["x", "", "order 0001", "../order-0001", "a" * 65])
def test_a_malformed_order_id_is_invalid_input_and_reads_nothing(orders, order_id):
    with pytest.raises(InvalidInputError, match="order_id"):
        _read(order_id)

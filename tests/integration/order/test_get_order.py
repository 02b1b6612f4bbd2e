"""get_order logic: the read the checkout status API will use."""

from __future__ import annotations

import pytest

from services.order.handlers import cancel_order, confirm_order, create_order
from services.order.logic.get_order import get_order
from services.order.models import OrderStatus
from shared.contracts import Money, OrderLine
from shared.errors import InvalidInputError
from tests.integration.order.conftest import (
    CHARGE,
    CUSTOMER,
    ORDER,
    OUT_OF_STOCK_MESSAGE,
    TOTAL,
    cancel_event,
    confirm_event,
    create_event,
    invoke,
)


def test_unknown_order_is_none(orders):
    assert get_order(ORDER) is None


def test_reads_a_confirmed_order_as_domain_model(orders):
    # Given an order created and confirmed
    invoke(create_order.lambda_handler, create_event())
    invoke(confirm_order.lambda_handler, confirm_event())

    # When it is read
    order = get_order(ORDER)

    # Then every stored field comes back typed
    assert order is not None
    assert order.status is OrderStatus.CONFIRMED
    assert order.customer_id == CUSTOMER
    assert order.items == [OrderLine(sku="SKU-A", quantity=2), OrderLine(sku="SKU-B", quantity=1)]
    assert order.total == Money.model_validate(TOTAL)
    assert order.charge_id == CHARGE
    assert order.reason_code is None
    assert not order.is_tombstone
    assert order.created_at <= order.updated_at


def test_reads_a_cancelled_order_with_its_reason(orders):
    invoke(create_order.lambda_handler, create_event())
    invoke(cancel_order.lambda_handler, cancel_event())

    order = get_order(ORDER)

    assert order is not None
    assert order.status is OrderStatus.CANCELLED
    assert order.reason_code == "OutOfStockError"
    assert order.reason == OUT_OF_STOCK_MESSAGE
    assert not order.is_tombstone


def test_reads_a_tombstone(orders):
    invoke(cancel_order.lambda_handler, cancel_event())

    order = get_order(ORDER)

    assert order is not None
    assert order.is_tombstone
    assert order.customer_id is None
    assert order.items == []
    assert order.total is None


@pytest.mark.parametrize("order_id", ["x", "", "order 0001", "../order-0001", "a" * 65])
def test_malformed_order_id_is_invalid_input(orders, order_id):
    with pytest.raises(InvalidInputError, match="order_id"):
        get_order(order_id)

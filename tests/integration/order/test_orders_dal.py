"""The dal's conditional writes on their own: they never create or overwrite what they must not."""

from __future__ import annotations

import pytest

from services.order.dal import orders as orders_dal
from services.order.dal.records import OrderRecord
from shared.contracts import Money, OrderLine
from tests.integration.order.conftest import ORDER
from tests.support.tables import table_items

LINES = [OrderLine(sku="SKU-A", quantity=1)]
CANCELLATION = orders_dal.Cancellation(
    reason_code="E", reason="reason", total=None, compensations=[]
)


def test_confirm_of_a_missing_order_creates_no_item(orders):
    with pytest.raises(orders_dal.OrderChangedError):
        orders_dal.confirm_order(ORDER, Money(amount=100, currency="EUR"), "ch_1")

    assert table_items(OrderRecord) == []


def test_cancel_of_a_missing_order_creates_no_item(orders):
    with pytest.raises(orders_dal.OrderChangedError):
        orders_dal.cancel_order(ORDER, CANCELLATION)

    assert table_items(OrderRecord) == []


def test_create_never_overwrites_an_existing_order(orders):
    orders_dal.create_order(ORDER, "customer-1", LINES)
    before = table_items(OrderRecord)

    with pytest.raises(orders_dal.OrderAlreadyRecordedError):
        orders_dal.create_order(ORDER, "customer-2", LINES)
    with pytest.raises(orders_dal.OrderAlreadyRecordedError):
        orders_dal.create_tombstone(ORDER, CANCELLATION)

    assert table_items(OrderRecord) == before


def test_confirm_and_cancel_only_move_a_pending_order(orders):
    # Given a confirmed order
    orders_dal.create_order(ORDER, "customer-1", LINES)
    orders_dal.confirm_order(ORDER, Money(amount=100, currency="EUR"), "ch_1")
    before = table_items(OrderRecord)

    # When a second confirm or a cancel races in, the condition refuses both
    with pytest.raises(orders_dal.OrderChangedError):
        orders_dal.confirm_order(ORDER, Money(amount=999, currency="EUR"), "ch_2")
    with pytest.raises(orders_dal.OrderChangedError):
        orders_dal.cancel_order(ORDER, CANCELLATION)

    # Then the first confirmation stands
    assert table_items(OrderRecord) == before

"""create_order handler against a moto table: one PENDING order per id, whatever the retries."""

from __future__ import annotations

from typing import Any

import pytest

from services.order.dal.records import OrderRecord
from services.order.handlers import cancel_order, confirm_order, create_order
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
)
from tests.integration.order.conftest import (
    CUSTOMER,
    ORDER,
    cancel_event,
    confirm_event,
    create_event,
    invoke,
    stale_reads,
    stored_order,
)
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import table_items


def test_creates_a_pending_order(orders):
    # When a new order is created
    result = invoke(create_order.lambda_handler, create_event())

    # Then it is stored as PENDING with the customer and items, and nothing else yet
    assert result == {"order_id": ORDER, "status": "PENDING"}
    stored = stored_order()
    assert stored["status"] == "PENDING"
    assert stored["customer_id"] == CUSTOMER
    assert stored["items"] == [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}]
    for unset in ("total_amount", "currency", "charge_id", "reason_code", "reason"):
        assert unset not in stored
    assert stored["created_at"] == stored["updated_at"]


def test_create_twice_stores_one_order_and_returns_the_same_result(orders):
    # Given the state machine retries a create whose first attempt actually succeeded
    first = invoke(create_order.lambda_handler, create_event())
    before = table_items(OrderRecord)

    # When the same create arrives again
    second = invoke(create_order.lambda_handler, create_event())

    # Then the result is the same and the stored order is untouched
    assert second == first
    assert table_items(OrderRecord) == before


def test_same_items_in_another_order_is_the_same_create(orders):
    invoke(create_order.lambda_handler, create_event())

    result = invoke(
        create_order.lambda_handler,
        create_event(items=[{"sku": "SKU-B", "quantity": 1}, {"sku": "SKU-A", "quantity": 2}]),
    )

    assert result == {"order_id": ORDER, "status": "PENDING"}
    assert len(table_items(OrderRecord)) == 1


def test_replayed_create_reports_the_stored_status(orders):
    # Given the order was created and already confirmed
    invoke(create_order.lambda_handler, create_event())
    invoke(confirm_order.lambda_handler, confirm_event())

    # When a very late retry of the create arrives, it reports the order as it is
    result = invoke(create_order.lambda_handler, create_event())

    # Then the confirmation is not undone
    assert result == {"order_id": ORDER, "status": "CONFIRMED"}
    assert stored_order()["status"] == "CONFIRMED"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(create_event(customer_id="customer-2"), id="other-customer"),
        pytest.param(create_event(items=[{"sku": "SKU-A", "quantity": 2}]), id="fewer-items"),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": 3}, {"sku": "SKU-B", "quantity": 1}]),
            id="other-quantity",
        ),
    ],
)
def test_same_order_id_with_a_different_payload_is_a_conflict(orders, event):
    # Given an order already created
    invoke(create_order.lambda_handler, create_event())
    before = table_items(OrderRecord)

    # When the same id comes with another customer or other items, it is refused
    with pytest.raises(IdempotencyConflictError, match=ORDER):
        invoke(create_order.lambda_handler, event)

    # Then the first order is unchanged
    assert table_items(OrderRecord) == before


def test_create_after_cancel_is_refused(orders):
    # Given an order created and then cancelled by the saga
    invoke(create_order.lambda_handler, create_event())
    invoke(cancel_order.lambda_handler, cancel_event())
    before = table_items(OrderRecord)

    # When a retried create arrives, it is refused rather than reviving the order
    with pytest.raises(AlreadyCompensatedError):
        invoke(create_order.lambda_handler, create_event())

    assert table_items(OrderRecord) == before


def test_late_create_after_a_cancel_that_came_first_is_refused(orders):
    # Given the create timed out and the cancel ran first, leaving a tombstone
    invoke(cancel_order.lambda_handler, cancel_event())
    tombstone = stored_order()

    # When the late create lands, it is refused
    with pytest.raises(AlreadyCompensatedError):
        invoke(create_order.lambda_handler, create_event())

    # Then the tombstone stays exactly as it was: no customer, no items, still CANCELLED
    assert stored_order() == tombstone
    assert tombstone["status"] == "CANCELLED"
    assert "customer_id" not in tombstone


def test_a_create_racing_another_create_replays_it(orders, monkeypatch):
    # Given another create lands between our read and our put (our read saw nothing)
    invoke(create_order.lambda_handler, create_event())
    stale_reads(monkeypatch, times=1)

    # When our create runs, its conditional put fails and it re-reads
    result = invoke(create_order.lambda_handler, create_event())

    # Then it replays the winner instead of overwriting it
    assert result == {"order_id": ORDER, "status": "PENDING"}
    assert len(table_items(OrderRecord)) == 1


def test_a_create_that_keeps_losing_races_is_transient(orders, monkeypatch):
    # Given a stored order that our reads never see (a pathological race)
    invoke(create_order.lambda_handler, create_event())
    before = table_items(OrderRecord)
    stale_reads(monkeypatch, times=10)

    # When the create runs, it gives up after a few attempts with a retryable error
    with pytest.raises(DependencyUnavailableError):
        invoke(create_order.lambda_handler, create_event())

    assert table_items(OrderRecord) == before


def _with(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, **changes}


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name != key}


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param(_without(create_event(), "order_id"), "order_id", id="missing-order"),
        pytest.param(_without(create_event(), "customer_id"), "customer_id", id="no-customer"),
        pytest.param(create_event(customer_id=""), "customer_id", id="empty-customer"),
        pytest.param(create_event(order_id="x"), "order_id", id="bad-order-id"),
        pytest.param(create_event(items=[]), "items", id="no-items"),
        pytest.param(create_event(items=[{"sku": "SKU-A", "quantity": 0}]), "quantity", id="zero"),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": -3}]), "quantity", id="negative"
        ),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": "2"}]), "quantity", id="string"
        ),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": 10**6}]), "quantity", id="huge"
        ),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": 1}] * 2), "duplicate", id="dup-sku"
        ),
        pytest.param(create_event(items=[{"sku": "sku a", "quantity": 1}]), "sku", id="bad-sku"),
        pytest.param(
            create_event(items=[{"sku": f"SKU-{i}", "quantity": 1} for i in range(26)]),
            "items",
            id="too-many-lines",
        ),
        pytest.param(_with(create_event(), total=100), "total", id="extra-field"),
        pytest.param(
            create_event(items=[{"sku": "SKU-A", "quantity": 1, "unit_price": 1}]),
            "unit_price",
            id="client-price",
        ),
        pytest.param(_with(create_event(), fault="order.nope!"), "fault", id="bad-fault"),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(orders, event, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(create_order.lambda_handler, event)

    assert table_items(OrderRecord) == []


def test_a_payload_that_is_not_an_object_is_invalid_input(orders):
    with pytest.raises(InvalidInputError, match="JSON object"):
        create_order.lambda_handler(["not", "an", "object"], FakeLambdaContext())  # type: ignore[arg-type]

    assert table_items(OrderRecord) == []


def test_injected_fault_fails_before_any_write(orders):
    with pytest.raises(InjectedFaultError):
        invoke(create_order.lambda_handler, _with(create_event(), fault="order.create"))

    assert table_items(OrderRecord) == []


def test_a_fault_aimed_at_another_operation_is_ignored(orders):
    invoke(create_order.lambda_handler, _with(create_event(), fault="order.confirm"))

    assert stored_order()["status"] == "PENDING"

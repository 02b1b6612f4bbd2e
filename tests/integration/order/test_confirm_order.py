"""confirm_order handler: the pivot, PENDING to CONFIRMED with what was charged."""

from __future__ import annotations

from typing import Any

import pytest

from services.order.dal.orders import get_order
from services.order.dal.records import OrderRecord
from services.order.handlers import cancel_order, confirm_order
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
    OrderNotPendingError,
)
from tests.integration.order.conftest import (
    CHARGE,
    ORDER,
    TOTAL,
    cancel_event,
    confirm_event,
    invoke,
    stale_reads,
    stored_order,
)
from tests.support.tables import table_items


def test_confirms_a_pending_order_and_stores_the_charge(pending_order):
    # When the saga confirms a pending order after the charge
    result = invoke(confirm_order.lambda_handler, confirm_event())

    # Then it is CONFIRMED with the total and the charge stored, and the rest kept
    assert result == {"order_id": ORDER, "status": "CONFIRMED", "total": TOTAL}
    stored = stored_order()
    assert stored["status"] == "CONFIRMED"
    assert stored["total_amount"] == TOTAL["amount"]
    assert stored["currency"] == TOTAL["currency"]
    assert stored["charge_id"] == CHARGE
    assert stored["items"] == pending_order["items"]
    assert stored["created_at"] == pending_order["created_at"]
    assert stored["updated_at"] >= pending_order["updated_at"]


def test_confirm_twice_returns_the_same_result_and_changes_nothing(pending_order):
    first = invoke(confirm_order.lambda_handler, confirm_event())
    before = table_items(OrderRecord)

    second = invoke(confirm_order.lambda_handler, confirm_event())

    assert second == first
    assert table_items(OrderRecord) == before


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(confirm_event(total={"amount": 9_999, "currency": "EUR"}), id="amount"),
        pytest.param(confirm_event(total={**TOTAL, "currency": "USD"}), id="currency"),
        pytest.param(confirm_event(charge_id="ch_other"), id="charge"),
    ],
)
def test_confirmed_order_with_a_different_total_or_charge_is_a_conflict(pending_order, event):
    # Given the order was confirmed with one charge
    invoke(confirm_order.lambda_handler, confirm_event())
    before = table_items(OrderRecord)

    # When a confirmation with another total or charge arrives, it is refused
    with pytest.raises(IdempotencyConflictError, match=ORDER):
        invoke(confirm_order.lambda_handler, event)

    # Then what was stored first stays
    assert table_items(OrderRecord) == before


def test_confirm_after_cancel_is_refused(pending_order):
    # Given the saga already cancelled the order
    invoke(cancel_order.lambda_handler, cancel_event())
    before = table_items(OrderRecord)

    # When a confirmation arrives anyway, it is refused
    with pytest.raises(AlreadyCompensatedError):
        invoke(confirm_order.lambda_handler, confirm_event())

    # Then the order stays CANCELLED with nothing of the charge stored
    assert table_items(OrderRecord) == before
    assert "charge_id" not in stored_order()


def test_confirm_after_a_tombstone_is_refused(orders):
    invoke(cancel_order.lambda_handler, cancel_event())
    before = table_items(OrderRecord)

    with pytest.raises(AlreadyCompensatedError):
        invoke(confirm_order.lambda_handler, confirm_event())

    assert table_items(OrderRecord) == before


def test_confirm_of_an_unknown_order_is_refused_and_creates_nothing(orders):
    with pytest.raises(OrderNotPendingError, match=f"order {ORDER} does not exist"):
        invoke(confirm_order.lambda_handler, confirm_event())

    assert table_items(OrderRecord) == []


def _with(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, **changes}


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param(
            confirm_event(total={"amount": 32.5, "currency": "EUR"}), "amount", id="float"
        ),
        pytest.param(confirm_event(total={"amount": -1, "currency": "EUR"}), "amount", id="neg"),
        pytest.param(
            confirm_event(total={"amount": "3250", "currency": "EUR"}), "amount", id="str"
        ),
        pytest.param(
            confirm_event(total={"amount": 3_250, "currency": "eur"}), "currency", id="cur"
        ),
        pytest.param(confirm_event(total={"amount": 3_250}), "currency", id="no-currency"),
        pytest.param(confirm_event(charge_id=""), "charge_id", id="empty-charge"),
        pytest.param({"order_id": ORDER, "total": TOTAL}, "charge_id", id="missing-charge"),
        pytest.param(confirm_event(order_id="x"), "order_id", id="bad-order-id"),
        pytest.param(_with(confirm_event(), status="CONFIRMED"), "status", id="extra-field"),
    ],
)
def test_malformed_payload_is_invalid_input_and_leaves_the_order_pending(
    pending_order, event, problem
):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(confirm_order.lambda_handler, event)

    assert table_items(OrderRecord) == [pending_order]


def test_injected_fault_fails_before_any_write_and_leaves_the_order_pending(pending_order):
    # When the demo asks for the confirmation to fail
    with pytest.raises(InjectedFaultError):
        invoke(confirm_order.lambda_handler, _with(confirm_event(), fault="order.confirm"))

    # Then nothing was written: the order is still PENDING, with no charge
    assert table_items(OrderRecord) == [pending_order]
    assert stored_order()["status"] == "PENDING"


def test_injected_fault_is_ignored_in_production(pending_order, monkeypatch):
    from services.order.bootstrap import start as get_settings

    # Given the function runs in production
    monkeypatch.setenv("STAGE", "prod")
    get_settings.cache_clear()

    # When a payload still carries a fault, it is ignored
    result = invoke(confirm_order.lambda_handler, _with(confirm_event(), fault="order.confirm"))

    # Then the order is confirmed as usual
    assert result["status"] == "CONFIRMED"
    assert stored_order()["status"] == "CONFIRMED"


def test_a_confirm_racing_the_cancel_is_refused_once_it_sees_the_cancellation(
    pending_order, monkeypatch
):
    # Given the cancel lands between the confirm's read (which saw PENDING) and its update
    seen = get_order(ORDER)
    invoke(cancel_order.lambda_handler, cancel_event())
    before = table_items(OrderRecord)
    stale_reads(monkeypatch, times=1, seen=seen)

    # When the confirm runs, its conditional update fails, it re-reads and refuses
    with pytest.raises(AlreadyCompensatedError):
        invoke(confirm_order.lambda_handler, confirm_event())

    # Then the order stays CANCELLED with no charge stored
    assert table_items(OrderRecord) == before


def test_a_confirm_that_keeps_losing_races_is_transient(pending_order, monkeypatch):
    # Given reads that keep showing PENDING while the order is in fact already confirmed
    seen = get_order(ORDER)
    invoke(confirm_order.lambda_handler, confirm_event())
    before = table_items(OrderRecord)
    stale_reads(monkeypatch, times=10, seen=seen)

    # When another confirm runs, it gives up with a retryable error and changes nothing
    with pytest.raises(DependencyUnavailableError):
        invoke(confirm_order.lambda_handler, confirm_event(charge_id="ch_other"))

    assert table_items(OrderRecord) == before

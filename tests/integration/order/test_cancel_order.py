"""cancel_order handler: the compensation of create_order, which records why the saga failed."""

from __future__ import annotations

import pytest

from services.order.dal.orders import get_order
from services.order.dal.records import OrderRecord
from services.order.handlers import cancel_order, confirm_order, create_order
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    InjectedFaultError,
    InvalidInputError,
    OrderNotPendingError,
)
from tests.integration.order.conftest import (
    ORDER,
    OUT_OF_STOCK_MESSAGE,
    TOTAL,
    cancel_event,
    confirm_event,
    create_event,
    invoke,
    lambda_cause,
    stale_reads,
    stored_order,
)
from tests.support.tables import table_items


def test_cancels_a_pending_order_with_the_reason_of_the_failure(pending_order):
    # When inventory failed with OutOfStockError and the saga compensates the create
    result = invoke(cancel_order.lambda_handler, cancel_event())

    # Then the order is CANCELLED with the error name and Lambda's message (not its JSON)
    assert result == {
        "order_id": ORDER,
        "status": "CANCELLED",
        "reason_code": "OutOfStockError",
        "reason": OUT_OF_STOCK_MESSAGE,
        "cancelled_now": True,
    }
    stored = stored_order()
    assert stored["status"] == "CANCELLED"
    assert stored["reason_code"] == "OutOfStockError"
    assert stored["reason"] == OUT_OF_STOCK_MESSAGE
    assert stored["customer_id"] == pending_order["customer_id"]
    assert stored["items"] == pending_order["items"]


def test_cancel_records_what_was_reserved_and_what_the_rollback_did(pending_order):
    # Given the payment was voided and the stock released before this, the last compensation
    event = {
        **cancel_event(error="PaymentDeclinedError"),
        "total": TOTAL,
        "compensations": {
            "void_payment": {"status": "VOIDED", "voided_now": False},
            "release_stock": {"status": "RELEASED", "released_now": True},
            "ship_parcel": None,  # a compensation whose step never started
        },
    }

    # When the order is cancelled
    invoke(cancel_order.lambda_handler, event)

    # Then its record says what it would have cost and what each compensation reported
    stored = stored_order()
    assert (stored["total_amount"], stored["currency"]) == (TOTAL["amount"], TOTAL["currency"])
    assert stored["compensations"] == [
        {"operation": "void_payment", "status": "VOIDED"},
        {"operation": "release_stock", "status": "RELEASED"},
    ]


def test_a_repeated_cancel_keeps_the_first_record_of_the_rollback(pending_order):
    first = {**cancel_event(), "compensations": {"release_stock": {"status": "RELEASED"}}}
    invoke(cancel_order.lambda_handler, first)
    before = table_items(OrderRecord)

    again = {**cancel_event(), "compensations": {"release_stock": {"status": "NONE_HELD"}}}
    invoke(cancel_order.lambda_handler, again)

    assert table_items(OrderRecord) == before


def test_a_tombstone_records_the_rollback_too(orders):
    event = {**cancel_event(), "compensations": {"release_stock": {"status": "RELEASED"}}}

    invoke(cancel_order.lambda_handler, event)

    assert stored_order()["compensations"] == [{"operation": "release_stock", "status": "RELEASED"}]
    assert "total_amount" not in stored_order()


def test_cancel_after_a_timeout_stores_the_error_name_as_reason(pending_order):
    invoke(cancel_order.lambda_handler, cancel_event(error="States.Timeout", cause=None))

    stored = stored_order()
    assert stored["reason_code"] == "States.Timeout"
    assert stored["reason"] == "States.Timeout"


def test_cancel_twice_keeps_the_first_reason(pending_order):
    # Given the order was cancelled for one reason
    first = invoke(cancel_order.lambda_handler, cancel_event())
    before = table_items(OrderRecord)

    # When the compensation runs again, even with another failure attached
    second = invoke(
        cancel_order.lambda_handler,
        cancel_event(
            error="PaymentDeclinedError", cause=lambda_cause("PaymentDeclinedError", "declined")
        ),
    )

    # Then it is a no-op that reports the first reason and leaves the stored order alone
    assert second == {**first, "cancelled_now": False}
    assert table_items(OrderRecord) == before


def test_cancel_before_create_leaves_a_tombstone(orders):
    # When the create timed out and the saga compensates before it ever landed
    result = invoke(cancel_order.lambda_handler, cancel_event(error="States.Timeout", cause=None))

    # Then a CANCELLED tombstone with the reason exists, with no customer and no items
    assert result == {
        "order_id": ORDER,
        "status": "CANCELLED",
        "reason_code": "States.Timeout",
        "reason": "States.Timeout",
        "cancelled_now": False,
    }
    tombstone = stored_order()
    assert tombstone["status"] == "CANCELLED"
    assert tombstone["reason_code"] == "States.Timeout"
    assert "customer_id" not in tombstone
    assert tombstone.get("items", []) == []


def test_tombstone_then_late_create_is_refused_and_the_tombstone_kept(orders):
    # Given a tombstone
    invoke(cancel_order.lambda_handler, cancel_event())
    tombstone = table_items(OrderRecord)

    # When the late create lands, then a repeated cancel runs
    with pytest.raises(AlreadyCompensatedError):
        invoke(create_order.lambda_handler, create_event())
    again = invoke(cancel_order.lambda_handler, cancel_event(error="Other", cause="other"))

    # Then neither changed anything
    assert again["reason"] == OUT_OF_STOCK_MESSAGE
    assert again["cancelled_now"] is False
    assert table_items(OrderRecord) == tombstone


def test_cancel_after_confirm_is_refused(pending_order):
    # Given the order passed the pivot
    invoke(confirm_order.lambda_handler, confirm_event())
    before = table_items(OrderRecord)

    # When a cancel arrives, it is refused: after the pivot the saga only moves forward
    with pytest.raises(OrderNotPendingError, match="confirmed"):
        invoke(cancel_order.lambda_handler, cancel_event())

    assert table_items(OrderRecord) == before


def test_a_cancel_racing_the_create_cancels_the_order_it_finds(pending_order, monkeypatch):
    # Given the create lands between the cancel's read (which saw nothing) and its tombstone put
    stale_reads(monkeypatch, times=1)

    # When the cancel runs, its tombstone put fails and it re-reads
    result = invoke(cancel_order.lambda_handler, cancel_event())

    # Then it cancels the order that landed, keeping its customer and items
    assert result["cancelled_now"] is True
    stored = stored_order()
    assert stored["status"] == "CANCELLED"
    assert stored["customer_id"] == pending_order["customer_id"]


def test_a_cancel_that_keeps_losing_races_is_transient(pending_order, monkeypatch):
    stale_reads(monkeypatch, times=10)

    with pytest.raises(DependencyUnavailableError):
        invoke(cancel_order.lambda_handler, cancel_event())

    assert table_items(OrderRecord) == [pending_order]


def test_a_very_long_cause_is_stored_truncated(pending_order):
    invoke(
        cancel_order.lambda_handler,
        cancel_event(cause=lambda_cause("OutOfStockError", "x" * 5_000)),
    )

    assert len(stored_order()["reason"]) == 1_000


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({"order_id": ORDER}, "failure", id="no-failure"),
        pytest.param({"order_id": ORDER, "failure": {"Cause": "x"}}, "Error", id="no-error"),
        pytest.param({"order_id": ORDER, "failure": {"Error": ""}}, "Error", id="empty-error"),
        pytest.param({"order_id": ORDER, "failure": "boom"}, "failure", id="failure-not-object"),
        pytest.param(
            {"order_id": ORDER, "failure": {"Error": "E", "Cause": 42}}, "Cause", id="cause-number"
        ),
        pytest.param(cancel_event(order_id="x"), "order_id", id="bad-order-id"),
        pytest.param({**cancel_event(), "reason": "because"}, "reason", id="extra-field"),
    ],
)
def test_malformed_payload_is_invalid_input_and_leaves_the_order_pending(
    pending_order, event, problem
):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(cancel_order.lambda_handler, event)

    assert table_items(OrderRecord) == [pending_order]


def test_failure_tolerates_fields_a_catch_may_add(pending_order):
    # A Catch result may grow fields; SagaFailure ignores them rather than failing the compensation
    event = cancel_event()
    event["failure"] = {**event["failure"], "ErrorDetails": "extra"}

    result = invoke(cancel_order.lambda_handler, event)

    assert result["cancelled_now"] is True


def test_injected_fault_fails_before_any_write(pending_order):
    with pytest.raises(InjectedFaultError):
        invoke(cancel_order.lambda_handler, {**cancel_event(), "fault": "order.cancel"})

    assert table_items(OrderRecord) == [pending_order]


def test_a_cancel_racing_the_confirm_is_refused_once_it_sees_the_confirmation(
    pending_order, monkeypatch
):
    # Given the confirm lands between the cancel's read (which saw PENDING) and its update
    seen = get_order(ORDER)
    invoke(confirm_order.lambda_handler, confirm_event())
    before = table_items(OrderRecord)
    stale_reads(monkeypatch, times=1, seen=seen)

    # When the cancel runs, its conditional update fails, it re-reads and refuses
    with pytest.raises(OrderNotPendingError, match="confirmed"):
        invoke(cancel_order.lambda_handler, cancel_event())

    # Then the confirmation stands
    assert table_items(OrderRecord) == before

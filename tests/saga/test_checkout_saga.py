"""The real ASL file, executed by moto's interpreter, against the real handlers and moto tables.

Each scenario asserts the execution's status, the path it took, the stored state of all three
services afterwards, the money that really moved (the simulated provider's journal), and the one
domain event the ending published.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orchestration.definition import load_definition
from orchestration.spec import SAGA, function_slug
from orchestration.steps import STEPS, rollback_of

pytestmark = pytest.mark.saga

FORWARD = ["RouteCheckout", *(step.state for step in SAGA.steps)]
ENDED_CANCELLED = ["CheckoutCancelled"]  # the cancellation event's task ends the execution


def checkout(
    order_id: str = "order-1000",
    items: list[dict[str, Any]] | None = None,
    payment_token: str = "tok_visa",
    fault: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "customer_id": "cust-42",
        "items": items or [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}],
        "payment_token": payment_token,
    }
    if fault:
        body["fault"] = fault
    return body


@pytest.fixture
def catalog(saga):
    saga.add_product("SKU-A", available=10, unit_price=1_250)
    saga.add_product("SKU-B", available=3, unit_price=500)
    return saga


def charges(saga) -> list[Any]:
    return [entry for entry in saga.provider_journal() if entry.operation == "charge"]


def refunds(saga) -> list[Any]:
    return [entry for entry in saga.provider_journal() if entry.operation == "refund"]


COMPENSATION_FUNCTIONS = {
    function_slug(step.compensation.name) for step in SAGA.compensatable if step.compensation
}


def rollback_functions(state: str) -> list[str]:
    return [function_slug(STEPS[name].operation) for name in rollback_of(state)]


def compensations_in_order(saga) -> list[str]:
    return [name for name in saga.dispatcher.successful_calls() if name in COMPENSATION_FUNCTIONS]


def assert_one_event(saga, detail_type: str, order_id: str) -> dict[str, Any]:
    events = saga.events()
    assert [event["detail-type"] for event in events] == [detail_type]
    detail: dict[str, Any] = events[0]["detail"]
    assert detail["order_id"] == order_id
    assert detail["version"] == "1"
    return detail


def test_happy_path_confirms_decrements_stock_and_charges_once(catalog):
    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert result.path == [*FORWARD, "CheckoutConfirmed"]
    # no state without work: the router, one per step, the ending that publishes (six today)
    assert len(result.path) == len(SAGA.steps) + 2
    order = catalog.order("order-1000")
    assert order["status"] == "CONFIRMED"
    assert order["total_amount"] == 2 * 1_250 + 500
    assert catalog.available("SKU-A") == 8
    assert catalog.available("SKU-B") == 2
    [payment] = catalog.payments()
    assert payment["status"] == "CHARGED"
    assert payment["amount"] == 3_000
    assert len(charges(catalog)) == 1
    assert refunds(catalog) == []
    detail = assert_one_event(catalog, "CheckoutConfirmed", "order-1000")
    assert detail["total"] == {"amount": 3_000, "currency": "EUR"}


def test_out_of_stock_cancels_with_reason_and_charges_nothing(catalog):
    result = catalog.run(checkout(items=[{"sku": "SKU-B", "quantity": 5}]))

    assert result.status == "SUCCEEDED"  # a clean rollback is a business outcome
    upto = FORWARD.index("ReserveStock") + 1
    assert result.path == [*FORWARD[:upto], *rollback_of("ReserveStock"), *ENDED_CANCELLED]
    order = catalog.order("order-1000")
    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "OutOfStockError"
    assert "SKU-B" in order["reason"]
    assert catalog.payments() == []
    assert charges(catalog) == []
    assert catalog.available("SKU-B") == 3
    assert [r["status"] for r in catalog.reservations()] == ["RELEASED"]  # tombstone
    detail = assert_one_event(catalog, "CheckoutCancelled", "order-1000")
    assert detail["reason_code"] == "OutOfStockError"
    assert detail["total"] is None  # nothing was ever priced


def test_declined_card_releases_stock_and_cancels(catalog):
    result = catalog.run(checkout(payment_token="tok_chargeDeclined"))

    assert result.status == "SUCCEEDED"
    rollback = rollback_of("ChargePayment")
    assert result.path[-len(rollback) - 1 :] == [*rollback, *ENDED_CANCELLED]
    assert catalog.dispatcher.outcomes("charge-payment") == ["PaymentDeclinedError"]
    assert catalog.order("order-1000")["reason_code"] == "PaymentDeclinedError"
    assert catalog.available("SKU-A") == 10
    assert catalog.available("SKU-B") == 3
    assert charges(catalog) == []
    [payment] = catalog.payments()
    assert payment["status"] in {"DECLINED", "VOIDED"}
    detail = assert_one_event(catalog, "CheckoutCancelled", "order-1000")
    assert detail["total"] == {"amount": 3_000, "currency": "EUR"}


def test_failed_confirmation_refunds_releases_and_cancels_in_that_order(catalog):
    result = catalog.run(checkout(fault="order.confirm"))

    assert result.status == "SUCCEEDED"
    assert compensations_in_order(catalog) == rollback_functions("ConfirmOrder")
    [payment] = catalog.payments()
    assert payment["status"] == "REFUNDED"
    assert len(charges(catalog)) == 1
    assert len(refunds(catalog)) == 1
    assert catalog.available("SKU-A") == 10
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    assert catalog.order("order-1000")["reason_code"] == "InjectedFaultError"
    assert_one_event(catalog, "CheckoutCancelled", "order-1000")


def test_transient_error_on_charge_is_retried_with_backoff_and_charges_once(catalog):
    catalog.dispatcher.fail_next("charge-payment", "Lambda.ServiceException")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("charge-payment") == ["Lambda.ServiceException", "ok"]
    assert len(catalog.retry_sleeps.intervals) == 1
    assert len(charges(catalog)) == 1
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_charge_that_landed_but_timed_out_is_retried_without_charging_twice(catalog):
    # The first charge really happens, but Step Functions sees a timeout and retries.
    catalog.dispatcher.lose_next_response("charge-payment")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("charge-payment") == ["Sandbox.Timedout", "ok"]
    assert len(charges(catalog)) == 1
    [payment] = catalog.payments()
    assert payment["status"] == "CHARGED"


def test_transient_error_on_a_compensation_is_retried_and_ends_consistent(catalog):
    catalog.dispatcher.fail_next(
        "refund-payment", "DependencyUnavailableError", "Lambda.TooManyRequestsException"
    )

    result = catalog.run(checkout(fault="order.confirm"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("refund-payment") == [
        "DependencyUnavailableError", "Lambda.TooManyRequestsException", "ok",
    ]  # fmt: skip
    assert [p["status"] for p in catalog.payments()] == ["REFUNDED"]
    assert len(refunds(catalog)) == 1
    assert catalog.available("SKU-A") == 10
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    assert_one_event(catalog, "CheckoutCancelled", "order-1000")


def test_a_compensation_that_keeps_failing_parks_the_order_and_ends_failed(catalog):
    catalog.dispatcher.fail_always("release-stock", "DependencyUnavailableError")

    result = catalog.run(checkout(fault="order.confirm"))

    # Then the execution ends FAILED, visibly
    assert result.status == "FAILED"
    assert result.error == "CheckoutParkedForOperator"
    release_retry = load_definition()["States"]["ReleaseStock"]["Retry"][0]
    assert len(catalog.dispatcher.outcomes("release-stock")) == release_retry["MaxAttempts"] + 1
    # and the order is parked with everything an operator needs to finish the rollback
    [parked] = catalog.parked()
    assert parked.order_id == "order-1000"
    assert parked.stuck_step == "release_stock"
    assert parked.error == "DependencyUnavailableError"
    assert parked.original_failure["Error"] == "InjectedFaultError"
    assert {line["sku"] for line in parked.reservation["lines"]} == {"SKU-A", "SKU-B"}
    # and nothing is lost: the refund ran, the stock is still held (recorded), the order waits
    assert [p["status"] for p in catalog.payments()] == ["REFUNDED"]
    assert catalog.available("SKU-A") == 8
    assert [r["status"] for r in catalog.reservations()] == ["RESERVED"]
    assert catalog.order("order-1000")["status"] == "PENDING"
    # and the alarm's metric was emitted
    metrics = boto3.client("cloudwatch", region_name="us-east-1").list_metrics(
        Namespace="CheckoutSaga", MetricName="CheckoutsParked"
    )["Metrics"]
    assert metrics
    detail = assert_one_event(catalog, "CheckoutFailed", "order-1000")
    assert detail["stuck_step"] == "release_stock"


def test_the_same_checkout_started_twice_makes_one_order_and_one_charge(catalog):
    first = catalog.run(checkout())
    assert first.status == "SUCCEEDED"

    # Same execution name again: Step Functions refuses a second saga once the first has closed.
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        catalog.start(checkout())

    assert len(catalog.orders()) == 1
    assert len(catalog.payments()) == 1
    assert len(charges(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_a_second_saga_for_the_same_order_replays_every_step_without_new_effects(catalog):
    catalog.run(checkout())

    # A second execution under another name (a bug upstream): every step is idempotent.
    second = catalog.run(checkout(), name="order-1000-replay")

    assert second.status == "SUCCEEDED"
    assert len(catalog.orders()) == 1
    assert len(catalog.payments()) == 1
    assert len(charges(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    # Events are at-least-once: the replay publishes again and consumers dedupe by order_id.
    assert [e["detail-type"] for e in catalog.events()] == ["CheckoutConfirmed"] * 2


def test_a_confirmation_that_landed_but_timed_out_is_replayed_not_refunded(catalog):
    catalog.dispatcher.lose_next_response("confirm-order")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("confirm-order") == ["Sandbox.Timedout", "ok"]
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert refunds(catalog) == []
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_a_confirmation_with_an_unknown_outcome_is_parked_never_refunded(catalog):
    # The pivot keeps failing with a platform error: it may or may not have confirmed the order.
    catalog.dispatcher.fail_always("confirm-order", "Lambda.ServiceException")

    result = catalog.run(checkout())

    assert result.status == "FAILED"
    [parked] = catalog.parked()
    assert parked.stuck_step == "confirm_order"
    assert parked.original_failure is None
    assert parked.payment["charge_id"]
    # Nothing was undone behind the operator's back: still charged, still reserved.
    assert refunds(catalog) == []
    assert [p["status"] for p in catalog.payments()] == ["CHARGED"]
    assert catalog.available("SKU-A") == 8
    assert compensations_in_order(catalog) == []
    assert_one_event(catalog, "CheckoutFailed", "order-1000")


# --- fault schedules: crashes, hangs, transient failures and duplicates, on the real definition ---


def test_a_single_crash_in_a_compensation_is_retried_not_parked(catalog):
    # The chaos run parked 7 orders after one crash each: Runtime.ExitError was not retried.
    result = catalog.run(checkout(fault="order.confirm; payment.refund=crash_after_commit"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("refund-payment") == ["Runtime.ExitError", "ok"]
    assert catalog.parked() == []
    assert [p["status"] for p in catalog.payments()] == ["REFUNDED"]
    assert len(refunds(catalog)) == 1, "the refund that landed before the crash is not repeated"
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    assert_one_event(catalog, "CheckoutCancelled", "order-1000")


@pytest.mark.parametrize("kind", ["crash_before_commit", "crash_after_commit", "timeout"])
def test_an_action_that_dies_or_hangs_is_retried_and_charges_once(catalog, kind):
    result = catalog.run(checkout(fault=f"payment.charge={kind}"))

    assert result.status == "SUCCEEDED"
    error = "Sandbox.Timedout" if kind == "timeout" else "Runtime.ExitError"
    assert catalog.dispatcher.outcomes("charge-payment") == [error, "ok"]
    assert len(charges(catalog)) == 1
    assert catalog.order("order-1000")["status"] == "CONFIRMED"


def test_transient_k_fails_k_times_then_the_step_succeeds(catalog):
    result = catalog.run(checkout(fault="inventory.reserve=transient*3"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("reserve-stock") == ["DependencyUnavailableError"] * 3 + [
        "ok"
    ]
    assert catalog.available("SKU-A") == 8


def test_more_transient_failures_than_an_action_retries_roll_the_checkout_back(catalog):
    result = catalog.run(checkout(fault="payment.charge=transient*9"))

    assert result.path[-2:] == ["CancelOrder", "CheckoutCancelled"]
    assert catalog.order("order-1000")["reason_code"] == "DependencyUnavailableError"
    assert charges(catalog) == []
    assert catalog.available("SKU-A") == 10


def test_a_duplicated_delivery_of_every_step_changes_nothing(catalog):
    schedule = "; ".join(
        f"{op}=duplicate"
        for op in ("order.create", "inventory.reserve", "payment.charge", "order.confirm")
    )

    result = catalog.run(checkout(fault=schedule))

    assert result.status == "SUCCEEDED"
    assert len(charges(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    assert catalog.order("order-1000")["status"] == "CONFIRMED"


def test_a_confirmation_that_hangs_after_landing_is_replayed_not_refunded(catalog):
    result = catalog.run(checkout(fault="order.confirm=timeout"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("confirm-order") == ["Sandbox.Timedout", "ok"]
    assert refunds(catalog) == []
    assert catalog.order("order-1000")["status"] == "CONFIRMED"

"""The real ASL file, executed by moto's interpreter, against the real handlers and moto tables.

Each scenario asserts the execution's status, the path it took, the stored state of all three
services afterwards, what the provider held and took (the simulated provider's journal: an
authorization holds, a capture takes, a void releases), and the one domain event the ending
published. A cancelled checkout never moves money: the customer sees no charge and no refund.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orchestration.definition import load_definition
from orchestration.spec import SAGA, function_slug
from orchestration.steps import STEPS, rollback_of
from tests.saga.conftest import SagaRig

pytestmark = pytest.mark.saga

# The happy path: each step, and after a step that may need the customer's approval its check
# (a Choice: a card that needs none goes straight on).
FORWARD = [
    "RouteCheckout",
    *(
        state
        for step in SAGA.steps
        for state in (
            (step.state, step.approval.choice_state(step)) if step.approval else (step.state,)
        )
    ),
]
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


def journal(saga, operation: str) -> list[Any]:
    return [entry for entry in saga.provider_journal() if entry.operation == operation]


def authorizations(saga) -> list[Any]:
    return journal(saga, "authorize")


def captures(saga) -> list[Any]:
    return journal(saga, "capture")


def voids(saga) -> list[Any]:
    """Voids that released a hold (a tombstone, recorded under the authorization's key, is not)."""
    return [entry for entry in journal(saga, "void") if not entry.is_tombstone]


def assert_no_money_moved(saga) -> None:
    assert captures(saga) == []
    assert journal(saga, "refund") == []
    # every hold there was is released: nothing stays authorized on the card
    assert all(entry.settled_as == "void" for entry in authorizations(saga))


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


def test_happy_path_authorizes_confirms_then_captures_once(catalog):
    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert result.path == [*FORWARD, "CheckoutConfirmed"]
    # no state without work: the router, one per step, the approval check, the ending
    assert len(result.path) == len(SAGA.steps) + len(SAGA.approvals) + 2
    assert result.path.index("AuthorizePayment") < result.path.index("ConfirmOrder")
    assert result.path.index("ConfirmOrder") < result.path.index("CapturePayment")
    order = catalog.order("order-1000")
    assert order["status"] == "CONFIRMED"
    assert order["total_amount"] == 2 * 1_250 + 500
    assert catalog.available("SKU-A") == 8
    assert catalog.available("SKU-B") == 2
    [payment] = catalog.payments()
    assert payment["status"] == "CAPTURED"
    assert payment["amount"] == 3_000
    [held] = authorizations(catalog)
    [taken] = captures(catalog)
    assert held.settled_by == taken.idempotency_key, "the capture settled the authorization"
    assert taken.amount.amount == 3_000
    assert voids(catalog) == []
    assert order["charge_id"] == payment["charge_id"] == held.reference
    detail = assert_one_event(catalog, "CheckoutConfirmed", "order-1000")
    assert detail["total"] == {"amount": 3_000, "currency": "EUR"}
    assert detail["capture_id"] == payment["capture_id"] == taken.reference


def test_out_of_stock_cancels_with_reason_and_authorizes_nothing(catalog):
    result = catalog.run(checkout(items=[{"sku": "SKU-B", "quantity": 5}]))

    assert result.status == "SUCCEEDED"  # a clean rollback is a business outcome
    upto = FORWARD.index("ReserveStock") + 1
    assert result.path == [*FORWARD[:upto], *rollback_of("ReserveStock"), *ENDED_CANCELLED]
    order = catalog.order("order-1000")
    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "OutOfStockError"
    assert "SKU-B" in order["reason"]
    assert catalog.payments() == []
    assert catalog.provider_journal() == []
    assert catalog.available("SKU-B") == 3
    assert [r["status"] for r in catalog.reservations()] == ["RELEASED"]  # tombstone
    detail = assert_one_event(catalog, "CheckoutCancelled", "order-1000")
    assert detail["reason_code"] == "OutOfStockError"
    assert detail["total"] is None  # nothing was ever priced


def test_declined_card_releases_stock_and_cancels(catalog):
    result = catalog.run(checkout(payment_token="tok_chargeDeclined"))

    assert result.status == "SUCCEEDED"
    rollback = rollback_of("AuthorizePayment")
    assert result.path[-len(rollback) - 1 :] == [*rollback, *ENDED_CANCELLED]
    assert catalog.dispatcher.outcomes("authorize-payment") == ["PaymentDeclinedError"]
    assert catalog.order("order-1000")["reason_code"] == "PaymentDeclinedError"
    assert catalog.available("SKU-A") == 10
    assert catalog.available("SKU-B") == 3
    assert authorizations(catalog) == []
    assert_no_money_moved(catalog)
    [payment] = catalog.payments()
    assert payment["status"] in {"DECLINED", "VOIDED"}
    detail = assert_one_event(catalog, "CheckoutCancelled", "order-1000")
    assert detail["total"] == {"amount": 3_000, "currency": "EUR"}


def test_failed_confirmation_voids_releases_and_cancels_in_that_order_moving_no_money(catalog):
    result = catalog.run(checkout(fault="order.confirm"))

    assert result.status == "SUCCEEDED"
    assert compensations_in_order(catalog) == rollback_functions("ConfirmOrder")
    assert "CapturePayment" not in result.path
    [payment] = catalog.payments()
    assert payment["status"] == "VOIDED"
    assert len(authorizations(catalog)) == 1
    assert len(voids(catalog)) == 1
    assert_no_money_moved(catalog)
    assert catalog.available("SKU-A") == 10
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    assert catalog.order("order-1000")["reason_code"] == "InjectedFaultError"
    assert_one_event(catalog, "CheckoutCancelled", "order-1000")


def test_transient_error_on_authorize_is_retried_with_backoff_and_holds_once(catalog):
    catalog.dispatcher.fail_next("authorize-payment", "Lambda.ServiceException")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("authorize-payment") == ["Lambda.ServiceException", "ok"]
    assert len(catalog.retry_sleeps.intervals) == 1
    assert len(authorizations(catalog)) == 1
    assert len(captures(catalog)) == 1
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_authorization_that_landed_but_timed_out_is_retried_without_holding_twice(catalog):
    # The first authorization really happens, but Step Functions sees a timeout and retries.
    catalog.dispatcher.lose_next_response("authorize-payment")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("authorize-payment") == ["Sandbox.Timedout", "ok"]
    assert len(authorizations(catalog)) == 1
    assert len(captures(catalog)) == 1
    [payment] = catalog.payments()
    assert payment["status"] == "CAPTURED"


def test_transient_error_on_a_compensation_is_retried_and_ends_consistent(catalog):
    catalog.dispatcher.fail_next(
        "void-payment", "DependencyUnavailableError", "Lambda.TooManyRequestsException"
    )

    result = catalog.run(checkout(fault="order.confirm"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("void-payment") == [
        "DependencyUnavailableError", "Lambda.TooManyRequestsException", "ok",
    ]  # fmt: skip
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]
    assert len(voids(catalog)) == 1
    assert_no_money_moved(catalog)
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
    # and nothing is lost: the void ran, the stock is still held (recorded), the order waits
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]
    assert_no_money_moved(catalog)
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


def test_the_same_checkout_started_twice_makes_one_order_and_one_capture(catalog):
    first = catalog.run(checkout())
    assert first.status == "SUCCEEDED"

    # Same execution name again: Step Functions refuses a second saga once the first has closed.
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        catalog.start(checkout())

    assert len(catalog.orders()) == 1
    assert len(catalog.payments()) == 1
    assert len(captures(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_a_second_saga_for_the_same_order_replays_every_step_without_new_effects(catalog):
    catalog.run(checkout())

    # A second execution under another name (a bug upstream): every step is idempotent.
    second = catalog.run(checkout(), name="order-1000-replay")

    assert second.status == "SUCCEEDED"
    assert len(catalog.orders()) == 1
    assert len(catalog.payments()) == 1
    assert len(authorizations(catalog)) == 1
    assert len(captures(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    # Events are at-least-once: the replay publishes again and consumers dedupe by order_id.
    assert [e["detail-type"] for e in catalog.events()] == ["CheckoutConfirmed"] * 2


def test_a_confirmation_that_landed_but_timed_out_is_replayed_not_voided(catalog):
    catalog.dispatcher.lose_next_response("confirm-order")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("confirm-order") == ["Sandbox.Timedout", "ok"]
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert voids(catalog) == []
    assert len(captures(catalog)) == 1
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_a_confirmation_with_an_unknown_outcome_is_parked_never_voided(catalog):
    # The pivot keeps failing with a platform error: it may or may not have confirmed the order.
    catalog.dispatcher.fail_always("confirm-order", "Lambda.ServiceException")

    result = catalog.run(checkout())

    assert result.status == "FAILED"
    [parked] = catalog.parked()
    assert parked.stuck_step == "confirm_order"
    assert parked.original_failure is None
    assert parked.payment["charge_id"]
    # Nothing was undone behind the operator's back: still authorized, still reserved.
    assert voids(catalog) == []
    assert captures(catalog) == []
    assert [p["status"] for p in catalog.payments()] == ["AUTHORIZED"]
    assert catalog.available("SKU-A") == 8
    assert compensations_in_order(catalog) == []
    assert_one_event(catalog, "CheckoutFailed", "order-1000")


# --- fault schedules: crashes, hangs, transient failures and duplicates, on the real definition ---


def test_a_single_crash_in_a_compensation_is_retried_not_parked(catalog):
    # The chaos run parked 7 orders after one crash each: Runtime.ExitError was not retried.
    result = catalog.run(checkout(fault="order.confirm; payment.void=crash_after_commit"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("void-payment") == ["Runtime.ExitError", "ok"]
    assert catalog.parked() == []
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]
    assert len(voids(catalog)) == 1, "the void that landed before the crash is not repeated"
    assert_no_money_moved(catalog)
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    assert_one_event(catalog, "CheckoutCancelled", "order-1000")


@pytest.mark.parametrize("kind", ["crash_before_commit", "crash_after_commit", "timeout"])
def test_an_action_that_dies_or_hangs_is_retried_and_holds_once(catalog, kind):
    result = catalog.run(checkout(fault=f"payment.authorize={kind}"))

    assert result.status == "SUCCEEDED"
    error = "Sandbox.Timedout" if kind == "timeout" else "Runtime.ExitError"
    assert catalog.dispatcher.outcomes("authorize-payment") == [error, "ok"]
    assert len(authorizations(catalog)) == 1
    assert len(captures(catalog)) == 1
    assert catalog.order("order-1000")["status"] == "CONFIRMED"


def test_transient_k_fails_k_times_then_the_step_succeeds(catalog):
    result = catalog.run(checkout(fault="inventory.reserve=transient*3"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("reserve-stock") == ["DependencyUnavailableError"] * 3 + [
        "ok"
    ]
    assert catalog.available("SKU-A") == 8


def test_more_transient_failures_than_an_action_retries_roll_the_checkout_back(catalog):
    result = catalog.run(checkout(fault="payment.authorize=transient*9"))

    assert result.path[-2:] == ["CancelOrder", "CheckoutCancelled"]
    assert catalog.order("order-1000")["reason_code"] == "DependencyUnavailableError"
    assert authorizations(catalog) == []
    assert_no_money_moved(catalog)
    assert catalog.available("SKU-A") == 10


def test_a_duplicated_delivery_of_every_step_changes_nothing(catalog):
    schedule = "; ".join(
        f"{op}=duplicate"
        for op in (
            "order.create", "inventory.reserve", "payment.authorize", "order.confirm",
            "payment.capture",
        )
    )  # fmt: skip

    result = catalog.run(checkout(fault=schedule))

    assert result.status == "SUCCEEDED"
    assert len(authorizations(catalog)) == 1
    assert len(captures(catalog)) == 1
    assert catalog.available("SKU-A") == 8
    assert catalog.order("order-1000")["status"] == "CONFIRMED"


def test_a_confirmation_that_hangs_after_landing_is_replayed_not_voided(catalog):
    result = catalog.run(checkout(fault="order.confirm=timeout"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("confirm-order") == ["Sandbox.Timedout", "ok"]
    assert voids(catalog) == []
    assert catalog.order("order-1000")["status"] == "CONFIRMED"


# --- after the pivot: the capture is retried, never compensated, parks when it cannot finish ---


def test_a_capture_that_fails_transiently_is_retried_and_captures_once(catalog):
    result = catalog.run(checkout(fault="payment.capture=transient*3"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("capture-payment") == ["DependencyUnavailableError"] * 3 + [
        "ok"
    ]
    assert len(captures(catalog)) == 1
    assert [p["status"] for p in catalog.payments()] == ["CAPTURED"]
    assert_one_event(catalog, "CheckoutConfirmed", "order-1000")


def test_a_capture_that_landed_but_timed_out_is_replayed_not_taken_twice(catalog):
    result = catalog.run(checkout(fault="payment.capture=timeout"))

    assert result.status == "SUCCEEDED"
    assert catalog.dispatcher.outcomes("capture-payment") == ["Sandbox.Timedout", "ok"]
    assert len(captures(catalog)) == 1
    assert voids(catalog) == []


def test_a_capture_that_keeps_failing_parks_the_confirmed_order_with_the_hold_kept(catalog):
    catalog.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")

    result = catalog.run(checkout())

    assert result.status == "FAILED"
    assert result.error == "CheckoutParkedForOperator"
    capture_retry = load_definition()["States"]["CapturePayment"]["Retry"][0]
    assert len(catalog.dispatcher.outcomes("capture-payment")) == capture_retry["MaxAttempts"] + 1
    [parked] = catalog.parked()
    assert parked.stuck_step == "capture_payment"
    assert parked.error == "PaymentProviderUnavailableError"
    # never rolled back: the order stays confirmed, the stock sold, the authorization held
    assert compensations_in_order(catalog) == []
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert catalog.available("SKU-A") == 8
    assert [p["status"] for p in catalog.payments()] == ["AUTHORIZED"]
    [held] = authorizations(catalog)
    assert held.settled_by is None, "the hold is kept for the operator's capture"
    assert captures(catalog) == []
    assert voids(catalog) == []
    detail = assert_one_event(catalog, "CheckoutFailed", "order-1000")
    assert detail["stuck_step"] == "capture_payment"


def test_a_capture_the_provider_refuses_parks_at_once_never_rolls_back(catalog):
    # The hold is gone (an operator voided it at the provider): nothing to capture, no retry helps.
    catalog.dispatcher.fail_next("capture-payment", "PaymentNotCapturableError")

    result = catalog.run(checkout())

    assert result.status == "FAILED"
    assert catalog.dispatcher.outcomes("capture-payment") == ["PaymentNotCapturableError"]
    [parked] = catalog.parked()
    assert parked.stuck_step == "capture_payment"
    assert catalog.order("order-1000")["status"] == "CONFIRMED"
    assert compensations_in_order(catalog) == []


def late_authorization(saga: SagaRig) -> dict[str, Any]:
    """The authorization of order-1000 delivered again, after the saga ended (a late retry)."""
    return saga.invoke_task(
        "authorize_payment",
        {
            "order_id": "order-1000",
            "customer_id": "cust-42",
            "payment_token": "tok_visa",
            "lines": [
                {"sku": "SKU-A", "quantity": 2, "unit_price": 1_250, "currency": "EUR"},
                {"sku": "SKU-B", "quantity": 1, "unit_price": 500, "currency": "EUR"},
            ],
            "amount": {"amount": 3_000, "currency": "EUR"},
        },
    )


def test_a_late_authorization_after_its_void_is_refused_by_the_provider_tombstone(catalog):
    # The provider cannot be reached: the authorization was recorded AUTHORIZING, its outcome
    # unknown. The rollback voids it at the provider, which takes the authorization's key.
    result = catalog.run(checkout(payment_token="tok_providerDown"))

    assert result.status == "SUCCEEDED"
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    [tombstone] = journal(catalog, "void")
    assert tombstone.is_tombstone
    assert tombstone.idempotency_key == "authorize:order-1000"
    # then the authorization arrives late, with a card that would be approved: refused
    late = late_authorization(catalog)
    assert late["errorType"] == "AlreadyCompensatedError"
    assert authorizations(catalog) == []
    assert_no_money_moved(catalog)
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]


def test_a_late_authorization_that_never_reached_the_provider_is_refused_by_the_record(catalog):
    # Every attempt timed out before the function ran: nothing reached the provider, and the
    # void leaves the payment's tombstone, which refuses the late one before the provider call.
    catalog.dispatcher.fail_always("authorize-payment", "Sandbox.Timedout")

    result = catalog.run(checkout())

    assert result.status == "SUCCEEDED"
    assert catalog.order("order-1000")["status"] == "CANCELLED"
    [payment] = catalog.payments()
    assert payment["status"] == "VOIDED"
    assert "amount" not in payment  # the tombstone
    late = late_authorization(catalog)
    assert late["errorType"] == "AlreadyCompensatedError"
    assert catalog.provider_journal() == []

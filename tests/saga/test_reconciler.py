"""Executions that die mid-saga, and the reconciler that brings their orders to an end.

Each test stops (or breaks) a real execution of the ASL file at a chosen point, hands it to the
reconciler as EventBridge would (or lets the sweep find it), and asserts the stored state of
every service afterwards: no order left PENDING, no stock held, no money kept for an order that
is not confirmed, and a confirmed order never voided (its capture finished instead).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from orchestration.steps import rollback_of
from tests.saga.harness import EVENT_BUS
from tests.saga.test_checkout_saga import (
    assert_no_money_moved,
    assert_one_event,
    authorizations,
    captures,
    checkout,
    voids,
)

pytestmark = pytest.mark.saga

ORDER = "order-1000"


@pytest.fixture
def catalog(saga):
    saga.add_product("SKU-A", available=10, unit_price=1_250)
    saga.add_product("SKU-B", available=3, unit_price=500)
    return saga


def held(saga) -> int:
    """What the provider still holds on the card, unsettled (minor units)."""
    return sum(e.amount.amount for e in authorizations(saga) if e.settled_by is None)


def captured(saga) -> int:
    return sum(e.amount.amount for e in captures(saga))


def assert_rolled_back(saga, reason_code: str) -> None:
    order = saga.order(ORDER)
    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == reason_code
    assert saga.available("SKU-A") == 10
    assert saga.available("SKU-B") == 3
    assert {r["status"] for r in saga.reservations()} <= {"RELEASED"}
    assert_no_money_moved(saga)
    assert saga.parked() == []


def stopped(saga, function: str, nth: int = 1, **checkout_args: Any) -> None:
    saga.stop_when(function, nth=nth)
    result = saga.run(checkout(**checkout_args))
    # moto ends a stopped execution FAILED when the task in flight fails (AWS: ABORTED); the
    # reconciler treats both alike
    assert result.status in {"ABORTED", "FAILED"}


# --- before the pivot: roll everything back ------------------------------------------------------


def test_stopped_while_the_authorization_is_in_flight_rolls_back_and_voids_the_late_hold(catalog):
    # The chaos run: executions stopped mid-saga left orders PENDING, stock reserved, money held.
    stopped(catalog, "authorize-payment")
    assert catalog.order(ORDER)["status"] == "PENDING"  # what was left behind
    assert held(catalog) == 3_000

    outcome = catalog.reconcile(ORDER)

    [done] = outcome["outcomes"]
    assert done["action"] == "recovery_started"
    assert done["recovery"] == f"{ORDER}--r1"
    recovery = catalog.wait(f"{ORDER}--r1")
    assert recovery.status == "SUCCEEDED"
    assert recovery.path[:2] == ["RouteCheckout", rollback_of("ConfirmOrder")[0]]
    assert_rolled_back(catalog, "ExecutionAborted")
    assert len(voids(catalog)) == 1
    assert_one_event(catalog, "CheckoutCancelled", ORDER)


def test_stopped_before_anything_landed_leaves_tombstones_that_refuse_the_late_actions(catalog):
    stopped(catalog, "create-order")  # the create runs in flight, nothing else ever starts

    catalog.reconcile(ORDER)
    catalog.wait(f"{ORDER}--r1")

    assert_rolled_back(catalog, "ExecutionAborted")
    assert [r["status"] for r in catalog.reservations()] == ["RELEASED"]  # tombstone
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]  # tombstone
    assert authorizations(catalog) == []


def test_stopped_during_the_rollback_finishes_it_with_the_original_reason(catalog):
    stopped(catalog, "release-stock", payment_token="tok_chargeDeclined")

    catalog.reconcile(ORDER)
    catalog.wait(f"{ORDER}--r1")

    assert_rolled_back(catalog, "PaymentDeclinedError")


# --- the pivot may have landed: finish forward -------------------------------------------------


def test_stopped_while_the_confirmation_is_in_flight_finishes_it_and_captures(catalog):
    stopped(catalog, "confirm-order")
    assert catalog.order(ORDER)["status"] == "CONFIRMED"  # it landed after the stop

    catalog.reconcile(ORDER)
    recovery = catalog.wait(f"{ORDER}--r1")

    assert recovery.status == "SUCCEEDED"
    assert "ConfirmOrder" in recovery.path
    assert recovery.path[-1] == "CheckoutConfirmed"
    assert catalog.order(ORDER)["status"] == "CONFIRMED"
    assert voids(catalog) == []
    assert captured(catalog) == 3_000
    assert catalog.available("SKU-A") == 8
    assert_one_event(catalog, "CheckoutConfirmed", ORDER)


def test_stopped_while_the_capture_is_in_flight_finishes_forward_and_captures_once(catalog):
    stopped(catalog, "capture-payment")
    assert catalog.order(ORDER)["status"] == "CONFIRMED"
    assert captured(catalog) == 3_000  # the capture in flight landed after the stop

    catalog.reconcile(ORDER)
    recovery = catalog.wait(f"{ORDER}--r1")

    assert recovery.status == "SUCCEEDED"
    assert recovery.path[-2:] == ["CapturePayment", "CheckoutConfirmed"]
    assert len(captures(catalog)) == 1, "the recovery's capture replays the landed one"
    assert voids(catalog) == []
    assert [p["status"] for p in catalog.payments()] == ["CAPTURED"]
    assert_one_event(catalog, "CheckoutConfirmed", ORDER)


def test_a_confirmed_checkout_whose_event_failed_is_published_by_its_recovery(catalog):
    # The execution FAILED after the pivot (the bus refused the event after every retry).
    events = boto3.client("events", region_name="us-east-1")
    rule = events.list_targets_by_rule(Rule="all-checkout-events", EventBusName=EVENT_BUS)
    events.remove_targets(Rule="all-checkout-events", EventBusName=EVENT_BUS, Ids=["sink"])
    events.delete_rule(Name="all-checkout-events", EventBusName=EVENT_BUS)
    events.delete_event_bus(Name=EVENT_BUS)
    result = catalog.run(checkout())
    assert result.status == "FAILED"
    assert catalog.order(ORDER)["status"] == "CONFIRMED"
    events.create_event_bus(Name=EVENT_BUS)  # the bus is back (the operator fixed it)
    events.put_rule(Name="all-checkout-events", EventBusName=EVENT_BUS,
                    EventPattern='{"source": ["checkout.saga"]}')  # fmt: skip
    events.put_targets(Rule="all-checkout-events", EventBusName=EVENT_BUS, Targets=rule["Targets"])

    catalog.reconcile(ORDER)
    recovery = catalog.wait(f"{ORDER}--r1")

    assert recovery.status == "SUCCEEDED"
    assert recovery.path[:2] == ["RouteCheckout", "ConfirmOrder"]
    assert catalog.order(ORDER)["status"] == "CONFIRMED"
    assert voids(catalog) == []
    assert len(captures(catalog)) == 1
    assert_one_event(catalog, "CheckoutConfirmed", ORDER)


def test_stopped_before_the_confirmation_landed_confirms_it(catalog):
    # the stop comes first, then the in-flight confirmation is refused by a crash: not landed
    stopped(catalog, "confirm-order", fault="order.confirm=crash_before_commit")
    assert catalog.order(ORDER)["status"] == "PENDING"

    catalog.reconcile(ORDER)
    catalog.wait(f"{ORDER}--r1")

    assert catalog.order(ORDER)["status"] == "CONFIRMED"
    assert captured(catalog) == 3_000


# --- parking, twice, and the ceiling -----------------------------------------------------------


def test_stopped_while_parking_parks_again_with_record_metric_and_event(catalog):
    catalog.dispatcher.fail_always("release-stock", "DependencyUnavailableError")
    catalog.stop_when("release-stock", nth=9)  # the last retry: the next state is the parking
    catalog.run(checkout(fault="order.confirm"))

    catalog.reconcile(ORDER)
    recovery = catalog.wait(f"{ORDER}--r1")

    assert recovery.status == "FAILED"
    assert recovery.error == "CheckoutParkedForOperator"
    [parked] = catalog.parked()
    assert parked.stuck_step == "release_stock"
    assert parked.execution_arn.endswith(f"{ORDER}--r1")


def test_reconciling_twice_or_a_finished_or_parked_execution_starts_nothing_more(catalog):
    stopped(catalog, "authorize-payment")

    first = catalog.reconcile(ORDER)["outcomes"][0]
    second = catalog.reconcile(ORDER)["outcomes"][0]
    catalog.wait(f"{ORDER}--r1")
    third = catalog.reconcile(ORDER)["outcomes"][0]
    of_recovery = catalog.reconcile(f"{ORDER}--r1")["outcomes"][0]

    assert first["action"] == "recovery_started"
    assert second["action"] == "already_recovered"
    assert third["action"] == "already_recovered"
    assert of_recovery["action"] == "skipped"
    assert catalog.executions() == [ORDER, f"{ORDER}--r1"]
    assert len(voids(catalog)) == 1


def test_recoveries_that_keep_dying_end_with_the_order_parked_by_the_reconciler(catalog):
    stopped(catalog, "authorize-payment")
    for number in (1, 2, 3):
        catalog.stop_when("void-payment", nth=number)
        catalog.reconcile(ORDER if number == 1 else f"{ORDER}--r{number - 1}")
        assert catalog.wait(f"{ORDER}--r{number}").status == "ABORTED"

    outcome = catalog.reconcile(f"{ORDER}--r3")["outcomes"][0]

    assert outcome["action"] == "parked"
    [parked] = catalog.parked()
    assert parked.stuck_step == "reconciler"
    assert parked.error == "RecoveryExhausted"
    assert parked.execution_arn.endswith(f"{ORDER}--r3")
    metrics = boto3.client("cloudwatch", region_name="us-east-1").list_metrics(
        Namespace="CheckoutSaga", MetricName="CheckoutsParked"
    )["Metrics"]
    assert metrics
    assert "CheckoutFailed" in [event["detail-type"] for event in catalog.events()]


def test_the_sweep_finds_an_execution_whose_event_never_arrived(catalog):
    stopped(catalog, "reserve-stock")

    swept = catalog.sweep()["outcomes"]
    again = catalog.sweep()["outcomes"]

    assert [o["recovery"] for o in swept] == [f"{ORDER}--r1"]
    assert again == []
    catalog.wait(f"{ORDER}--r1")
    assert_rolled_back(catalog, "ExecutionAborted")


def test_a_malformed_event_is_refused_naming_the_problem(catalog):
    from orchestration.reconciler.handler import lambda_handler
    from shared.errors import InvalidInputError
    from tests.support.lambda_context import FakeLambdaContext

    event = {"detail-type": "Step Functions Execution Status Change", "detail": {"status": "X"}}
    with pytest.raises(InvalidInputError, match="executionArn"):
        lambda_handler(event, FakeLambdaContext("reconciler"))

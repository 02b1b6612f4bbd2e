"""The reconciler's decision, from descriptions and histories alone (no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration.definition import load_definition
from orchestration.recovery import (
    MAX_AUTOMATIC_RECOVERIES,
    ParkOrder,
    Skip,
    StartRecovery,
    execution_chain,
    execution_name,
    parse_execution_name,
    plan,
)
from orchestration.spec import SAGA, StepKind
from orchestration.steps import (
    LEGACY_STATES,
    RESUME_LANE,
    RETRY_LANE,
    SETTLED_AT_PROVIDER,
    Lane,
    held_after_parking,
)

ARN = "arn:aws:states:us-east-1:123456789012:execution:checkout-saga:"
STATE: dict[str, Any] = {"order_id": "ord-1", "customer_id": "c", "failure": None, "fault": None,
         "reservation": {"lines": [], "total": None}, "payment": {"charge_id": None}}  # fmt: skip


def described(name: str = "ord-1", status: str = "ABORTED", **extra: Any) -> dict[str, Any]:
    return {"name": name, "executionArn": ARN + name, "status": status,
            "input": json.dumps(extra.pop("input", STATE)), **extra}  # fmt: skip


def entered(*states: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {"type": "TaskStateEntered", "timestamp": moment,
         "stateEnteredEventDetails": {"name": name, "input": json.dumps(state)}}
        for name, state in states
    ]  # fmt: skip


def test_every_state_of_the_definition_has_a_resume_lane():
    # and the states of earlier definitions that executions started on them still name
    assert set(RESUME_LANE) == set(load_definition()["States"]) | set(LEGACY_STATES)


@pytest.mark.parametrize(("state", "lane"), [
    ("PublishCheckoutConfirmed", Lane.CONFIRM),  # the confirmed event: the order is confirmed
    ("PublishCheckoutCancelled", Lane.COMPENSATE),
])  # fmt: skip
def test_an_execution_of_the_definition_before_the_six_state_cut_resumes_in_its_lane(state, lane):
    """An execution keeps the definition it started with: one in flight during the deploy
    that dies in a state the new definition no longer has must not be rolled back blindly."""
    at_pivot = {**STATE, "payment": {"charge_id": "ch_1"}}
    decided = plan(
        described(status="FAILED", error="States.Runtime"),
        entered(("PrepareCheckout", STATE), ("ConfirmOrder", at_pivot), (state, at_pivot)),
    )

    assert isinstance(decided, StartRecovery)
    assert decided.lane is lane


def test_an_unknown_state_after_the_pivot_was_entered_confirms_never_compensates():
    at_pivot = {**STATE, "payment": {"charge_id": "ch_1"}}
    decided = plan(
        described(status="FAILED", error="States.Runtime"),
        entered(("ConfirmOrder", at_pivot), ("SomeStateOfAFutureDefinition", at_pivot)),
    )

    assert isinstance(decided, StartRecovery)
    assert decided.lane is Lane.CONFIRM
    assert json.loads(decided.input)["payment"]["charge_id"] == "ch_1"


def test_an_input_refused_as_incomplete_is_started_again_forward_complete():
    """Nothing ran (the first state refused it): an old starter's input, say, during a deploy.
    The recovery runs the checkout forward with the defaults merged in, not a rollback."""
    incomplete = {"order_id": "ord-1", "customer_id": "c", "items": [], "payment_token": "t"}
    decided = plan(
        described(status="FAILED", error="CheckoutInputIncomplete", input=incomplete),
        entered(("RouteCheckout", incomplete), ("CheckoutInputIncomplete", incomplete)),
    )

    assert isinstance(decided, StartRecovery)
    assert decided.lane is Lane.FORWARD
    resumed = json.loads(decided.input)
    assert {name: resumed[name] for name in SAGA.defaults if name != "recovery"} == {
        name: value for name, value in SAGA.defaults.items() if name != "recovery"
    }
    assert resumed["recovery"]["resume"] == "forward"
    assert resumed["failure"] is None


def test_only_payment_steps_of_the_saga_that_hold_money_can_be_resolved_by_hand():
    payment_steps = {
        name
        for step in SAGA.steps
        if step.service == "payment"
        for name in (step.action.name, step.compensation.name if step.compensation else None)
    }
    assert set(SETTLED_AT_PROVIDER) <= set(RETRY_LANE) & payment_steps
    assert all(held_after_parking(step).money for step in SETTLED_AT_PROVIDER)


def test_every_parking_step_has_a_retry_lane_and_says_what_it_holds():
    after_pivot = {step.action.name for step in SAGA.steps if step.kind is StepKind.RETRIABLE}
    assert after_pivot == {"capture_payment"}
    assert set(RETRY_LANE) == {SAGA.pivot.action.name} | after_pivot | {
        step.compensation.name for step in SAGA.compensatable if step.compensation
    } | {"refund_payment"}  # parked by the charge-then-refund definition: rolled back again
    assert RETRY_LANE["refund_payment"] is Lane.COMPENSATE
    assert held_after_parking("capture_payment").money is True
    assert held_after_parking("capture_payment").order.startswith("CONFIRMED")
    assert held_after_parking("void_payment").money is True
    assert held_after_parking("release_stock").money is False
    assert held_after_parking("release_stock").stock is True
    assert held_after_parking("cancel_order").stock is False


@pytest.mark.parametrize("name", ["ord-1", "ord-1--r1", "ord--r--r12", "a-b--r3"])
def test_names_round_trip(name):
    order_id, number = parse_execution_name(name)
    assert execution_name(order_id, number) == name


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("RUNNING", None, "RUNNING"),
        ("SUCCEEDED", None, "SUCCEEDED"),
        ("FAILED", "CheckoutParkedForOperator", "parked"),
    ],
)
def test_a_running_finished_or_parked_execution_is_left_alone(status, error, reason):
    decided = plan(described(status=status, error=error), entered(("CreateOrder", STATE)))

    assert isinstance(decided, Skip)
    assert reason in decided.reason


@pytest.mark.parametrize("status", ["ABORTED", "TIMED_OUT", "FAILED"])
def test_dead_before_the_pivot_rolls_back_with_a_reason_of_its_death(status):
    decided = plan(
        described(status=status, error="States.Runtime" if status == "FAILED" else None),
        entered(("RouteCheckout", STATE), ("AuthorizePayment", {**STATE, "order": {}})),
    )

    assert isinstance(decided, StartRecovery)
    assert decided.name == "ord-1--r1"
    assert decided.lane is Lane.COMPENSATE
    resumed = json.loads(decided.input)
    assert resumed["recovery"]["resume"] == "compensate"
    assert resumed["recovery"]["after"] == "ord-1"
    expected = {"ABORTED": "ExecutionAborted", "TIMED_OUT": "ExecutionTimedOut"}
    assert resumed["failure"]["Error"] == expected.get(status, "States.Runtime")
    assert "ended " + status + " in AuthorizePayment" in resumed["failure"]["Cause"]


def test_dead_in_the_rollback_keeps_the_original_failure():
    failing = {**STATE, "failure": {"Error": "PaymentDeclinedError", "Cause": "declined"}}
    decided = plan(described(), entered(("ReleaseStock", failing)))

    assert isinstance(decided, StartRecovery)
    assert json.loads(decided.input)["failure"]["Error"] == "PaymentDeclinedError"


def test_once_the_pivot_was_scheduled_the_recovery_confirms_with_the_pivots_input():
    at_pivot = {**STATE, "payment": {"charge_id": "ch_1"}}
    decided = plan(
        described(),
        entered(("ConfirmOrder", at_pivot), ("CheckoutConfirmed", {**at_pivot, "x": 1})),
    )

    assert isinstance(decided, StartRecovery)
    assert decided.lane is Lane.CONFIRM
    resumed = json.loads(decided.input)
    assert resumed["payment"]["charge_id"] == "ch_1"
    assert "x" not in resumed
    assert resumed["failure"] is None, "a confirmation is never given a rollback reason"


def test_a_recovery_that_died_at_its_start_resumes_in_its_own_lane():
    own = {**STATE, "recovery": {"resume": "confirm", "after": "ord-1", "number": 1}}
    decided = plan(described("ord-1--r1", input=own), [])

    assert isinstance(decided, StartRecovery)
    assert decided.name == "ord-1--r2"
    assert decided.lane is Lane.CONFIRM


def test_the_same_dead_execution_always_yields_the_same_recovery():
    history = entered(("ReserveStock", STATE))

    assert plan(described(), history) == plan(described(), history)


def test_after_the_last_automatic_recovery_the_order_is_parked():
    name = execution_name("ord-1", MAX_AUTOMATIC_RECOVERIES)

    decided = plan(described(name), entered(("VoidPayment", STATE)))

    assert isinstance(decided, ParkOrder)
    assert decided.order_id == "ord-1"
    assert decided.execution_arn.endswith(name)
    assert f"{MAX_AUTOMATIC_RECOVERIES} recoveries" in decided.reason


def test_the_chain_reads_recoveries_only_after_an_unfinished_ending():
    stored = {
        ARN + "ord-1": described("ord-1", "ABORTED"),
        ARN + "ord-1--r1": described("ord-1--r1", "SUCCEEDED"),
        ARN + "ord-2": described("ord-2", "SUCCEEDED"),
    }
    asked: list[str] = []

    def describe(arn: str) -> dict[str, Any] | None:
        asked.append(arn)
        return stored.get(arn)

    machine = ARN.replace(":execution:", ":stateMachine:").rstrip(":")
    assert [d["name"] for d in execution_chain(describe, machine, "ord-1")] == [
        "ord-1",
        "ord-1--r1",
    ]
    assert [d["name"] for d in execution_chain(describe, machine, "ord-2")] == ["ord-2"]
    assert asked == [ARN + "ord-1", ARN + "ord-1--r1", ARN + "ord-2"], "no probe past an ending"


@pytest.mark.parametrize(("status", "entered_states", "reached"), [
    ("SUCCEEDED", ["ConfirmOrder", "CheckoutConfirmed"], "CheckoutConfirmed"),
    ("FAILED", ["ConfirmOrder", "CheckoutConfirmed"], None),  # its event never went out
    ("ABORTED", ["CancelOrder", "CheckoutCancelled"], None),
    ("FAILED", ["ParkCheckout", "CountParkedCheckout", "PublishCheckoutFailed", "CheckoutFailed"],
     "CheckoutFailed"),
    ("ABORTED", ["CreateOrder"], None),
])  # fmt: skip
def test_an_ending_is_reached_only_when_the_execution_closed_in_it(status, entered_states, reached):
    from orchestration.steps import reached_ending

    assert reached_ending(status, entered_states) == reached

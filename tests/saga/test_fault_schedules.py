"""The proof: random fault schedules over every operation, and the promise still holds.

Hypothesis draws a few checkouts competing for scarce stock, each with a random card, a random
fault schedule (any operation: action, compensation or the pivot; any kind: business, transient*k,
timeout, crash before or after the write, duplicate delivery) and maybe a StopExecution while a
chosen invocation is in flight. They run concurrently on the real ASL file against the real
handlers (retries without sleeping); every execution that dies is handed to the reconciler as
EventBridge would hand it, until none is left; then every successful invocation is delivered once
more, late. The invariants of `tests/support/invariants.py` are read from the services' own stores.

`make test` runs a fixed-seed slice (CHECKOUT_FAULT_SCHEDULES, 200 by default); `make chaos` runs
more. A failure is shrunk by Hypothesis to a minimal schedule, and kept below as an `@example`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from orchestration.definition import load_definition
from orchestration.recovery import CLOSED_UNFINISHED, PARKED_ERROR, describer, execution_chain
from orchestration.spec import SAGA, StepKind
from orchestration.steps import reached_ending
from shared.faults import FaultKind, parse_schedule
from tests.saga.harness import FUNCTIONS, SandboxEnded, wait_for_execution
from tests.support.invariants import Ending, Evidence, read_stores, violations
from tests.support.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.saga

SCHEDULES = int(os.environ.get("CHECKOUT_FAULT_SCHEDULES", "200"))
REPORT = os.environ.get("CHECKOUT_CHAOS_REPORT")
_examples = itertools.count()
APPROVAL_TOKEN = "tok_threeDSecureRequired"
OPERATIONS = [operation.fault for _, operation in SAGA.operations()]
# The operations retried as long as a compensation (8 times), then parked if still failing.
LONG_RETRIED = {
    step.action.fault for step in SAGA.steps if step.kind is not StepKind.COMPENSATABLE
} | {step.compensation.fault for step in SAGA.compensatable if step.compensation}

# --- what Hypothesis draws -------------------------------------------------------------------

COUNTED = {
    FaultKind.TRANSIENT: st.integers(1, 10),  # around the retry limits (3 for actions, 8 after)
    FaultKind.TIMEOUT: st.integers(1, 3),
    FaultKind.CRASH_BEFORE_COMMIT: st.integers(1, 3),
    FaultKind.CRASH_AFTER_COMMIT: st.integers(1, 3),
    FaultKind.DUPLICATE: st.integers(1, 2),
}


@st.composite
def faults(draw: Callable[..., Any]) -> str | None:
    operations = draw(st.lists(st.sampled_from(OPERATIONS), unique=True, max_size=2))
    entries = []
    for operation in operations:
        kind = draw(st.sampled_from([*COUNTED, FaultKind.BUSINESS]))
        count = draw(COUNTED[kind]) if kind in COUNTED else None
        entries.append(f"{operation}={kind.value}" + (f"*{count}" if count else ""))
    return "; ".join(entries) or None


@dataclass(frozen=True)
class Plan:
    stock: tuple[int, int]  # initial units of the two skus of this example
    checkouts: tuple[dict[str, Any], ...]


checkouts = st.fixed_dictionaries(
    {
        "lines": st.lists(st.tuples(st.integers(0, 1), st.integers(1, 2)), min_size=1,
                          max_size=2, unique_by=lambda line: line[0]),
        "token": st.sampled_from(
            ["tok_visa", "tok_visa", "tok_visa", "tok_chargeDeclined", APPROVAL_TOKEN]
        ),
        # what the customer does when a payment asks for approval: the webhook once, twice
        # (a redelivery), or nothing until the wait times out
        "answer": st.sampled_from(["approve", "approve", "decline", "approve twice", "none"]),
        "faults": faults(),
        # stopped while its n-th Lambda invocation (of the saga, or of a recovery) is in flight
        "kill": st.none() | st.integers(1, 9),
    }
)  # fmt: skip
plans = st.builds(
    Plan,
    stock=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    checkouts=st.lists(checkouts, min_size=1, max_size=3).map(tuple),
)


# --- running one example ---------------------------------------------------------------------


def _run(rig: Any, plan: Plan) -> list[str]:
    number = next(_examples)
    rig.dispatcher.calls.clear()  # everything of the examples before has settled
    rig.dispatcher.stopped_in.clear()
    skus = [f"FS{number}-A", f"FS{number}-B"]
    for sku, units in zip(skus, plan.stock, strict=True):
        rig.add_product(sku, available=units, unit_price=700)
    orders = []
    for index, drawn in enumerate(plan.checkouts):
        order_id = f"fs-{number:05d}-{index}"
        if drawn["kill"] is not None:
            rig.stop_when("*", nth=drawn["kill"], order_id=order_id)
        body: dict[str, Any] = {
            "order_id": order_id,
            "customer_id": "cust-fs",
            "items": [{"sku": skus[i], "quantity": q} for i, q in drawn["lines"]],
            "payment_token": drawn["token"],
        }
        if drawn["faults"]:
            body["fault"] = drawn["faults"]
        orders.append(order_id)
        rig.start(body)  # all of them at once: they race for the stock
    customers = _customers(rig, plan, orders)
    parked_before = _parked_metric()
    endings = _settle(rig, orders)
    _Customer.join_all(customers)
    initial = dict(zip(skus, plan.stock, strict=True))
    evidence = Evidence(endings, rig.events(), _parked_metric() - parked_before)
    stores = read_stores(skus, orders)
    found = violations(stores, initial, evidence)
    for drawn, order_id in zip(plan.checkouts, orders, strict=True):
        if stores.orders[order_id].parked is not None and not _outlasts_retries(drawn["faults"]):
            found.append(
                f"{order_id}: parked, but no fault of {drawn['faults']!r} outlasts retries"
            )
    for state in stores.orders.values():  # what the run covered: --hypothesis-show-statistics
        status = state.order["status"] if state.order else "no order"
        event(f"order {status}{' parked' if state.parked else ''}")
    for call in rig.dispatcher.stopped_in:
        event(f"stopped in {call}")
    before = read_stores(skus, orders)
    _deliver_late(rig, orders)
    if read_stores(skus, orders) != before:
        found.append("a late delivery of an action or compensation changed the stores")
    return found


def _customers(rig: Any, plan: Plan, orders: list[str]) -> list[_Customer]:
    return [
        _Customer(rig, order_id, drawn.get("answer", "approve"))
        for drawn, order_id in zip(plan.checkouts, orders, strict=True)
        if drawn["token"] == APPROVAL_TOKEN
    ]


class _Customer(threading.Thread):
    """Answers the approval page when the saga waits for it (as a person would, whenever the
    saga is there: perhaps never, if a fault or a stop ended it first)."""

    def __init__(self, rig: Any, order_id: str, answer: str) -> None:
        super().__init__(daemon=True)
        self.rig, self.order_id, self.answer = rig, order_id, answer
        self.start()

    @staticmethod
    def join_all(customers: list[_Customer]) -> None:
        for customer in customers:
            customer.join()

    def run(self) -> None:
        if self.answer == "none":
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                order = next((o for o in self.rig.orders() if o["order_id"] == self.order_id), None)
            except RuntimeError:  # moto's scan copied an item the saga was writing: read again
                time.sleep(0.02)
                continue
            if order is not None and order["status"] != "PENDING":
                return  # it ended without asking (declined, out of stock, a fault)
            if order is not None and order.get("approval_token"):
                break
            time.sleep(0.02)
        else:
            return
        approved = self.answer != "decline"
        # refused when it comes too late (voided by a rollback): that is the point
        with contextlib.suppress(Exception):
            self.rig.customer_answers(self.order_id, approved)
            if self.answer == "approve twice":
                [payment] = [p for p in self.rig.payments() if p["order_id"] == self.order_id]
                webhook = self.rig.signed_webhook(self.order_id, payment["charge_id"], approved)
                self.rig.deliver_webhook(webhook)


def _outlasts_retries(schedule: str | None) -> bool:
    """Parking is right only when a compensation (or the pivot) cannot finish: a business fault
    in a compensation, or more transient failures than its retries. A crash, a hang or a
    duplicate is retried away; a killed execution is recovered."""
    states = load_definition()["States"]
    attempts = 1 + max(
        rule["MaxAttempts"]
        for rule in states[SAGA.compensatable[-1].compensation_state or ""]["Retry"]
    )
    for operation, fault in parse_schedule(schedule or "order.create=duplicate").items():
        if operation not in LONG_RETRIED:
            continue
        if fault.kind is FaultKind.BUSINESS and operation != SAGA.pivot.action.fault:
            return True
        if fault.kind is FaultKind.TRANSIENT and (fault.count or 0) >= attempts:
            return True
    return False


def _settle(rig: Any, orders: list[str]) -> dict[str, Ending]:
    """Wait for every execution; hand each dead one to the reconciler, until none is left."""

    describe = describer(rig.sfn)
    endings: dict[str, Ending] = {}
    for _ in range(10):  # 3 recoveries, then the reconciler parks: far fewer rounds than this
        handed_over = False
        for order_id in orders:
            last = execution_chain(describe, rig.state_machine_arn, order_id)[-1]
            result = wait_for_execution(rig.sfn, last["executionArn"], timeout=120)
            last = describe(last["executionArn"]) or last
            ending = reached_ending(last["status"], result.path)
            endings[order_id] = Ending(last["status"], ending, last["executionArn"])
            dead = last["status"] in CLOSED_UNFINISHED and last.get("error") != PARKED_ERROR
            if dead and rig.reconcile(last["executionArn"])["outcomes"][0]["action"] != "parked":
                handed_over = True
        if not handed_over:
            return endings
    raise AssertionError(f"recoveries did not settle: {endings}")


def _deliver_late(rig: Any, orders: list[str]) -> None:
    """Every invocation that succeeded, delivered once more after everything ended."""
    for call in list(rig.dispatcher.calls):
        if call.outcome != "ok" or call.payload.get("order_id") not in orders:
            continue
        handler = importlib.import_module(FUNCTIONS[call.function]).lambda_handler
        late = {**call.payload, "attempt": 99}  # counted faults are over by now
        # refusing a late delivery is the point; only the stores tell
        with contextlib.suppress(Exception, SandboxEnded):
            handler(late, FakeLambdaContext(call.function))


def _parked_metric() -> int:
    now = datetime.now(UTC)
    points = boto3.client("cloudwatch", region_name="us-east-1").get_metric_statistics(
        Namespace="CheckoutSaga",
        MetricName="CheckoutsParked",
        Dimensions=[{"Name": "stage", "Value": "test"}],
        StartTime=now - timedelta(days=1),
        EndTime=now + timedelta(days=1),
        Period=86_400,
        Statistics=["Sum"],
    )["Datapoints"]
    return int(sum(point["Sum"] for point in points))


# --- the property ----------------------------------------------------------------------------


@pytest.fixture
def rig(saga):
    saga.dispatcher.serialize = True
    return saga


@settings(
    max_examples=SCHEDULES,
    derandomize=True,  # a fixed slice in CI; `make chaos` widens it
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans)
# Regression examples, one per defect the checker (or the chaos run) found:
# - stopped while the confirmation was in flight: a recovery that rolled back would void a
#   confirmed order (found when the pivot's lane was `compensate`);
@example(plan=Plan((1, 0), ({"lines": [(0, 1)], "token": "tok_visa", "faults": None, "kill": 4},)))
# - one crash in a compensation parked the order (Runtime.ExitError was not retried);
@example(
    plan=Plan(
        (2, 2),
        ({"lines": [(1, 1)], "token": "tok_chargeDeclined", "kill": None,
          "faults": "inventory.release=crash_before_commit"},),
    )
)  # fmt: skip
# - a payment that needs approval, approved twice (a redelivered webhook) while its wait's
#   invocation crashed after writing the token: the retried wait completes with the answer.
@example(
    plan=Plan(
        (1, 1),
        ({"lines": [(0, 1)], "token": APPROVAL_TOKEN, "answer": "approve twice", "kill": None,
          "faults": "order.await_approval=crash_after_commit"},),
    )
)  # fmt: skip
# - stopped before anything landed, two buyers for one unit: tombstones refuse the late actions.
@example(
    plan=Plan(
        (1, 0),
        ({"lines": [(0, 1)], "token": "tok_visa", "faults": None, "kill": 1},
         {"lines": [(0, 1)], "token": "tok_visa", "faults": "order.create=duplicate",
          "kill": None}),
    )
)  # fmt: skip
def test_no_fault_schedule_leaves_a_checkout_half_done(rig, plan):
    found = _run(rig, plan)
    if REPORT:  # `make chaos` counts the schedules run and what they found
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write(json.dumps({"violations": found}) + "\n")

    assert found == [], json.dumps({"plan": repr(plan), "violations": found}, indent=2)

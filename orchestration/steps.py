"""What each state of the checkout saga means, derived from the specification (`spec.py`).

For people: the status API, the demo and the trace describe an execution with these names, so a
reader sees "payment.void_payment (compensation)" rather than a state name. For the reconciler:
the lane a recovery resumes in when an execution dies in a state. Tests prove every state of the
ASL file is described here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from orchestration.asl import CANCELLED, CONFIRMED, COUNT, FAILED, INCOMPLETE, PARK, ROUTE
from orchestration.spec import SAGA, Saga, StepKind
from shared.observability import Phase


@dataclass(frozen=True)
class StepInfo:
    service: str
    operation: str
    phase: Phase

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}"


def _steps(saga: Saga) -> dict[str, StepInfo]:
    steps = {
        step.state: StepInfo(step.service, step.action.name, Phase.ACTION) for step in saga.steps
    }
    for _, approval in saga.approvals:  # the wait for the customer: part of its step's action
        steps[approval.state] = StepInfo(approval.service, approval.wait.name, Phase.ACTION)
    for step in reversed(saga.compensatable):
        if step.compensation is not None and step.compensation_state is not None:
            steps[step.compensation_state] = StepInfo(
                step.service, step.compensation.name, Phase.COMPENSATION
            )
    steps.update(
        {
            CONFIRMED: StepInfo("events", "publish_confirmed", Phase.EVENT),
            CANCELLED: StepInfo("events", "publish_cancelled", Phase.EVENT),
            f"Publish{FAILED}": StepInfo("events", "publish_failed", Phase.EVENT),
            PARK: StepInfo("orchestration", "park_checkout", Phase.OPERATOR),
            COUNT: StepInfo("orchestration", "count_parked_checkout", Phase.OPERATOR),
        }
    )
    return steps


STEPS: dict[str, StepInfo] = _steps(SAGA)

# The state each ending of the saga stops in, and the checkout status it means. Entering one
# means its outcome is recorded (the confirmed and cancelled ones then publish their event).
ENDINGS = {CONFIRMED: "CONFIRMED", CANCELLED: "CANCELLED", FAILED: "FAILED"}


def reached_ending(status: str, entered: list[str]) -> str | None:
    """The ending an execution reached, or None. The confirmed and cancelled endings are tasks
    (they publish the event, then end the execution): entering one is reaching it only if the
    execution SUCCEEDED; one that died in it still needs its recovery to publish."""
    last = next((name for name in reversed(entered) if name in ENDINGS), None)
    if last in (CONFIRMED, CANCELLED) and status != "SUCCEEDED":
        return None
    return last


class Lane(StrEnum):
    """Where an execution runs: `RouteCheckout` sends a recovery input to its lane."""

    FORWARD = "forward"  # a new checkout
    COMPENSATE = "compensate"  # roll back everything before the pivot, newest first
    CONFIRM = "confirm"  # the pivot may have landed: finish it forward (or park)
    PARK = "park"  # the execution was parking: park again (record, metric, event)


def _resume_lanes(saga: Saga) -> dict[str, Lane | None]:
    """If an execution dies in this state, the lane its recovery resumes in. None: it died
    before its own lane began, so the recovery takes the lane the dead execution was for."""
    # Refused before anything ran (an old starter's input, say): start it again, complete.
    lanes: dict[str, Lane | None] = {ROUTE: None, INCOMPLETE: Lane.FORWARD}
    for step in saga.steps:
        if step.kind is StepKind.COMPENSATABLE:
            # Once the execution is dead nothing more can land, except what was in flight, and a
            # compensation leaves a tombstone that refuses it: roll everything back.
            lanes[step.state] = Lane.COMPENSATE
            if step.approval is not None:  # its answer can no longer land: the token died too
                for state in (
                    step.approval.choice_state(step),
                    step.approval.state,
                    step.approval.timed_out_state,
                ):
                    lanes[state] = Lane.COMPENSATE
        else:  # the pivot was scheduled: it may have landed, so never roll back blindly
            lanes[step.state] = Lane.CONFIRM
            lanes[f"{step.state}{'Uncertain' if step.kind is StepKind.PIVOT else 'Stuck'}"] = (
                Lane.CONFIRM
            )
    lanes[CONFIRMED] = Lane.CONFIRM  # the confirmed event, the last state: publish it again
    for step in saga.compensatable:
        if step.compensation_state is not None:
            # a compensation, or one that was stuck: run the rollback again (it parks again if
            # it still cannot finish)
            lanes[step.compensation_state] = Lane.COMPENSATE
            lanes[f"{step.compensation_state}Stuck"] = Lane.COMPENSATE
    lanes[CANCELLED] = Lane.COMPENSATE
    for state in (PARK, COUNT, f"Publish{FAILED}", FAILED):
        lanes[state] = Lane.PARK
    return {**LEGACY_STATES, **lanes}


# States of earlier definitions, for executions that started on them: an execution keeps the
# definition it started with, so one in flight during a deploy can die in a state the current
# definition no longer has (docs/decisions.md, "A happy checkout enters six states").
LEGACY_STATES: dict[str, Lane | None] = {
    "PrepareCheckout": None,  # merged the defaults (before the six-state cut)
    "PublishCheckoutConfirmed": Lane.CONFIRM,  # the confirmed event, then a Succeed state
    "PublishCheckoutCancelled": Lane.COMPENSATE,
    # charged, then refunded on failure (before authorize-then-capture): the rollback runs the
    # void, which parks a payment of the old statuses for an operator (docs/decisions.md)
    "ChargePayment": Lane.COMPENSATE,
    "RefundPayment": Lane.COMPENSATE,
    "RefundPaymentStuck": Lane.COMPENSATE,
}


RESUME_LANE: dict[str, Lane | None] = _resume_lanes(SAGA)

# The lane an operator's retry of a parked checkout takes, by the parked record's stuck_step.
RETRY_LANE: dict[str, Lane] = {
    **{
        step.action.name: Lane.CONFIRM
        for step in SAGA.steps
        if step.kind is not StepKind.COMPENSATABLE
    },
    **{
        step.compensation.name: Lane.COMPENSATE
        for step in SAGA.compensatable
        if step.compensation is not None
    },
    # parked by an earlier definition (charge, then refund on failure): roll back again, which
    # voids under the new statuses or parks the old ones for an operator (docs/decisions.md)
    "refund_payment": Lane.COMPENSATE,
}

# The parked checkouts an operator can resolve by hand (`checkout resolve`), by stuck_step: those
# stuck at a payment step, whose effect lives at the provider, where the operator can settle the
# hold themselves (its dashboard); the payment service records what they did, and a recovery
# finishes the rest. Every other step's effect lives in our own stores, which only the step
# writes: those are retried (`checkout retry`), never resolved by hand.
SETTLED_AT_PROVIDER: dict[str, str] = {"void_payment": "voided", "capture_payment": "captured"}

# The compensations in the order the rollback runs them (newest first).
ROLLBACK = tuple(
    step.compensation.name for step in reversed(SAGA.compensatable) if step.compensation
)
# Which compensation gives back what: the parked record's fields a rollback step releases.
_RELEASES = {
    step.compensation.name: step.action.result_key
    for step in SAGA.compensatable
    if step.compensation is not None
}


@dataclass(frozen=True)
class Held:
    """What a parked checkout still holds, from where its rollback stopped."""

    results: tuple[str, ...]  # the saga results not yet given back (e.g. reservation, payment)
    order: str  # what the order record reads

    @property
    def stock(self) -> bool:
        return "reservation" in self.results

    @property
    def money(self) -> bool:
        return "payment" in self.results


def held_after_parking(stuck_step: str) -> Held:
    everything = tuple(_RELEASES.values())
    if stuck_step in ROLLBACK:
        done = ROLLBACK[: ROLLBACK.index(stuck_step)]
        released = {_RELEASES[name] for name in done}
        return Held(tuple(r for r in everything if r not in released), order="PENDING")
    if stuck_step == SAGA.pivot.action.name:
        return Held(everything, order="PENDING or CONFIRMED (the outcome is unknown)")
    if stuck_step == "refund_payment":  # an earlier definition charged, then could not refund
        return Held(everything, order="PENDING (charged by an earlier definition: refund it)")
    if stuck_step in RETRY_LANE:  # after the pivot: the order is confirmed, the step is owed
        return Held(everything, order="CONFIRMED (the steps after the confirmation are owed)")
    # parked by the reconciler: the dead executions may have stopped anywhere
    return Held(everything, order="unknown: read the order before acting")


def rollback_of(state: str, saga: Saga = SAGA) -> list[str]:
    """The compensation states a failure of `state` runs, newest first (its own included)."""
    waits = {approval.state: step.state for step, approval in saga.approvals}
    index = [step.state for step in saga.steps].index(waits.get(state, state))
    return [
        step.compensation_state
        for step in reversed(saga.steps[: index + 1])
        if step.compensation_state is not None
    ]


def label_of(state: str) -> str:
    """`service.operation` of a state, as the status API and the trace show it."""
    return STEPS[state].label

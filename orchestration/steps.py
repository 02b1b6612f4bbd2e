"""What each state of the checkout saga does, for people: service, operation and phase.

The status API, the demo and the trace command describe an execution with these names, so a reader
sees "payment.refund_payment (compensation)" rather than a state name. A test proves every Task
state of the ASL file is described here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StepPhase(StrEnum):
    ACTION = "action"
    COMPENSATION = "compensation"
    EVENT = "event"
    OPERATOR = "operator"  # parking a checkout for a person


@dataclass(frozen=True)
class StepInfo:
    service: str
    operation: str
    phase: StepPhase

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}"


STEPS: dict[str, StepInfo] = {
    "CreateOrder": StepInfo("order", "create_order", StepPhase.ACTION),
    "ReserveStock": StepInfo("inventory", "reserve_stock", StepPhase.ACTION),
    "ChargePayment": StepInfo("payment", "charge_payment", StepPhase.ACTION),
    "ConfirmOrder": StepInfo("order", "confirm_order", StepPhase.ACTION),
    "RefundPayment": StepInfo("payment", "refund_payment", StepPhase.COMPENSATION),
    "ReleaseStock": StepInfo("inventory", "release_stock", StepPhase.COMPENSATION),
    "CancelOrder": StepInfo("order", "cancel_order", StepPhase.COMPENSATION),
    "PublishCheckoutConfirmed": StepInfo("events", "publish_confirmed", StepPhase.EVENT),
    "PublishCheckoutCancelled": StepInfo("events", "publish_cancelled", StepPhase.EVENT),
    "PublishCheckoutFailed": StepInfo("events", "publish_failed", StepPhase.EVENT),
    "ParkCheckout": StepInfo("orchestration", "park_checkout", StepPhase.OPERATOR),
    "CountParkedCheckout": StepInfo("orchestration", "count_parked_checkout", StepPhase.OPERATOR),
}

# The state each ending of the saga stops in, and the checkout status it means.
ENDINGS = {
    "CheckoutConfirmed": "CONFIRMED",
    "CheckoutCancelled": "CANCELLED",
    "CheckoutFailed": "FAILED",
}


class Lane(StrEnum):
    """Where an execution runs: `RouteCheckout` sends a recovery input to its lane."""

    FORWARD = "forward"  # a new checkout
    COMPENSATE = "compensate"  # roll back everything before the pivot, newest first
    CONFIRM = "confirm"  # the pivot may have landed: finish it forward (or park)
    PARK = "park"  # the execution was parking: park again (record, metric, event)


# If an execution dies in this state, the lane its recovery resumes in. None: it died before its
# own lane began, so the recovery takes the lane the dead execution was started for. Every state
# of the ASL file is here (a test proves it), so a new state cannot be left without a rule.
RESUME_LANE: dict[str, Lane | None] = {
    "PrepareCheckout": None,
    "RouteCheckout": None,
    # before the pivot nothing can land any more once the execution is dead, except what was in
    # flight, and a compensation leaves a tombstone that refuses it: roll everything back
    "CreateOrder": Lane.COMPENSATE,
    "ReserveStock": Lane.COMPENSATE,
    "ChargePayment": Lane.COMPENSATE,
    # the pivot was scheduled: it may have landed (or still land), so never roll back blindly
    "ConfirmOrder": Lane.CONFIRM,
    "ConfirmOrderUncertain": Lane.CONFIRM,
    "PublishCheckoutConfirmed": Lane.CONFIRM,
    "CheckoutConfirmed": Lane.CONFIRM,
    "RefundPayment": Lane.COMPENSATE,
    "ReleaseStock": Lane.COMPENSATE,
    "CancelOrder": Lane.COMPENSATE,
    "PublishCheckoutCancelled": Lane.COMPENSATE,
    "CheckoutCancelled": Lane.COMPENSATE,
    # a compensation was stuck: run the rollback again (it parks again if it still cannot finish)
    "RefundPaymentStuck": Lane.COMPENSATE,
    "ReleaseStockStuck": Lane.COMPENSATE,
    "CancelOrderStuck": Lane.COMPENSATE,
    "ParkCheckout": Lane.PARK,
    "CountParkedCheckout": Lane.PARK,
    "PublishCheckoutFailed": Lane.PARK,
    "CheckoutFailed": Lane.PARK,
}

# The lane an operator's retry of a parked checkout takes, by the parked record's stuck_step.
RETRY_LANE = {
    "confirm_order": Lane.CONFIRM,
    "refund_payment": Lane.COMPENSATE,
    "release_stock": Lane.COMPENSATE,
    "cancel_order": Lane.COMPENSATE,
}

# The compensations in the order the rollback runs them (newest first).
ROLLBACK = ("refund_payment", "release_stock", "cancel_order")


@dataclass(frozen=True)
class Held:
    """What a parked checkout still holds, from where its rollback stopped."""

    stock: bool
    money: bool
    order: str  # what the order record reads


def held_after_parking(stuck_step: str) -> Held:
    if stuck_step in ROLLBACK:
        done = ROLLBACK[: ROLLBACK.index(stuck_step)]
        return Held(stock="release_stock" not in done, money="refund_payment" not in done,
                    order="PENDING")  # fmt: skip
    if stuck_step == "confirm_order":
        return Held(stock=True, money=True, order="PENDING or CONFIRMED (the outcome is unknown)")
    # parked by the reconciler: the dead executions may have stopped anywhere
    return Held(stock=True, money=True, order="unknown: read the order before acting")

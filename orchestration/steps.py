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

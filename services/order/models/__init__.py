"""Domain models of the order service (no PynamoDB here: stored records live in dal)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts import (
    AnswerPaymentApprovalInput,
    CompensationDone,
    Money,
    NextAction,
    OrderLine,
)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"  # also the tombstone left by a cancel that came before its create


class Order(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    status: OrderStatus
    customer_id: str | None  # None for a tombstone: the order was never created
    items: list[OrderLine]
    total: Money | None  # set by confirm (what was charged) or cancel (what had been reserved)
    charge_id: str | None  # set by confirm
    reason_code: str | None  # set by cancel: the error name that rolled the saga back
    reason: str | None  # set by cancel: a human-readable account of that error
    compensations: list[CompensationDone]  # set by cancel: the rollback's other compensations
    created_at: datetime
    updated_at: datetime
    next_action: NextAction | None = None  # while the saga waits for the customer's approval
    approval_token: str | None = None
    approval_answer: AnswerPaymentApprovalInput | None = None

    @property
    def is_tombstone(self) -> bool:
        """Cancelled before it was ever created: a late create must be refused."""
        return self.status is OrderStatus.CANCELLED and self.customer_id is None

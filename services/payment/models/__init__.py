"""Domain models of the payment service (no PynamoDB here: stored records live in dal)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.contracts import Money


class PaymentStatus(StrEnum):
    CHARGING = "CHARGING"  # recorded before the provider call, so a crash mid-way is visible
    CHARGED = "CHARGED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"  # compensated before a charge was recorded; also the refund-first tombstone


class Payment(BaseModel):
    """One order's payment. Never holds the payment token: it is used once and forgotten."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: PaymentStatus
    customer_id: str | None  # None for a tombstone
    amount: Money | None  # None for a tombstone: nothing was ever asked for
    charge_id: str | None = None
    refund_id: str | None = None
    decline_reason: str | None = None

    def require_amount(self) -> Money:
        """The amount of a payment that got as far as CHARGING; a missing one is corrupt data."""
        if self.amount is None:
            raise ValueError(f"payment of order {self.order_id} ({self.status}) has no amount")
        return self.amount


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One movement of money by the simulated provider (its ledger's entry, `gateway.ledger`)."""

    operation: Literal["charge", "refund"]
    idempotency_key: str
    reference: str  # the charge id or refund id handed back
    amount: Money
    charge_idempotency_key: str | None = None  # for a refund: the charge it gave back

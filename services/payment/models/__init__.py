"""Domain models of the payment service (no PynamoDB here: stored records live in dal)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.contracts import Money


class PaymentStatus(StrEnum):
    AUTHORIZING = "AUTHORIZING"  # recorded before the provider call, so a crash mid-way is visible
    # held at the provider, pending the customer's approval (3-D Secure): not capturable yet
    REQUIRES_ACTION = "REQUIRES_ACTION"
    AUTHORIZED = "AUTHORIZED"  # the provider holds the amount on the card: nothing moved yet
    DECLINED = "DECLINED"
    CAPTURED = "CAPTURED"  # the hold was taken: the customer paid
    VOIDED = "VOIDED"  # the hold was released, or the void came first (the tombstone)


class Payment(BaseModel):
    """One order's payment. Never holds the payment token: it is used once and forgotten."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: PaymentStatus
    customer_id: str | None  # None for a tombstone
    amount: Money | None  # None for a tombstone: nothing was ever asked for
    charge_id: str | None = None  # the authorization's id
    capture_id: str | None = None
    void_id: str | None = None
    decline_reason: str | None = None
    approval_required: bool = False  # the provider asked for the customer's approval
    settled_by_operator: str | None = None  # the operator's note, when settled by hand

    def require_amount(self) -> Money:
        """The amount of a payment that got as far as AUTHORIZING; a missing one is corrupt data."""
        if self.amount is None:
            raise ValueError(f"payment of order {self.order_id} ({self.status}) has no amount")
        return self.amount


Operation = Literal["authorize", "capture", "void", "refund"]
# An authorization's approval by the customer: required until answered (None: none needed).
Approval = Literal["required", "approved", "declined"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One operation of the simulated provider (its ledger's entry, `gateway.ledger`).

    An authorization holds money; a capture or a void settles it (once: `settled_by`), and a
    refund settles a capture. A void that finds no authorization is recorded under the
    authorization's own key (`parent_key` None): the tombstone that refuses a late authorization.
    """

    operation: Operation
    idempotency_key: str
    reference: str  # the id handed back: authorization, capture, void or refund
    amount: Money | None  # None for a tombstone: its void never learnt an amount
    parent_key: str | None = None  # what a capture, void or refund settles
    settled_by: str | None = None  # on an authorization or capture: the key that settled it
    settled_as: Operation | None = None  # and what that key did (capture, void, refund)
    approval: Approval | None = None  # on an authorization the customer must approve

    @property
    def awaits_approval(self) -> bool:
        return self.approval == "required"

    @property
    def is_tombstone(self) -> bool:
        return self.operation == "void" and self.parent_key is None

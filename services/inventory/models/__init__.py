"""Domain models of the inventory service (no PynamoDB here: stored records live in dal)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts import Money, PricedLine


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"  # also the tombstone left by a release that came before its reserve


class Product(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    unit_price: int
    currency: str
    available: int


class Reservation(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    status: ReservationStatus
    lines: list[PricedLine]
    total: Money | None  # None for a tombstone: nothing was ever reserved

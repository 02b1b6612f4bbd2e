"""Stored items of the inventory service, mapped explicitly to and from the domain models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from shared.dynamodb import bind_models

if TYPE_CHECKING:
    from services.inventory.settings import InventorySettings


class ProductRecord(Model):
    """One catalog entry; `available` is decremented by reservations, never below zero."""

    class Meta:
        table_name = "unbound-products"  # replaced by bind_tables at cold start

    sku = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    unit_price = NumberAttribute()  # minor units
    currency = UnicodeAttribute()
    available = NumberAttribute()


class ReservedLineAttribute(MapAttribute[str, object]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price = NumberAttribute()
    currency = UnicodeAttribute()


class ReservationRecord(Model):
    """One order's hold on stock; also the tombstone when a release came first."""

    class Meta:
        table_name = "unbound-reservations"

    order_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    lines = ListAttribute(of=ReservedLineAttribute, default=list)
    total_amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def bind_tables(settings: InventorySettings) -> None:
    bind_models(
        {
            ProductRecord: settings.products_table_name,
            ReservationRecord: settings.reservations_table_name,
        },
        region=settings.aws_region,
    )

"""Stored items of the order service, mapped explicitly to and from the domain models."""

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
    from services.order.settings import OrderSettings


class LineAttribute(MapAttribute[str, object]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()


class CompensationAttribute(MapAttribute[str, object]):
    operation = UnicodeAttribute()
    status = UnicodeAttribute()


class NextActionAttribute(MapAttribute[str, object]):
    type = UnicodeAttribute()
    approve_url = UnicodeAttribute()
    decline_url = UnicodeAttribute()


class OrderRecord(Model):
    """One order; also the tombstone (CANCELLED, no customer) when a cancel came first."""

    class Meta:
        table_name = "unbound-orders"  # replaced by bind_tables at cold start

    order_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)  # None on a tombstone
    items = ListAttribute(of=LineAttribute, default=list)
    total_amount = NumberAttribute(null=True)  # minor units: charged (confirm), reserved (cancel)
    currency = UnicodeAttribute(null=True)
    charge_id = UnicodeAttribute(null=True)
    reason_code = UnicodeAttribute(null=True)  # set by cancel
    reason = UnicodeAttribute(null=True)
    compensations = ListAttribute(of=CompensationAttribute, default=list)  # set by cancel
    # While the saga waits for the customer to approve the payment: what they must do, and the
    # task token that resumes the saga. The answer is kept (JSON) once it came, so whichever of
    # the wait and the answer arrives second completes the task.
    next_action = NextActionAttribute(null=True)  # type: ignore[no-untyped-call]
    approval_token = UnicodeAttribute(null=True)
    approval_answer = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def bind_tables(settings: OrderSettings) -> None:
    bind_models({OrderRecord: settings.orders_table_name}, region=settings.aws_region)

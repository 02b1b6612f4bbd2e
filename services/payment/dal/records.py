"""Stored items of the payment service, mapped explicitly to and from the domain models.

There is deliberately no attribute for the payment token: it goes to the provider and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.dynamodb import bind_models

if TYPE_CHECKING:
    from services.payment.settings import PaymentSettings


class PaymentRecord(Model):
    """One order's payment; also the tombstone when a refund came before any charge."""

    class Meta:
        table_name = "unbound-payments"  # replaced by bind_tables at cold start

    order_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)  # minor units; None for a tombstone
    currency = UnicodeAttribute(null=True)
    charge_id = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    decline_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def bind_tables(settings: PaymentSettings) -> None:
    bind_models({PaymentRecord: settings.payments_table_name}, region=settings.aws_region)

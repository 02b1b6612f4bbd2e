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


class SimulatedLedgerRecord(Model):
    """One movement of money by the simulated provider, under its idempotency key.

    The simulated provider's own storage, not the service's view of a payment: a real provider
    keeps this on its side. Written once (conditional put), never updated.
    """

    class Meta:
        table_name = "unbound-simulated-provider-ledger"  # replaced by bind_tables at cold start

    idempotency_key = UnicodeAttribute(hash_key=True)
    operation = UnicodeAttribute()  # "charge" or "refund"
    reference = UnicodeAttribute()  # the charge id or refund id handed back
    amount = NumberAttribute()  # minor units
    currency = UnicodeAttribute()
    charge_idempotency_key = UnicodeAttribute(null=True)  # for a refund: the charge it gave back
    created_at = UTCDateTimeAttribute()


def bind_tables(settings: PaymentSettings) -> None:
    tables: dict[type[Model], str] = {PaymentRecord: settings.payments_table_name}
    if settings.simulated_provider_ledger_table_name is not None:
        tables[SimulatedLedgerRecord] = settings.simulated_provider_ledger_table_name
    bind_models(tables, region=settings.aws_region)

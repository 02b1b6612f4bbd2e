"""Stored items of the payment service, mapped explicitly to and from the domain models.

There is deliberately no attribute for the payment token: it goes to the provider and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from shared.dynamodb import bind_models

if TYPE_CHECKING:
    from services.payment.settings import PaymentSettings


class PaymentRecord(Model):
    """One order's payment; also the tombstone when a void came before any authorization."""

    class Meta:
        table_name = "unbound-payments"  # replaced by bind_tables at cold start

    order_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)  # minor units; None for a tombstone
    currency = UnicodeAttribute(null=True)
    charge_id = UnicodeAttribute(null=True)  # the authorization's id
    capture_id = UnicodeAttribute(null=True)
    void_id = UnicodeAttribute(null=True)
    decline_reason = UnicodeAttribute(null=True)
    # Set once the provider asked for the customer's approval: only such a payment is answered
    # by an approval webhook (Stripe also reports plain authorizations as capturable).
    approval_required = BooleanAttribute(null=True)
    # Set when an operator settled the hold at the provider by hand (`checkout resolve`): what
    # they did and why, beside the void_id or capture_id they gave.
    settled_by_operator = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class SimulatedLedgerRecord(Model):
    """One operation of the simulated provider, under its idempotency key.

    The simulated provider's own storage, not the service's view of a payment: a real provider
    keeps this on its side. Written once (conditional put); an authorization or a capture is then
    updated once more, conditionally, by whatever settles it.
    """

    class Meta:
        table_name = "unbound-simulated-provider-ledger"  # replaced by bind_tables at cold start

    idempotency_key = UnicodeAttribute(hash_key=True)
    operation = UnicodeAttribute()  # authorize, capture, void or refund
    reference = UnicodeAttribute()  # the id handed back
    amount = NumberAttribute(null=True)  # minor units; None for a tombstone
    currency = UnicodeAttribute(null=True)
    parent_key = UnicodeAttribute(null=True)  # what a capture, void or refund settles
    settled_by = UnicodeAttribute(null=True)  # the key that captured, voided or refunded it
    settled_as = UnicodeAttribute(null=True)  # and what that key did
    approval = UnicodeAttribute(null=True)  # required, approved or declined (3-D Secure)
    created_at = UTCDateTimeAttribute()


def bind_tables(settings: PaymentSettings) -> None:
    tables: dict[type[Model], str] = {PaymentRecord: settings.payments_table_name}
    if settings.simulated_provider_ledger_table_name is not None:
        tables[SimulatedLedgerRecord] = settings.simulated_provider_ledger_table_name
    bind_models(tables, region=settings.aws_region)

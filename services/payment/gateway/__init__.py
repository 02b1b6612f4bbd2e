"""The payment provider behind a port: `provider_for(settings)` picks the adapter."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, assert_never

from services.payment.gateway.port import PaymentProvider
from services.payment.gateway.simulated import SimulatedPaymentProvider

if TYPE_CHECKING:
    from services.payment.settings import PaymentSettings


def provider_for(settings: PaymentSettings) -> PaymentProvider:
    if settings.payment_provider == "simulated":
        return simulated_provider(settings)
    assert_never(settings.payment_provider)


def simulated_provider(settings: PaymentSettings) -> SimulatedPaymentProvider:
    return _simulated(settings.simulated_provider_url)


@cache
def _simulated(approvals_base_url: str) -> SimulatedPaymentProvider:
    """One per process, like a real client kept warm between invocations.

    Its ledger is the DynamoDB table every function of the service shares (bound to the model when
    the settings were loaded), never process memory: the refund runs elsewhere than the charge.
    """
    from services.payment.dal.simulated_ledger import DynamoDBLedger  # dal owns PynamoDB

    return SimulatedPaymentProvider(DynamoDBLedger(), approvals_base_url)

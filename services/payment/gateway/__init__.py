"""The payment provider behind a port: `provider_for(settings)` picks the adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from services.payment.gateway.port import PaymentProvider
from services.payment.gateway.simulated import SimulatedPaymentProvider

if TYPE_CHECKING:
    from services.payment.settings import PaymentSettings

# One per process, like a real client kept warm between invocations; its journal lives as long.
_SIMULATED = SimulatedPaymentProvider()


def provider_for(settings: PaymentSettings) -> PaymentProvider:
    if settings.payment_provider == "simulated":
        return _SIMULATED
    assert_never(settings.payment_provider)

"""The payment provider behind a port: `provider_for(settings)` picks the adapter."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, assert_never

from services.payment.gateway.port import PaymentProvider
from services.payment.gateway.simulated import SimulatedPaymentProvider

if TYPE_CHECKING:
    from services.payment.gateway.stripe_provider import StripePaymentProvider
    from services.payment.settings import PaymentSettings


def provider_for(settings: PaymentSettings) -> PaymentProvider:
    if settings.payment_provider == "simulated":
        return simulated_provider(settings)
    if settings.payment_provider == "stripe":
        return stripe_adapter(settings)
    assert_never(settings.payment_provider)


def stripe_adapter(settings: PaymentSettings) -> StripePaymentProvider:
    # checked when the settings were read
    assert settings.stripe_api_key_parameter
    assert settings.stripe_return_url
    return _stripe(
        settings.stripe_api_key_parameter,
        settings.aws_region,
        settings.stripe_return_url,
        settings.stripe_api_base,
    )


@cache
def _stripe(
    key_parameter: str, region: str, return_url: str, api_base: str | None
) -> StripePaymentProvider:
    """One client per process (its connections stay warm); the key is read from SSM once."""
    import stripe  # only the functions of a Stripe stage pay for importing the SDK

    from services.payment.dal.secrets import secure_parameter
    from services.payment.gateway.stripe_provider import NETWORK_RETRIES, StripePaymentProvider

    client = stripe.StripeClient(
        secure_parameter(key_parameter, region),
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=NETWORK_RETRIES,
    )
    return StripePaymentProvider(client, return_url)


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

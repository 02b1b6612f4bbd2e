"""Payment settings: the provider must be named; nothing falls back to a default."""

from __future__ import annotations

import pytest

from services.payment.settings import PaymentSettings
from shared.settings import ConfigurationError, load_settings

ENV = {
    "STAGE": "test",
    "AWS_REGION": "us-east-1",
    "PAYMENTS_TABLE_NAME": "payments",
    "PAYMENT_PROVIDER": "simulated",
    "SIMULATED_PROVIDER_LEDGER_TABLE_NAME": "simulated-provider-ledger",
}


def test_loads_a_complete_environment():
    settings = load_settings(PaymentSettings, ENV)

    assert settings.payments_table_name == "payments"
    assert settings.payment_provider == "simulated"
    assert settings.simulated_provider_ledger_table_name == "simulated-provider-ledger"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        pytest.param(
            {k: v for k, v in ENV.items() if k != "PAYMENT_PROVIDER"},
            "PAYMENT_PROVIDER is not set",
            id="missing-provider",
        ),
        pytest.param({**ENV, "PAYMENT_PROVIDER": "adyen"}, "PAYMENT_PROVIDER", id="unknown"),
        pytest.param(
            {**ENV, "PAYMENT_PROVIDER": "stripe", "STRIPE_RETURN_URL": "https://shop.example/r"},
            "STRIPE_API_KEY_PARAMETER is not set; for the stripe payment provider it names the ",
            id="stripe-without-its-key",
        ),
        pytest.param(
            {**ENV, "PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY_PARAMETER": "/c/t/key"},
            "STRIPE_RETURN_URL is not set",
            id="stripe-without-its-return-url",
        ),
        pytest.param(
            {**ENV, "STRIPE_RETURN_URL": "shop.example/return"},
            "STRIPE_RETURN_URL",
            id="return-url-not-a-url",
        ),
        pytest.param(
            {k: v for k, v in ENV.items() if k != "PAYMENTS_TABLE_NAME"},
            "PAYMENTS_TABLE_NAME is not set",
            id="missing-table",
        ),
        pytest.param(
            {k: v for k, v in ENV.items() if k != "SIMULATED_PROVIDER_LEDGER_TABLE_NAME"},
            "SIMULATED_PROVIDER_LEDGER_TABLE_NAME is not set",
            id="simulated-provider-without-its-ledger",
        ),
        pytest.param(
            {**ENV, "SIMULATED_PROVIDER_LEDGER_TABLE_NAME": ""},
            "SIMULATED_PROVIDER_LEDGER_TABLE_NAME is not set",
            id="simulated-provider-with-an-empty-ledger-name",
        ),
    ],
)
def test_a_bad_environment_fails_naming_the_variable(environ, problem):
    with pytest.raises(ConfigurationError, match=problem):
        load_settings(PaymentSettings, environ)


def test_the_stripe_provider_needs_its_key_parameter_and_return_url_only():
    settings = load_settings(
        PaymentSettings,
        {
            **{k: v for k, v in ENV.items() if k != "SIMULATED_PROVIDER_LEDGER_TABLE_NAME"},
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY_PARAMETER": "/checkout/prod/payment/stripe-api-key",
            "STRIPE_RETURN_URL": "https://shop.example/checkout/return",
        },
    )

    assert settings.payment_provider == "stripe"
    assert settings.stripe_api_base is None  # Stripe itself unless a test points elsewhere

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.payment.dal.records import PaymentRecord
from services.payment.gateway import provider_for
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.settings import PaymentSettings, get_settings
from tests.support.tables import bind_service

PAYMENT_ENV = {
    "PAYMENTS_TABLE_NAME": "test-payments",
    "PAYMENT_PROVIDER": "simulated",
}


@pytest.fixture
def payment(aws: None, monkeypatch: pytest.MonkeyPatch) -> PaymentSettings:
    settings: PaymentSettings = bind_service(
        monkeypatch, get_settings, PAYMENT_ENV, [PaymentRecord]
    )
    return settings


@pytest.fixture(autouse=True)
def simulated(payment: PaymentSettings) -> Iterator[SimulatedPaymentProvider]:
    """The process-wide simulated provider the handlers use, with an empty journal per test."""
    provider = provider_for(payment)
    assert isinstance(provider, SimulatedPaymentProvider)
    provider.journal.clear()
    yield provider
    provider.journal.clear()


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tests.support.lambda_context import FakeLambdaContext

    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result

from __future__ import annotations

from typing import Any

import pytest

from services.payment.bootstrap import start as get_settings
from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord
from services.payment.gateway import provider_for
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.settings import PaymentSettings
from tests.support.tables import bind_service

PAYMENT_ENV = {
    "PAYMENTS_TABLE_NAME": "test-payments",
    "PAYMENT_PROVIDER": "simulated",
    "SIMULATED_PROVIDER_LEDGER_TABLE_NAME": "test-simulated-provider-ledger",
}


@pytest.fixture
def payment(aws: None, monkeypatch: pytest.MonkeyPatch) -> PaymentSettings:
    settings: PaymentSettings = bind_service(
        monkeypatch, get_settings, PAYMENT_ENV, [PaymentRecord, SimulatedLedgerRecord]
    )
    return settings


@pytest.fixture(autouse=True)
def simulated(payment: PaymentSettings) -> SimulatedPaymentProvider:
    """The process-wide simulated provider the handlers use. Its journal is its ledger table, which
    is new (empty) in every test."""
    provider = provider_for(payment)
    assert isinstance(provider, SimulatedPaymentProvider)
    assert provider.journal == []
    return provider


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tests.support.lambda_context import FakeLambdaContext

    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result

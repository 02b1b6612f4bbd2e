from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler

from services.payment.bootstrap import start as get_settings
from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord
from services.payment.dal.simulated_ledger import DynamoDBLedger
from services.payment.gateway import provider_for
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.settings import PaymentSettings
from tests.support.tables import bind_service, table_items

PAYMENT_ENV = {
    "PAYMENTS_TABLE_NAME": "test-payments",
    "PAYMENT_PROVIDER": "simulated",
    "SIMULATED_PROVIDER_LEDGER_TABLE_NAME": "test-simulated-provider-ledger",
}
RACE_TIMEOUT_SECONDS = 30


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


@pytest.fixture
def serialized_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply one DynamoDB request at a time inside moto, as DynamoDB's isolation guarantees for a
    conditional write (moto does not lock); the callers stay fully concurrent."""
    original = DynamoHandler.call_action
    one_request_at_a_time = threading.Lock()

    def call_action(self: DynamoHandler) -> Any:
        with one_request_at_a_time:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tests.support.lambda_context import FakeLambdaContext

    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result


def process() -> SimulatedPaymentProvider:
    """A provider as a fresh process builds it: nothing in common with the others but the table."""
    return SimulatedPaymentProvider(DynamoDBLedger())


def authorize_event(
    order_id: str,
    token: str = "tok_visa",
    lines: list[dict[str, Any]] | None = None,
    amount: Any = 2_100,
    currency: Any = "EUR",
) -> dict[str, Any]:
    """An authorize_payment task: by default 3 x 7.00 EUR, approved."""
    return {
        "order_id": order_id,
        "customer_id": "cust-1",
        "payment_token": token,
        "lines": (
            [{"sku": "SKU-A", "quantity": 3, "unit_price": 700, "currency": "EUR"}]
            if lines is None
            else lines
        ),
        "amount": {"amount": amount, "currency": currency},
    }


def stored_payment() -> dict[str, Any]:
    """The one payment record of the test, as stored."""
    [item] = table_items(PaymentRecord)
    return item


def stored_ledger(idempotency_key: str) -> dict[str, Any]:
    """The provider's ledger item under a key, as stored."""
    [item] = [
        i for i in table_items(SimulatedLedgerRecord) if i["idempotency_key"] == idempotency_key
    ]
    return item


def journal_of(provider: SimulatedPaymentProvider) -> list[tuple[str, str]]:
    return [(entry.operation, entry.idempotency_key) for entry in provider.journal]


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads at once; each one's result, or the exception it raised."""

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # the race's loser reports, it does not crash the test
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(outcome, call) for call in calls]
        return [future.result(timeout=RACE_TIMEOUT_SECONDS) for future in futures]

"""The simulated provider's ledger lives in DynamoDB, so every process of the service shares it.

charge_payment and refund_payment are different functions: on AWS and in the local cloud they never
share memory. A provider instance here stands for one process; they share only the ledger table.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.payment import gateway
from services.payment.dal.records import SimulatedLedgerRecord
from services.payment.dal.simulated_ledger import DynamoDBLedger
from services.payment.gateway.ledger import InMemoryLedger, JournalEntry
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.handlers import charge_payment, refund_payment
from services.payment.logic.charge_payment import charge_payment as charge_payment_logic
from services.payment.logic.refund_payment import refund_payment as refund_payment_logic
from shared.contracts import ChargePaymentInput, Money, RefundPaymentInput
from shared.errors import (
    IdempotencyConflictError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import invoke
from tests.support.tables import table_items

ORDER = "order-0003"
CHARGE_KEY = f"charge:{ORDER}"
REFUND_KEY = f"refund:{ORDER}"
EUR_21 = Money(amount=2_100, currency="EUR")


def charge_event() -> dict[str, Any]:
    return {
        "order_id": ORDER,
        "customer_id": "cust-3",
        "payment_token": "tok_visa",
        "lines": [{"sku": "SKU-A", "quantity": 3, "unit_price": 700, "currency": "EUR"}],
        "amount": {"amount": 2_100, "currency": "EUR"},
    }


def journal_of(provider: SimulatedPaymentProvider) -> list[tuple[str, str]]:
    return [(entry.operation, entry.idempotency_key) for entry in provider.journal]


def process() -> SimulatedPaymentProvider:
    """A provider as a fresh process builds it: nothing in common with the others but the table."""
    return SimulatedPaymentProvider(DynamoDBLedger())


def test_a_charge_made_in_one_process_is_refunded_by_another(payment):
    charging, refunding = process(), process()
    charged = charge_payment_logic(
        ChargePaymentInput.model_validate(charge_event()), payment, charging
    )

    refunded = refund_payment_logic(RefundPaymentInput(order_id=ORDER), payment, refunding)

    assert refunded.status == "REFUNDED"
    assert refunded.refunded_now is True
    # And every process sees the same ledger: one charge, given back once
    for provider in (charging, refunding, process()):
        assert journal_of(provider) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]
    assert charging.journal[0].reference == charged.charge_id
    assert charging.journal[1].reference == refunded.refund_id
    assert charging.journal[1].charge_idempotency_key == CHARGE_KEY


def test_in_process_ledgers_are_what_left_refunds_failing(payment):
    # The control: with the ledger in memory, the refunding process knows no charge, forever
    charging = SimulatedPaymentProvider(InMemoryLedger())
    refunding = SimulatedPaymentProvider(InMemoryLedger())
    charge_payment_logic(ChargePaymentInput.model_validate(charge_event()), payment, charging)

    with pytest.raises(PaymentProviderUnavailableError, match="holds no charge"):
        refund_payment_logic(RefundPaymentInput(order_id=ORDER), payment, refunding)


def test_the_handlers_refund_after_a_cold_start_elsewhere(simulated):
    # Given the charge function charged the order in its execution environment
    charged = invoke(charge_payment.lambda_handler, charge_event())

    # When the refund function runs in another one (a cold start: a new provider, new settings)
    gateway._simulated.cache_clear()
    from services.payment.bootstrap import start as get_settings

    get_settings.cache_clear()
    result = invoke(refund_payment.lambda_handler, {"order_id": ORDER})

    # Then it finds the charge in the shared ledger and gives the money back
    assert result["status"] == "REFUNDED"
    assert result["refunded_now"] is True
    assert gateway._simulated() is not simulated
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]
    assert simulated.journal[0].reference == charged["charge_id"]


def test_the_ledger_keeps_the_first_entry_recorded_under_a_key(payment):
    ledger = DynamoDBLedger()
    first = JournalEntry("charge", CHARGE_KEY, "ch_first", EUR_21)
    second = JournalEntry("charge", CHARGE_KEY, "ch_second", Money(amount=1, currency="EUR"))

    assert ledger.record_if_new(first) == first
    assert ledger.record_if_new(second) == first  # the loser gets the winner back
    assert ledger.find(CHARGE_KEY) == first
    assert ledger.find("charge:order-none") is None
    [stored] = table_items(SimulatedLedgerRecord)
    assert {k: stored[k] for k in ("idempotency_key", "operation", "reference", "amount")} == {
        "idempotency_key": CHARGE_KEY,
        "operation": "charge",
        "reference": "ch_first",
        "amount": 2_100,
    }
    assert stored["currency"] == "EUR"
    assert "charge_idempotency_key" not in stored


class _ReadsTooEarly(DynamoDBLedger):
    """Its first read happens before another process records the key (both miss, both record)."""

    def __init__(self) -> None:
        self.missed = False

    def find(self, idempotency_key: str) -> JournalEntry | None:
        if not self.missed:
            self.missed = True
            return None
        return super().find(idempotency_key)


def test_two_processes_charging_the_same_key_at_once_move_money_once(payment):
    first = process().charge(
        idempotency_key=CHARGE_KEY, amount=EUR_21, payment_token="tok_visa", customer_id="c"
    )

    again = SimulatedPaymentProvider(_ReadsTooEarly()).charge(
        idempotency_key=CHARGE_KEY, amount=EUR_21, payment_token="tok_visa", customer_id="c"
    )

    assert again == first
    assert journal_of(process()) == [("charge", CHARGE_KEY)]
    with pytest.raises(IdempotencyConflictError):
        SimulatedPaymentProvider(_ReadsTooEarly()).charge(
            idempotency_key=CHARGE_KEY,
            amount=Money(amount=1, currency="EUR"),
            payment_token="tok_visa",
            customer_id="c",
        )
    assert [entry.amount for entry in process().journal] == [EUR_21]

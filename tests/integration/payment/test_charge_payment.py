"""charge_payment handler against a moto table and the simulated provider: at most one charge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.payment.dal.records import PaymentRecord
from services.payment.handlers import charge_payment
from services.payment.logic.charge_payment import charge_payment as charge_payment_logic
from shared.contracts import ChargePaymentInput
from shared.errors import (
    AmountMismatchError,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import invoke
from tests.integration.payment.doubles import FlakyProvider, InterleavingProvider, crash
from tests.support.tables import table_items

ORDER = "order-0001"
LINE_A = {"sku": "SKU-A", "quantity": 2, "unit_price": 1_000, "currency": "EUR"}


def charge_event(
    token: str = "tok_visa",
    lines: list[dict[str, Any]] | None = None,
    amount: Any = 2_000,
    currency: Any = "EUR",
    order_id: str = ORDER,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": "cust-1",
        "payment_token": token,
        "lines": [LINE_A] if lines is None else lines,
        "amount": {"amount": amount, "currency": currency},
    }


def stored_payment() -> dict[str, Any]:
    [item] = table_items(PaymentRecord)
    return item


def journal_of(provider: Any) -> list[tuple[str, str]]:
    return [(entry.operation, entry.idempotency_key) for entry in provider.journal]


def test_charge_approves_and_stores_the_charge_but_never_the_token(simulated):
    # When an order is charged with the approving test token
    result = invoke(charge_payment.lambda_handler, charge_event())

    # Then the output carries the provider's charge id and the amount
    assert result["status"] == "CHARGED"
    assert result["charge_id"].startswith("ch_")
    assert result["amount"] == {"amount": 2_000, "currency": "EUR"}
    # And the record is CHARGED with that id, and the token is nowhere in it
    stored = stored_payment()
    assert stored["status"] == "CHARGED"
    assert stored["charge_id"] == result["charge_id"]
    assert (stored["amount"], stored["currency"], stored["customer_id"]) == (2_000, "EUR", "cust-1")
    assert "tok_" not in json.dumps(stored)
    # And the provider moved money once, under a key derived from the order
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]


def test_same_charge_twice_charges_once_and_returns_the_same_result(simulated):
    first = invoke(charge_payment.lambda_handler, charge_event())
    second = invoke(charge_payment.lambda_handler, charge_event())

    assert first == second
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]
    assert stored_payment()["status"] == "CHARGED"


def test_same_order_with_a_different_amount_is_a_conflict(simulated):
    # Given an order already charged 2 x 1000
    invoke(charge_payment.lambda_handler, charge_event())

    # When the same order id comes back for 3 x 1000, it is refused
    with pytest.raises(IdempotencyConflictError):
        invoke(
            charge_payment.lambda_handler,
            charge_event(lines=[{**LINE_A, "quantity": 3}], amount=3_000),
        )

    # Then the original charge stands alone
    assert stored_payment()["amount"] == 2_000
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]


def test_declined_card_is_recorded_and_declined_again_without_moving_money(simulated):
    # When the card declines, the step fails as a business error
    with pytest.raises(PaymentDeclinedError, match="declined"):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_chargeDeclined"))

    # Then the decline is recorded with its reason and no money moved
    stored = stored_payment()
    assert stored["status"] == "DECLINED"
    assert stored["decline_reason"] == "card declined"
    assert "charge_id" not in stored
    assert simulated.journal == []

    # And a retry gives the same answer from the record
    with pytest.raises(PaymentDeclinedError, match="card declined"):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_chargeDeclined"))
    assert stored_payment()["status"] == "DECLINED"
    assert simulated.journal == []


def test_unknown_test_token_declines_without_echoing_the_token(simulated):
    with pytest.raises(PaymentDeclinedError, match="unknown test token"):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_mastercard"))

    stored = stored_payment()
    assert stored["status"] == "DECLINED"
    assert "tok_" not in json.dumps(stored)
    assert simulated.journal == []


def test_provider_down_is_transient_and_leaves_the_payment_charging(simulated):
    # When the provider cannot be reached, the error is transient (the state machine retries)
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_providerDown"))

    # Then the payment is left CHARGING, so a refund can see it, and no money moved
    assert stored_payment()["status"] == "CHARGING"
    assert simulated.journal == []


def test_retry_after_a_provider_outage_charges_once(payment, simulated):
    # Given a provider that times out once, then answers
    provider = FlakyProvider(simulated, failures=1)
    task = ChargePaymentInput.model_validate(charge_event())
    with pytest.raises(PaymentProviderUnavailableError):
        charge_payment_logic(task, payment, provider)
    assert stored_payment()["status"] == "CHARGING"

    # When the state machine retries with the same input
    result = charge_payment_logic(task, payment, provider)

    # Then the payment is CHARGED once
    assert stored_payment()["status"] == "CHARGED"
    assert stored_payment()["charge_id"] == result.charge_id
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]


def test_retry_after_a_crash_mid_charge_reuses_the_providers_charge(payment, simulated):
    # Given an attempt that died after the provider charged but before the record said so
    task = ChargePaymentInput.model_validate(charge_event())
    with pytest.raises(Exception, match="died"):
        charge_payment_logic(task, payment, InterleavingProvider(simulated, after=crash))
    assert stored_payment()["status"] == "CHARGING"

    # When the step is retried
    result = invoke(charge_payment.lambda_handler, charge_event())

    # Then the same charge is recorded, and the customer was charged once
    assert stored_payment()["status"] == "CHARGED"
    assert stored_payment()["charge_id"] == result["charge_id"]
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]


def test_amount_that_does_not_match_the_lines_writes_nothing(simulated):
    with pytest.raises(AmountMismatchError, match="2000"):
        invoke(charge_payment.lambda_handler, charge_event(amount=1_999))

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_lines_in_mixed_currencies_are_invalid_and_write_nothing(simulated):
    lines = [LINE_A, {"sku": "SKU-B", "quantity": 1, "unit_price": 500, "currency": "USD"}]

    with pytest.raises(InvalidInputError, match="currencies"):
        invoke(charge_payment.lambda_handler, charge_event(lines=lines, amount=2_500))

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def _without(event: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != field}


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param(_without(charge_event(), "payment_token"), "payment_token", id="missing"),
        pytest.param(charge_event(amount=-2_000), "amount", id="negative-amount"),
        pytest.param(charge_event(amount=12.5), "amount", id="float-amount"),
        pytest.param(charge_event(amount="2000"), "amount", id="string-amount"),
        pytest.param(charge_event(currency="eur"), "currency", id="lowercase-currency"),
        pytest.param(charge_event(token="visa"), "payment_token", id="bad-token"),
        pytest.param({**charge_event(), "discount": 100}, "discount", id="extra-field"),
        pytest.param(charge_event(lines=[]), "lines", id="no-lines"),
        pytest.param(
            charge_event(lines=[LINE_A, LINE_A], amount=4_000), "duplicate", id="duplicate-sku"
        ),
        pytest.param(
            charge_event(lines=[{**LINE_A, "unit_price": -1_000}], amount=-2_000),
            "unit_price",
            id="negative-price",
        ),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(simulated, event, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(charge_payment.lambda_handler, event)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_injected_fault_fails_before_any_write(simulated):
    event = {**charge_event(), "fault": "payment.charge"}

    with pytest.raises(InjectedFaultError):
        invoke(charge_payment.lambda_handler, event)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_injected_fault_is_ignored_in_production(simulated, monkeypatch):
    from services.payment.bootstrap import start as get_settings

    monkeypatch.setenv("STAGE", "prod")
    get_settings.cache_clear()
    event = {**charge_event(), "fault": "payment.charge"}

    invoke(charge_payment.lambda_handler, event)

    assert stored_payment()["status"] == "CHARGED"
    assert journal_of(simulated) == [("charge", f"charge:{ORDER}")]

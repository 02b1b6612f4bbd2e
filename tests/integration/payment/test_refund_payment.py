"""refund_payment handler: the compensation of charge_payment. No money is ever kept."""

from __future__ import annotations

from typing import Any

import pytest

from services.payment.dal.records import PaymentRecord
from services.payment.handlers import charge_payment, refund_payment
from services.payment.logic.charge_payment import charge_payment as charge_payment_logic
from shared.contracts import ChargePaymentInput
from shared.errors import (
    AlreadyCompensatedError,
    InjectedFaultError,
    InvalidInputError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import invoke
from tests.integration.payment.doubles import InterleavingProvider, crash
from tests.support.tables import table_items

ORDER = "order-0002"
CHARGE_KEY = f"charge:{ORDER}"
REFUND_KEY = f"refund:{ORDER}"
REFUND = {"order_id": ORDER}


def charge_event(token: str = "tok_visa") -> dict[str, Any]:
    return {
        "order_id": ORDER,
        "customer_id": "cust-2",
        "payment_token": token,
        "lines": [{"sku": "SKU-A", "quantity": 3, "unit_price": 700, "currency": "EUR"}],
        "amount": {"amount": 2_100, "currency": "EUR"},
    }


def stored_payment() -> dict[str, Any]:
    [item] = table_items(PaymentRecord)
    return item


def journal_of(provider: Any) -> list[tuple[str, str]]:
    return [(entry.operation, entry.idempotency_key) for entry in provider.journal]


def test_refund_after_charge_gives_the_money_back(simulated):
    # Given a charged order
    charged = invoke(charge_payment.lambda_handler, charge_event())

    # When the saga compensates it
    result = invoke(refund_payment.lambda_handler, REFUND)

    # Then the charge is refunded, and the record says so with the provider's refund id
    assert result["status"] == "REFUNDED"
    assert result["refunded_now"] is True
    assert result["refund_id"].startswith("re_")
    stored = stored_payment()
    assert stored["status"] == "REFUNDED"
    assert stored["refund_id"] == result["refund_id"]
    assert stored["charge_id"] == charged["charge_id"]
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]
    assert simulated.journal[1].charge_idempotency_key == CHARGE_KEY
    assert simulated.journal[1].amount == simulated.journal[0].amount


def test_refund_twice_refunds_once(simulated):
    invoke(charge_payment.lambda_handler, charge_event())
    first = invoke(refund_payment.lambda_handler, REFUND)

    second = invoke(refund_payment.lambda_handler, REFUND)

    assert second == {**first, "refunded_now": False}
    assert stored_payment()["status"] == "REFUNDED"
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]


def test_charge_after_refund_is_refused(simulated):
    invoke(charge_payment.lambda_handler, charge_event())
    invoke(refund_payment.lambda_handler, REFUND)

    with pytest.raises(AlreadyCompensatedError):
        invoke(charge_payment.lambda_handler, charge_event())

    assert stored_payment()["status"] == "REFUNDED"
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]


def test_refund_before_charge_leaves_a_tombstone_that_refuses_the_late_charge(simulated):
    # Given the compensation ran first (the charge timed out and is landing late)
    result = invoke(refund_payment.lambda_handler, REFUND)

    # Then it is a no-op that leaves a VOIDED tombstone
    assert result == {
        "order_id": ORDER,
        "status": "VOIDED",
        "refunded_now": False,
        "refund_id": None,
    }
    tombstone = stored_payment()
    assert tombstone["status"] == "VOIDED"
    assert "amount" not in tombstone
    assert "charge_id" not in tombstone

    # When the late charge arrives, it is refused and never reaches the provider
    with pytest.raises(AlreadyCompensatedError):
        invoke(charge_payment.lambda_handler, charge_event())

    assert stored_payment()["status"] == "VOIDED"
    assert simulated.journal == []


def test_refund_of_a_declined_payment_voids_it_without_moving_money(simulated):
    with pytest.raises(PaymentDeclinedError):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_chargeDeclined"))

    result = invoke(refund_payment.lambda_handler, REFUND)

    assert result["status"] == "VOIDED"
    assert result["refunded_now"] is False
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["decline_reason"] == "card declined"
    assert simulated.journal == []


def test_refund_of_a_charge_that_never_reached_the_provider_voids_it(simulated):
    # Given a charge stuck in CHARGING because the provider was down
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(charge_payment.lambda_handler, charge_event(token="tok_providerDown"))

    # When the saga compensates
    result = invoke(refund_payment.lambda_handler, REFUND)

    # Then the payment is voided with nothing to give back
    assert result == {
        "order_id": ORDER,
        "status": "VOIDED",
        "refunded_now": False,
        "refund_id": None,
    }
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert "refund_id" not in stored
    assert simulated.journal == []


def test_refund_after_a_crash_mid_charge_gives_the_money_back(payment, simulated):
    # Given a charge attempt that died after the provider charged, leaving the record CHARGING
    task = ChargePaymentInput.model_validate(charge_event())
    with pytest.raises(Exception, match="died"):
        charge_payment_logic(task, payment, InterleavingProvider(simulated, after=crash))
    assert stored_payment()["status"] == "CHARGING"

    # When the saga compensates
    result = invoke(refund_payment.lambda_handler, REFUND)

    # Then the provider's charge is refunded and the payment voided
    assert result["status"] == "VOIDED"
    assert result["refunded_now"] is True
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["refund_id"] == result["refund_id"]
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]

    # And a late retry of the charge is refused without charging again
    with pytest.raises(AlreadyCompensatedError):
        invoke(charge_payment.lambda_handler, charge_event())
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]


@pytest.mark.parametrize("refund_runs", ["before", "after"])
def test_refund_racing_an_in_flight_charge_leaves_no_money_kept(payment, simulated, refund_runs):
    # Given a charge that has recorded CHARGING, and a refund that runs while it talks to the
    # provider: just before the provider charges, or just after (before the record is updated)
    refunds: list[dict[str, Any]] = []

    def refund_now() -> None:
        refunds.append(invoke(refund_payment.lambda_handler, REFUND))

    provider = InterleavingProvider(simulated, **{refund_runs: refund_now})
    task = ChargePaymentInput.model_validate(charge_event())

    # When the charge completes, it finds the payment voided and refuses
    with pytest.raises(AlreadyCompensatedError, match="refunded"):
        charge_payment_logic(task, payment, provider)

    # Then the money that moved was given back exactly once, whoever finished last: the refund
    # itself when the charge was already at the provider, else the charge on finding VOIDED
    assert refunds[0]["status"] == "VOIDED"
    assert refunds[0]["refunded_now"] is (refund_runs == "after")
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["refund_id"] == simulated.journal[1].reference
    assert "charge_id" not in stored

    # And another compensation or a late charge changes nothing
    again = invoke(refund_payment.lambda_handler, REFUND)
    assert again["refunded_now"] is False
    with pytest.raises(AlreadyCompensatedError):
        invoke(charge_payment.lambda_handler, charge_event())
    assert journal_of(simulated) == [("charge", CHARGE_KEY), ("refund", REFUND_KEY)]


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({}, "order_id", id="missing-order"),
        pytest.param({"order_id": "short"}, "order_id", id="bad-order-id"),
        pytest.param({**REFUND, "amount": 100}, "amount", id="extra-field"),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(simulated, event, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(refund_payment.lambda_handler, event)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_injected_fault_fails_before_any_write(simulated):
    invoke(charge_payment.lambda_handler, charge_event())

    with pytest.raises(InjectedFaultError):
        invoke(refund_payment.lambda_handler, {**REFUND, "fault": "payment.refund"})

    assert stored_payment()["status"] == "CHARGED"
    assert journal_of(simulated) == [("charge", CHARGE_KEY)]

"""authorize_payment handler against moto tables and the simulated provider: at most one hold.

What a compensation does to an authorization (tombstones, voids racing it) is in
test_void_payment.py; this module is the action on its own, and attempts of it racing each other.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from services.payment.dal import payments
from services.payment.dal.records import PaymentRecord
from services.payment.handlers import authorize_payment, capture_payment
from services.payment.logic.authorize_payment import authorize_payment as authorize_payment_logic
from shared.contracts import AuthorizePaymentInput
from shared.errors import (
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import (
    authorize_event,
    invoke,
    journal_of,
    run_together,
    stored_ledger,
    stored_payment,
)
from tests.integration.payment.doubles import (
    FlakyProvider,
    InterleavingProvider,
    LambdaCrashedError,
    crash,
)
from tests.support.tables import table_items

ORDER = "order-0001"
AUTHORIZE_KEY = f"authorize:{ORDER}"
LINE_A = {"sku": "SKU-A", "quantity": 3, "unit_price": 700, "currency": "EUR"}


def event(**changes: Any) -> dict[str, Any]:
    return authorize_event(ORDER, **changes)


def task(**changes: Any) -> AuthorizePaymentInput:
    return AuthorizePaymentInput.model_validate(event(**changes))


def test_authorize_holds_the_amount_and_stores_the_authorization_but_never_the_token(simulated):
    # When an order is authorized with the approving test token
    result = invoke(authorize_payment.lambda_handler, event())

    # Then the output carries the provider's authorization id and the amount
    assert result == {
        "order_id": ORDER,
        "status": "AUTHORIZED",
        "charge_id": result["charge_id"],
        "amount": {"amount": 2_100, "currency": "EUR"},
        # approved outright: nothing for the customer to do, and no wait for the saga
        "next_action": None,
        "approval_seconds": None,
    }
    assert result["charge_id"].startswith("pi_")
    # And the record is AUTHORIZED with that id, nothing captured or voided, and no token in it
    stored = stored_payment()
    assert stored["status"] == "AUTHORIZED"
    assert stored["charge_id"] == result["charge_id"]
    assert (stored["amount"], stored["currency"], stored["customer_id"]) == (2_100, "EUR", "cust-1")
    assert "capture_id" not in stored
    assert "void_id" not in stored
    assert "tok_" not in json.dumps(stored)
    # And the provider holds the amount once, under a key derived from the order, still open
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    [held] = simulated.journal
    assert held.reference == result["charge_id"]
    assert held.amount is not None
    assert held.amount.amount == 2_100
    assert (held.settled_by, held.settled_as) == (None, None)
    assert "tok_" not in json.dumps(stored_ledger(AUTHORIZE_KEY))


def test_same_authorization_twice_holds_once_and_returns_the_same_result(simulated):
    first = invoke(authorize_payment.lambda_handler, event())
    second = invoke(authorize_payment.lambda_handler, event())

    assert first == second
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert stored_payment()["status"] == "AUTHORIZED"


def test_duplicate_delivery_holds_once(simulated):
    # The fault schedule delivers the task twice; the second answer is the one returned
    result = invoke(
        authorize_payment.lambda_handler, {**event(), "fault": "payment.authorize=duplicate"}
    )

    assert result["status"] == "AUTHORIZED"
    assert stored_payment()["charge_id"] == result["charge_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]


def test_same_order_with_a_different_amount_is_a_conflict(simulated):
    # Given an order already authorized for 3 x 7.00
    invoke(authorize_payment.lambda_handler, event())

    # When the same order id comes back for 4 x 7.00, it is refused
    with pytest.raises(IdempotencyConflictError, match="2100"):
        invoke(
            authorize_payment.lambda_handler,
            event(lines=[{**LINE_A, "quantity": 4}], amount=2_800),
        )

    # Then the original authorization stands alone
    assert stored_payment()["amount"] == 2_100
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert [entry.amount and entry.amount.amount for entry in simulated.journal] == [2_100]


def test_declined_card_is_recorded_and_declined_again_without_holding_anything(simulated):
    # When the card declines, the step fails as a business error
    with pytest.raises(PaymentDeclinedError, match="declined"):
        invoke(authorize_payment.lambda_handler, event(token="tok_chargeDeclined"))

    # Then the decline is recorded with its reason, and nothing is held
    stored = stored_payment()
    assert stored["status"] == "DECLINED"
    assert stored["decline_reason"] == "card declined"
    assert "charge_id" not in stored
    assert simulated.journal == []

    # And a retry gives the same answer from the record
    with pytest.raises(PaymentDeclinedError, match="card declined"):
        invoke(authorize_payment.lambda_handler, event(token="tok_chargeDeclined"))
    assert stored_payment()["status"] == "DECLINED"
    assert simulated.journal == []


def test_a_declined_order_stays_declined_even_if_retried_with_a_good_card(simulated):
    with pytest.raises(PaymentDeclinedError):
        invoke(authorize_payment.lambda_handler, event(token="tok_chargeDeclined"))

    with pytest.raises(PaymentDeclinedError, match="card declined"):
        invoke(authorize_payment.lambda_handler, event())

    assert stored_payment()["status"] == "DECLINED"
    assert simulated.journal == []


def test_unknown_test_token_declines_without_echoing_the_token(simulated):
    with pytest.raises(PaymentDeclinedError, match="unknown test token") as raised:
        invoke(authorize_payment.lambda_handler, event(token="tok_mastercard"))

    assert "tok_" not in str(raised.value)
    stored = stored_payment()
    assert stored["status"] == "DECLINED"
    assert "tok_" not in json.dumps(stored)
    assert simulated.journal == []


def test_provider_down_is_transient_and_leaves_the_payment_authorizing(simulated):
    # When the provider cannot be reached, the error is transient (the state machine retries)
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(authorize_payment.lambda_handler, event(token="tok_providerDown"))

    # Then the payment is left AUTHORIZING, so a void can see it, and nothing is held
    stored = stored_payment()
    assert stored["status"] == "AUTHORIZING"
    assert stored["amount"] == 2_100
    assert "charge_id" not in stored
    assert simulated.journal == []


def test_a_retry_of_an_authorizing_payment_for_another_amount_is_a_conflict(simulated):
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(authorize_payment.lambda_handler, event(token="tok_providerDown"))

    with pytest.raises(IdempotencyConflictError):
        invoke(
            authorize_payment.lambda_handler,
            event(lines=[{**LINE_A, "quantity": 4}], amount=2_800),
        )

    assert (stored_payment()["status"], stored_payment()["amount"]) == ("AUTHORIZING", 2_100)
    assert simulated.journal == []


def test_retry_after_a_provider_outage_authorizes_once(payment, simulated):
    # Given a provider that times out once, then answers
    provider = FlakyProvider(simulated, "authorize", failures=1)
    with pytest.raises(PaymentProviderUnavailableError):
        authorize_payment_logic(task(), payment, provider)
    assert stored_payment()["status"] == "AUTHORIZING"
    assert simulated.journal == []

    # When the state machine retries with the same input
    result = authorize_payment_logic(task(), payment, provider)

    # Then the payment is AUTHORIZED once, by the second call to the provider
    assert provider.calls == ["authorize", "authorize"]
    assert stored_payment()["status"] == "AUTHORIZED"
    assert stored_payment()["charge_id"] == result.charge_id
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]


def test_retry_after_a_crash_mid_authorization_reuses_the_providers_authorization(
    payment, simulated
):
    # Given an attempt that died after the provider authorized but before the record said so
    with pytest.raises(LambdaCrashedError):
        authorize_payment_logic(task(), payment, InterleavingProvider(simulated, after=crash))
    assert stored_payment()["status"] == "AUTHORIZING"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]

    # When the step is retried
    result = invoke(authorize_payment.lambda_handler, event())

    # Then the same authorization is recorded, and the card was held once
    assert stored_payment()["status"] == "AUTHORIZED"
    assert stored_payment()["charge_id"] == result["charge_id"] == simulated.journal[0].reference
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]


def test_an_attempt_that_loses_to_a_concurrent_attempt_returns_the_same_authorization(
    payment, simulated
):
    # Given an attempt whose provider call returns just after a concurrent attempt recorded it
    others: list[dict[str, Any]] = []
    provider = InterleavingProvider(
        simulated, after=lambda: others.append(invoke(authorize_payment.lambda_handler, event()))
    )

    # When the first attempt then tries to record AUTHORIZED, it finds it done
    result = authorize_payment_logic(task(), payment, provider)

    # Then both answer the same authorization, held once, and nothing is voided
    assert result.model_dump(mode="json") == others[0]
    assert provider.calls == ["authorize"]
    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None


def test_an_attempt_that_loses_to_an_attempt_already_captured_returns_the_authorization(
    payment, simulated
):
    # Given a stale attempt whose provider call returns after a concurrent attempt authorized the
    # order and the capture (after the pivot) took the hold
    others: list[dict[str, Any]] = []

    def authorize_and_capture() -> None:
        authorized = invoke(authorize_payment.lambda_handler, event())
        capture = {
            "order_id": ORDER,
            "charge_id": authorized["charge_id"],
            "amount": authorized["amount"],
        }
        others.append(authorized)
        others.append(invoke(capture_payment.lambda_handler, capture))

    provider = InterleavingProvider(simulated, after=authorize_and_capture)

    # When the stale attempt tries to record AUTHORIZED, it finds the payment captured
    result = authorize_payment_logic(task(), payment, provider)

    # Then it answers the recorded authorization, and never tries to void the captured hold
    assert result.model_dump(mode="json") == others[0]
    assert provider.calls == ["authorize"]
    assert stored_payment()["status"] == "CAPTURED"
    assert stored_payment()["capture_id"] == others[1]["capture_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", f"capture:{ORDER}")]


def test_an_authorization_replayed_after_the_capture_returns_the_authorization(simulated):
    authorized = invoke(authorize_payment.lambda_handler, event())
    invoke(
        capture_payment.lambda_handler,
        {"order_id": ORDER, "charge_id": authorized["charge_id"], "amount": authorized["amount"]},
    )

    again = invoke(authorize_payment.lambda_handler, event())

    assert again == authorized
    assert stored_payment()["status"] == "CAPTURED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", f"capture:{ORDER}")]


def test_two_attempts_at_once_on_a_new_order_hold_once(
    payment, simulated, serialized_dynamodb, monkeypatch
):
    # Given two attempts (a duplicate delivery) that both read "no payment yet" at the same moment
    both_read = threading.Barrier(2, timeout=10)
    first_reads = threading.local()
    read = payments.get_payment

    def read_together(order_id: str) -> Any:
        found = read(order_id)
        if not getattr(first_reads, "done", False):
            first_reads.done = True
            both_read.wait()
        return found

    starts: list[str] = []
    start = payments.start_authorization

    def start_counted(*args: Any) -> None:
        try:
            start(*args)
        except payments.PaymentAlreadyRecordedError:
            starts.append("lost")
            raise
        starts.append("won")

    monkeypatch.setattr(payments, "get_payment", read_together)
    monkeypatch.setattr(payments, "start_authorization", start_counted)

    # When both go on to record AUTHORIZING and call the provider, in threads
    results = run_together(
        lambda: authorize_payment_logic(task(), payment),
        lambda: authorize_payment_logic(task(), payment),
    )

    # Then both answer the same authorization, and the card was held once
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(starts) == ["lost", "won"]  # both raced to create the record; one did
    assert results[0] == results[1]
    assert stored_payment()["status"] == "AUTHORIZED"
    assert stored_payment()["charge_id"] == results[0].charge_id
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]


def test_an_order_whose_payment_keeps_changing_gives_up_transiently(
    payment, simulated, monkeypatch
):
    # Given a payment that every read finds missing and every create finds taken (a stand-in for
    # writes landing between each read and write)
    monkeypatch.setattr(payments, "get_payment", lambda order_id: None)

    def taken(*args: Any) -> None:
        raise payments.PaymentAlreadyRecordedError(ORDER)

    monkeypatch.setattr(payments, "start_authorization", taken)

    # Then the step fails transiently (the state machine retries it), and nothing is held
    with pytest.raises(DependencyUnavailableError, match="kept changing"):
        authorize_payment_logic(task(), payment)
    assert simulated.journal == []


def test_amount_that_does_not_match_the_lines_writes_nothing(simulated):
    with pytest.raises(AmountMismatchError, match="2100"):
        invoke(authorize_payment.lambda_handler, event(amount=2_099))

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_lines_in_mixed_currencies_are_invalid_and_write_nothing(simulated):
    lines = [LINE_A, {"sku": "SKU-B", "quantity": 1, "unit_price": 500, "currency": "USD"}]

    with pytest.raises(InvalidInputError, match="currencies"):
        invoke(authorize_payment.lambda_handler, event(lines=lines, amount=2_600))

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def _without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != field}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        pytest.param(_without(event(), "payment_token"), "payment_token", id="missing-token"),
        pytest.param(_without(event(), "order_id"), "order_id", id="missing-order"),
        pytest.param(event(amount=-2_100), "amount", id="negative-amount"),
        pytest.param(event(amount=21.5), "amount", id="float-amount"),
        pytest.param(event(amount="2100"), "amount", id="string-amount"),
        pytest.param(event(currency="eur"), "currency", id="lowercase-currency"),
        pytest.param(event(token="visa"), "payment_token", id="bad-token"),
        pytest.param({**event(), "discount": 100}, "discount", id="extra-field"),
        pytest.param(event(lines=[]), "lines", id="no-lines"),
        pytest.param(event(lines=[LINE_A, LINE_A], amount=4_200), "duplicate", id="duplicate-sku"),
        pytest.param(
            event(lines=[{**LINE_A, "unit_price": -700}], amount=-2_100),
            "unit_price",
            id="negative-price",
        ),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(simulated, payload, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(authorize_payment.lambda_handler, payload)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param("payment.authorize", InjectedFaultError, id="business"),
        pytest.param("payment.authorize=transient", DependencyUnavailableError, id="transient"),
    ],
)
def test_injected_fault_fails_before_any_write(simulated, fault, error):
    with pytest.raises(error, match="fault injected"):
        invoke(authorize_payment.lambda_handler, {**event(), "fault": fault})

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_a_transient_fault_ends_with_its_attempts(simulated):
    result = invoke(
        authorize_payment.lambda_handler,
        {**event(), "fault": "payment.authorize=transient", "attempt": 1},
    )

    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].reference == result["charge_id"]


def test_injected_fault_is_ignored_in_production(simulated, monkeypatch):
    from services.payment.bootstrap import start as get_settings

    monkeypatch.setenv("STAGE", "prod")
    get_settings.cache_clear()

    invoke(authorize_payment.lambda_handler, {**event(), "fault": "payment.authorize"})

    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]

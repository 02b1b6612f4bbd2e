"""The simulated provider's ledger lives in DynamoDB, so every process of the service shares it.

authorize_payment, capture_payment and void_payment are different functions: on AWS and in the
local cloud they never share memory. A provider instance here stands for one process; they share
only the ledger table. Its writes are conditional: a key is recorded once, an authorization (or a
capture) settled once, whichever process asks first.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.payment import gateway
from services.payment.dal.records import SimulatedLedgerRecord
from services.payment.dal.simulated_ledger import DynamoDBLedger
from services.payment.gateway.ledger import InMemoryLedger, JournalEntry
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.handlers import authorize_payment, capture_payment
from services.payment.logic.authorize_payment import authorize_payment as authorize_payment_logic
from services.payment.logic.capture_payment import capture_payment as capture_payment_logic
from services.payment.logic.void_payment import void_payment as void_payment_logic
from shared.contracts import AuthorizePaymentInput, CapturePaymentInput, Money, VoidPaymentInput
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    PaymentAlreadyCapturedError,
    PaymentNotCapturableError,
)
from tests.integration.payment.conftest import (
    authorize_event,
    invoke,
    journal_of,
    process,
    stored_ledger,
    stored_payment,
)
from tests.integration.payment.doubles import DiesAfterSettling, LambdaCrashedError, ReadsTooEarly
from tests.support.tables import table_items

ORDER = "order-0003"
AUTHORIZE_KEY = f"authorize:{ORDER}"
CAPTURE_KEY = f"capture:{ORDER}"
VOID_KEY = f"void:{ORDER}"
REFUND_KEY = f"refund:{ORDER}"
EUR_21 = Money(amount=2_100, currency="EUR")


def authorize_task() -> AuthorizePaymentInput:
    return AuthorizePaymentInput.model_validate(authorize_event(ORDER))


def capture_task(charge_id: str) -> CapturePaymentInput:
    return CapturePaymentInput(order_id=ORDER, charge_id=charge_id, amount=EUR_21)


def hold(provider: SimulatedPaymentProvider, amount: Money = EUR_21) -> Any:
    return provider.authorize(
        idempotency_key=AUTHORIZE_KEY,
        amount=amount,
        payment_token="tok_visa",
        customer_id="c",
        order_id=ORDER,
    )


def ledger_fields(key: str) -> dict[str, Any]:
    stored = stored_ledger(key)
    return {k: stored.get(k) for k in ("operation", "parent_key", "settled_by", "settled_as")}


# --- the ledger across processes ------------------------------------------------------------


def test_an_authorization_made_in_one_process_is_captured_by_another(payment):
    authorizing, capturing = process(), process()
    authorized = authorize_payment_logic(authorize_task(), payment, authorizing)

    captured = capture_payment_logic(capture_task(authorized.charge_id), payment, capturing)

    assert captured.status == "CAPTURED"
    # And every process sees the same ledger: one hold, taken once
    for provider in (authorizing, capturing, process()):
        assert journal_of(provider) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    held, capture = authorizing.journal
    assert held.reference == authorized.charge_id
    assert capture.reference == captured.capture_id
    assert ledger_fields(AUTHORIZE_KEY) == {
        "operation": "authorize",
        "parent_key": None,
        "settled_by": CAPTURE_KEY,
        "settled_as": "capture",
    }
    assert ledger_fields(CAPTURE_KEY) == {
        "operation": "capture",
        "parent_key": AUTHORIZE_KEY,
        "settled_by": None,
        "settled_as": None,
    }


def test_an_authorization_made_in_one_process_is_voided_by_another(payment):
    authorizing, voiding = process(), process()
    authorized = authorize_payment_logic(authorize_task(), payment, authorizing)

    voided = void_payment_logic(VoidPaymentInput(order_id=ORDER), payment, voiding)

    assert voided.voided_now is True
    for provider in (authorizing, voiding, process()):
        assert journal_of(provider) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert authorizing.journal[0].reference == authorized.charge_id
    assert authorizing.journal[1].reference == voided.void_id
    assert ledger_fields(AUTHORIZE_KEY)["settled_by"] == VOID_KEY
    assert ledger_fields(VOID_KEY)["parent_key"] == AUTHORIZE_KEY
    # And a capture in a third process finds the hold released
    with pytest.raises(PaymentNotCapturableError):
        process().capture(
            idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_21
        )


def test_in_process_ledgers_are_what_would_leave_holds_unreleased(payment):
    # The control: with the ledger in memory, the other process knows no authorization, ever
    authorizing = SimulatedPaymentProvider(InMemoryLedger())
    authorized = authorize_payment_logic(authorize_task(), payment, authorizing)

    # A capture elsewhere finds nothing to take
    with pytest.raises(PaymentNotCapturableError, match="no authorization"):
        capture_payment_logic(
            capture_task(authorized.charge_id), payment, SimulatedPaymentProvider(InMemoryLedger())
        )
    assert stored_payment()["status"] == "AUTHORIZED"

    # And a void elsewhere is told nothing is held, so the payment is recorded VOIDED without a
    # release...
    voided = void_payment_logic(
        VoidPaymentInput(order_id=ORDER), payment, SimulatedPaymentProvider(InMemoryLedger())
    )
    assert (voided.status, voided.voided_now, voided.void_id) == ("VOIDED", False, None)
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert "void_id" not in stored
    # ...while the authorizing process still holds the amount, never settled: the hold leaks
    [held] = authorizing.journal
    assert held.reference == authorized.charge_id
    assert (held.settled_by, held.settled_as) == (None, None)
    # (the shared table, which a real deployment uses, never heard of any of it)
    assert table_items(SimulatedLedgerRecord) == []


def test_the_handlers_capture_after_a_cold_start_elsewhere(payment, simulated):
    # Given the authorize function authorized the order in its execution environment
    authorized = invoke(authorize_payment.lambda_handler, authorize_event(ORDER))

    # When the capture function runs in another one (a cold start: a new provider, new settings)
    gateway._simulated.cache_clear()
    from services.payment.bootstrap import start as get_settings

    get_settings.cache_clear()
    result = invoke(
        capture_payment.lambda_handler,
        {"order_id": ORDER, "charge_id": authorized["charge_id"], "amount": authorized["amount"]},
    )

    # Then it finds the authorization in the shared ledger and takes it
    assert result["status"] == "CAPTURED"
    assert gateway._simulated(payment.simulated_provider_url) is not simulated
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    assert simulated.journal[0].reference == authorized["charge_id"]


# --- the ledger's own guarantees -------------------------------------------------------------


def test_the_ledger_keeps_the_first_entry_recorded_under_a_key(payment):
    ledger = DynamoDBLedger()
    first = JournalEntry("authorize", AUTHORIZE_KEY, "pi_first", EUR_21)
    second = JournalEntry("authorize", AUTHORIZE_KEY, "pi_second", Money(amount=1, currency="EUR"))

    assert ledger.record_if_new(first) == first
    assert ledger.record_if_new(second) == first  # the loser gets the winner back
    assert ledger.find(AUTHORIZE_KEY) == first
    assert ledger.find("authorize:order-none") is None
    [stored] = table_items(SimulatedLedgerRecord)
    assert {k: stored[k] for k in ("idempotency_key", "operation", "reference", "amount")} == {
        "idempotency_key": AUTHORIZE_KEY,
        "operation": "authorize",
        "reference": "pi_first",
        "amount": 2_100,
    }
    assert stored["currency"] == "EUR"
    for absent in ("parent_key", "settled_by", "settled_as"):
        assert absent not in stored


def test_a_tombstone_is_stored_without_an_amount_and_read_back_as_one(payment):
    ledger = DynamoDBLedger()
    tombstone = JournalEntry("void", AUTHORIZE_KEY, "vo_tomb", None)

    ledger.record_if_new(tombstone)

    found = ledger.find(AUTHORIZE_KEY)
    assert found == tombstone
    assert found is not None
    assert found.is_tombstone
    stored = stored_ledger(AUTHORIZE_KEY)
    assert stored["operation"] == "void"
    assert "amount" not in stored
    assert "currency" not in stored
    assert "parent_key" not in stored


def test_an_entry_is_settled_by_the_first_key_only_and_again_by_that_key(payment):
    ledger = DynamoDBLedger()
    ledger.record_if_new(JournalEntry("authorize", AUTHORIZE_KEY, "pi_1", EUR_21))

    first = ledger.settle(AUTHORIZE_KEY, CAPTURE_KEY, "capture")
    again = ledger.settle(AUTHORIZE_KEY, CAPTURE_KEY, "capture")  # a retry after a crash
    lost = ledger.settle(AUTHORIZE_KEY, VOID_KEY, "void")

    assert (first.settled_by, first.settled_as) == (CAPTURE_KEY, "capture")
    assert again == first
    assert lost == first  # the loser gets the winner back, unchanged
    assert ledger_fields(AUTHORIZE_KEY)["settled_by"] == CAPTURE_KEY
    assert ledger_fields(AUTHORIZE_KEY)["settled_as"] == "capture"
    assert stored_ledger(AUTHORIZE_KEY)["reference"] == "pi_1"  # settling changes nothing else


def test_settling_an_entry_that_does_not_exist_creates_nothing(payment):
    with pytest.raises(DependencyUnavailableError, match=AUTHORIZE_KEY):
        DynamoDBLedger().settle(AUTHORIZE_KEY, VOID_KEY, "void")

    assert table_items(SimulatedLedgerRecord) == []


def awaiting(ledger: DynamoDBLedger) -> JournalEntry:
    entry = JournalEntry("authorize", AUTHORIZE_KEY, "pi_3ds", EUR_21, approval="required")
    return ledger.record_if_new(entry)


def test_an_approval_is_stored_with_its_authorization_and_answered_once(payment):
    ledger = DynamoDBLedger()
    awaiting(ledger)
    assert stored_ledger(AUTHORIZE_KEY)["approval"] == "required"

    answered = ledger.answer(AUTHORIZE_KEY, "approved")
    again = ledger.answer(AUTHORIZE_KEY, "declined")  # the other answer, later: the first stands

    assert answered.approval == "approved"
    assert again == answered
    assert process().journal == [answered]
    assert stored_ledger(AUTHORIZE_KEY)["approval"] == "approved"
    assert "settled_by" not in stored_ledger(AUTHORIZE_KEY)


def test_an_approval_voided_first_is_never_answered(payment):
    ledger = DynamoDBLedger()
    awaiting(ledger)
    ledger.settle(AUTHORIZE_KEY, VOID_KEY, "void")

    kept = ledger.answer(AUTHORIZE_KEY, "approved")

    assert kept.approval == "required"
    assert (kept.settled_by, kept.settled_as) == (VOID_KEY, "void")
    assert stored_ledger(AUTHORIZE_KEY)["approval"] == "required"


def test_an_authorization_that_needs_no_approval_cannot_be_answered(payment):
    ledger = DynamoDBLedger()
    ledger.record_if_new(JournalEntry("authorize", AUTHORIZE_KEY, "pi_1", EUR_21))

    kept = ledger.answer(AUTHORIZE_KEY, "declined")

    assert kept.approval is None
    assert "approval" not in stored_ledger(AUTHORIZE_KEY)


def test_answering_an_entry_that_does_not_exist_creates_nothing(payment):
    with pytest.raises(DependencyUnavailableError, match=AUTHORIZE_KEY):
        DynamoDBLedger().answer(AUTHORIZE_KEY, "approved")

    assert table_items(SimulatedLedgerRecord) == []


def test_the_journal_lists_entries_oldest_first(payment):
    provider = process()
    hold(provider)
    provider.capture(idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_21)
    provider.refund(idempotency_key=REFUND_KEY, capture_key=CAPTURE_KEY, amount=EUR_21)

    assert journal_of(process()) == [
        ("authorize", AUTHORIZE_KEY),
        ("capture", CAPTURE_KEY),
        ("refund", REFUND_KEY),
    ]


# --- processes racing on the ledger ----------------------------------------------------------


def test_two_processes_authorizing_the_same_key_at_once_hold_once(payment):
    first = hold(process())

    again = hold(SimulatedPaymentProvider(ReadsTooEarly()))

    assert again == first
    assert journal_of(process()) == [("authorize", AUTHORIZE_KEY)]
    with pytest.raises(IdempotencyConflictError, match="different payment or amount"):
        hold(SimulatedPaymentProvider(ReadsTooEarly()), Money(amount=1, currency="EUR"))
    assert [entry.amount for entry in process().journal] == [EUR_21]


def test_a_void_that_misses_an_authorization_just_recorded_still_releases_it(payment):
    # Given an authorization recorded by one process just after another's void looked for it
    authorized = hold(process())
    voiding = SimulatedPaymentProvider(ReadsTooEarly(AUTHORIZE_KEY))

    # When the void tries to leave its tombstone, it finds the key taken by the authorization
    result = voiding.void(idempotency_key=VOID_KEY, authorization_key=AUTHORIZE_KEY)

    # Then it releases that authorization instead: no tombstone, nothing left held
    assert result.voided is True
    assert journal_of(process()) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    held = process().journal[0]
    assert held.reference == authorized.charge_id
    assert not held.is_tombstone
    assert (held.settled_by, held.settled_as) == (VOID_KEY, "void")


def test_an_authorization_that_misses_a_tombstone_just_recorded_is_refused(payment):
    # Given a void that left its tombstone just after an authorization looked for its key
    assert process().void(idempotency_key=VOID_KEY, authorization_key=AUTHORIZE_KEY).voided is False

    # When the authorization tries to record itself, it finds the tombstone and is refused
    with pytest.raises(AlreadyCompensatedError):
        hold(SimulatedPaymentProvider(ReadsTooEarly(AUTHORIZE_KEY)))

    assert journal_of(process()) == [("void", AUTHORIZE_KEY)]
    assert process().journal[0].is_tombstone


def test_a_capture_that_died_after_settling_is_finished_by_its_retry_and_refuses_a_void(payment):
    hold(process())

    # Given a capture that settled the authorization, then died before recording itself
    with pytest.raises(LambdaCrashedError):
        SimulatedPaymentProvider(DiesAfterSettling()).capture(
            idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_21
        )
    assert journal_of(process()) == [("authorize", AUTHORIZE_KEY)]
    assert ledger_fields(AUTHORIZE_KEY)["settled_by"] == CAPTURE_KEY

    # Then a void meanwhile is refused (the hold is taken), and the retry of the capture finishes
    with pytest.raises(PaymentAlreadyCapturedError):
        process().void(idempotency_key=VOID_KEY, authorization_key=AUTHORIZE_KEY)
    captured = process().capture(
        idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_21
    )
    assert journal_of(process()) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    assert process().journal[1].reference == captured.capture_id


def test_a_capture_is_refunded_once_whatever_the_refund_keys(payment):
    provider = process()
    hold(provider)
    provider.capture(idempotency_key=CAPTURE_KEY, authorization_key=AUTHORIZE_KEY, amount=EUR_21)

    refunded = provider.refund(idempotency_key=REFUND_KEY, capture_key=CAPTURE_KEY, amount=EUR_21)
    again = process().refund(idempotency_key=REFUND_KEY, capture_key=CAPTURE_KEY, amount=EUR_21)
    with pytest.raises(IdempotencyConflictError, match="already refunded"):
        process().refund(idempotency_key="refund:other", capture_key=CAPTURE_KEY, amount=EUR_21)

    assert again == refunded
    assert journal_of(process()) == [
        ("authorize", AUTHORIZE_KEY),
        ("capture", CAPTURE_KEY),
        ("refund", REFUND_KEY),
    ]
    assert ledger_fields(CAPTURE_KEY)["settled_by"] == REFUND_KEY
    assert ledger_fields(CAPTURE_KEY)["settled_as"] == "refund"

"""capture_payment handler: take the authorized amount once the order is confirmed, exactly once.

It is never compensated, so what it refuses (nothing held, another amount, another authorization)
it refuses without writing anything; and of a capture and a void racing for one hold, exactly one
wins, at the provider and in the payments table alike.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from services.payment.dal import payments
from services.payment.dal.records import PaymentRecord
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.handlers import authorize_payment, capture_payment, void_payment
from services.payment.logic.capture_payment import capture_payment as capture_payment_logic
from services.payment.logic.void_payment import void_payment as void_payment_logic
from shared.contracts import CapturePaymentInput, Money, VoidPaymentInput
from shared.errors import (
    AmountMismatchError,
    InjectedFaultError,
    InvalidInputError,
    PaymentAlreadyCapturedError,
    PaymentDeclinedError,
    PaymentNotCapturableError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import (
    authorize_event,
    invoke,
    journal_of,
    run_together,
    stored_payment,
)
from tests.integration.payment.doubles import (
    FlakyProvider,
    InterleavingProvider,
    LambdaCrashedError,
    MeetsBeforeSettling,
    crash,
)
from tests.support.tables import table_items

ORDER = "order-0004"
AUTHORIZE_KEY = f"authorize:{ORDER}"
CAPTURE_KEY = f"capture:{ORDER}"
VOID_KEY = f"void:{ORDER}"
EUR_21 = {"amount": 2_100, "currency": "EUR"}


def authorized(order_id: str = ORDER) -> dict[str, Any]:
    """Authorize the order through its handler; the authorization's output."""
    return invoke(authorize_payment.lambda_handler, authorize_event(order_id))


def capture_event(
    charge_id: str, amount: dict[str, Any] | None = None, order_id: str = ORDER
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "charge_id": charge_id,
        "amount": EUR_21 if amount is None else amount,
    }


def capture_task(charge_id: str, order_id: str = ORDER) -> CapturePaymentInput:
    return CapturePaymentInput.model_validate(capture_event(charge_id, order_id=order_id))


def test_capture_takes_the_authorization_once(simulated):
    # Given an authorized order
    authorization = authorized()

    # When the confirmed order is captured
    result = invoke(capture_payment.lambda_handler, capture_event(authorization["charge_id"]))

    # Then the output carries the provider's capture id and the whole amount
    assert result == {
        "order_id": ORDER,
        "status": "CAPTURED",
        "capture_id": result["capture_id"],
        "amount": EUR_21,
    }
    assert result["capture_id"].startswith("ca_")
    # And the record is CAPTURED with it, beside the authorization it took
    stored = stored_payment()
    assert stored["status"] == "CAPTURED"
    assert stored["capture_id"] == result["capture_id"]
    assert stored["charge_id"] == authorization["charge_id"]
    assert "void_id" not in stored
    # And the provider journaled the authorization, then one capture that settled it
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    held, capture = simulated.journal
    assert (held.settled_by, held.settled_as) == (CAPTURE_KEY, "capture")
    assert capture.parent_key == AUTHORIZE_KEY
    assert capture.reference == result["capture_id"]
    assert capture.amount == held.amount == Money.model_validate(EUR_21)
    assert capture.settled_by is None  # nothing refunded


def test_capture_replayed_returns_the_same_capture_and_captures_once(simulated):
    charge_id = authorized()["charge_id"]
    first = invoke(capture_payment.lambda_handler, capture_event(charge_id))

    second = invoke(capture_payment.lambda_handler, capture_event(charge_id))

    assert second == first
    assert stored_payment()["capture_id"] == first["capture_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_duplicate_delivery_captures_once(simulated):
    charge_id = authorized()["charge_id"]

    result = invoke(
        capture_payment.lambda_handler,
        {**capture_event(charge_id), "fault": "payment.capture=duplicate"},
    )

    assert stored_payment()["capture_id"] == result["capture_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_capture_of_a_voided_payment_is_refused_and_writes_nothing(simulated):
    # Given an authorization the saga voided
    charge_id = authorized()["charge_id"]
    invoke(void_payment.lambda_handler, {"order_id": ORDER})
    before = stored_payment()

    # When a capture arrives anyway (an operator's case), it is refused
    with pytest.raises(PaymentNotCapturableError, match="VOIDED"):
        invoke(capture_payment.lambda_handler, capture_event(charge_id))

    # Then nothing changed: the payment stays voided, the provider took nothing
    assert stored_payment() == before
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert simulated.journal[0].settled_by == VOID_KEY


def test_capture_of_a_tombstone_is_refused_and_writes_nothing(simulated):
    invoke(void_payment.lambda_handler, {"order_id": ORDER})  # the void came first
    tombstone = stored_payment()

    with pytest.raises(PaymentNotCapturableError, match="VOIDED"):
        invoke(capture_payment.lambda_handler, capture_event("pi_never"))

    assert stored_payment() == tombstone
    assert simulated.journal == []


def test_capture_of_a_declined_payment_is_refused_and_writes_nothing(simulated):
    with pytest.raises(PaymentDeclinedError):
        invoke(authorize_payment.lambda_handler, authorize_event(ORDER, token="tok_chargeDeclined"))
    before = stored_payment()

    with pytest.raises(PaymentNotCapturableError, match="DECLINED"):
        invoke(capture_payment.lambda_handler, capture_event("pi_never"))

    assert stored_payment() == before
    assert simulated.journal == []


def test_capture_of_an_authorization_still_in_flight_is_refused_and_writes_nothing(simulated):
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(authorize_payment.lambda_handler, authorize_event(ORDER, token="tok_providerDown"))
    before = stored_payment()

    with pytest.raises(PaymentNotCapturableError, match="AUTHORIZING"):
        invoke(capture_payment.lambda_handler, capture_event("pi_never"))

    assert stored_payment() == before
    assert simulated.journal == []


def test_capture_of_a_missing_payment_is_refused_and_writes_nothing(simulated):
    with pytest.raises(PaymentNotCapturableError, match="no payment"):
        invoke(capture_payment.lambda_handler, capture_event("pi_never"))

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_capture_of_another_amount_is_a_mismatch_and_writes_nothing(simulated):
    charge_id = authorized()["charge_id"]
    before = stored_payment()

    with pytest.raises(AmountMismatchError, match="2100"):
        invoke(
            capture_payment.lambda_handler,
            capture_event(charge_id, amount={"amount": 2_000, "currency": "EUR"}),
        )
    with pytest.raises(AmountMismatchError):
        invoke(
            capture_payment.lambda_handler,
            capture_event(charge_id, amount={"amount": 2_100, "currency": "USD"}),
        )

    assert stored_payment() == before
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None


def test_capture_naming_another_authorization_is_refused_and_writes_nothing(simulated):
    charge_id = authorized()["charge_id"]
    before = stored_payment()

    with pytest.raises(PaymentNotCapturableError, match=charge_id):
        invoke(capture_payment.lambda_handler, capture_event("pi_someone_elses"))

    assert stored_payment() == before
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None


def test_provider_down_leaves_the_payment_authorized_and_a_retry_captures_once(payment, simulated):
    charge_id = authorized()["charge_id"]
    provider = FlakyProvider(simulated, "capture", failures=1)

    # When the provider cannot be reached, the error is transient and nothing is taken
    with pytest.raises(PaymentProviderUnavailableError):
        capture_payment_logic(capture_task(charge_id), payment, provider)
    assert stored_payment()["status"] == "AUTHORIZED"
    assert "capture_id" not in stored_payment()
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None

    # And the retry captures, once
    result = capture_payment_logic(capture_task(charge_id), payment, provider)
    assert provider.calls == ["capture", "capture"]
    assert stored_payment()["status"] == "CAPTURED"
    assert stored_payment()["capture_id"] == result.capture_id
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_retry_after_a_crash_mid_capture_records_the_providers_capture(payment, simulated):
    charge_id = authorized()["charge_id"]

    # Given a capture that died after the provider took the hold, before the record said so
    with pytest.raises(LambdaCrashedError):
        capture_payment_logic(
            capture_task(charge_id),
            payment,
            InterleavingProvider(simulated, "capture", after=crash),
        )
    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]

    # When it is retried, the provider replays its capture and the record takes it
    result = invoke(capture_payment.lambda_handler, capture_event(charge_id))

    assert result["capture_id"] == simulated.journal[1].reference
    assert stored_payment()["status"] == "CAPTURED"
    assert stored_payment()["capture_id"] == result["capture_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_a_capture_that_loses_the_record_to_a_concurrent_capture_returns_the_same_capture(
    payment, simulated
):
    charge_id = authorized()["charge_id"]
    others: list[dict[str, Any]] = []
    provider = InterleavingProvider(
        simulated,
        "capture",
        after=lambda: others.append(
            invoke(capture_payment.lambda_handler, capture_event(charge_id))
        ),
    )

    result = capture_payment_logic(capture_task(charge_id), payment, provider)

    assert result.model_dump(mode="json") == others[0]
    assert stored_payment()["capture_id"] == result.capture_id
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_a_void_that_releases_the_hold_first_makes_the_capture_refused(payment, simulated):
    # Given a capture that read AUTHORIZED, and a void that runs just before it calls the provider
    charge_id = authorized()["charge_id"]
    voids: list[dict[str, Any]] = []
    provider = InterleavingProvider(
        simulated,
        "capture",
        before=lambda: voids.append(invoke(void_payment.lambda_handler, {"order_id": ORDER})),
    )

    # When the capture reaches the provider, the hold is gone
    with pytest.raises(PaymentNotCapturableError, match="settled by a void"):
        capture_payment_logic(capture_task(charge_id), payment, provider)

    # Then the void stands alone: voided, never captured
    assert voids[0]["voided_now"] is True
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert "capture_id" not in stored
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert simulated.journal[0].settled_by == VOID_KEY


def test_a_capture_that_takes_the_hold_first_makes_the_void_refused(payment, simulated):
    # Given a void that read AUTHORIZED, and a capture that runs just before it calls the provider
    charge_id = authorized()["charge_id"]
    captures: list[dict[str, Any]] = []
    provider = InterleavingProvider(
        simulated,
        "void",
        before=lambda: captures.append(
            invoke(capture_payment.lambda_handler, capture_event(charge_id))
        ),
    )

    # When the void reaches the provider, the hold was captured: an operator must look
    with pytest.raises(PaymentAlreadyCapturedError):
        void_payment_logic(VoidPaymentInput(order_id=ORDER), payment, provider)

    # Then the capture stands alone: captured, never voided
    stored = stored_payment()
    assert stored["status"] == "CAPTURED"
    assert stored["capture_id"] == captures[0]["capture_id"]
    assert "void_id" not in stored
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    assert simulated.journal[0].settled_by == CAPTURE_KEY


ROUNDS = 6


def test_a_capture_and_a_void_racing_for_the_hold_never_both_win(
    payment, simulated, serialized_dynamodb
):
    # Given orders whose capture and void (two processes) both found the hold open and ask the
    # provider's ledger to settle it at the same moment, in threads
    orders = [f"order-race-{n:02d}" for n in range(ROUNDS)]
    results: dict[str, list[Any]] = {}
    for n, order_id in enumerate(orders):
        charge_id = authorized(order_id)["charge_id"]
        both_found_it = threading.Barrier(2, timeout=10)
        capturing = SimulatedPaymentProvider(MeetsBeforeSettling(both_found_it))
        voiding = SimulatedPaymentProvider(MeetsBeforeSettling(both_found_it))
        task = capture_task(charge_id, order_id)

        def capture(task: CapturePaymentInput = task, provider: Any = capturing) -> Any:
            return capture_payment_logic(task, payment, provider)

        def void(order_id: str = order_id, provider: Any = voiding) -> Any:
            return void_payment_logic(VoidPaymentInput(order_id=order_id), payment, provider)

        # Either one starts first, by turns (the last to reach the barrier tends to go on first)
        if n % 2:
            voided, captured = run_together(void, capture)
        else:
            captured, voided = run_together(capture, void)
        results[order_id] = [captured, voided]

    # Then for each exactly one won, the loser was refused, and the payment and the provider's
    # ledger agree with the winner
    stored = {item["order_id"]: item for item in table_items(PaymentRecord)}
    journal = simulated.journal
    winners = []
    for order_id in orders:
        captured, voided = results[order_id]
        entries = [e for e in journal if e.idempotency_key.endswith(order_id)]
        [held] = [e for e in entries if e.operation == "authorize"]
        if isinstance(captured, Exception):
            assert isinstance(captured, PaymentNotCapturableError), captured
            assert voided.voided_now is True
            assert stored[order_id]["status"] == "VOIDED"
            assert "capture_id" not in stored[order_id]
            assert (held.settled_by, held.settled_as) == (f"void:{order_id}", "void")
            assert [e.operation for e in entries] == ["authorize", "void"]
            winners.append("void")
        else:
            assert isinstance(voided, PaymentAlreadyCapturedError), voided
            assert stored[order_id]["status"] == "CAPTURED"
            assert stored[order_id]["capture_id"] == captured.capture_id
            assert "void_id" not in stored[order_id]
            assert (held.settled_by, held.settled_as) == (f"capture:{order_id}", "capture")
            assert [e.operation for e in entries] == ["authorize", "capture"]
            winners.append("capture")
    assert len(winners) == ROUNDS


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        pytest.param({"order_id": ORDER, "amount": EUR_21}, "charge_id", id="missing-charge"),
        pytest.param(capture_event(""), "charge_id", id="empty-charge"),
        pytest.param(
            capture_event("pi_1", amount={"amount": 21.0, "currency": "EUR"}),
            "amount",
            id="float-amount",
        ),
        pytest.param({**capture_event("pi_1"), "tip": 100}, "tip", id="extra-field"),
        pytest.param(capture_event("pi_1", order_id="short"), "order_id", id="bad-order-id"),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(simulated, payload, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(capture_payment.lambda_handler, payload)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_injected_fault_fails_before_any_write(simulated):
    charge_id = authorized()["charge_id"]

    with pytest.raises(InjectedFaultError):
        invoke(
            capture_payment.lambda_handler, {**capture_event(charge_id), "fault": "payment.capture"}
        )

    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None


@pytest.mark.parametrize("status", ["AUTHORIZING", "DECLINED", "VOIDED", "CAPTURED"])
def test_the_record_moves_to_captured_only_from_authorized(simulated, status):
    # The condition the capture relies on when it records: whatever moved the payment on since it
    # was read, the write is refused and nothing is overwritten
    charge_id = authorized()["charge_id"]
    PaymentRecord(order_id=ORDER).update(actions=[PaymentRecord.status.set(status)])
    before = stored_payment()

    with pytest.raises(payments.PaymentChangedError):
        payments.mark_captured(ORDER, "ca_late")

    assert stored_payment() == before
    assert stored_payment()["charge_id"] == charge_id

"""void_payment handler: the compensation of authorize_payment. Nothing is ever left held.

A void releases a hold, or (when it comes first) leaves a tombstone so a late authorization is
refused: in the payments table when no authorization was recorded, at the provider when one was in
flight. Whoever of the authorization and the void finishes last releases what the other left.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from services.payment.dal import payments
from services.payment.dal.records import PaymentRecord
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.handlers import authorize_payment, capture_payment, void_payment
from services.payment.logic.authorize_payment import authorize_payment as authorize_payment_logic
from services.payment.logic.void_payment import void_payment as void_payment_logic
from shared.contracts import AuthorizePaymentInput, Money, VoidPaymentInput
from shared.errors import (
    AlreadyCompensatedError,
    InjectedFaultError,
    InvalidInputError,
    PaymentAlreadyCapturedError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)
from tests.integration.payment.conftest import (
    authorize_event,
    invoke,
    journal_of,
    process,
    run_together,
    stored_payment,
)
from tests.integration.payment.doubles import (
    FlakyProvider,
    InterleavingProvider,
    LambdaCrashedError,
    crash,
)
from tests.support.tables import table_items

ORDER = "order-0002"
AUTHORIZE_KEY = f"authorize:{ORDER}"
VOID_KEY = f"void:{ORDER}"
CAPTURE_KEY = f"capture:{ORDER}"
VOID = {"order_id": ORDER}
EUR_21 = Money(amount=2_100, currency="EUR")


def event(token: str = "tok_visa") -> dict[str, Any]:
    return authorize_event(ORDER, token=token)


def authorize_task() -> AuthorizePaymentInput:
    return AuthorizePaymentInput.model_validate(event())


def void_task() -> VoidPaymentInput:
    return VoidPaymentInput(order_id=ORDER)


def assert_nothing_held(provider: SimulatedPaymentProvider) -> None:
    """Every authorization the provider made was released by the order's void, never captured."""
    for entry in provider.journal:
        assert entry.operation != "capture"
        if entry.operation == "authorize":
            assert (entry.settled_by, entry.settled_as) == (VOID_KEY, "void"), entry


def authorized_at_the_provider_only(payment, simulated) -> None:
    """An authorization attempt that died after the provider authorized, before it recorded so."""
    with pytest.raises(LambdaCrashedError):
        authorize_payment_logic(
            authorize_task(), payment, InterleavingProvider(simulated, after=crash)
        )
    assert stored_payment()["status"] == "AUTHORIZING"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]


def test_void_after_authorize_releases_the_hold(simulated):
    # Given an authorized order
    authorized = invoke(authorize_payment.lambda_handler, event())

    # When the saga compensates it
    result = invoke(void_payment.lambda_handler, VOID)

    # Then the hold is released, and the record says so with the provider's void id
    assert result == {
        "order_id": ORDER,
        "status": "VOIDED",
        "voided_now": True,
        "void_id": result["void_id"],
    }
    assert result["void_id"].startswith("vo_")
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["void_id"] == result["void_id"]
    assert stored["charge_id"] == authorized["charge_id"]
    assert "capture_id" not in stored
    # And the provider settled the authorization by this void, for the whole amount
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    held, void = simulated.journal
    assert (held.settled_by, held.settled_as) == (VOID_KEY, "void")
    assert void.parent_key == AUTHORIZE_KEY
    assert void.reference == result["void_id"]
    assert void.amount == held.amount == EUR_21
    assert not void.is_tombstone


def test_void_twice_voids_once(simulated):
    invoke(authorize_payment.lambda_handler, event())
    first = invoke(void_payment.lambda_handler, VOID)

    second = invoke(void_payment.lambda_handler, VOID)

    assert second == {**first, "voided_now": False}
    assert stored_payment()["status"] == "VOIDED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_authorize_after_void_is_refused(simulated):
    invoke(authorize_payment.lambda_handler, event())
    invoke(void_payment.lambda_handler, VOID)

    with pytest.raises(AlreadyCompensatedError, match="voided"):
        invoke(authorize_payment.lambda_handler, event())

    assert stored_payment()["status"] == "VOIDED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert_nothing_held(simulated)


def test_void_before_authorize_leaves_a_tombstone_that_refuses_the_late_authorization(
    payment, simulated
):
    # Given the compensation ran first (the authorization timed out before it wrote anything, and
    # is landing late)
    result = invoke(void_payment.lambda_handler, VOID)

    # Then it is a no-op that leaves a VOIDED tombstone, and nothing reached the provider
    assert result == {"order_id": ORDER, "status": "VOIDED", "voided_now": False, "void_id": None}
    tombstone = stored_payment()
    assert tombstone["status"] == "VOIDED"
    for absent in ("amount", "currency", "customer_id", "charge_id", "void_id"):
        assert absent not in tombstone
    assert simulated.journal == []

    # When the late authorization arrives, it is refused and never reaches the provider
    provider = InterleavingProvider(simulated)
    with pytest.raises(AlreadyCompensatedError, match="voided"):
        authorize_payment_logic(authorize_task(), payment, provider)
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())

    # Then nothing is held, and the tombstone is untouched
    assert provider.calls == []
    assert simulated.journal == []
    assert stored_payment() == tombstone

    # And a second compensation changes nothing either
    assert invoke(void_payment.lambda_handler, VOID) == result
    assert stored_payment() == tombstone


def test_void_racing_an_authorization_before_its_provider_call_leaves_a_provider_tombstone(
    payment, simulated
):
    # Given an authorization that recorded AUTHORIZING, and a void that runs just before the
    # authorization's call to the provider
    voids: list[dict[str, Any]] = []

    def void_now() -> None:
        assert stored_payment()["status"] == "AUTHORIZING"
        voids.append(invoke(void_payment.lambda_handler, VOID))

    provider = InterleavingProvider(simulated, before=void_now)

    # When the authorization then reaches the provider, the provider refuses it
    with pytest.raises(AlreadyCompensatedError, match="before it arrived"):
        authorize_payment_logic(authorize_task(), payment, provider)

    # Then the void found nothing to release and left a tombstone under the authorization's key
    assert voids == [{"order_id": ORDER, "status": "VOIDED", "voided_now": False, "void_id": None}]
    assert journal_of(simulated) == [("void", AUTHORIZE_KEY)]
    [tombstone] = simulated.journal
    assert tombstone.is_tombstone
    assert tombstone.amount is None
    # And the payment is VOIDED, without an authorization or a release
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert "charge_id" not in stored
    assert "void_id" not in stored
    assert provider.calls == ["authorize"]

    # And a late call to the provider itself is refused too, as is a retry of the step
    with pytest.raises(AlreadyCompensatedError):
        simulated.authorize(
            idempotency_key=AUTHORIZE_KEY,
            amount=EUR_21,
            payment_token="tok_visa",
            customer_id="cust-1",
            order_id=ORDER,
        )
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())
    assert journal_of(simulated) == [("void", AUTHORIZE_KEY)]


def test_authorization_that_loses_the_record_to_a_void_voids_again_and_is_refused(
    payment, simulated
):
    # Given an authorization that landed at the provider, and a void that runs just after (before
    # the authorization records AUTHORIZED)
    voids: list[dict[str, Any]] = []
    provider = InterleavingProvider(
        simulated, after=lambda: voids.append(invoke(void_payment.lambda_handler, VOID))
    )

    # When the authorization then tries to record AUTHORIZED, it finds VOIDED
    with pytest.raises(AlreadyCompensatedError, match="VOIDED"):
        authorize_payment_logic(authorize_task(), payment, provider)

    # Then the void released the hold itself, and the authorization voided again under the same
    # key (a replay at the provider: nothing moved twice)
    assert voids[0]["voided_now"] is True
    assert provider.calls == ["authorize", "void"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert_nothing_held(simulated)
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["void_id"] == voids[0]["void_id"] == simulated.journal[1].reference
    assert "charge_id" not in stored  # the authorization never got to record itself

    # And another compensation or a late authorization changes nothing
    again = invoke(void_payment.lambda_handler, VOID)
    assert again == {**voids[0], "voided_now": False}
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_void_of_a_declined_payment_voids_it_without_touching_the_provider(simulated):
    with pytest.raises(PaymentDeclinedError):
        invoke(authorize_payment.lambda_handler, event(token="tok_chargeDeclined"))

    result = invoke(void_payment.lambda_handler, VOID)

    assert result == {"order_id": ORDER, "status": "VOIDED", "voided_now": False, "void_id": None}
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["decline_reason"] == "card declined"
    assert simulated.journal == []
    # And a late authorization, even with a good card, is refused without reaching the provider
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())
    assert simulated.journal == []


def test_void_of_an_authorization_that_never_reached_the_provider_leaves_a_provider_tombstone(
    simulated,
):
    # Given an authorization stuck in AUTHORIZING because the provider was down
    with pytest.raises(PaymentProviderUnavailableError):
        invoke(authorize_payment.lambda_handler, event(token="tok_providerDown"))

    # When the saga compensates
    result = invoke(void_payment.lambda_handler, VOID)

    # Then the payment is voided with nothing released, and the provider keeps a tombstone
    assert result == {"order_id": ORDER, "status": "VOIDED", "voided_now": False, "void_id": None}
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert "void_id" not in stored
    assert journal_of(simulated) == [("void", AUTHORIZE_KEY)]
    assert simulated.journal[0].is_tombstone

    # And the retry of the authorization, now that the provider is back, is refused
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())
    assert journal_of(simulated) == [("void", AUTHORIZE_KEY)]


def test_void_after_a_crash_mid_authorization_releases_the_hold(payment, simulated):
    # Given an authorization attempt that died after the provider held the amount
    authorized_at_the_provider_only(payment, simulated)

    # When the saga compensates
    result = invoke(void_payment.lambda_handler, VOID)

    # Then the provider's hold is released and the payment voided
    assert result["status"] == "VOIDED"
    assert result["voided_now"] is True
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["void_id"] == result["void_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert_nothing_held(simulated)

    # And a late retry of the authorization is refused without holding again
    with pytest.raises(AlreadyCompensatedError):
        invoke(authorize_payment.lambda_handler, event())
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_void_that_loses_the_record_to_a_late_authorization_voids_what_it_recorded(
    payment, simulated
):
    # Given a hold at the provider with the payment still AUTHORIZING, and a stale authorization
    # that records AUTHORIZED just after the void released the hold at the provider
    authorized_at_the_provider_only(payment, simulated)
    charge_id = simulated.journal[0].reference
    provider = InterleavingProvider(
        simulated, "void", after=lambda: payments.mark_authorized(ORDER, charge_id)
    )

    # When the void then tries to record VOIDED, it finds AUTHORIZED, re-reads and voids that
    result = void_payment_logic(void_task(), payment, provider)

    # Then the same void (replayed at the provider) is recorded: nothing is held
    assert provider.calls == ["void", "void"]
    assert result.voided_now is True
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["charge_id"] == charge_id
    assert stored["void_id"] == result.void_id
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]
    assert_nothing_held(simulated)


def test_void_of_a_captured_payment_is_refused_and_changes_nothing(simulated):
    # Given an order authorized and captured (after the pivot, which a rollback never crosses)
    authorized = invoke(authorize_payment.lambda_handler, event())
    captured = invoke(
        capture_payment.lambda_handler,
        {"order_id": ORDER, "charge_id": authorized["charge_id"], "amount": authorized["amount"]},
    )

    # When a void arrives anyway, an operator must look
    with pytest.raises(PaymentAlreadyCapturedError, match="captured"):
        invoke(void_payment.lambda_handler, VOID)

    # Then the capture stands, and the provider was not asked to void
    stored = stored_payment()
    assert stored["status"] == "CAPTURED"
    assert stored["capture_id"] == captured["capture_id"]
    assert "void_id" not in stored
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]
    assert simulated.journal[0].settled_by == CAPTURE_KEY


def test_void_when_the_provider_is_down_leaves_the_hold_and_a_retry_releases_it_once(
    payment, simulated
):
    invoke(authorize_payment.lambda_handler, event())
    provider = FlakyProvider(simulated, "void", failures=1)

    # When the provider cannot be reached, the void fails transiently with nothing changed
    with pytest.raises(PaymentProviderUnavailableError):
        void_payment_logic(void_task(), payment, provider)
    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None

    # And the state machine's retry releases the hold once
    result = void_payment_logic(void_task(), payment, provider)
    assert result.voided_now is True
    assert provider.calls == ["void", "void"]
    assert stored_payment()["status"] == "VOIDED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_void_that_died_after_the_provider_released_the_hold_records_it_on_retry(
    payment, simulated
):
    invoke(authorize_payment.lambda_handler, event())

    # Given a void that died after the provider released the hold, before it recorded VOIDED
    with pytest.raises(LambdaCrashedError):
        void_payment_logic(
            void_task(), payment, InterleavingProvider(simulated, "void", after=crash)
        )
    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]

    # When it is retried, the provider replays the same void and the payment records it
    result = invoke(void_payment.lambda_handler, VOID)

    assert result["voided_now"] is True
    assert result["void_id"] == simulated.journal[1].reference
    assert stored_payment()["status"] == "VOIDED"
    assert stored_payment()["void_id"] == result["void_id"]
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


ROUNDS = 4
MEETING_POINTS = (
    "at the start",
    "before the provider call",
    "after the provider call",
    "after the authorization",
)


@pytest.mark.parametrize("meeting", MEETING_POINTS)
def test_authorizations_and_voids_running_at_once_never_leave_a_hold(
    payment, simulated, serialized_dynamodb, meeting
):
    # Given orders whose void starts, in another thread, once the authorization reaches a point,
    # and then runs alongside the rest of it
    orders = [f"order-race-{n:02d}" for n in range(ROUNDS)]
    results: dict[str, list[Any]] = {}
    for order_id in orders:
        reached = threading.Event()
        provider = InterleavingProvider(
            process(),
            before=reached.set if meeting == "before the provider call" else None,
            after=reached.set if meeting == "after the provider call" else None,
        )
        task = AuthorizePaymentInput.model_validate(authorize_event(order_id))

        def authorize(
            task: AuthorizePaymentInput = task,
            provider: InterleavingProvider = provider,
            reached: threading.Event = reached,
        ) -> Any:
            if meeting == "at the start":
                reached.set()
            try:
                return authorize_payment_logic(task, payment, provider)
            finally:
                reached.set()  # whatever happened, the void goes

        def void(order_id: str = order_id, reached: threading.Event = reached) -> Any:
            assert reached.wait(timeout=10)
            return void_payment_logic(VoidPaymentInput(order_id=order_id), payment)

        results[order_id] = run_together(authorize, void)

    # Then, however they interleaved, every void succeeded, every payment ended VOIDED, and no
    # authorization is left open or captured at the provider
    stored = {item["order_id"]: item for item in table_items(PaymentRecord)}
    journal = simulated.journal
    for order_id in orders:
        authorized, voided = results[order_id]
        assert not isinstance(voided, Exception), (order_id, voided)
        assert voided.status == "VOIDED"
        assert isinstance(authorized, AlreadyCompensatedError) or authorized.status == "AUTHORIZED"
        assert stored[order_id]["status"] == "VOIDED", order_id
        entries = [e for e in journal if e.idempotency_key.endswith(order_id)]
        assert "capture" not in [e.operation for e in entries]
        for entry in entries:
            if entry.operation == "authorize":
                assert (entry.settled_by, entry.settled_as) == (f"void:{order_id}", "void")
        assert len([e for e in entries if e.operation == "void" and not e.is_tombstone]) <= 1
        if meeting == "after the authorization":  # no race left: the void releases the hold
            assert authorized.status == "AUTHORIZED"
            assert voided.voided_now is True
            assert stored[order_id]["void_id"] == voided.void_id


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        pytest.param({}, "order_id", id="missing-order"),
        pytest.param({"order_id": "short"}, "order_id", id="bad-order-id"),
        pytest.param({**VOID, "amount": 100}, "amount", id="extra-field"),
    ],
)
def test_malformed_payload_is_invalid_input_and_writes_nothing(simulated, payload, problem):
    with pytest.raises(InvalidInputError, match=problem):
        invoke(void_payment.lambda_handler, payload)

    assert table_items(PaymentRecord) == []
    assert simulated.journal == []


def test_injected_fault_fails_before_any_write(simulated):
    invoke(authorize_payment.lambda_handler, event())

    with pytest.raises(InjectedFaultError):
        invoke(void_payment.lambda_handler, {**VOID, "fault": "payment.void"})

    assert stored_payment()["status"] == "AUTHORIZED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    assert simulated.journal[0].settled_by is None

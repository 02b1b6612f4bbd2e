"""The simulated provider on an in-memory ledger: deterministic answers, a journal of what it held,
took, released and gave back, once per key; an authorization settled once, whatever the keys."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.payment.gateway.ledger import Approval, InMemoryLedger, JournalEntry, Operation
from services.payment.gateway.simulated import SimulatedPaymentProvider
from shared.contracts import Money
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InvalidInputError,
    PaymentAlreadyCapturedError,
    PaymentDeclinedError,
    PaymentNotCapturableError,
    PaymentProviderUnavailableError,
)

EUR_20 = Money(amount=2_000, currency="EUR")
AUTHORIZE_KEY = "authorize:o-1"
CAPTURE_KEY = "capture:o-1"
VOID_KEY = "void:o-1"
REFUND_KEY = "refund:o-1"


def new_provider() -> SimulatedPaymentProvider:
    return SimulatedPaymentProvider(InMemoryLedger())


def authorize(
    provider: SimulatedPaymentProvider,
    token: str = "tok_visa",
    key: str = AUTHORIZE_KEY,
    amount: Money = EUR_20,
):
    return provider.authorize(
        idempotency_key=key,
        amount=amount,
        payment_token=token,
        customer_id="cust-1",
        order_id="o-1",
    )


def capture(
    provider: SimulatedPaymentProvider,
    key: str = CAPTURE_KEY,
    authorization_key: str = AUTHORIZE_KEY,
    amount: Money = EUR_20,
):
    return provider.capture(idempotency_key=key, authorization_key=authorization_key, amount=amount)


def void(
    provider: SimulatedPaymentProvider, key: str = VOID_KEY, authorization_key: str = AUTHORIZE_KEY
):
    return provider.void(idempotency_key=key, authorization_key=authorization_key)


def refund(
    provider: SimulatedPaymentProvider,
    key: str = REFUND_KEY,
    capture_key: str = CAPTURE_KEY,
    amount: Money = EUR_20,
):
    return provider.refund(idempotency_key=key, capture_key=capture_key, amount=amount)


def journal(provider: SimulatedPaymentProvider) -> list[tuple[str, str]]:
    return [(e.operation, e.idempotency_key) for e in provider.journal]


def settlement(provider: SimulatedPaymentProvider, key: str) -> tuple[str | None, str | None]:
    [entry] = [e for e in provider.journal if e.idempotency_key == key]
    return entry.settled_by, entry.settled_as


def reference(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:24]


# --- deterministic answers, once per key -----------------------------------------------------


def test_ids_are_derived_from_the_idempotency_keys():
    provider = new_provider()

    authorized = authorize(provider)
    captured = capture(provider)
    refunded = refund(provider)
    other = new_provider()
    authorize(other)
    voided = void(other)

    assert authorized.charge_id == reference("pi_", AUTHORIZE_KEY)
    assert captured.capture_id == reference("ca_", CAPTURE_KEY)
    assert refunded.refund_id == reference("re_", REFUND_KEY)
    assert voided.void_id == reference("vo_", VOID_KEY)
    # another process (a fresh provider) gives the same answers
    assert authorize(new_provider()).charge_id == authorized.charge_id


def test_every_operation_replayed_is_journaled_once():
    provider = new_provider()

    assert authorize(provider) == authorize(provider)
    assert capture(provider) == capture(provider)
    assert refund(provider) == refund(provider)
    voiding = new_provider()
    authorize(voiding)
    assert void(voiding) == void(voiding)

    assert journal(provider) == [
        ("authorize", AUTHORIZE_KEY),
        ("capture", CAPTURE_KEY),
        ("refund", REFUND_KEY),
    ]
    assert journal(voiding) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_an_authorization_is_replayed_whatever_the_token_and_never_journals_it():
    provider = new_provider()
    first = authorize(provider)

    assert authorize(provider, token="tok_chargeDeclined") == first
    assert "tok_" not in repr(provider.journal)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("tok_chargeDeclined", PaymentDeclinedError, "card declined"),
        ("tok_mastercard", PaymentDeclinedError, "unknown test token"),
        ("tok_providerDown", PaymentProviderUnavailableError, "unavailable"),
    ],
)
def test_test_tokens_that_do_not_approve_hold_nothing(token, error, message):
    provider = new_provider()

    with pytest.raises(error, match=message) as raised:
        authorize(provider, token=token)

    assert token not in str(raised.value)
    assert provider.journal == []
    # and the key is not used up: the card can still be authorized under it
    assert authorize(provider).charge_id == reference("pi_", AUTHORIZE_KEY)


@pytest.mark.parametrize(
    "replay",
    [
        pytest.param(
            lambda p: authorize(p, amount=Money(amount=1, currency="EUR")), id="authorize"
        ),
        pytest.param(lambda p: capture(p, amount=Money(amount=1, currency="EUR")), id="capture"),
        pytest.param(lambda p: refund(p, amount=Money(amount=1, currency="EUR")), id="refund"),
        pytest.param(lambda p: capture(p, authorization_key="authorize:o-2"), id="capture-other"),
        pytest.param(lambda p: refund(p, capture_key="capture:o-2"), id="refund-other"),
    ],
)
def test_a_replayed_key_for_another_amount_or_payment_is_a_conflict(replay):
    provider = new_provider()
    authorize(provider)
    capture(provider)
    refund(provider)
    before = provider.journal

    with pytest.raises(IdempotencyConflictError, match="different payment or amount"):
        replay(provider)

    assert provider.journal == before


def test_a_replayed_void_for_another_authorization_is_a_conflict():
    provider = new_provider()
    authorize(provider)
    void(provider)

    with pytest.raises(IdempotencyConflictError, match="different payment"):
        void(provider, authorization_key="authorize:o-2")
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


@pytest.mark.parametrize(
    ("call", "used_for"),
    [
        pytest.param(lambda p: capture(p, key=AUTHORIZE_KEY), "authorize", id="capture"),
        pytest.param(lambda p: void(p, key=AUTHORIZE_KEY), "authorize", id="void"),
        pytest.param(lambda p: refund(p, key=AUTHORIZE_KEY), "authorize", id="refund"),
        pytest.param(lambda p: authorize(p, key=CAPTURE_KEY), "capture", id="authorize"),
    ],
)
def test_a_key_names_one_request_never_two_kinds(call, used_for):
    provider = new_provider()
    authorize(provider)
    capture(provider)
    before = provider.journal

    with pytest.raises(IdempotencyConflictError, match=f"already used for a {used_for}"):
        call(provider)
    assert provider.journal == before


# --- void --------------------------------------------------------------------------------------


def test_a_void_releases_the_authorization_once():
    provider = new_provider()
    authorize(provider)

    voided = void(provider)

    assert voided.voided is True
    assert settlement(provider, AUTHORIZE_KEY) == (VOID_KEY, "void")
    held, release = provider.journal
    assert release.parent_key == AUTHORIZE_KEY
    assert release.amount == held.amount == EUR_20
    assert not release.is_tombstone
    # and another void key finds it released already: nothing more is journaled
    assert void(provider, key="void:again").voided is False
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_a_void_before_the_authorization_leaves_a_tombstone_that_refuses_it():
    provider = new_provider()

    early = void(provider)

    # Nothing was held: the void answers so, and takes the authorization's key
    assert early.voided is False
    assert early.void_id is None
    [tombstone] = provider.journal
    assert tombstone.is_tombstone
    assert (tombstone.operation, tombstone.idempotency_key) == ("void", AUTHORIZE_KEY)
    assert tombstone.amount is None
    assert tombstone.reference == reference("vo_", AUTHORIZE_KEY)

    # When the authorization lands late, it is refused, and holds nothing
    with pytest.raises(AlreadyCompensatedError, match="before it arrived"):
        authorize(provider)
    assert provider.journal == [tombstone]
    # And a replay of the void, or a capture, finds nothing held either
    assert void(provider) == early
    with pytest.raises(PaymentNotCapturableError):
        capture(provider)
    assert provider.journal == [tombstone]


def test_a_void_after_the_capture_is_refused():
    provider = new_provider()
    authorize(provider)
    capture(provider)

    with pytest.raises(PaymentAlreadyCapturedError, match="captured"):
        void(provider)

    assert settlement(provider, AUTHORIZE_KEY) == (CAPTURE_KEY, "capture")
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


# --- capture -----------------------------------------------------------------------------------


def test_a_capture_takes_the_whole_authorization_once():
    provider = new_provider()
    authorize(provider)

    captured = capture(provider)

    assert captured.amount == EUR_20
    assert settlement(provider, AUTHORIZE_KEY) == (CAPTURE_KEY, "capture")
    assert provider.journal[1].parent_key == AUTHORIZE_KEY
    # and another capture key cannot take it a second time
    with pytest.raises(PaymentNotCapturableError, match="already settled by a capture"):
        capture(provider, key="capture:again")
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_a_capture_after_the_void_is_refused():
    provider = new_provider()
    authorize(provider)
    void(provider)

    with pytest.raises(PaymentNotCapturableError, match="already settled by a void"):
        capture(provider)

    assert settlement(provider, AUTHORIZE_KEY) == (VOID_KEY, "void")
    assert journal(provider) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_a_capture_of_another_amount_is_refused_and_settles_nothing():
    provider = new_provider()
    authorize(provider)

    with pytest.raises(AmountMismatchError, match="whole authorization"):
        capture(provider, amount=Money(amount=1_000, currency="EUR"))

    assert settlement(provider, AUTHORIZE_KEY) == (None, None)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


def test_a_capture_without_an_authorization_takes_nothing_and_does_not_use_up_its_key():
    provider = new_provider()

    with pytest.raises(PaymentNotCapturableError, match="no authorization"):
        capture(provider)
    assert provider.journal == []

    authorize(provider)  # the authorization arrives after all
    assert capture(provider).capture_id == reference("ca_", CAPTURE_KEY)


# --- refund ------------------------------------------------------------------------------------


def test_a_capture_is_refunded_once_whatever_the_refund_keys():
    provider = new_provider()
    authorize(provider)
    capture(provider)

    refunded = refund(provider)
    with pytest.raises(IdempotencyConflictError, match="already refunded"):
        refund(provider, key="refund:again")

    assert refund(provider) == refunded
    assert settlement(provider, CAPTURE_KEY) == (REFUND_KEY, "refund")
    assert journal(provider) == [
        ("authorize", AUTHORIZE_KEY),
        ("capture", CAPTURE_KEY),
        ("refund", REFUND_KEY),
    ]


def test_a_refund_gives_back_the_whole_capture_only():
    provider = new_provider()
    authorize(provider)
    capture(provider)

    with pytest.raises(AmountMismatchError, match="whole capture"):
        refund(provider, amount=Money(amount=1_000, currency="EUR"))
    assert settlement(provider, CAPTURE_KEY) == (None, None)
    assert [e.operation for e in provider.journal] == ["authorize", "capture"]


@pytest.mark.parametrize("capture_key", [CAPTURE_KEY, AUTHORIZE_KEY], ids=["no-capture", "a-hold"])
def test_a_refund_of_anything_but_a_capture_is_invalid(capture_key):
    provider = new_provider()
    authorize(provider)

    with pytest.raises(InvalidInputError, match="no capture"):
        refund(provider, capture_key=capture_key)
    assert journal(provider) == [("authorize", AUTHORIZE_KEY)]


# --- crashes and races on the ledger --------------------------------------------------------


class _Ledger:
    """An InMemoryLedger to wrap: every call delegates unless a subclass says otherwise."""

    def __init__(self, inner: InMemoryLedger) -> None:
        self.inner = inner

    def find(self, idempotency_key: str) -> JournalEntry | None:
        return self.inner.find(idempotency_key)

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        return self.inner.record_if_new(entry)

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        return self.inner.settle(idempotency_key, settled_by, settled_as)

    def answer(self, idempotency_key: str, approval: Approval) -> JournalEntry:
        return self.inner.answer(idempotency_key, approval)

    def entries(self) -> list[JournalEntry]:
        return self.inner.entries()


class _Crashed(Exception):
    pass


class _DiesAfterSettling(_Ledger):
    """The process dies once, after settling an entry, before recording its own."""

    died = False

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        if entry.parent_key is not None and not self.died:
            self.died = True
            raise _Crashed(entry.operation)
        return super().record_if_new(entry)


class _MissesOnce(_Ledger):
    """A read that misses the entry once: another process recorded it after our read."""

    missed = False

    def find(self, idempotency_key: str) -> JournalEntry | None:
        if not self.missed:
            self.missed = True
            return None
        return super().find(idempotency_key)


class _Unavailable(_Ledger):
    def find(self, idempotency_key: str) -> JournalEntry | None:
        raise DependencyUnavailableError("ledger table throttled")


@pytest.mark.parametrize(
    ("settle", "key", "settled", "operation"),
    [
        pytest.param(capture, CAPTURE_KEY, AUTHORIZE_KEY, "capture", id="capture"),
        pytest.param(void, VOID_KEY, AUTHORIZE_KEY, "void", id="void"),
        pytest.param(refund, REFUND_KEY, CAPTURE_KEY, "refund", id="refund"),
    ],
)
def test_a_crash_between_settling_and_recording_is_finished_by_the_retry(
    settle, key, settled, operation
):
    shared = InMemoryLedger()
    provider = SimulatedPaymentProvider(shared)
    authorize(provider)
    if operation == "refund":
        capture(provider)
    before = journal(provider)

    # Given an attempt that settled its parent, then died before journaling itself
    with pytest.raises(_Crashed):
        settle(SimulatedPaymentProvider(_DiesAfterSettling(shared)))
    assert journal(provider) == before
    assert settlement(provider, settled) == (key, operation)

    # When it is retried under the same key, the settlement is its own again and it is journaled
    result = settle(provider)

    assert getattr(result, "voided", True) is True
    assert journal(provider) == [*before, (operation, key)]
    assert settlement(provider, settled) == (key, operation)
    [done] = [e for e in provider.journal if e.idempotency_key == key]
    assert done.parent_key == settled
    assert done.reference == reference(f"{key[:2]}_", key)


def test_a_void_after_a_capture_that_died_mid_way_is_refused():
    shared = InMemoryLedger()
    authorize(SimulatedPaymentProvider(shared))
    with pytest.raises(_Crashed):
        capture(SimulatedPaymentProvider(_DiesAfterSettling(shared)))

    with pytest.raises(PaymentAlreadyCapturedError):
        void(SimulatedPaymentProvider(shared))
    assert [e.operation for e in shared.entries()] == ["authorize"]


def test_an_authorization_that_loses_the_race_to_record_gets_the_winners_answer():
    shared = InMemoryLedger()
    first = authorize(SimulatedPaymentProvider(shared))

    again = authorize(SimulatedPaymentProvider(_MissesOnce(shared)))

    assert again == first
    assert [e.operation for e in shared.entries()] == ["authorize"]


def test_an_authorization_that_loses_the_race_with_a_different_amount_is_a_conflict():
    shared = InMemoryLedger()
    authorize(SimulatedPaymentProvider(shared))

    with pytest.raises(IdempotencyConflictError, match="different payment or amount"):
        authorize(
            SimulatedPaymentProvider(_MissesOnce(shared)), amount=Money(amount=1, currency="EUR")
        )
    assert [e.amount for e in shared.entries()] == [EUR_20]


def test_an_authorization_that_loses_the_race_to_a_tombstone_is_refused():
    shared = InMemoryLedger()
    void(SimulatedPaymentProvider(shared))  # the tombstone, just after the authorization looked

    with pytest.raises(AlreadyCompensatedError):
        authorize(SimulatedPaymentProvider(_MissesOnce(shared)))
    assert [e.is_tombstone for e in shared.entries()] == [True]


def test_a_ledger_that_cannot_be_reached_is_a_provider_that_cannot_be_reached():
    provider = SimulatedPaymentProvider(_Unavailable(InMemoryLedger()))

    for call in (authorize, capture, void, refund):
        with pytest.raises(PaymentProviderUnavailableError, match="throttled"):
            call(provider)


class _MeetsBeforeSettling(_Ledger):
    def __init__(self, inner: InMemoryLedger, barrier: threading.Barrier) -> None:
        super().__init__(inner)
        self.barrier = barrier

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        self.barrier.wait()
        return super().settle(idempotency_key, settled_by, settled_as)


def _outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as error:
        return error


@pytest.mark.parametrize("round_", range(10))
def test_a_capture_and_a_void_racing_for_one_authorization_never_both_win(round_):
    # Given a capture and a void (two processes) that both found the authorization open, and
    # settle it at the same moment in threads
    shared = InMemoryLedger()
    authorize(SimulatedPaymentProvider(shared))
    both_found_it = threading.Barrier(2, timeout=10)
    capturing = SimulatedPaymentProvider(_MeetsBeforeSettling(shared, both_found_it))
    voiding = SimulatedPaymentProvider(_MeetsBeforeSettling(shared, both_found_it))

    with ThreadPoolExecutor(max_workers=2) as pool:
        captured_f = pool.submit(_outcome, lambda: capture(capturing))
        voided_f = pool.submit(_outcome, lambda: void(voiding))
        captured, voided = captured_f.result(timeout=30), voided_f.result(timeout=30)

    # Then exactly one won, and the ledger says which
    [held, *rest] = shared.entries()
    if isinstance(captured, Exception):
        assert isinstance(captured, PaymentNotCapturableError), captured
        assert voided.voided is True
        assert (held.settled_by, held.settled_as) == (VOID_KEY, "void")
        assert [e.operation for e in rest] == ["void"]
    else:
        assert isinstance(voided, PaymentAlreadyCapturedError), voided
        assert (held.settled_by, held.settled_as) == (CAPTURE_KEY, "capture")
        assert [e.operation for e in rest] == ["capture"]

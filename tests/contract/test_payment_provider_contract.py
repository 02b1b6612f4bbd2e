"""The payment provider port's contract (`services/payment/gateway/port.py`), one suite for every
adapter: the simulated provider, the Stripe adapter against a local double of Stripe's API
(`tests/support/stripe_double.py`), and, under `make verify-stripe`, the Stripe adapter against
Stripe's test mode.

Each test uses keys of its own order, as the saga does, so the suite can run against an account
that keeps every key for 24 hours.
"""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from services.payment.gateway.ledger import InMemoryLedger, JournalEntry
from services.payment.gateway.port import AuthorizationResult, PaymentProvider
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.gateway.stripe_provider import StripePaymentProvider
from shared.contracts import Money
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    PaymentAlreadyCapturedError,
    PaymentDeclinedError,
    PaymentNotCapturableError,
    PaymentProviderUnavailableError,
)
from tests.support import stripe_double

APPROVED = "tok_visa"
DECLINED = "tok_chargeDeclined"
APPROVAL_REQUIRED = "tok_threeDSecureRequired"
EUR_21 = Money(amount=2_100, currency="EUR")
RETURN_URL = "https://shop.example/checkout/return"
# `make verify-stripe` sets it, with STRIPE_API_KEY: the suite then runs against Stripe itself.
LIVE = os.environ.get("CHECKOUT_VERIFY_STRIPE") == "1"
T = TypeVar("T")


@dataclass
class Rig:
    provider: PaymentProvider
    # The customer answers the approval page; False when the provider refused the answer.
    answer: Callable[[AuthorizationResult, str, bool], bool]
    # The next `n` calls meet an outage (the provider unreachable).
    outage: Callable[[int], None]


class _FailingLedger(InMemoryLedger):
    """The simulated provider's storage, out for the next `failures` reads."""

    failures = 0

    def find(self, idempotency_key: str) -> JournalEntry | None:
        if self.failures:
            self.failures -= 1
            raise DependencyUnavailableError("ledger unreachable (test)")
        return super().find(idempotency_key)


def _simulated() -> Iterator[Rig]:
    ledger = _FailingLedger()
    provider = SimulatedPaymentProvider(ledger)

    def answer(result: AuthorizationResult, key: str, approved: bool) -> bool:
        try:
            provider.answer_approval(
                authorization_key=key, authorization_id=result.charge_id, approved=approved
            )
        except PaymentNotCapturableError:
            return False
        return True

    def outage(calls: int) -> None:
        ledger.failures = calls

    yield Rig(provider, answer, outage)


def _stripe_client(api_key: str, api_base: str | None) -> StripePaymentProvider:
    import stripe

    client = stripe.StripeClient(
        api_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=0
    )
    return StripePaymentProvider(client, RETURN_URL)


def _stripe_double() -> Iterator[Rig]:
    with stripe_double.serving() as double:

        def answer(result: AuthorizationResult, key: str, approved: bool) -> bool:
            assert result.next_action is not None
            choice = "approve" if approved else "decline"
            request = urllib.request.Request(f"{result.next_action.approve_url}/{choice}", b"")
            try:
                with urllib.request.urlopen(request, timeout=5):
                    return True
            except urllib.error.HTTPError:
                return False

        yield Rig(_stripe_client(stripe_double.API_KEY, double.base_url), answer, double.outage)


def _stripe_test_mode() -> Iterator[Rig]:
    def cannot_answer(*_: object) -> bool:
        pytest.skip("Stripe's test-mode approval page needs a person in a browser")

    def cannot_fail(_: int) -> None:
        pytest.skip("Stripe's test mode cannot be made unreachable on request")

    yield Rig(_stripe_client(os.environ["STRIPE_API_KEY"], None), cannot_answer, cannot_fail)


RIGS = {"simulated": _simulated, "stripe-double": _stripe_double}
if LIVE:
    RIGS = {"stripe-test-mode": _stripe_test_mode}


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    yield from RIGS[request.param]()


class Order:
    """One order's keys, as `services/payment/logic/keys.py` derives them."""

    def __init__(self) -> None:
        order_id = f"contract-{uuid.uuid4().hex[:12]}"
        self.id = order_id
        self.authorize, self.capture = f"authorize:{order_id}", f"capture:{order_id}"
        self.void, self.refund = f"void:{order_id}", f"refund:{order_id}"


def authorize(rig: Rig, order: Order, token: str = APPROVED, amount: Money = EUR_21):
    return rig.provider.authorize(
        idempotency_key=order.authorize,
        amount=amount,
        payment_token=token,
        customer_id="c-contract",
        order_id=order.id,
    )


def capture(rig: Rig, order: Order, held: AuthorizationResult, key: str | None = None):
    return rig.provider.capture(
        idempotency_key=key or order.capture,
        authorization_key=order.authorize,
        amount=held.amount,
        authorization_id=held.charge_id,
    )


def void(rig: Rig, order: Order, held: AuthorizationResult | None, key: str | None = None):
    return rig.provider.void(
        idempotency_key=key or order.void,
        authorization_key=order.authorize,
        authorization_id=held.charge_id if held else None,
    )


def eventually(call: Callable[[], T]) -> T:
    """Stripe's search indexes an intent within about a minute: retried as the saga retries."""
    deadline = time.monotonic() + (90 if LIVE else 0)
    while True:
        try:
            return call()
        except PaymentProviderUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)


def test_an_authorization_holds_the_amount_and_its_key_replays_it(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    assert held.next_action is None
    assert held.amount == EUR_21
    assert authorize(rig, order).charge_id == held.charge_id


def test_a_declined_card_holds_nothing_and_its_key_declines_again(rig: Rig) -> None:
    order = Order()
    with pytest.raises(PaymentDeclinedError):
        authorize(rig, order, DECLINED)
    with pytest.raises(PaymentDeclinedError):
        authorize(rig, order, DECLINED)


def test_a_key_reused_for_another_amount_is_refused(rig: Rig) -> None:
    order = Order()
    authorize(rig, order)
    with pytest.raises(IdempotencyConflictError):
        authorize(rig, order, amount=Money(amount=9_900, currency="EUR"))


def test_a_capture_takes_the_hold_once_whatever_the_keys(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    taken = capture(rig, order, held)
    assert taken.amount == EUR_21
    assert capture(rig, order, held).capture_id == taken.capture_id  # same key: the same answer
    with pytest.raises(PaymentNotCapturableError):
        capture(rig, order, held, key=f"capture-again:{order.id}")


def test_a_capture_must_take_the_whole_authorization(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    with pytest.raises(AmountMismatchError):
        rig.provider.capture(
            idempotency_key=order.capture,
            authorization_key=order.authorize,
            amount=Money(amount=1_000, currency="EUR"),
            authorization_id=held.charge_id,
        )


def test_a_void_releases_the_hold_once_and_nothing_can_be_captured_after(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    released = void(rig, order, held)
    assert released.voided
    assert void(rig, order, held) == released  # same key: the same answer
    assert not void(rig, order, held, key=f"void-again:{order.id}").voided
    with pytest.raises(PaymentNotCapturableError):
        capture(rig, order, held)


def test_a_captured_authorization_is_never_voided(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    capture(rig, order, held)
    with pytest.raises(PaymentAlreadyCapturedError):
        void(rig, order, held)


def test_a_void_before_its_authorization_refuses_the_late_one(rig: Rig) -> None:
    order = Order()
    assert not void(rig, order, None).voided  # the tombstone
    with pytest.raises(AlreadyCompensatedError):
        authorize(rig, order)
    assert not void(rig, order, None).voided  # the void retried: still nothing held


def test_a_void_that_never_learnt_the_authorization_id_still_releases_it(rig: Rig) -> None:
    # The authorization reached the provider, and the process died before recording its id.
    order = Order()
    held = authorize(rig, order)
    assert eventually(lambda: void(rig, order, None)).voided
    with pytest.raises(PaymentNotCapturableError):
        capture(rig, order, held)


def test_an_approval_holds_nothing_capturable_until_the_customer_approves(rig: Rig) -> None:
    order = Order()
    waiting = authorize(rig, order, APPROVAL_REQUIRED)
    assert waiting.next_action is not None
    with pytest.raises(PaymentNotCapturableError):
        # Another key: a refused request's key may answer its refusal again (Stripe saves it).
        capture(rig, order, waiting, key=f"capture-early:{order.id}")
    assert rig.answer(waiting, order.authorize, True)
    approved = authorize(rig, order, APPROVAL_REQUIRED)  # the key now answers the approval
    assert approved.next_action is None
    assert approved.charge_id == waiting.charge_id
    assert capture(rig, order, approved).amount == EUR_21


def test_a_declined_approval_declines_the_authorization_and_holds_nothing(rig: Rig) -> None:
    order = Order()
    waiting = authorize(rig, order, APPROVAL_REQUIRED)
    assert rig.answer(waiting, order.authorize, False)
    with pytest.raises(PaymentDeclinedError):
        authorize(rig, order, APPROVAL_REQUIRED)
    assert not void(rig, order, waiting).voided
    with pytest.raises(PaymentNotCapturableError):
        capture(rig, order, waiting)


def test_a_void_while_the_customer_decides_refuses_their_answer(rig: Rig) -> None:
    order = Order()
    waiting = authorize(rig, order, APPROVAL_REQUIRED)
    void(rig, order, waiting)
    assert not rig.answer(waiting, order.authorize, True)
    with pytest.raises(AlreadyCompensatedError):
        authorize(rig, order, APPROVAL_REQUIRED)


def test_a_refund_gives_back_the_whole_capture_once(rig: Rig) -> None:
    order = Order()
    held = authorize(rig, order)
    taken = capture(rig, order, held)

    def refund(key: str):
        return rig.provider.refund(
            idempotency_key=key,
            capture_key=order.capture,
            amount=EUR_21,
            capture_id=taken.capture_id,
        )

    given = refund(order.refund)
    assert given.amount == EUR_21
    assert refund(order.refund).refund_id == given.refund_id
    with pytest.raises(IdempotencyConflictError):
        refund(f"refund-again:{order.id}")


def test_an_outage_is_retryable_and_the_retry_acts_once(rig: Rig) -> None:
    order = Order()
    rig.outage(1)
    with pytest.raises(PaymentProviderUnavailableError):
        authorize(rig, order)
    held = authorize(rig, order)
    assert authorize(rig, order).charge_id == held.charge_id
    assert capture(rig, order, held).amount == EUR_21

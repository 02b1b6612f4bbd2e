"""The simulated provider: deterministic answers, a journal of money that moved, once per key."""

from __future__ import annotations

import hashlib

import pytest

from services.payment.gateway.ledger import InMemoryLedger
from services.payment.gateway.simulated import SimulatedPaymentProvider
from shared.contracts import Money
from shared.errors import (
    AmountMismatchError,
    IdempotencyConflictError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)

EUR_20 = Money(amount=2_000, currency="EUR")


def charge(provider: SimulatedPaymentProvider, token: str = "tok_visa", key: str = "charge:o-1"):
    return provider.charge(
        idempotency_key=key, amount=EUR_20, payment_token=token, customer_id="cust-1"
    )


def refund(provider: SimulatedPaymentProvider, amount: Money = EUR_20):
    return provider.refund(
        idempotency_key="refund:o-1", charge_idempotency_key="charge:o-1", amount=amount
    )


def test_ids_are_derived_from_the_idempotency_keys():
    provider = SimulatedPaymentProvider(InMemoryLedger())

    charged = charge(provider)
    refunded = refund(provider)

    assert charged.charge_id == "ch_" + hashlib.sha256(b"charge:o-1").hexdigest()[:24]
    assert refunded.refund_id == "re_" + hashlib.sha256(b"refund:o-1").hexdigest()[:24]
    # another process (a fresh provider) gives the same answers
    assert charge(SimulatedPaymentProvider(InMemoryLedger())).charge_id == charged.charge_id


def test_a_replayed_charge_or_refund_is_journaled_once():
    provider = SimulatedPaymentProvider(InMemoryLedger())

    assert charge(provider) == charge(provider)
    assert refund(provider) == refund(provider)

    assert [(e.operation, e.idempotency_key) for e in provider.journal] == [
        ("charge", "charge:o-1"),
        ("refund", "refund:o-1"),
    ]


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("tok_chargeDeclined", PaymentDeclinedError, "card declined"),
        ("tok_mastercard", PaymentDeclinedError, "unknown test token"),
        ("tok_providerDown", PaymentProviderUnavailableError, "unavailable"),
    ],
)
def test_test_tokens_that_do_not_approve_move_no_money(token, error, message):
    provider = SimulatedPaymentProvider(InMemoryLedger())

    with pytest.raises(error, match=message) as raised:
        charge(provider, token=token)

    assert token not in str(raised.value)
    assert provider.journal == []


def test_a_replayed_key_with_a_different_amount_is_a_conflict():
    provider = SimulatedPaymentProvider(InMemoryLedger())
    charge(provider)

    with pytest.raises(IdempotencyConflictError):
        provider.charge(
            idempotency_key="charge:o-1",
            amount=Money(amount=1, currency="EUR"),
            payment_token="tok_visa",
            customer_id="cust-1",
        )


def test_a_refund_without_a_charge_moves_nothing_and_does_not_use_up_its_key():
    provider = SimulatedPaymentProvider(InMemoryLedger())

    early = refund(provider)
    charge(provider)  # the charge lands late
    late = refund(provider)

    assert early.refunded is False
    assert early.refund_id is None
    assert late.refunded is True
    assert [e.operation for e in provider.journal] == ["charge", "refund"]


def test_a_refund_gives_back_the_whole_charge_only():
    provider = SimulatedPaymentProvider(InMemoryLedger())
    charge(provider)

    with pytest.raises(AmountMismatchError):
        refund(provider, amount=Money(amount=1_000, currency="EUR"))
    assert [e.operation for e in provider.journal] == ["charge"]


def test_a_key_names_one_request_never_both_a_charge_and_a_refund():
    provider = SimulatedPaymentProvider(InMemoryLedger())
    charge(provider)

    with pytest.raises(IdempotencyConflictError, match="already used for a charge"):
        provider.refund(
            idempotency_key="charge:o-1", charge_idempotency_key="charge:o-1", amount=EUR_20
        )
    assert [e.operation for e in provider.journal] == ["charge"]


class _MissesOnce:
    """A ledger read that misses the entry once: another process recorded it after our read."""

    def __init__(self, inner: InMemoryLedger) -> None:
        self.inner = inner
        self.missed = False

    def find(self, idempotency_key: str):
        if not self.missed:
            self.missed = True
            return None
        return self.inner.find(idempotency_key)

    def record_if_new(self, entry):
        return self.inner.record_if_new(entry)

    def entries(self):
        return self.inner.entries()


def test_a_charge_that_loses_the_race_to_record_gets_the_winners_answer():
    shared = InMemoryLedger()
    first = charge(SimulatedPaymentProvider(shared))

    again = charge(SimulatedPaymentProvider(_MissesOnce(shared)))

    assert again == first
    assert [e.operation for e in shared.entries()] == ["charge"]


def test_a_charge_that_loses_the_race_with_a_different_amount_is_a_conflict():
    shared = InMemoryLedger()
    charge(SimulatedPaymentProvider(shared))

    with pytest.raises(IdempotencyConflictError, match="different amount"):
        SimulatedPaymentProvider(_MissesOnce(shared)).charge(
            idempotency_key="charge:o-1",
            amount=Money(amount=1, currency="EUR"),
            payment_token="tok_visa",
            customer_id="cust-1",
        )
    assert [e.amount for e in shared.entries()] == [EUR_20]

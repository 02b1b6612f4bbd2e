"""A payment provider that moves no real money, for tests, demos and the local cloud.

Its answers are deterministic: ids are hashes of the idempotency keys and the outcome of a charge
depends only on the test token, so every worker process answers alike. What it did is kept in a
ledger (`gateway.ledger`) shared by every process of the payment service, once per idempotency key,
so a refund finds the charge another function made. The `journal` (the ledger's entries) is how
tests prove "one charge" and "refunded".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from services.payment.gateway.ledger import JournalEntry, Ledger
from services.payment.gateway.port import ChargeResult, RefundResult
from shared.contracts import Money
from shared.errors import (
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)
from shared.observability import tracer

__all__ = [
    "TOKEN_APPROVED",
    "TOKEN_DECLINED",
    "TOKEN_PROVIDER_DOWN",
    "JournalEntry",
    "SimulatedPaymentProvider",
]

TOKEN_APPROVED = "tok_visa"
TOKEN_DECLINED = "tok_chargeDeclined"
TOKEN_PROVIDER_DOWN = "tok_providerDown"


def _reference(prefix: str, idempotency_key: str) -> str:
    return prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


@contextmanager
def _ledger_errors() -> Iterator[None]:
    """The ledger is the provider's own storage: when it is out, the provider is (retry)."""
    try:
        yield
    except DependencyUnavailableError as error:
        raise PaymentProviderUnavailableError(
            f"simulated provider cannot reach its ledger ({error.message}); retry"
        ) from error


class SimulatedPaymentProvider:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @property
    def journal(self) -> list[JournalEntry]:
        """The money movements so far, oldest first, as every process sees them."""
        return self._ledger.entries()

    # A subsegment per provider call; never its arguments or response (they carry the token).
    @tracer.capture_method(capture_response=False)
    def charge(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> ChargeResult:
        with _ledger_errors():
            # Like a real provider, a replayed key gets its approval back whatever the token.
            done = self._find("charge", idempotency_key)
            if done is not None:
                return self._replayed_charge(done, amount)
            if payment_token == TOKEN_PROVIDER_DOWN:
                raise PaymentProviderUnavailableError("simulated provider is unavailable; retry")
            if payment_token == TOKEN_DECLINED:
                raise PaymentDeclinedError("card declined")
            if payment_token != TOKEN_APPROVED:
                # Never echo the token: messages end up in logs, traces and stored records.
                raise PaymentDeclinedError("unknown test token")
            entry = JournalEntry(
                "charge", idempotency_key, _reference("ch_", idempotency_key), amount
            )
            # Another process may have recorded the same key since our read: the ledger keeps one.
            return self._replayed_charge(self._record(entry), amount)

    @tracer.capture_method(capture_response=False)
    def refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, amount: Money
    ) -> RefundResult:
        with _ledger_errors():
            done = self._find("refund", idempotency_key)
            if done is not None:
                return self._replayed_refund(done, charge_idempotency_key, amount)
            charge = self._find("charge", charge_idempotency_key)
            if charge is None:
                # Nothing to give back. Not recorded, so the same key still refunds a late charge.
                return RefundResult(refunded=False)
            if charge.amount != amount:
                raise AmountMismatchError("a refund must give back the whole charge")
            entry = JournalEntry(
                "refund",
                idempotency_key,
                _reference("re_", idempotency_key),
                amount,
                charge_idempotency_key,
            )
            return self._replayed_refund(self._record(entry), charge_idempotency_key, amount)

    def _find(self, operation: str, idempotency_key: str) -> JournalEntry | None:
        entry = self._ledger.find(idempotency_key)
        if entry is not None and entry.operation != operation:
            # One key space, as at real providers: a key names one request, never two kinds.
            raise IdempotencyConflictError(
                f"idempotency key already used for a {entry.operation}, not a {operation}"
            )
        return entry

    def _record(self, entry: JournalEntry) -> JournalEntry:
        kept = self._ledger.record_if_new(entry)
        if kept.operation != entry.operation:
            raise IdempotencyConflictError(
                f"idempotency key already used for a {kept.operation}, not a {entry.operation}"
            )
        return kept

    @staticmethod
    def _replayed_charge(done: JournalEntry, amount: Money) -> ChargeResult:
        if done.amount != amount:
            raise IdempotencyConflictError("charge idempotency key reused with a different amount")
        return ChargeResult(charge_id=done.reference, amount=done.amount)

    @staticmethod
    def _replayed_refund(
        done: JournalEntry, charge_idempotency_key: str, amount: Money
    ) -> RefundResult:
        if done.charge_idempotency_key != charge_idempotency_key or done.amount != amount:
            raise IdempotencyConflictError(
                "refund idempotency key reused for a different charge or amount"
            )
        return RefundResult(refunded=True, refund_id=done.reference)

"""A payment provider that moves no real money, for tests, demos and the local cloud.

Its answers are deterministic: ids are hashes of the idempotency keys and the outcome of an
authorization depends only on the test token, so every worker process answers alike. What it did
is kept in a ledger (`gateway.ledger`) shared by every process of the payment service, once per
idempotency key, so a capture or a void finds the authorization another function made. The
`journal` (the ledger's entries) is how tests prove "held, then captured once" or "never moved".

A void that comes before its authorization (the authorization timed out, the saga rolled back)
records a tombstone under the authorization's own key: the late authorization then finds its key
taken and is refused, so nothing is ever held for a cancelled checkout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from services.payment.gateway.ledger import JournalEntry, Ledger, Operation
from services.payment.gateway.port import (
    AuthorizationResult,
    CaptureResult,
    RefundResult,
    VoidResult,
)
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


# The prefix of the id each operation hands back, as a real provider's ids say what they name.
_PREFIXES: dict[Operation, str] = {
    "authorize": "pi_", "capture": "ca_", "void": "vo_", "refund": "re_",
}  # fmt: skip


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


def _require(entry: JournalEntry, operation: Operation) -> JournalEntry:
    # One key space, as at real providers: a key names one request, never two kinds.
    if entry.operation != operation:
        raise IdempotencyConflictError(
            f"idempotency key already used for a {entry.operation}, not a {operation}"
        )
    return entry


def _replayed(done: JournalEntry, parent_key: str | None, amount: Money | None) -> JournalEntry:
    if done.parent_key != parent_key or (amount is not None and done.amount != amount):
        raise IdempotencyConflictError(
            f"{done.operation} idempotency key reused for a different payment or amount"
        )
    return done


class SimulatedPaymentProvider:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @property
    def journal(self) -> list[JournalEntry]:
        """The provider's operations so far, oldest first, as every process sees them."""
        return self._ledger.entries()

    # A subsegment per provider call; never its arguments or response (they carry the token).
    @tracer.capture_method(capture_response=False)
    def authorize(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> AuthorizationResult:
        with _ledger_errors():
            # Like a real provider, a replayed key gets its approval back whatever the token.
            done = self._ledger.find(idempotency_key)
            if done is not None:
                return self._replayed_authorization(done, amount)
            if payment_token == TOKEN_PROVIDER_DOWN:
                raise PaymentProviderUnavailableError("simulated provider is unavailable; retry")
            if payment_token == TOKEN_DECLINED:
                raise PaymentDeclinedError("card declined")
            if payment_token != TOKEN_APPROVED:
                # Never echo the token: messages end up in logs, traces and stored records.
                raise PaymentDeclinedError("unknown test token")
            entry = JournalEntry(
                "authorize",
                idempotency_key,
                _reference(_PREFIXES["authorize"], idempotency_key),
                amount,
            )
            # Another process (or the void's tombstone) may have taken the key since our read.
            return self._replayed_authorization(self._ledger.record_if_new(entry), amount)

    @tracer.capture_method(capture_response=False)
    def void(self, *, idempotency_key: str, authorization_key: str) -> VoidResult:
        with _ledger_errors():
            done = self._ledger.find(idempotency_key)
            if done is not None:
                _replayed(_require(done, "void"), authorization_key, None)
                return VoidResult(voided=True, void_id=done.reference)
            held = self._ledger.find(authorization_key)
            if held is None:
                # Nothing held yet: take the authorization's key so a late one is refused.
                tombstone = JournalEntry(
                    "void",
                    authorization_key,
                    _reference(_PREFIXES["void"], authorization_key),
                    None,
                )
                held = self._ledger.record_if_new(tombstone)
            if held.is_tombstone:
                return VoidResult(voided=False)
            authorization = _require(held, "authorize")
            settled = self._ledger.settle(authorization_key, idempotency_key, "void")
            if settled.settled_by != idempotency_key:
                if settled.settled_as == "void":
                    return VoidResult(voided=False)  # released already, under another key
                raise PaymentAlreadyCapturedError(
                    f"authorization {authorization.reference} was captured; it cannot be voided"
                )
            kept = self._record_settling("void", idempotency_key, authorization_key, held.amount)
            return VoidResult(voided=True, void_id=kept.reference)

    @tracer.capture_method(capture_response=False)
    def capture(
        self, *, idempotency_key: str, authorization_key: str, amount: Money
    ) -> CaptureResult:
        with _ledger_errors():
            done = self._ledger.find(idempotency_key)
            if done is not None:
                _replayed(_require(done, "capture"), authorization_key, amount)
                return CaptureResult(capture_id=done.reference, amount=amount)
            held = self._ledger.find(authorization_key)
            if held is None or held.is_tombstone:
                raise PaymentNotCapturableError("no authorization is held for this payment")
            authorization = _require(held, "authorize")
            if authorization.amount != amount:
                raise AmountMismatchError("a capture must take the whole authorization")
            settled = self._ledger.settle(authorization_key, idempotency_key, "capture")
            if settled.settled_by != idempotency_key:
                raise PaymentNotCapturableError(
                    f"authorization {authorization.reference} was already settled by a "
                    f"{settled.settled_as}"
                )
            kept = self._record_settling("capture", idempotency_key, authorization_key, amount)
            return CaptureResult(capture_id=kept.reference, amount=amount)

    @tracer.capture_method(capture_response=False)
    def refund(self, *, idempotency_key: str, capture_key: str, amount: Money) -> RefundResult:
        """After-sale only (a return): the saga never refunds, it voids before the pivot."""
        with _ledger_errors():
            done = self._ledger.find(idempotency_key)
            if done is not None:
                _replayed(_require(done, "refund"), capture_key, amount)
                return RefundResult(refund_id=done.reference, amount=amount)
            captured = self._ledger.find(capture_key)
            if captured is None or captured.operation != "capture":
                raise InvalidInputError("no capture to refund under that key")
            if captured.amount != amount:
                raise AmountMismatchError("a refund must give back the whole capture")
            # The capture is claimed, so two refund keys can never give it back twice.
            settled = self._ledger.settle(capture_key, idempotency_key, "refund")
            if settled.settled_by != idempotency_key:
                raise IdempotencyConflictError("the capture was already refunded under another key")
            kept = self._record_settling("refund", idempotency_key, capture_key, amount)
            return RefundResult(refund_id=kept.reference, amount=amount)

    def _record_settling(
        self, operation: Operation, idempotency_key: str, parent_key: str, amount: Money | None
    ) -> JournalEntry:
        """Record what settled `parent_key` (after the settle, so a crash in between is retried
        with the same key: the settle admits its own key again)."""
        prefix = _PREFIXES[operation]
        entry = JournalEntry(
            operation,
            idempotency_key,
            _reference(prefix, idempotency_key),
            amount,
            parent_key=parent_key,
        )
        return self._ledger.record_if_new(entry)

    @staticmethod
    def _replayed_authorization(done: JournalEntry, amount: Money) -> AuthorizationResult:
        if done.is_tombstone:
            raise AlreadyCompensatedError(
                "the authorization was voided before it arrived; refusing a late authorization"
            )
        _replayed(_require(done, "authorize"), None, amount)
        return AuthorizationResult(charge_id=done.reference, amount=amount)

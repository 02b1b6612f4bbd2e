"""A payment provider that moves no real money, for tests, demos and the local cloud.

Its answers are deterministic: ids are hashes of the idempotency keys and the outcome of an
authorization depends only on the test token, so every worker process answers alike. What it did
is kept in a ledger (`gateway.ledger`) shared by every process of the payment service, once per
idempotency key, so a capture or a void finds the authorization another function made. The
`journal` (the ledger's entries) is how tests prove "held, then captured once" or "never moved".

The test token `tok_threeDSecureRequired` asks for the customer's approval (3-D Secure): the
authorization is recorded awaiting it and answered with a `next_action`, two links to the
provider's approval page (`handlers.simulated_provider`). The customer's answer is recorded on the
authorization (`answer_approval`), which only an approved authorization makes capturable, and the
page sends the signed webhook that tells the service.

A void that comes before its authorization (the authorization timed out, the saga rolled back)
records a tombstone under the authorization's own key: the late authorization then finds its key
taken and is refused, so nothing is ever held for a cancelled checkout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from services.payment.gateway.ledger import Approval, JournalEntry, Ledger, Operation
from services.payment.gateway.port import (
    AuthorizationResult,
    CaptureResult,
    RefundResult,
    VoidResult,
)
from shared.contracts import Money, NextAction
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
    "TOKEN_APPROVAL_REQUIRED",
    "TOKEN_APPROVED",
    "TOKEN_DECLINED",
    "TOKEN_PROVIDER_DOWN",
    "JournalEntry",
    "SimulatedPaymentProvider",
]

TOKEN_APPROVED = "tok_visa"
TOKEN_DECLINED = "tok_chargeDeclined"
TOKEN_PROVIDER_DOWN = "tok_providerDown"
TOKEN_APPROVAL_REQUIRED = "tok_threeDSecureRequired"
APPROVALS_PATH = "/simulated-provider/approvals"
DECLINED_BY_CUSTOMER = "the customer declined the payment"


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


def approval_links(base_url: str, order_id: str, authorization_id: str) -> NextAction:
    """The provider's approval page of one authorization: GET shows it, POST answers."""
    page = f"{base_url.rstrip('/')}{APPROVALS_PATH}/{order_id}/{authorization_id}"
    return NextAction(approve_url=f"{page}/approve", decline_url=f"{page}/decline")


class SimulatedPaymentProvider:
    def __init__(self, ledger: Ledger, approvals_base_url: str = "") -> None:
        self._ledger = ledger
        # Where the approval page is served ("" gives links relative to the API's own host).
        self._approvals_base_url = approvals_base_url

    @property
    def journal(self) -> list[JournalEntry]:
        """The provider's operations so far, oldest first, as every process sees them."""
        return self._ledger.entries()

    # A subsegment per provider call; never its arguments or response (they carry the token).
    @tracer.capture_method(capture_response=False)
    def authorize(
        self,
        *,
        idempotency_key: str,
        amount: Money,
        payment_token: str,
        customer_id: str,
        order_id: str,
    ) -> AuthorizationResult:
        with _ledger_errors():
            # Like a real provider, a replayed key gets its approval back whatever the token.
            done = self._ledger.find(idempotency_key)
            if done is not None:
                return self._replayed_authorization(done, amount, order_id)
            if payment_token == TOKEN_PROVIDER_DOWN:
                raise PaymentProviderUnavailableError("simulated provider is unavailable; retry")
            if payment_token == TOKEN_DECLINED:
                raise PaymentDeclinedError("card declined")
            if payment_token not in (TOKEN_APPROVED, TOKEN_APPROVAL_REQUIRED):
                # Never echo the token: messages end up in logs, traces and stored records.
                raise PaymentDeclinedError("unknown test token")
            entry = JournalEntry(
                "authorize",
                idempotency_key,
                _reference(_PREFIXES["authorize"], idempotency_key),
                amount,
                approval="required" if payment_token == TOKEN_APPROVAL_REQUIRED else None,
            )
            # Another process (or the void's tombstone) may have taken the key since our read.
            kept = self._ledger.record_if_new(entry)
            return self._replayed_authorization(kept, amount, order_id)

    @tracer.capture_method(capture_response=False)
    def void(
        self, *, idempotency_key: str, authorization_key: str, authorization_id: str | None = None
    ) -> VoidResult:
        del authorization_id  # found by its key, as every operation here
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
            if settled.approval == "declined":
                return VoidResult(voided=False)  # the customer said no: nothing was held
            kept = self._record_settling("void", idempotency_key, authorization_key, held.amount)
            return VoidResult(voided=True, void_id=kept.reference)

    @tracer.capture_method(capture_response=False)
    def capture(
        self,
        *,
        idempotency_key: str,
        authorization_key: str,
        amount: Money,
        authorization_id: str | None = None,
    ) -> CaptureResult:
        del authorization_id
        with _ledger_errors():
            done = self._ledger.find(idempotency_key)
            if done is not None:
                _replayed(_require(done, "capture"), authorization_key, amount)
                return CaptureResult(capture_id=done.reference, amount=amount)
            held = self._ledger.find(authorization_key)
            if held is None or held.is_tombstone:
                raise PaymentNotCapturableError("no authorization is held for this payment")
            authorization = _require(held, "authorize")
            if authorization.approval in ("required", "declined"):
                raise PaymentNotCapturableError(
                    f"authorization {authorization.reference} was not approved by the customer"
                )
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
    def refund(
        self,
        *,
        idempotency_key: str,
        capture_key: str,
        amount: Money,
        capture_id: str | None = None,
    ) -> RefundResult:
        """After-sale only (a return): the saga never refunds, it voids before the pivot."""
        del capture_id
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

    def approval_entry(self, authorization_key: str, authorization_id: str) -> JournalEntry | None:
        """The authorization behind an approval page, if the page's id is its id."""
        with _ledger_errors():
            held = self._ledger.find(authorization_key)
        if held is None or held.operation != "authorize" or held.reference != authorization_id:
            return None
        return held if held.approval is not None else None

    @tracer.capture_method(capture_response=False)
    def answer_approval(
        self, *, authorization_key: str, authorization_id: str, approved: bool
    ) -> JournalEntry:
        """The customer's answer on the approval page: recorded once. Answering again the same
        way returns the same entry (the page sends its webhook again); the other way, or after
        a void, raises PaymentNotCapturableError naming what happened instead."""
        if self.approval_entry(authorization_key, authorization_id) is None:
            raise InvalidInputError("no authorization awaits approval under that id")
        with _ledger_errors():
            wanted: Approval = "approved" if approved else "declined"
            kept = self._ledger.answer(authorization_key, wanted)
            if kept.approval != wanted:
                what = f"already {kept.approval}" if kept.approval != "required" else "cancelled"
                raise PaymentNotCapturableError(f"this payment was {what}")
            return kept

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

    def _replayed_authorization(
        self, done: JournalEntry, amount: Money, order_id: str
    ) -> AuthorizationResult:
        if done.is_tombstone:
            raise AlreadyCompensatedError(
                "the authorization was voided before it arrived; refusing a late authorization"
            )
        _replayed(_require(done, "authorize"), None, amount)
        if done.approval == "declined":
            raise PaymentDeclinedError(DECLINED_BY_CUSTOMER)
        if done.awaits_approval and done.settled_by is not None:
            raise AlreadyCompensatedError(
                "the authorization was voided before the customer answered; refusing it"
            )
        next_action = None
        if done.awaits_approval and done.settled_by is None:
            next_action = approval_links(self._approvals_base_url, order_id, done.reference)
        return AuthorizationResult(charge_id=done.reference, amount=amount, next_action=next_action)

"""The port every payment provider adapter implements.

The logic talks only to this protocol, so a real provider is a new adapter plus one branch in
`gateway.provider_for`, and tests can pass a double. Money moves in two steps, as at real
providers: an authorization holds the amount on the card, a capture takes it; a void releases a
hold (the customer sees nothing), a refund gives back a capture (after-sale only).

What an adapter must guarantee, for every operation: an idempotency key already used returns the
first answer and acts at most once; PaymentProviderUnavailableError means the outcome is unknown or
retryable (retry, same key). A key is never reused for a request that was refused for the state
the payment was in: a provider may answer that key with its first refusal (Stripe saves every
answer under its key for 24 hours).
- `authorize` raises PaymentDeclinedError when the provider refuses (nothing held), and
  AlreadyCompensatedError when the authorization was voided before it arrived. When the customer
  must approve it first it answers with `next_action`; the provider's signed webhook later says
  approved or declined, and the same key then answers the approved authorization, or raises
  PaymentDeclinedError.
- `void` releases the hold of `authorization_key`. When the provider holds no authorization for
  that key it must make sure none can be made later (the tombstone) and answer `voided=False`.
  It raises PaymentAlreadyCapturedError when the hold was captured. Voiding an authorization that
  awaits approval cancels it: the customer's answer is refused afterwards.
- `capture` takes the whole hold of `authorization_key`, once whatever the capture keys; it raises
  PaymentNotCapturableError when there is no open hold (none, voided, or not approved).
- `refund` gives back the whole capture of `capture_key`, once whatever the refund keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.contracts import Money, NextAction


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    charge_id: str  # the authorization's id
    amount: Money
    # Set while the customer must approve the authorization (3-D Secure): it holds nothing
    # capturable until the provider's webhook says it was approved.
    next_action: NextAction | None = None


@dataclass(frozen=True, slots=True)
class VoidResult:
    voided: bool  # False when the provider held no authorization: nothing was held
    void_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaptureResult:
    capture_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund_id: str
    amount: Money


class PaymentProvider(Protocol):
    def authorize(
        self,
        *,
        idempotency_key: str,
        amount: Money,
        payment_token: str,
        customer_id: str,
        order_id: str,  # kept with the payment (as a provider's metadata), for its pages
    ) -> AuthorizationResult: ...

    # `authorization_id` / `capture_id`: the provider's id the service recorded, when it has one
    # (a provider whose requests name the payment by id, like Stripe, needs it; the simulated one
    # finds everything by key). Without it, `void` must still find or tombstone the key.
    def void(
        self, *, idempotency_key: str, authorization_key: str, authorization_id: str | None = None
    ) -> VoidResult: ...

    def capture(
        self,
        *,
        idempotency_key: str,
        authorization_key: str,
        amount: Money,
        authorization_id: str | None = None,
    ) -> CaptureResult: ...

    def refund(
        self,
        *,
        idempotency_key: str,
        capture_key: str,
        amount: Money,
        capture_id: str | None = None,
    ) -> RefundResult: ...

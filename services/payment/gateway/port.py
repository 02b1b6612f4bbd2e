"""The port every payment provider adapter implements.

The logic talks only to this protocol, so a real provider is a new adapter plus one branch in
`gateway.provider_for`, and tests can pass a double.

What an adapter must guarantee:
- `charge` with an idempotency key already used returns the first answer and moves money at most
  once. It raises PaymentDeclinedError when the provider refuses (no money moved), and
  PaymentProviderUnavailableError when the outcome is unknown or retryable (retry, same key).
- `refund` gives back, in full, the charge made with `charge_idempotency_key`, at most once per
  `idempotency_key`. When the provider holds no charge for that key it answers `refunded=False`
  and must not consume `idempotency_key`, so a refund retried after a late charge still refunds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.contracts import Money


@dataclass(frozen=True, slots=True)
class ChargeResult:
    charge_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class RefundResult:
    refunded: bool  # False when the provider holds no charge for the charge key: no money moved
    refund_id: str | None = None


class PaymentProvider(Protocol):
    def charge(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> ChargeResult: ...

    def refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, amount: Money
    ) -> RefundResult: ...

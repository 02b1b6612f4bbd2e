"""Provider doubles: the real simulated provider, with failures or other work slipped in."""

from __future__ import annotations

from collections.abc import Callable

from services.payment.gateway.port import ChargeResult, PaymentProvider, RefundResult
from shared.contracts import Money
from shared.errors import PaymentProviderUnavailableError


class LambdaCrashedError(Exception):
    """Stands for the function dying (timeout, out of memory) between two lines."""


class FlakyProvider:
    """Answers `failures` charges with PaymentProviderUnavailableError, then delegates."""

    def __init__(self, inner: PaymentProvider, failures: int = 1) -> None:
        self.inner = inner
        self.failures = failures
        self.charge_calls = 0

    def charge(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> ChargeResult:
        self.charge_calls += 1
        if self.charge_calls <= self.failures:
            raise PaymentProviderUnavailableError("provider timed out")
        return self.inner.charge(
            idempotency_key=idempotency_key,
            amount=amount,
            payment_token=payment_token,
            customer_id=customer_id,
        )

    def refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, amount: Money
    ) -> RefundResult:
        return self.inner.refund(
            idempotency_key=idempotency_key,
            charge_idempotency_key=charge_idempotency_key,
            amount=amount,
        )


class InterleavingProvider(FlakyProvider):
    """Runs `before` just before the real charge and `after` just after it (once each)."""

    def __init__(
        self,
        inner: PaymentProvider,
        before: Callable[[], object] | None = None,
        after: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(inner, failures=0)
        self.before = before
        self.after = after

    def charge(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> ChargeResult:
        before, self.before = self.before, None
        if before is not None:
            before()
        result = super().charge(
            idempotency_key=idempotency_key,
            amount=amount,
            payment_token=payment_token,
            customer_id=customer_id,
        )
        after, self.after = self.after, None
        if after is not None:
            after()
        return result


def crash() -> None:
    raise LambdaCrashedError("the function died after the provider charged")

"""Provider and ledger doubles: the real simulated provider (or ledger), with failures or other
work slipped in between its steps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal, TypeVar

from services.payment.dal.simulated_ledger import DynamoDBLedger
from services.payment.gateway.ledger import JournalEntry, Operation
from services.payment.gateway.port import (
    AuthorizationResult,
    CaptureResult,
    PaymentProvider,
    RefundResult,
    VoidResult,
)
from shared.contracts import Money
from shared.errors import PaymentProviderUnavailableError

ProviderCall = Literal["authorize", "void", "capture", "refund"]
ResultT = TypeVar("ResultT")


class LambdaCrashedError(Exception):
    """Stands for the function dying (timeout, out of memory) between two lines."""


def crash() -> None:
    raise LambdaCrashedError("the function died after the provider answered")


class DelegatingProvider:
    """Forwards every call to `inner`, counting them per operation; subclasses wrap `_call`."""

    def __init__(self, inner: PaymentProvider) -> None:
        self.inner = inner
        self.calls: list[ProviderCall] = []

    def _call(self, operation: ProviderCall, call: Callable[[], ResultT]) -> ResultT:
        self.calls.append(operation)
        return call()

    def authorize(
        self,
        *,
        idempotency_key: str,
        amount: Money,
        payment_token: str,
        customer_id: str,
        order_id: str,
    ) -> AuthorizationResult:
        return self._call(
            "authorize",
            lambda: self.inner.authorize(
                idempotency_key=idempotency_key,
                amount=amount,
                payment_token=payment_token,
                customer_id=customer_id,
                order_id=order_id,
            ),
        )

    def void(
        self, *, idempotency_key: str, authorization_key: str, authorization_id: str | None = None
    ) -> VoidResult:
        return self._call(
            "void",
            lambda: self.inner.void(
                idempotency_key=idempotency_key,
                authorization_key=authorization_key,
                authorization_id=authorization_id,
            ),
        )

    def capture(
        self,
        *,
        idempotency_key: str,
        authorization_key: str,
        amount: Money,
        authorization_id: str | None = None,
    ) -> CaptureResult:
        return self._call(
            "capture",
            lambda: self.inner.capture(
                idempotency_key=idempotency_key,
                authorization_key=authorization_key,
                amount=amount,
                authorization_id=authorization_id,
            ),
        )

    def refund(
        self,
        *,
        idempotency_key: str,
        capture_key: str,
        amount: Money,
        capture_id: str | None = None,
    ) -> RefundResult:
        return self._call(
            "refund",
            lambda: self.inner.refund(
                idempotency_key=idempotency_key,
                capture_key=capture_key,
                amount=amount,
                capture_id=capture_id,
            ),
        )


class FlakyProvider(DelegatingProvider):
    """Answers the first `failures` calls of `operation` with PaymentProviderUnavailableError
    (without reaching the provider), then delegates."""

    def __init__(
        self, inner: PaymentProvider, operation: ProviderCall = "authorize", failures: int = 1
    ) -> None:
        super().__init__(inner)
        self.operation = operation
        self.failures = failures

    def _call(self, operation: ProviderCall, call: Callable[[], ResultT]) -> ResultT:
        self.calls.append(operation)
        if operation == self.operation and self.calls.count(operation) <= self.failures:
            raise PaymentProviderUnavailableError("provider timed out")
        return call()


class InterleavingProvider(DelegatingProvider):
    """Runs `before` just before the real `operation` and `after` just after it (once each)."""

    def __init__(
        self,
        inner: PaymentProvider,
        operation: ProviderCall = "authorize",
        before: Callable[[], object] | None = None,
        after: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(inner)
        self.operation = operation
        self.before = before
        self.after = after

    def _call(self, operation: ProviderCall, call: Callable[[], ResultT]) -> ResultT:
        self.calls.append(operation)
        if operation != self.operation:
            return call()
        before, self.before = self.before, None
        if before is not None:
            before()
        result = call()
        after, self.after = self.after, None
        if after is not None:
            after()
        return result


class ReadsTooEarly(DynamoDBLedger):
    """Its first read (of `key`, or of any key) happens before another process records the key:
    both miss it, both try to record theirs."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key
        self.missed = False

    def find(self, idempotency_key: str) -> JournalEntry | None:
        if not self.missed and self.key in (None, idempotency_key):
            self.missed = True
            return None
        return super().find(idempotency_key)


class MeetsBeforeSettling(DynamoDBLedger):
    """Waits at `barrier` before its first settle: two processes that both found the same open
    authorization then race for it in the database, at the same moment."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.settles: list[tuple[str, Operation]] = []

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        if not self.settles:
            self.barrier.wait()
        self.settles.append((settled_by, settled_as))
        return super().settle(idempotency_key, settled_by, settled_as)


class DiesAfterSettling(DynamoDBLedger):
    """The process dies once, after settling an entry and before recording its own entry."""

    def __init__(self) -> None:
        self.died = False

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        if entry.parent_key is not None and not self.died:
            self.died = True
            raise LambdaCrashedError(f"the function died before recording its {entry.operation}")
        return super().record_if_new(entry)

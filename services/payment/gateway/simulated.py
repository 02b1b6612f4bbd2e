"""A payment provider that moves no real money, for tests, demos and the local cloud.

Its answers are deterministic: ids are hashes of the idempotency keys and the outcome of a charge
depends only on the test token, so every worker process answers alike. The `journal` records only
operations that would have moved money, once per idempotency key, which is how tests prove "one
charge" and "refunded".
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Literal

from services.payment.gateway.port import ChargeResult, RefundResult
from shared.contracts import Money
from shared.errors import (
    AmountMismatchError,
    IdempotencyConflictError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
)

TOKEN_APPROVED = "tok_visa"
TOKEN_DECLINED = "tok_chargeDeclined"
TOKEN_PROVIDER_DOWN = "tok_providerDown"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    operation: Literal["charge", "refund"]
    idempotency_key: str
    reference: str  # the charge id or refund id handed back
    amount: Money
    charge_idempotency_key: str | None = None  # for a refund: the charge it gave back


def _reference(prefix: str, idempotency_key: str) -> str:
    return prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


class SimulatedPaymentProvider:
    def __init__(self) -> None:
        self.journal: list[JournalEntry] = []
        self._lock = threading.Lock()  # tests may race two calls in threads

    def charge(
        self, *, idempotency_key: str, amount: Money, payment_token: str, customer_id: str
    ) -> ChargeResult:
        with self._lock:
            # Like a real provider, a replayed key gets its approval back whatever the token.
            done = self._find("charge", idempotency_key)
            if done is not None:
                if done.amount != amount:
                    raise IdempotencyConflictError(
                        "charge idempotency key reused with a different amount"
                    )
                return ChargeResult(charge_id=done.reference, amount=done.amount)
            if payment_token == TOKEN_PROVIDER_DOWN:
                raise PaymentProviderUnavailableError("simulated provider is unavailable; retry")
            if payment_token == TOKEN_DECLINED:
                raise PaymentDeclinedError("card declined")
            if payment_token != TOKEN_APPROVED:
                # Never echo the token: messages end up in logs, traces and stored records.
                raise PaymentDeclinedError("unknown test token")
            charge_id = _reference("ch_", idempotency_key)
            self.journal.append(JournalEntry("charge", idempotency_key, charge_id, amount))
            return ChargeResult(charge_id=charge_id, amount=amount)

    def refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, amount: Money
    ) -> RefundResult:
        with self._lock:
            done = self._find("refund", idempotency_key)
            if done is not None:
                if done.charge_idempotency_key != charge_idempotency_key or done.amount != amount:
                    raise IdempotencyConflictError(
                        "refund idempotency key reused for a different charge or amount"
                    )
                return RefundResult(refunded=True, refund_id=done.reference)
            charge = self._find("charge", charge_idempotency_key)
            if charge is None:
                # Nothing to give back. Not journaled, so the same key still refunds a late charge.
                return RefundResult(refunded=False)
            if charge.amount != amount:
                raise AmountMismatchError("a refund must give back the whole charge")
            refund_id = _reference("re_", idempotency_key)
            self.journal.append(
                JournalEntry("refund", idempotency_key, refund_id, amount, charge_idempotency_key)
            )
            return RefundResult(refunded=True, refund_id=refund_id)

    def _find(self, operation: str, idempotency_key: str) -> JournalEntry | None:
        return next(
            (
                entry
                for entry in self.journal
                if entry.operation == operation and entry.idempotency_key == idempotency_key
            ),
            None,
        )

"""The simulated provider's ledger in DynamoDB, shared by every function of the payment service.

Entries are written with a conditional put, so of two processes recording the same idempotency key
exactly one wins, and read with strongly consistent gets, so a refund sees a charge made a moment
ago by another function.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast

from services.payment.dal.records import SimulatedLedgerRecord
from services.payment.models import JournalEntry
from shared.contracts import Money
from shared.dynamodb import dynamodb_errors, get_or_none, save_if_new
from shared.errors import DependencyUnavailableError


def _to_entry(record: SimulatedLedgerRecord) -> JournalEntry:
    if record.operation not in ("charge", "refund"):
        raise ValueError(f"ledger entry {record.idempotency_key} has operation {record.operation}")
    return JournalEntry(
        operation=cast(Literal["charge", "refund"], record.operation),
        idempotency_key=record.idempotency_key,
        reference=record.reference,
        amount=Money(amount=int(record.amount), currency=record.currency),
        charge_idempotency_key=record.charge_idempotency_key,
    )


class DynamoDBLedger:
    """Implements `gateway.ledger.Ledger` on the table bound to SimulatedLedgerRecord."""

    def find(self, idempotency_key: str) -> JournalEntry | None:
        record = get_or_none(SimulatedLedgerRecord, idempotency_key)
        return _to_entry(record) if record is not None else None

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        record = SimulatedLedgerRecord(
            idempotency_key=entry.idempotency_key,
            operation=entry.operation,
            reference=entry.reference,
            amount=entry.amount.amount,
            currency=entry.amount.currency,
            charge_idempotency_key=entry.charge_idempotency_key,
            created_at=datetime.now(UTC),
        )
        if save_if_new(record, "simulated provider ledger entry"):
            return entry
        kept = self.find(entry.idempotency_key)
        if kept is None:  # entries are never deleted; only an operator could have done this
            raise DependencyUnavailableError(
                f"ledger entry {entry.idempotency_key} exists and then does not; retry"
            )
        return kept

    def entries(self) -> list[JournalEntry]:
        with dynamodb_errors("Scan simulated provider ledger"):
            records = list(SimulatedLedgerRecord.scan(consistent_read=True))
        # A scan has no order; recording order is what readers expect (a charge before its refund).
        records.sort(key=lambda r: (r.created_at, r.operation != "charge", r.idempotency_key))
        return [_to_entry(record) for record in records]

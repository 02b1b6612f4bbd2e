"""The simulated provider's ledger in DynamoDB, shared by every function of the payment service.

Entries are written with a conditional put, so of two processes recording the same idempotency key
exactly one wins; settled with a conditional update, so of a capture and a void racing for one
authorization exactly one wins; and read with strongly consistent gets, so a capture sees an
authorization made a moment ago by another function.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from services.payment.dal.records import SimulatedLedgerRecord
from services.payment.models import Approval, JournalEntry, Operation
from shared.contracts import stored_money
from shared.dynamodb import dynamodb_errors, get_or_none, save_if_new, update_if
from shared.errors import DependencyUnavailableError

_OPERATIONS: tuple[Operation, ...] = get_args(Operation)
_APPROVALS: tuple[Approval, ...] = get_args(Approval)


def _approval(value: str | None, key: str) -> Approval | None:
    if value is None:
        return None
    for approval in _APPROVALS:
        if value == approval:
            return approval
    raise ValueError(f"ledger entry {key} has an unknown approval {value!r}")


def _operation(value: str | None, key: str) -> Operation:
    for operation in _OPERATIONS:
        if value == operation:
            return operation
    raise ValueError(f"ledger entry {key} names an unknown operation {value!r}")


def _to_entry(record: SimulatedLedgerRecord) -> JournalEntry:
    key = record.idempotency_key
    return JournalEntry(
        operation=_operation(record.operation, key),
        idempotency_key=key,
        reference=record.reference,
        amount=stored_money(record.amount, record.currency),
        parent_key=record.parent_key,
        settled_by=record.settled_by,
        settled_as=_operation(record.settled_as, key) if record.settled_as else None,
        approval=_approval(record.approval, key),
    )


class DynamoDBLedger:
    """Implements `gateway.ledger.Ledger` on the table bound to SimulatedLedgerRecord."""

    def find(self, idempotency_key: str) -> JournalEntry | None:
        record = get_or_none(SimulatedLedgerRecord, idempotency_key)
        return _to_entry(record) if record is not None else None

    def _kept(self, idempotency_key: str) -> JournalEntry:
        kept = self.find(idempotency_key)
        if kept is None:  # entries are never deleted; only an operator could have done this
            raise DependencyUnavailableError(
                f"ledger entry {idempotency_key} exists and then does not; retry"
            )
        return kept

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        record = SimulatedLedgerRecord(
            idempotency_key=entry.idempotency_key,
            operation=entry.operation,
            reference=entry.reference,
            amount=entry.amount.amount if entry.amount else None,
            currency=entry.amount.currency if entry.amount else None,
            parent_key=entry.parent_key,
            approval=entry.approval,
            created_at=datetime.now(UTC),
        )
        if save_if_new(record, "simulated provider ledger entry"):
            return entry
        return self._kept(entry.idempotency_key)

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        record = SimulatedLedgerRecord(idempotency_key=idempotency_key)
        # An update never creates an item: the condition on an attribute of a missing item fails.
        condition = SimulatedLedgerRecord.operation.exists() & (
            SimulatedLedgerRecord.settled_by.does_not_exist()
            | (SimulatedLedgerRecord.settled_by == settled_by)
        )
        update_if(
            record,
            condition,
            [
                SimulatedLedgerRecord.settled_by.set(settled_by),
                SimulatedLedgerRecord.settled_as.set(settled_as),
            ],
            "settle simulated provider ledger entry",
        )
        return self._kept(idempotency_key)  # whoever won, as stored

    def answer(self, idempotency_key: str, approval: Approval) -> JournalEntry:
        record = SimulatedLedgerRecord(idempotency_key=idempotency_key)
        # Only while it awaits the customer and nothing settled it: a void cancels the approval.
        condition = (SimulatedLedgerRecord.approval == "required") & (
            SimulatedLedgerRecord.settled_by.does_not_exist()
        )
        update_if(
            record,
            condition,
            [SimulatedLedgerRecord.approval.set(approval)],
            "answer simulated provider approval",
        )
        return self._kept(idempotency_key)  # answered now or before, or voided: as stored

    def entries(self) -> list[JournalEntry]:
        with dynamodb_errors("Scan simulated provider ledger"):
            records = list(SimulatedLedgerRecord.scan(consistent_read=True))
        # A scan has no order; recording order is what readers expect (a hold before its capture).
        entries = [(record.created_at, _to_entry(record)) for record in records]
        entries.sort(key=lambda e: (e[0], _OPERATIONS.index(e[1].operation), e[1].reference))
        return [entry for _, entry in entries]

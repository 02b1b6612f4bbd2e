"""Where the simulated provider keeps its ledger: what it did, once per idempotency key.

A real provider keeps this on its side; the simulated one must keep it where every function of the
payment service sees it (authorize, capture and void run in different processes), so the functions
use the DynamoDB ledger in `dal.simulated_ledger`. `InMemoryLedger` is for unit tests.

What a ledger must guarantee:
- `record_if_new` is atomic: of two entries recorded under the same key (two processes racing),
  exactly one is kept, and both callers get that one back;
- `settle` is atomic: an authorization (or a capture) is settled by one key only, whoever asks
  first; asking again with that key succeeds again (a retry after a crash);
- `answer` is atomic against `settle`: an authorization that awaits the customer is either
  answered or voided first, never both.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Protocol

from services.payment.models import Approval, JournalEntry, Operation

__all__ = ["Approval", "InMemoryLedger", "JournalEntry", "Ledger", "Operation"]


class Ledger(Protocol):
    def find(self, idempotency_key: str) -> JournalEntry | None:
        """The entry recorded under the key, read consistently; None when there is none."""
        ...

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        """Record `entry` unless its key is taken; return the entry kept under the key."""
        ...

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        """Mark the entry under `idempotency_key` settled by `settled_by` (a `settled_as`) unless
        another key settled it first; return the entry as kept, whoever settled it. The entry
        must exist."""
        ...

    def answer(self, idempotency_key: str, approval: Approval) -> JournalEntry:
        """Record the customer's answer on an authorization that awaits it, unless it was
        answered or settled (voided) first; return the entry as kept. The entry must exist."""
        ...

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first (for tests and operators, not for the functions)."""
        ...


class InMemoryLedger:
    """A ledger that lives as long as the object: one process only."""

    def __init__(self) -> None:
        self._entries: dict[str, JournalEntry] = {}  # insertion order is recording order
        self._lock = threading.Lock()  # tests may race two calls in threads

    def find(self, idempotency_key: str) -> JournalEntry | None:
        with self._lock:
            return self._entries.get(idempotency_key)

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        with self._lock:
            return self._entries.setdefault(entry.idempotency_key, entry)

    def settle(self, idempotency_key: str, settled_by: str, settled_as: Operation) -> JournalEntry:
        with self._lock:
            entry = self._entries[idempotency_key]
            if entry.settled_by is None:
                entry = dataclasses.replace(entry, settled_by=settled_by, settled_as=settled_as)
                self._entries[idempotency_key] = entry
            return entry

    def answer(self, idempotency_key: str, approval: Approval) -> JournalEntry:
        with self._lock:
            entry = self._entries[idempotency_key]
            if entry.awaits_approval and entry.settled_by is None:
                entry = dataclasses.replace(entry, approval=approval)
                self._entries[idempotency_key] = entry
            return entry

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries.values())

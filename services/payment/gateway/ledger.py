"""Where the simulated provider keeps its ledger: the money it moved, once per idempotency key.

A real provider keeps this on its side; the simulated one must keep it where every function of the
payment service sees it (charge and refund run in different processes), so the functions use the
DynamoDB ledger in `dal.simulated_ledger`. `InMemoryLedger` is for unit tests of the provider.

What a ledger must guarantee: `record_if_new` is atomic. Of two entries recorded under the same key
(two processes racing), exactly one is kept, and both callers get that one back.
"""

from __future__ import annotations

import threading
from typing import Protocol

from services.payment.models import JournalEntry

__all__ = ["InMemoryLedger", "JournalEntry", "Ledger"]


class Ledger(Protocol):
    def find(self, idempotency_key: str) -> JournalEntry | None:
        """The entry recorded under the key, read consistently; None when there is none."""
        ...

    def record_if_new(self, entry: JournalEntry) -> JournalEntry:
        """Record `entry` unless its key is taken; return the entry kept under the key."""
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

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries.values())

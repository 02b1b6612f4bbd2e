"""Fault schedules: the faults a test, a demo or an operator asks the saga to suffer.

A schedule names, per operation, how it fails and for how many attempts:

    payment.authorize=crash_after_commit; inventory.release=transient*3; order.confirm=timeout

- `business`            the operation refuses (InjectedFaultError): the saga compensates. A bare
                        operation (`order.confirm`) means this, on every attempt.
- `transient*k`         it fails k times with a transient error, then succeeds.
- `timeout*k`           its work lands, then it hangs past the function's Timeout (the caller sees
                        Sandbox.Timedout, the hardest timeout: the write happened, the answer never
                        came).
- `crash_before_commit*k` the process dies before the operation writes anything.
- `crash_after_commit*k`  the process dies after its writes landed, before it answers.
- `duplicate*k`         the operation is delivered twice; the second answer is returned.

Every kind but `business` applies to the first k attempts (k = 1 when left out), counted by the
attempt number the state machine passes (`$$.State.RetryCount`), so retries and a recovery
execution see the fault end. Faults are honoured only outside production stages (the settings
decide; see `shared.settings`). The execution input carries the schedule in its canonical text
form, and every task parses it again: one grammar, one parser, everywhere.

How a process dies or hangs is behind `effects`, so the in-process saga tests swap a real
`os.kill` for an exception their Lambda stand-in reports as Lambda would.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

MAX_COUNT = 20  # more than any retry policy allows: "fails every time" needs no larger number
MAX_SCHEDULE_LENGTH = 512


class FaultKind(StrEnum):
    BUSINESS = "business"
    TRANSIENT = "transient"
    TIMEOUT = "timeout"
    CRASH_BEFORE_COMMIT = "crash_before_commit"
    CRASH_AFTER_COMMIT = "crash_after_commit"
    DUPLICATE = "duplicate"


class FaultScheduleError(ValueError):
    """The schedule cannot be read; the message names the entry and the problem."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    count: int | None  # attempts it applies to; None: every attempt (business only, by default)

    def applies(self, attempt: int) -> bool:
        return self.count is None or attempt < self.count

    def __str__(self) -> str:
        return self.kind.value if self.count is None else f"{self.kind.value}*{self.count}"


_ENTRY = re.compile(
    r"^(?P<operation>[a-z_]+\.[a-z_]+)(?:=(?P<kind>[a-z_]+)(?:\*(?P<count>\d+))?)?$"
)


def parse_schedule(text: str, operations: Collection[str] | None = None) -> dict[str, Fault]:
    """`op[=kind[*k]]; ...` as operation -> Fault; FaultScheduleError names what is wrong.

    `operations`: the ones that exist (the saga specification's; the API checks against it), or
    None to check the grammar only (a task needs only its own operation's fault).
    """
    if len(text) > MAX_SCHEDULE_LENGTH:
        raise FaultScheduleError(f"the schedule is longer than {MAX_SCHEDULE_LENGTH} characters")
    schedule: dict[str, Fault] = {}
    entries = [entry.strip() for entry in text.split(";")]
    if not any(entries):
        raise FaultScheduleError("the schedule names no operation")
    for entry in entries:
        if not entry:
            continue  # a trailing ';' is harmless
        compact = re.sub(r"\s*([=*])\s*", r"\1", entry)
        matched = _ENTRY.match(compact)
        if matched is None:
            raise FaultScheduleError(f"{entry!r} is not '<service>.<operation>[=<kind>[*<count>]]'")
        operation = matched["operation"]
        if operations is not None and operation not in operations:
            raise FaultScheduleError(
                f"unknown operation {operation!r}; known: {', '.join(operations)}"
            )
        if operation in schedule:
            raise FaultScheduleError(f"{operation} is scheduled twice")
        schedule[operation] = _fault(entry, matched["kind"], matched["count"])
    return schedule


def _fault(entry: str, kind_name: str | None, count_text: str | None) -> Fault:
    try:
        kind = FaultKind(kind_name or FaultKind.BUSINESS)
    except ValueError:
        raise FaultScheduleError(
            f"{entry!r}: unknown kind {kind_name!r}; known: {', '.join(k.value for k in FaultKind)}"
        ) from None
    if count_text is None:
        return Fault(kind, None if kind is FaultKind.BUSINESS else 1)
    count = int(count_text)
    if not 1 <= count <= MAX_COUNT:
        raise FaultScheduleError(f"{entry!r}: the count must be between 1 and {MAX_COUNT}")
    return Fault(kind, count)


def schedule_pattern(operations: Collection[str]) -> str:
    """The grammar as one regular expression (ECMA-262 and Python alike), for the API's OpenAPI
    document: entries separated by "; ", each operation once (a negative lookahead refuses a
    repeated one), counts 1-20. The parser also takes spaces around "=", "*" and ";"; the
    document declares the canonical spelling only, so whatever it allows the API accepts."""
    names = "|".join(re.escape(operation) for operation in operations)
    kinds = "|".join(kind.value for kind in FaultKind)
    counts = "|".join(str(n) for n in range(MAX_COUNT, 0, -1))
    entry = f"(?:{names})(?:=(?:{kinds})(?:\\*(?:{counts}))?)?"
    repeated = f"(?!.*\\b({names})\\b.*\\b\\1\\b)"
    return f"^{repeated}{entry}(?:; {entry})*$"


def canonical(schedule: dict[str, Fault]) -> str:
    """The one text form of a schedule (operations sorted), as executions carry it."""
    return "; ".join(f"{op}={schedule[op]}" for op in sorted(schedule))


def normalize(text: str, operations: Collection[str] | None = None) -> str:
    """Parse and print again: how the API stores a schedule it accepted."""
    return canonical(parse_schedule(text, operations))


class ProcessEffects(Protocol):
    def crash(self) -> None: ...

    def hang(self, context: Any) -> None: ...


class _RealProcess:
    """What a fault does to a real execution environment (Lambda, or a local worker)."""

    def crash(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # as an out-of-memory kill: no answer, no cleanup

    def hang(self, context: Any) -> None:
        remaining_ms = context.get_remaining_time_in_millis() if context is not None else 0
        time.sleep(remaining_ms / 1000 + 5)  # Lambda (or the local runtime) ends us first


effects: ProcessEffects = _RealProcess()

"""Turn a saga execution's history into the steps a person reads (status API, demo, trace)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from orchestration.api.models import CheckoutStep
from orchestration.steps import STEPS

_FAILED = {"TaskFailed", "TaskTimedOut", "TaskSubmitFailed", "TaskStartFailed"}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _millis(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() * 1000)


class _OpenStep:
    def __init__(self, state: str, started: datetime, execution: str) -> None:
        self.state = state
        self.execution = execution
        self.started = started
        self.attempts = 0
        self.error: str | None = None
        self.last_result: str | None = None

    def see(self, event: dict[str, Any]) -> bool:
        """Take in one event of this state; True when it left the state."""
        kind = event["type"]
        if kind == "TaskScheduled":
            self.attempts += 1
        elif kind == "TaskSucceeded":
            self.last_result = "ok"
        elif kind in _FAILED:
            details: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            self.last_result = "error"
            self.error = details.get("error") or kind
        return bool(kind.endswith("StateExited"))

    def close(self, ended: datetime | None, *, running: bool = False) -> CheckoutStep:
        info = STEPS[self.state]
        outcome = "running" if running else "succeeded" if self.last_result == "ok" else "failed"
        return CheckoutStep(
            execution=self.execution,
            state=self.state,
            operation=info.label,
            phase=info.phase.value,
            outcome=outcome,
            attempts=self.attempts,
            started_at=_iso(self.started),
            duration_ms=_millis(self.started, ended) if ended else None,
            error=self.error if outcome != "succeeded" or self.attempts > 1 else None,
        )


def steps_from_history(
    events: list[dict[str, Any]], *, running: bool, execution: str = ""
) -> list[CheckoutStep]:
    """One entry per Task state entered, in order, with attempts, duration and last error."""
    steps: list[CheckoutStep] = []
    current: _OpenStep | None = None
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            if current is not None:  # a Catch left the state without an exit event
                steps.append(current.close(event["timestamp"]))
                current = None
            if entered["name"] in STEPS:
                current = _OpenStep(entered["name"], event["timestamp"], execution)
            continue
        if current is not None and current.see(event):
            steps.append(current.close(event["timestamp"]))
            current = None
    if current is not None:
        steps.append(current.close(None, running=running))
    return steps


def state_input(events: list[dict[str, Any]], state: str) -> dict[str, Any] | None:
    """The input of the last entry into `state`, as data."""
    for event in reversed(events):
        entered = event.get("stateEnteredEventDetails")
        if entered is not None and entered["name"] == state and entered.get("input"):
            parsed: dict[str, Any] = json.loads(entered["input"])
            return parsed
    return None


def last_entered_state(events: list[dict[str, Any]]) -> str | None:
    """The state the execution was in when it ended (the last one it entered)."""
    for event in reversed(events):
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            name: str = entered["name"]
            return name
    return None

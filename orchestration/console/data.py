"""What the console shows, read from Step Functions (and X-Ray): the same reads on AWS as locally.

A checkout is its saga execution (named after the order) and any recovery executions
(`<order_id>--r<n>`); the newest says where it stands. Only AWS read APIs are called, so the
console is read-only wherever it points.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration.api.models import CheckoutStep
from orchestration.history import steps_from_history
from orchestration.money import money_text
from orchestration.recovery import PARKED_ERROR, describer, execution_chain
from orchestration.steps import STEPS, label_of
from orchestration.tracing import find_checkout_traces, render
from shared.observability import Phase

RECOVERY = re.compile(r"^(?P<order>.+)--r(?P<n>\d+)$")
FILTERS = {
    "confirmed": {"CONFIRMED"},
    "cancelled": {"CANCELLED"},
    "failed": {"FAILED", "DIED"},
    "running": {"RUNNING"},
}


@dataclass(frozen=True)
class CheckoutRow:
    order_id: str
    status: str  # CONFIRMED | CANCELLED | FAILED (parked) | RUNNING | DIED (a recovery is due)
    reason: str
    total: str
    started_at: datetime
    duration_ms: int | None


@dataclass
class CheckoutDetail:
    row: CheckoutRow
    steps: list[CheckoutStep]
    marks: dict[str, str]  # state -> done | failed | compensated | retried | running
    cause: str | None  # the error of the first step that failed
    compensations: list[tuple[str, str]]  # (operation, what it did)
    trace: str | None
    executions: list[str] = field(default_factory=list)
    transitions: set[tuple[str, str]] = field(default_factory=set)  # (from, to) as taken
    rolled_back: bool = False  # a compensation ran: the cause started the rollback


def _status(described: dict[str, Any], parked: dict[str, Any] | None) -> tuple[str, str]:
    """The checkout's status and reason by its newest execution, and its parked record."""
    status = described["status"]
    output = json.loads(described.get("output") or "{}")
    if status == "RUNNING":
        return "RUNNING", ""
    if status == "SUCCEEDED":
        cancellation = output.get("cancellation") if isinstance(output, dict) else None
        if isinstance(cancellation, dict):
            return "CANCELLED", str(cancellation.get("reason") or "")
        return "CONFIRMED", ""
    if parked is not None:  # parked by the saga, or by the reconciler after the execution died
        return "FAILED", f"parked at {parked['stuck_step']} ({parked['error']})"
    if described.get("error") == PARKED_ERROR:
        return "FAILED", str(described.get("cause") or "parked for an operator")
    return "DIED", f"execution {status.lower()}: the reconciler resumes it"


def _row(
    first: dict[str, Any], newest: dict[str, Any], parked: dict[str, Any] | None = None
) -> CheckoutRow:
    status, reason = _status(newest, parked)
    data = json.loads(newest.get("output") or first.get("input") or "{}")
    total = data.get("reservation", {}).get("total") if isinstance(data, dict) else None
    started = first["startDate"]
    stopped = newest.get("stopDate")
    return CheckoutRow(
        order_id=first["name"],
        status=status,
        reason=reason,
        total=money_text(total),
        started_at=started,
        duration_ms=int((stopped - started) / timedelta(milliseconds=1)) if stopped else None,
    )


def recent_checkouts(
    sfn: Any,
    state_machine_arn: str,
    limit: int = 50,
    parked: dict[str, dict[str, Any]] | None = None,
) -> list[CheckoutRow]:
    """The newest checkouts, newest first (one row per order, its recoveries folded in).

    Lists up to three pages' worth of executions, groups them by order, keeps the `limit`
    newest orders, and describes only those: one DescribeExecution per row (two for an order
    with a recovery). `parked` (order id -> its parked record) marks the parked ones FAILED."""
    listed: list[dict[str, Any]] = []
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn, PaginationConfig={
        "MaxItems": limit * 3, "PageSize": 100,
    }):  # fmt: skip
        listed.extend(page["executions"])
    by_order: dict[str, list[dict[str, Any]]] = {}
    for execution in listed:
        match = RECOVERY.match(execution["name"])
        by_order.setdefault(match["order"] if match else execution["name"], []).append(execution)
    orders = []
    for order_id, executions in by_order.items():
        executions.sort(key=lambda e: e["startDate"])
        if executions[0]["name"] == order_id:  # else its saga execution is older than the read
            orders.append((order_id, executions))
    orders.sort(key=lambda order: order[1][0]["startDate"], reverse=True)
    rows = []
    for order_id, executions in orders[:limit]:
        first = sfn.describe_execution(executionArn=executions[0]["executionArn"])
        newest = (
            first if len(executions) == 1
            else sfn.describe_execution(executionArn=executions[-1]["executionArn"])
        )  # fmt: skip
        rows.append(_row(first, newest, (parked or {}).get(order_id)))
    return rows


def _marks(steps: list[CheckoutStep], entered: list[str]) -> dict[str, str]:
    marks = dict.fromkeys(entered, "done")
    for step in steps:
        phase = STEPS[step.state].phase if step.state in STEPS else None
        if step.outcome == "running":
            mark = "running"
        elif step.outcome == "failed":
            mark = "failed"
        elif phase is Phase.COMPENSATION:
            mark = "compensated"
        elif step.attempts > 1:
            mark = "retried"
        else:
            mark = "done"
        if marks.get(step.state) != "failed":  # a failure stays visible after a later retry
            marks[step.state] = mark
    return marks


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if "stateEnteredEventDetails" in event
    ]


def _compensation_results(
    events: list[dict[str, Any]], definition: dict[str, Any]
) -> list[tuple[str, str]]:
    """What each compensation reported, in the order they ran: its result in the state data."""
    results = []
    for event in events:
        exited = event.get("stateExitedEventDetails")
        if exited is None or exited["name"] not in STEPS:
            continue
        if STEPS[exited["name"]].phase is not Phase.COMPENSATION:
            continue
        path = str(definition["States"][exited["name"]].get("ResultPath") or "")
        output = json.loads(exited.get("output") or "{}")
        result = output.get(path.removeprefix("$."), {}) if path.startswith("$.") else output
        status = result.get("status") if isinstance(result, dict) else result
        results.append((label_of(exited["name"]), str(status or "done")))
    return results


def checkout_detail(
    sfn: Any,
    xray: Any | None,
    state_machine_arn: str,
    order_id: str,
    definition: dict[str, Any],
    *,
    trace_filter: bool = True,  # False on the local cloud, whose X-Ray is scanned
    parked: dict[str, Any] | None = None,  # its parked record, if it is parked
) -> CheckoutDetail | None:
    """One checkout: every execution's steps, the graph's marks, the cause, the trace."""
    chain = execution_chain(describer(sfn), state_machine_arn, order_id)
    if not chain:
        return None
    steps: list[CheckoutStep] = []
    entered: list[str] = []
    compensations: list[tuple[str, str]] = []
    transitions: set[tuple[str, str]] = set()
    for described in chain:
        events = _history(sfn, described["executionArn"])
        running = described["status"] == "RUNNING"
        steps += steps_from_history(events, running=running, execution=described["name"])
        names = _entered(events)
        entered += names
        transitions |= set(itertools.pairwise(names))
        compensations += _compensation_results(events, definition)
    cause = next((step.error for step in steps if step.outcome == "failed" and step.error), None)
    return CheckoutDetail(
        row=_row(chain[0], chain[-1], parked),
        steps=steps,
        marks=_marks(steps, entered),
        cause=cause,
        compensations=compensations,
        trace=_trace(xray, order_id, chain[0]["startDate"], trace_filter),
        executions=[described["name"] for described in chain],
        transitions=transitions,
        rolled_back=bool(compensations),
    )


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def _trace(xray: Any | None, order_id: str, started: datetime, use_filter: bool) -> str | None:
    """The X-Ray tree as `checkout trace` prints it; None when X-Ray has none (sampled out)."""
    if xray is None:
        return None
    try:
        since = datetime.now(UTC) - started + timedelta(minutes=5)
        traces = find_checkout_traces(xray, order_id, since=since, use_filter=use_filter)
    except Exception:  # X-Ray unreachable or not permitted: the history still answers
        return None
    return "\n\n".join(render(trace) for trace in traces) or None

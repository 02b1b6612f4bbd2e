"""What to do with a checkout whose saga execution died: the reconciler's decision, as data.

Step Functions guarantees the steps, not that an execution reaches an ending: it can be stopped,
time out, or fail with `States.Runtime`. Such an execution leaves its order wherever it was. A
recovery is a new execution of the same state machine for the same order, started with the dead
execution's last state and `recovery.resume` set to a lane (`orchestration.steps.Lane`), so the
rollback gets the saga's own retries, parking, events, tracing and history:

- died before the pivot was scheduled → `compensate`: every compensation, newest first (each is a
  no-op plus tombstone for an action that never happened, which also refuses one still in flight);
- the pivot was scheduled → `confirm`: the confirmation again (idempotent): confirmed → publish;
  refused before writing → roll back; still unknown → park. Never a void of a confirmed order;
- died while parking → `park`: record, metric and event again.

Recoveries are named `<order_id>--r<n>`, and the n-th is always the recovery of the (n-1)-th (the
original is n = 0), so the same dead execution always yields the same name and input: starting it
twice is refused by Step Functions (or returns the running one), and a reconciler that runs twice,
or concurrently, starts one recovery. This module is pure: it reads descriptions and histories and
returns a plan; `orchestration.reconciler` carries plans out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.history import last_entered_state, state_input
from orchestration.spec import SAGA
from orchestration.steps import RESUME_LANE, RETRY_LANE, Lane

RECOVERY_MARK = "--r"
MAX_AUTOMATIC_RECOVERIES = 3  # then the reconciler parks the order itself
PARKED_ERROR = "CheckoutParkedForOperator"  # the Fail state's error: parked, nothing to repair
CLOSED_UNFINISHED = ("FAILED", "TIMED_OUT", "ABORTED")
RECONCILER_STEP = "reconciler"  # stuck_step of an order the reconciler parked itself


def execution_name(order_id: str, recovery: int = 0) -> str:
    return order_id if recovery == 0 else f"{order_id}{RECOVERY_MARK}{recovery}"


def parse_execution_name(name: str) -> tuple[str, int]:
    """(order id, recovery number) of an execution name; 0 for the checkout's own execution."""
    order_id, mark, number = name.rpartition(RECOVERY_MARK)
    if mark and number.isdigit() and order_id:
        return order_id, int(number)
    return name, 0


def execution_chain(
    describe: Callable[[str], dict[str, Any] | None], state_machine_arn: str, order_id: str
) -> list[dict[str, Any]]:
    """The order's executions, described, in order: its saga, then each recovery (or retry).

    Only an execution that closed unfinished can have a successor, so a checkout that succeeded
    or still runs costs one DescribeExecution.
    """
    chain: list[dict[str, Any]] = []
    prefix = state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    while not chain or chain[-1]["status"] in CLOSED_UNFINISHED:
        described = describe(f"{prefix}:{execution_name(order_id, len(chain))}")
        if described is None:
            break
        chain.append(described)
    return chain


def describer(sfn: Any) -> Callable[[str], dict[str, Any] | None]:
    """DescribeExecution with a boto3 Step Functions client: None for an execution that is not."""

    def describe(arn: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            return None
        return described

    return describe


def recovery_of(described: dict[str, Any]) -> dict[str, Any] | None:
    """What a recovery execution was started for (`recovery` of its input), None for a saga."""
    recovery = _execution_input(described).get("recovery")
    if not isinstance(recovery, dict) or recovery.get("resume", Lane.FORWARD) == Lane.FORWARD:
        return None
    return recovery


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class StartRecovery:
    order_id: str
    name: str
    lane: Lane
    input: str  # canonical JSON: the same dead execution always gives the same text
    reason: str


@dataclass(frozen=True)
class ParkOrder:
    """Recoveries kept dying: park the order for an operator without another execution."""

    order_id: str
    state: dict[str, Any]
    execution_arn: str
    reason: str


Plan = Skip | StartRecovery | ParkOrder


def plan(described: dict[str, Any], events: list[dict[str, Any]]) -> Plan:
    """The reconciler's decision for one execution (DescribeExecution + its history)."""
    status = described["status"]
    if status not in CLOSED_UNFINISHED:
        return Skip(f"the execution is {status}")
    if status == "FAILED" and described.get("error") == PARKED_ERROR:
        return Skip("the checkout is parked for an operator")
    order_id, number = parse_execution_name(described["name"])
    lane, state, where = _resume_point(described, events)
    reason = _why(described, where)
    if number + 1 > MAX_AUTOMATIC_RECOVERIES:
        return ParkOrder(
            order_id,
            state,
            described["executionArn"],
            f"{number} recoveries of the checkout did not finish; the last {reason}",
        )
    return _start(order_id, number + 1, lane, state, described, reason)


def plan_retry(
    parked: dict[str, Any],
    described: dict[str, Any],
    events: list[dict[str, Any]],
    number: int,
    reason: str | None = None,
) -> StartRecovery:
    """An operator's retry of a parked checkout, as recovery number `number` (`reason`: what the
    operator did, for a resolve)."""
    order_id = parse_execution_name(described["name"])[0]
    stuck_step = parked["stuck_step"]
    if described["status"] == "FAILED" and described.get("error") == PARKED_ERROR:
        lane = RETRY_LANE[stuck_step]
        state = state_input(events, "ParkCheckout") or _execution_input(described)
        said = f"an operator retried the checkout parked at {stuck_step}"
    else:  # parked by the reconciler after its recoveries died: resume where the last one was
        lane, state, where = _resume_point(described, events)
        said = f"an operator retried the checkout; the last execution {_why(described, where)}"
    # A retry means the cause was dealt with: faults injected into the checkout are not replayed.
    return _start(order_id, number, lane, {**state, "fault": None}, described, reason or said)


def _start(
    order_id: str,
    number: int,
    lane: Lane,
    state: dict[str, Any],
    described: dict[str, Any],
    reason: str,
) -> StartRecovery:
    resumed = SAGA.execution_input(state)  # a complete input, whatever the dead one lacked
    if lane is Lane.COMPENSATE and not resumed.get("failure"):
        resumed["failure"] = {"Error": _abandoned_error(described), "Cause": reason}
    resumed["recovery"] = {
        "resume": lane.value,
        "after": described["name"],
        "number": number,
        "reason": reason,
    }
    name = execution_name(order_id, number)
    return StartRecovery(order_id, name, lane, json.dumps(resumed, sort_keys=True), reason)


def _resume_point(
    described: dict[str, Any], events: list[dict[str, Any]]
) -> tuple[Lane, dict[str, Any], str | None]:
    """The lane, the state to resume with, and the state the execution died in."""
    where = last_entered_state(events)
    lane = RESUME_LANE.get(where) if where is not None else None
    own = _execution_input(described)
    if where is not None and where not in RESUME_LANE and _entered(events, SAGA.pivot.state):
        # A state no definition of ours names, after the pivot was scheduled: the order may be
        # confirmed, so finish it forward (or park); never roll it back blindly.
        lane = Lane.CONFIRM
    if lane is None:  # it died before its own lane began
        started_for = Lane((own.get("recovery") or {}).get("resume", Lane.FORWARD))
        lane = Lane.COMPENSATE if started_for is Lane.FORWARD else started_for
        return lane, state_input(events, "RouteCheckout") or own, where
    if lane is Lane.CONFIRM:  # resume at the pivot, with the state it was given
        return lane, state_input(events, "ConfirmOrder") or own, where
    assert where is not None
    return lane, state_input(events, where) or own, where


def _entered(events: list[dict[str, Any]], state: str) -> bool:
    return any(
        (event.get("stateEnteredEventDetails") or {}).get("name") == state for event in events
    )


def _execution_input(described: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(described.get("input") or "{}")
    return loaded


def _why(described: dict[str, Any], where: str | None) -> str:
    said = f"execution {described['name']} ended {described['status']} in {where or 'its start'}"
    error, cause = described.get("error"), _message(described.get("cause"))
    if error and cause:
        return f"{said} ({error}: {cause})"
    return f"{said} ({error})" if error else said


def _message(cause: str | None) -> str | None:
    """A Lambda error's cause is its JSON report; the message is what a person needs."""
    try:
        report = json.loads(cause or "")
    except ValueError:
        return cause
    message = report.get("errorMessage") if isinstance(report, dict) else None
    return str(message) if message else cause


def _abandoned_error(described: dict[str, Any]) -> str:
    """The reason code an order rolled back by the reconciler carries."""
    status = described["status"]
    if status == "ABORTED":
        return "ExecutionAborted"
    if status == "TIMED_OUT":
        return "ExecutionTimedOut"
    return str(described.get("error") or "ExecutionFailed")

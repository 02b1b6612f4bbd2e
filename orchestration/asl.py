"""Generate the ASL file from the saga specification (`orchestration/spec.py`).

    python -m orchestration.asl          # rewrite orchestration/checkout_saga.asl.json
    make generate                        # this, the diagram, and every other generated file

What a hand-written definition can forget, generation does for every step: each compensatable
step gets its compensation in the rollback (newest first), a `<Compensation>Stuck` state that
parks the checkout, a default for its result so later paths exist, and a place in the parked
record; the pivot rolls back only the errors it raises before writing and parks an unknown
outcome; a retriable step after the pivot is retried long and parks. `check` proves that every
JSONPath the parking and the events read exists on every path into them.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from orchestration.spec import (
    ACTION_RETRY,
    BOOKKEEPING_RETRY,
    FINISH_RETRY,
    SAGA,
    THROTTLE_RETRY,
    Approval,
    Event,
    Operation,
    RetryProfile,
    Saga,
    Step,
    StepKind,
    function_placeholder,
    state_name,
)

LAMBDA = "arn:aws:states:::lambda:invoke"
ROUTE, INCOMPLETE = "RouteCheckout", "CheckoutInputIncomplete"
PARK, COUNT = "ParkCheckout", "CountParkedCheckout"
CONFIRMED, CANCELLED, FAILED = "CheckoutConfirmed", "CheckoutCancelled", "CheckoutFailed"
PARKED_ERROR = "CheckoutParkedForOperator"

# The names every Lambda task retries: a dead or failed environment, the Lambda service, a lost
# invocation, and the transient errors our code raises (docs/decisions.md, "Retry policy").
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Runtime.ExitError",
    "Runtime.Unknown",
    "Sandbox.Timedout",
    "States.Timeout",
    "DependencyUnavailableError",
    "PaymentProviderUnavailableError",
]
THROTTLED = "Lambda.TooManyRequestsException"


class SpecificationError(ValueError):
    """The specification cannot make a saga (a rule of spec.py is broken)."""


def _retry(names: list[str], profile: RetryProfile) -> dict[str, Any]:
    return {
        "ErrorEquals": names,
        "IntervalSeconds": profile.interval_seconds,
        "MaxAttempts": profile.max_attempts,
        "BackoffRate": profile.backoff_rate,
        "MaxDelaySeconds": profile.max_delay_seconds,
        "JitterStrategy": "FULL",
    }


def _bookkeeping_retry() -> list[dict[str, Any]]:
    return [_retry(["States.ALL"], BOOKKEEPING_RETRY)]


def _task(
    saga: Saga,
    comment: str,
    operation: Operation,
    retries: list[dict[str, Any]],
    catches: list[dict[str, Any]],
    next_state: str,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"order_id.$": "$.order_id"}
    payload.update({f"{name}.$": path for name, path in operation.payload.items()})
    if operation.records_compensations:
        payload["compensations"] = {
            f"{done.name}.$": f"$.{done.result_key}" for done in saga.recorded_compensations
        }
    payload.update({"fault.$": "$.fault", "attempt.$": "$$.State.RetryCount"})
    return {
        "Type": "Task",
        "Comment": comment,
        "Resource": LAMBDA,
        "Parameters": {
            "FunctionName": f"${{{function_placeholder(operation.name)}}}",
            "Payload": payload,
        },
        "ResultSelector": {f"{name}.$": path for name, path in operation.result.items()},
        "ResultPath": f"$.{operation.result_key}",
        "TimeoutSeconds": saga.task_timeout_seconds,
        "Retry": retries,
        "Catch": catches,
        "Next": next_state,
    }


def _catch(names: list[str], result_path: str, next_state: str) -> dict[str, Any]:
    return {"ErrorEquals": names, "ResultPath": result_path, "Next": next_state}


def _publish(saga: Saga, event: Event, next_state: str | None) -> dict[str, Any]:
    """Put the event on the saga's bus; then `next_state`, or the end (a successful one)."""
    detail: dict[str, Any] = {"version": "1"}
    detail.update({f"{name}.$": path for name, path in event.detail.items()})
    return {
        "Type": "Task",
        "Comment": event.comment,
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {
            "Entries": [
                {
                    "EventBusName": "${CheckoutEventBusName}",
                    "Source": "checkout.saga",
                    "DetailType": event.detail_type,
                    "Detail": detail,
                }
            ]
        },
        "ResultPath": None,
        "TimeoutSeconds": saga.task_timeout_seconds,
        "Retry": _bookkeeping_retry(),
        **({"Next": next_state} if next_state else {"End": True}),
    }


def _rollback_after(saga: Saga, index: int) -> str:
    """Where a failure of step `index` goes: the newest compensation of the steps done so far
    (its own included), or straight to the cancellation event when nothing needs undoing."""
    for step in reversed(saga.steps[: index + 1]):
        if step.compensation_state:
            return step.compensation_state
    return CANCELLED


def _forward(saga: Saga) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for index, step in enumerate(saga.steps):
        following = saga.steps[index + 1].state if index + 1 < len(saga.steps) else None
        next_state = following or CONFIRMED
        if step.approval is None:
            states[step.state] = _step_state(saga, index, step, next_state)
            continue
        choice = step.approval.choice_state(step)
        states[step.state] = _step_state(saga, index, step, choice)
        states.update(_approval(saga, index, step, step.approval, next_state))
    return states


def _approval(
    saga: Saga, index: int, step: Step, approval: Approval, next_state: str
) -> dict[str, dict[str, Any]]:
    """Ask whether the step's result needs the customer's approval; if so wait for it on a task
    token, for as long as the result says the approval stays valid."""
    rollback = _rollback_after(saga, index)
    path, value = approval.needed_when
    wait = _task(
        saga,
        f"Step {index + 1}, approval ({approval.service}): {approval.wait.comment}",
        approval.wait,
        # The function only records the token: retry what failed it. Never a timeout: that is
        # the customer not answering, and it ends the wait.
        [_retry([THROTTLED], THROTTLE_RETRY), _transient(ACTION_RETRY, waiting=True)],
        [
            _catch(["States.Timeout"], "$.failure", approval.timed_out_state),
            _catch(["States.ALL"], "$.failure", rollback),
        ],
        next_state,
    )
    wait["Resource"] = f"{LAMBDA}.waitForTaskToken"
    wait["Parameters"]["Payload"]["task_token.$"] = "$$.Task.Token"
    del wait["TimeoutSeconds"]
    wait["TimeoutSecondsPath"] = approval.timeout_path
    return {
        approval.choice_state(step): {
            "Type": "Choice",
            "Comment": f"Does the result of {step.state} need the customer's approval?",
            "Choices": [{"Variable": path, "StringEquals": value, "Next": approval.state}],
            "Default": next_state,
        },
        approval.state: wait,
        approval.timed_out_state: {
            "Type": "Pass",
            "Comment": "Nobody answered in time: roll back, with a failure that says so.",
            "Result": {"Error": approval.timed_out, "Cause": approval.timed_out_cause},
            "ResultPath": "$.failure",
            "Next": rollback,
        },
    }


def _step_state(saga: Saga, index: int, step: Step, next_state: str) -> dict[str, Any]:
    if step.kind is StepKind.COMPENSATABLE:
        retries = [_retry([THROTTLED], THROTTLE_RETRY), _transient(step.retry)]
        catches = [_catch(["States.ALL"], "$.failure", _rollback_after(saga, index))]
    elif step.kind is StepKind.PIVOT:
        retries = [_transient(step.retry)]
        catches = [
            _catch(list(step.compensated_on), "$.failure", _rollback_after(saga, index)),
            _catch(["States.ALL"], "$.stuck_failure", f"{step.state}Uncertain"),
        ]
    else:
        retries = [_transient(step.retry)]
        catches = [_catch(["States.ALL"], "$.stuck_failure", f"{step.state}Stuck")]
    comment = f"Step {index + 1} ({step.service}): {step.action.comment}"
    return _task(saga, comment, step.action, retries, catches, next_state)


def _transient(profile: RetryProfile, waiting: bool = False) -> dict[str, Any]:
    names = list(TRANSIENT_ERRORS)
    if profile is not FINISH_RETRY:  # an action's throttles have a retrier of their own
        names.remove(THROTTLED)
    if waiting:  # a wait's timeout is the answer that never came, not an error to retry
        names.remove("States.Timeout")
    return _retry(names, profile)


def _rollback(saga: Saga) -> dict[str, dict[str, Any]]:
    chain = [step for step in reversed(saga.compensatable) if step.compensation]
    states: dict[str, dict[str, Any]] = {}
    for position, step in enumerate(chain):
        assert step.compensation is not None
        assert step.compensation_state is not None
        following = chain[position + 1].compensation_state if position + 1 < len(chain) else None
        number = saga.steps.index(step) + 1
        states[step.compensation_state] = _task(
            saga,
            f"Compensation of step {number}: {step.compensation.comment}",
            step.compensation,
            [_transient(FINISH_RETRY)],
            [_catch(["States.ALL"], "$.stuck_failure", f"{step.compensation_state}Stuck")],
            following or CANCELLED,
        )
    return states


def _parking(saga: Saga) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {}
    for step in reversed(saga.compensatable):
        if step.compensation is not None:
            states[f"{step.compensation_state}Stuck"] = _remember(
                "Remember which compensation is stuck.", step.compensation.name
            )
    pivot = saga.pivot
    states[f"{pivot.state}Uncertain"] = _remember(
        "The confirmation may have landed: voiding could leave a confirmed order unpaid, so "
        "park it instead.",
        pivot.action.name,
    )
    for step in saga.steps:
        if step.kind is StepKind.RETRIABLE:
            states[f"{step.state}Stuck"] = _remember(
                "A step after the pivot could not finish: park it, never roll back.",
                step.action.name,
            )
    item: dict[str, Any] = {
        "order_id": {"S.$": "$.order_id"},
        "stuck_step": {"S.$": "$.stuck_step"},
        "error": {"S.$": "$.stuck_failure.Error"},
        "stuck_failure": {"S.$": "States.JsonToString($.stuck_failure)"},
        "original_failure": {"S.$": "States.JsonToString($.failure)"},
    }
    for name in saga.parked_fields:
        item[name] = {"S.$": f"States.JsonToString($.{name})"}
    item["execution_arn"] = {"S.$": "$$.Execution.Id"}
    item["parked_at"] = {"S.$": "$$.State.EnteredTime"}
    states[PARK] = {
        "Type": "Task",
        "Comment": (
            "A compensation, the pivot or a step after it could not finish: park the order for an "
            "operator, never drop it."
        ),
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "${ParkedCheckoutsTableName}", "Item": item},
        "ResultPath": None,
        "TimeoutSeconds": saga.task_timeout_seconds,
        "Retry": _bookkeeping_retry(),
        "Next": COUNT,
    }
    states[COUNT] = {
        "Type": "Task",
        "Comment": "The metric the 'parked for an operator' alarm watches.",
        "Resource": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
        "Parameters": {
            "Namespace": "CheckoutSaga",
            "MetricData": [
                {
                    "MetricName": "CheckoutsParked",
                    "Unit": "Count",
                    "Value": 1,
                    "Dimensions": [{"Name": "stage", "Value": "${Stage}"}],
                }
            ],
        },
        "ResultPath": None,
        "TimeoutSeconds": saga.task_timeout_seconds,
        "Retry": _bookkeeping_retry(),
        "Next": f"Publish{FAILED}",
    }
    states[f"Publish{FAILED}"] = _publish(saga, saga.failed, FAILED)
    states[FAILED] = {
        "Type": "Fail",
        "Comment": "Ends FAILED on purpose, so the failed-executions alarm fires as well.",
        "Error": PARKED_ERROR,
        "Cause": (
            "A compensation kept failing after its retries; the order is parked for an operator."
        ),
    }
    return states


def _remember(comment: str, operation: str) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Comment": comment,
        "Result": operation,
        "ResultPath": "$.stuck_step",
        "Next": PARK,
    }


def build(saga: Saga = SAGA) -> dict[str, Any]:
    """The definition, as data, from the specification."""
    _validate(saga)
    first_compensation = _rollback_after(saga, len(saga.steps) - 1)
    # The forward lane's presence checks: every field of Saga.defaults, which starters merge in.
    complete = [{"Variable": f"$.{name}", "IsPresent": True} for name in saga.defaults]
    states: dict[str, dict[str, Any]] = {
        ROUTE: {
            "Type": "Choice",
            "Comment": (
                "An input without the defaults every starter merges in is refused before anything "
                "runs. A new checkout runs forward. A recovery (started by the reconciler, or by "
                "an operator's `checkout retry`, for an execution that died or parked) resumes "
                "where that execution left the order: roll back before the pivot, finish the "
                "pivot forward, or park again."
            ),
            "Choices": [
                {"Not": {"And": complete}, "Next": INCOMPLETE},
                *(
                    {"Variable": "$.recovery.resume", "StringEquals": lane, "Next": target}
                    for lane, target in (
                        ("compensate", first_compensation),
                        ("confirm", saga.pivot.state),
                        ("park", PARK),
                    )
                ),
            ],
            "Default": saga.steps[0].state,
        },
        INCOMPLETE: {
            "Type": "Fail",
            "Comment": "Nothing ran: the input lacks a field of Saga.defaults (spec.py).",
            "Error": INCOMPLETE,
            "Cause": (
                "the execution input lacks a default field (fault, failure, the steps' default "
                "results, recovery); start executions with Saga.execution_input"
            ),
        },
    }
    states.update(_forward(saga))
    # The checkout ends in its event's state: order CONFIRMED, stock held, payment captured.
    states[CONFIRMED] = _publish(saga, saga.confirmed, None)
    states.update(_rollback(saga))
    # Rolled back cleanly, order CANCELLED, no money moved, no stock held: a business outcome,
    # not an operational failure, so the execution succeeds.
    states[CANCELLED] = _publish(saga, saga.cancelled, None)
    states.update(_parking(saga))
    definition = {
        "Comment": saga.comment,
        "QueryLanguage": "JSONPath",
        "TimeoutSeconds": saga.timeout_seconds,
        "StartAt": ROUTE,
        "States": states,
    }
    check(definition, saga)
    return definition


def _validate(saga: Saga) -> None:
    kinds = [step.kind for step in saga.steps]
    if kinds.count(StepKind.PIVOT) != 1:
        raise SpecificationError("a saga has exactly one pivot")
    pivot = kinds.index(StepKind.PIVOT)
    if any(kind is not StepKind.COMPENSATABLE for kind in kinds[:pivot]):
        raise SpecificationError("every step before the pivot must be compensatable")
    if any(kind is not StepKind.RETRIABLE for kind in kinds[pivot + 1 :]):
        raise SpecificationError("every step after the pivot must be retriable")
    for index, step in enumerate(saga.steps):
        if (step.compensation is not None) != (step.kind is StepKind.COMPENSATABLE):
            raise SpecificationError(
                f"{step.state}: exactly compensatable steps have compensations"
            )
        if step.kind is StepKind.COMPENSATABLE and index > 0 and step.default is None:
            raise SpecificationError(
                f"{step.state}: a compensatable step after the first needs a `default` for its "
                "result (a rollback that parks before it runs reads it)"
            )
    _check_recording(saga)
    _check_approvals(saga)
    _check_payloads(saga)


def _check_approvals(saga: Saga) -> None:
    """Each operation keeps its own result, except a wait: the approved result is its step's."""
    waits = {approval.wait.name for _, approval in saga.approvals}
    keys = [op.result_key for _, op in saga.operations() if op.name not in waits]
    if len(keys) != len(set(keys)):
        raise SpecificationError(f"two operations keep their result under one key: {keys}")
    for step, approval in saga.approvals:
        if step.kind is not StepKind.COMPENSATABLE:
            raise SpecificationError(
                f"{step.state}: only a compensatable step can wait for approval"
            )
        if approval.wait.result_key != step.action.result_key:
            raise SpecificationError(
                f"{approval.state} must keep its result under {step.action.result_key!r}: the "
                "approved result replaces the step's"
            )


def _check_recording(saga: Saga) -> None:
    """Only the rollback's last compensation records the others, and each keeps a `status`."""
    recording = [op.name for _, op in saga.operations() if op.records_compensations]
    last = saga.compensatable[0].compensation if saga.compensatable else None
    if recording and (last is None or recording != [last.name]):
        raise SpecificationError(
            f"only the last compensation of a rollback (the first step's) can record the others: "
            f"{', '.join(recording)}"
        )
    for recorded in saga.recorded_compensations:
        if "status" not in recorded.result:  # the recording one's contract requires it
            raise SpecificationError(
                f"{state_name(recorded.name)} must keep `status` in its result: the last "
                "compensation records each one's status"
            )


def _check_payloads(saga: Saga) -> None:
    """An action reads only the inputs and what the steps before it wrote; a compensation may
    also read the defaults and the failure (it runs whichever later step failed)."""
    defaults = set(saga.defaults)
    for index, step in enumerate(saga.steps):
        written = set(saga.inputs) | {done.action.result_key for done in saga.steps[:index]}
        rollback = written | defaults
        compensation = step.compensation.payload if step.compensation else {}
        checks = [
            (step.state, step.action.payload, written),
            (step.compensation_state, compensation, rollback),
        ]
        if step.approval is not None:  # it waits on what its step wrote
            own = written | {step.action.result_key}
            checks.append((step.approval.state, step.approval.wait.payload, own))
        for state, payload, readable in checks:
            for path in _read_paths(payload) - readable:
                raise SpecificationError(
                    f"{state} reads $.{path}, which no input and no step before it writes"
                )


def _read_paths(payload: dict[str, str]) -> set[str]:
    return {found[1] for path in payload.values() if (found := _PATH.match(path))}


_PATH = re.compile(r"^\$\.([a-z_]+)")


def check(definition: dict[str, Any], saga: Saga = SAGA) -> None:
    """Every JSONPath the parking and the events read exists on every path into them: it is an
    input, a default (RouteCheckout refuses an input without them), or set by every state that
    can lead there."""
    available = set(saga.inputs) | set(saga.defaults) | {"stuck_step", "stuck_failure"}
    readers = [CONFIRMED, CANCELLED, f"Publish{FAILED}", PARK]
    # CancelOrder precedes the cancelled ending on every path; the pivot and every step after it
    # precede the confirmed one (a recovery's confirm lane resumes at the pivot).
    after_pivot = saga.steps[saga.steps.index(saga.pivot) :]
    set_always = {
        CANCELLED: {"cancellation"},
        CONFIRMED: {step.action.result_key for step in after_pivot},
    }
    for name in readers:
        text = json.dumps(definition["States"][name])
        for path in re.findall(r'"\$\.([a-z_]+)', text):
            if path not in available | set_always.get(name, set()):
                raise SpecificationError(
                    f"{name} reads $.{path}, which a path into it may not have: give its step a "
                    "default in orchestration/spec.py"
                )


def render(saga: Saga = SAGA) -> str:
    return json.dumps(build(saga), indent=2) + "\n"


def main() -> int:
    from orchestration.definition import DEFINITION_PATH

    DEFINITION_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DEFINITION_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

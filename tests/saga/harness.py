"""Run the real ASL file on moto's interpreter, with Lambda invocations dispatched to real handlers.

moto's Step Functions interpreter calls Lambda through moto's Lambda backend; we replace that
backend's `invoke` with a dispatcher that runs the project's handler for the function named in the
ARN, in this process, against the moto tables. The dispatcher can also fail chosen invocations
before the handler runs (to simulate Lambda service errors or timeouts) and records every call, so
tests can assert the path the saga took and how often each step really ran.

Retries: moto really sleeps `IntervalSeconds`. We swap the sleep seen by moto's retrier for one that
records the requested interval and returns at once, so the one definition runs fast and tests can
still assert that backoff was asked for.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from orchestration.spec import SAGA, function_placeholder, function_slug

ACCOUNT = "123456789012"
REGION = "us-east-1"
STAGE = "test"
EVENT_BUS = "checkout-events-test"
PARKED_TABLE = "test-parked-checkouts"

# function name in the ARN -> handler module, and -> the definition's placeholder for its ARN;
# from the saga specification, plus the catalog read the checkout API invokes
PLACEHOLDER_FOR_FUNCTION = {
    function_slug(operation.name): function_placeholder(operation.name)
    for _, operation in SAGA.operations()
}
FUNCTIONS = {
    **{
        function_slug(operation.name): f"services.{service}.handlers.{operation.name}"
        for service, operation in SAGA.operations()
    },
    "get-products": "services.inventory.handlers.get_products",
    "get-order": "services.order.handlers.get_order",
    # the provider's webhook, as the checkout API passes it on
    "receive-payment-webhook": "services.payment.handlers.receive_payment_webhook",
    "answer-payment-approval": "services.order.handlers.answer_payment_approval",
    # an operator's `checkout resolve`
    "settle-payment": "services.payment.handlers.settle_payment",
}


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:checkout-{STAGE}-{name}"


def substitutions() -> dict[str, str]:
    subs = {placeholder: function_arn(fn) for fn, placeholder in PLACEHOLDER_FOR_FUNCTION.items()}
    subs.update(CheckoutEventBusName=EVENT_BUS, ParkedCheckoutsTableName=PARKED_TABLE, Stage=STAGE)
    return subs


@dataclass
class Invocation:
    function: str
    payload: dict[str, Any]
    outcome: str  # "ok" or the errorType reported to the state machine


class SandboxEnded(BaseException):
    """An injected crash or hang ended the execution environment (a BaseException, so nothing in
    the handler mistakes it for an error it could report)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class InProcessEffects:
    """`shared.faults.effects` for handlers run in the test process: end the invocation the way
    the Lambda service reports a dead or timed-out environment, without killing pytest."""

    def crash(self) -> None:
        raise SandboxEnded("Runtime.ExitError", "Error: Runtime exited with error: signal: killed")

    def hang(self, context: Any) -> None:
        raise SandboxEnded("Sandbox.Timedout", "Task timed out (injected hang)")


@dataclass
class LambdaDispatcher:
    """Stands in for the Lambda service: runs the real handler for each invoked function."""

    calls: list[Invocation] = field(default_factory=list)
    _planned_failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _always_failing: dict[str, str] = field(default_factory=dict)
    _lost_responses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _before: dict[tuple[str, str | None, int], Callable[[dict[str, Any]], None]] = field(
        default_factory=dict
    )
    _answers: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    _seen: dict[tuple[str, str | None], int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # One handler at a time: moto applies a DynamoDB transaction in unlocked steps (the local
    # cloud serializes DynamoDB requests for the same reason). Executions still interleave.
    serialize: bool = False
    stopped_in: list[str] = field(default_factory=list)  # where stop_when fired (for statistics)
    _handler_lock: threading.Lock = field(default_factory=threading.Lock)

    def before_call(
        self,
        function: str,
        nth: int,
        action: Callable[[dict[str, Any]], None],
        order_id: str | None = None,
    ) -> None:
        """Run `action(payload)` just before the `nth` invocation of `function` (for `order_id`,
        or for any order) is handled. `function="*"`: the nth invocation of any function."""
        self._before[(function, order_id, nth)] = action

    def answer_next(self, function: str, payload: Any) -> None:
        """The next invocation of `function` returns `payload` without running the handler."""
        self._answers[function].append(payload)

    def fail_next(self, function: str, *error_types: str) -> None:
        """The next invocations of `function` fail with these error types, before the handler."""
        self._planned_failures[function].extend(error_types)

    def fail_always(self, function: str, error_type: str | None) -> None:
        """Every invocation of `function` fails with `error_type` (None: stop failing it)."""
        if error_type is None:
            self._always_failing.pop(function, None)
        else:
            self._always_failing[function] = error_type

    def lose_next_response(self, function: str) -> None:
        """The handler runs and its writes land, but the caller sees Sandbox.Timedout."""
        self._lost_responses[function] += 1

    def outcomes(self, function: str) -> list[str]:
        return [call.outcome for call in self.calls if call.function == function]

    def successful_calls(self) -> list[str]:
        return [call.function for call in self.calls if call.outcome == "ok"]

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        name = function_name.rsplit(":", 1)[-1].removeprefix(f"checkout-{STAGE}-")
        payload = json.loads(body) if body else {}
        order_id = payload.get("order_id") if isinstance(payload, dict) else None
        with self._lock:
            self._seen[(name, None)] += 1
            self._seen[(name, order_id)] += 1
            before = self._before.pop((name, None, self._seen[(name, None)]), None)
            before = before or self._before.pop(
                (name, order_id, self._seen[(name, order_id)]), None
            )
            self._seen[("*", order_id)] += 1
            before = before or self._before.pop(("*", order_id, self._seen[("*", order_id)]), None)
            planned = self._planned_failures[name]
            injected = planned.pop(0) if planned else self._always_failing.get(name)
            answer = self._answers[name].pop(0) if self._answers[name] else None
        if before is not None:
            before({**payload, "function": name})
        if answer is not None:
            with self._lock:
                self.calls.append(Invocation(name, payload, "ok"))
            return json.dumps(answer).encode()
        if injected is not None:
            return self._error(name, payload, injected, "injected by the test", response_headers)
        handler = importlib.import_module(FUNCTIONS[name]).lambda_handler
        from tests.support.lambda_context import FakeLambdaContext

        try:
            if self.serialize:
                with self._handler_lock:
                    result = handler(payload, FakeLambdaContext(function_name=name))
            else:
                result = handler(payload, FakeLambdaContext(function_name=name))
        except SandboxEnded as ended:  # an injected crash or hang: the process is gone
            return self._error(name, payload, ended.error_type, ended.message, response_headers)
        except Exception as error:  # what the Lambda runtime does with an unhandled exception
            return self._error(name, payload, type(error).__name__, str(error), response_headers)
        with self._lock:
            lost = self._lost_responses[name] > 0
            self._lost_responses[name] -= int(lost)
        if lost:
            return self._error(name, payload, "Sandbox.Timedout", "response lost", response_headers)
        with self._lock:
            self.calls.append(Invocation(name, payload, "ok"))
        return json.dumps(result).encode()

    def _error(
        self,
        name: str,
        payload: dict[str, Any],
        error_type: str,
        message: str,
        response_headers: dict[str, str],
    ) -> bytes:
        with self._lock:
            self.calls.append(Invocation(name, payload, error_type))
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


@dataclass
class ExecutionResult:
    status: str
    output: dict[str, Any] | None
    error: str | None
    path: list[str]  # names of the states entered, in order
    history: list[dict[str, Any]]


class RetrySleepRecorder:
    """Replaces moto's retrier sleep: records each requested interval, never waits."""

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self.module = SimpleNamespace(sleep=self.intervals.append)


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 60.0) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"execution still RUNNING after {timeout}s: {execution_arn}")
        time.sleep(0.02)
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    path = [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if "stateEnteredEventDetails" in event
    ]
    output = json.loads(described["output"]) if described.get("output") else None
    return ExecutionResult(
        status=described["status"],
        output=output,
        error=described.get("error"),
        path=path,
        history=history,
    )

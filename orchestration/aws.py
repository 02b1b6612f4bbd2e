"""The orchestration's contact with AWS: Step Functions, the services' direct functions (the
catalog's get_products, the order's get_order, the payment's settle_payment for `checkout
resolve`), and (for the reconciler) the saga's own metric and event bus.

Clients are made on first use (not at import) and honour AWS_ENDPOINT_URL, so the same code talks
to AWS, to the local cloud, or to moto in tests. AWS faults become DependencyUnavailableError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DependencyUnavailableError


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class FunctionRefusedError(Exception):
    """An invoked function raised one of the errors its caller named as answers, not outages."""

    def __init__(self, function: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function} refused: {error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message


class ExecutionAlreadyExistsError(Exception):
    """An execution with this name exists with another input, or has already closed."""


@cache
def _client(service: str) -> Any:
    return boto3.client(service)


def _unavailable(operation: str, error: Exception) -> DependencyUnavailableError:
    return DependencyUnavailableError(f"{operation} failed: {error}")


def start_execution(state_machine_arn: str, name: str, execution_input: str) -> str:
    """Start (or, for an identical running one, find) the named execution; return its ARN."""
    try:
        response = _client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=execution_input
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            raise ExecutionAlreadyExistsError(name) from error
        raise _unavailable("StartExecution", error) from error
    except BotoCoreError as error:
        raise _unavailable("StartExecution", error) from error
    arn: str = response["executionArn"]
    return arn


def describe_execution(execution_arn: str) -> dict[str, Any] | None:
    try:
        described: dict[str, Any] = _client("stepfunctions").describe_execution(
            executionArn=execution_arn
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise _unavailable("DescribeExecution", error) from error
    except BotoCoreError as error:
        raise _unavailable("DescribeExecution", error) from error
    return described


def execution_history(execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    try:
        while True:
            page = _client("stepfunctions").get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]
    except (ClientError, BotoCoreError) as error:
        raise _unavailable("GetExecutionHistory", error) from error


def invoke_function(
    function_arn: str, payload: dict[str, Any], refusals: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Invoke a function synchronously. Its error becomes FunctionRefusedError when its type is
    one of `refusals` (the caller's answers), else DependencyUnavailableError."""
    try:
        response = _client("lambda").invoke(
            FunctionName=function_arn, Payload=json.dumps(payload).encode()
        )
    except (ClientError, BotoCoreError) as error:
        raise _unavailable("Invoke", error) from error
    body = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        name, error_type = function_arn.rsplit(":", 1)[-1], str(body.get("errorType"))
        if error_type in refusals:
            raise FunctionRefusedError(name, error_type, str(body.get("errorMessage")))
        raise DependencyUnavailableError(f"{name} failed: {error_type}: {body.get('errorMessage')}")
    result: dict[str, Any] = body
    return result


def list_closed_executions(
    state_machine_arn: str, status: str, started_after: datetime
) -> Iterator[dict[str, Any]]:
    """Executions in `status`, newest first, until one started before `started_after`."""
    kwargs: dict[str, Any] = {
        "stateMachineArn": state_machine_arn,
        "statusFilter": status,
        "maxResults": 100,
    }
    try:
        while True:
            page = _client("stepfunctions").list_executions(**kwargs)
            for execution in page["executions"]:
                if execution["startDate"] < started_after:
                    return
                yield execution
            if not page.get("nextToken"):
                return
            kwargs["nextToken"] = page["nextToken"]
    except (ClientError, BotoCoreError) as error:
        raise _unavailable("ListExecutions", error) from error


def put_event(bus_name: str, detail_type: str, detail: dict[str, Any]) -> None:
    """One domain event on the saga's bus, as the state machine publishes them."""
    entry = {
        "EventBusName": bus_name,
        "Source": "checkout.saga",
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
    }
    try:
        response = _client("events").put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as error:
        raise _unavailable("PutEvents", error) from error
    if response.get("FailedEntryCount"):
        raise DependencyUnavailableError(f"PutEvents refused {detail_type}: {response['Entries']}")


def count_parked_checkout(stage: str) -> None:
    """The metric the parked-checkouts alarm watches (the same datum the state machine sends)."""
    try:
        _client("cloudwatch").put_metric_data(
            Namespace="CheckoutSaga",
            MetricData=[
                {
                    "MetricName": "CheckoutsParked",
                    "Unit": "Count",
                    "Value": 1,
                    "Dimensions": [{"Name": "stage", "Value": stage}],
                }
            ],
        )
    except (ClientError, BotoCoreError) as error:
        raise _unavailable("PutMetricData", error) from error

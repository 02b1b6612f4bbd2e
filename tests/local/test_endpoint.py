"""The endpoint answers Lambda Invoke as Lambda does, so the engine's Retry and Catch apply.

Checked with a real boto3 Lambda client (the engine calls Lambda through botocore exactly so):
a function error is 200 + X-Amz-Function-Error, a throttle is a 429 TooManyRequestsException
that carries a request id (without one moto's interpreter fails the whole execution with
KeyError('RequestId')), and a fault of the runtime itself is a 500 ServiceException, never a bare
HTML 500.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from deploy.local.endpoint import LambdaInvokeMiddleware
from deploy.local.runtime import InvocationResult
from deploy.local.usage import UsageMeter


class ScriptedRuntime:
    """Answers every invocation with the next scripted result (or raises it)."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self.usage = UsageMeter()

    def resolve(self, name: str) -> str | None:
        return "fn" if name.endswith("fn") else None

    def invoke(self, name: str, event: Any, trace_header: str | None = None, **options: Any):
        self.calls.append({"event": event, **options})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _not_lambda(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"moto"]


@pytest.fixture
def endpoint() -> Iterator[tuple[ScriptedRuntime, Any]]:
    runtime = ScriptedRuntime()
    app = LambdaInvokeMiddleware(runtime, _not_lambda)  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        aws_access_key_id="ak",
        aws_secret_access_key="sk",
        config=Config(retries={"total_max_attempts": 1}),  # as the engine's client
    )
    yield runtime, client
    server.shutdown()
    server.server_close()


def test_a_crash_while_starting_is_a_function_error(endpoint):
    runtime, client = endpoint
    crash = {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error"}
    runtime.answers.append(InvocationResult(crash, failed=True, duration_ms=1, cold_start=True))

    response = client.invoke(FunctionName="fn", Payload=b'{"order_id": "ord-1"}')

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ExitError"


def test_the_engine_is_throttled_as_lambda_throttles(endpoint):
    runtime, client = endpoint
    throttled = {"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded."}
    runtime.answers.append(InvocationResult(throttled, True, 0, False, throttled=True))

    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="fn", Payload=b"{}")

    error = raised.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["ResponseMetadata"]["RequestId"]
    assert runtime.calls[0]["when_busy"] == "throttle"


def test_a_fault_of_the_runtime_itself_is_a_lambda_service_exception(endpoint):
    runtime, client = endpoint
    runtime.answers.append(RuntimeError("the runtime broke"))

    with pytest.raises(ClientError) as raised:
        client.invoke(FunctionName="fn", Payload=b"{}")

    error = raised.value.response
    assert error["Error"]["Code"] == "ServiceException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["ResponseMetadata"]["RequestId"]

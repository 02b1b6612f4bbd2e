"""The local AWS endpoint: moto in server mode, with Lambda Invoke answered by the local runtime.

moto's Step Functions interpreter, running in this process, calls every service over HTTP at
localhost:$MOTO_PORT; pointing MOTO_PORT at this endpoint makes its Lambda calls come here, where
the middleware runs the real handler and answers as Lambda does: 200, and on a function error
(crashes and timeouts included) the `X-Amz-Function-Error: Unhandled` header with
`{"errorType", "errorMessage"}`; a throttle is a 429 `TooManyRequestsException` and a fault of the
runtime itself a 500 `ServiceException`, both with the request id botocore expects. Never an HTML
500: moto's interpreter turns that into `States.Runtime` and fails the whole execution. Everything
else is moto's own WSGI application.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from deploy.local.moto_tuning import (
    backend_app_without_debug,
    keep_task_failure_cause,
    list_moto_modules_once,
    parse_each_condition_once,
    parse_each_definition_once,
    parse_each_json_path_once,
    serialize_dynamodb_items_directly,
    share_interpreter_clients,
    snapshot_transaction_items,
)
from deploy.local.runtime import LambdaRuntime
from deploy.local.serving import BackgroundServer
from deploy.local.tracing import TraceContext

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/(?P<service>[^/]+)/aws4_request")
USAGE_PATH = "/_local/usage"  # what the local cloud was asked to do (deploy/local/usage.py)
StartResponse = Callable[..., Any]


class LambdaInvokeMiddleware:
    def __init__(self, runtime: LambdaRuntime, moto_app: Any) -> None:
        self._runtime = runtime
        self._moto_app = moto_app
        # moto applies a DynamoDB request in several unlocked steps, so two concurrent
        # transactions can both pass their conditions. DynamoDB applies each request atomically;
        # serializing DynamoDB requests gives the local cloud that same guarantee.
        self._dynamodb = threading.Lock()
        # moto passes no trace header from StartExecution to the tasks it runs: remember each
        # execution's trace (its name is the order id) and hand it to the steps ourselves.
        self._execution_traces: dict[str, TraceContext] = {}
        self._traces_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if path == USAGE_PATH and method == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(self._runtime.usage.snapshot()).encode()]
        match = _INVOKE.match(path)
        if match is None or method != "POST":
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target == "AWSStepFunctions.StartExecution":
                self._remember_trace(environ)
            if target.startswith("DynamoDB_"):
                with self._dynamodb:
                    return self._metered_dynamodb(environ, start_response, target)
            self._meter(environ, target)
            result: Iterable[bytes] = self._moto_app(environ, start_response)
            return result
        self._runtime.usage.aws_request("lambda.Invoke")
        name = self._runtime.resolve(unquote(match.group("name")))
        if name is None:
            return _lambda_refusal(
                start_response, "404 Not Found", "ResourceNotFoundException",
                f"Function not found: {match['name']}",
            )  # fmt: skip
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        event = json.loads(raw) if raw else {}
        trace_header = environ.get("HTTP_X_AMZN_TRACE_ID") or self._execution_trace(event)
        try:
            # The engine's invocations are synchronous: at the concurrency limit Lambda throttles
            # them (the saga retries Lambda.TooManyRequestsException); it never queues them.
            outcome = self._runtime.invoke(name, event, trace_header, when_busy="throttle")
        except Exception as error:  # a fault of the local runtime: what Lambda's own faults are
            logging.getLogger(__name__).exception("local runtime fault")
            return _lambda_refusal(
                start_response, "500 Internal Server Error", "ServiceException", str(error)
            )
        if outcome.throttled:
            return _lambda_refusal(
                start_response, "429 Too Many Requests", "TooManyRequestsException",
                "Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )  # fmt: skip
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST"),
                   ("x-amzn-RequestId", str(uuid.uuid4()))]  # fmt: skip
        if outcome.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        start_response("200 OK", headers)
        return [json.dumps(outcome.payload).encode()]

    def _metered_dynamodb(
        self, environ: dict[str, Any], start_response: StartResponse, target: str
    ) -> list[bytes]:
        request = _json_or_empty(_peek_body(environ))
        answer = list(self._moto_app(environ, start_response))
        operation = target.partition(".")[2]
        self._runtime.usage.dynamodb(operation, request, _json_or_empty(b"".join(answer)))
        return answer

    def _meter(self, environ: dict[str, Any], target: str) -> None:
        """Count one request by service and operation (JSON, query and REST protocols)."""
        usage = self._runtime.usage
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope["service"] if scope else "unknown"
        if target:
            operation = target.rpartition(".")[2]
        else:  # the query protocol names it in the form body (CloudWatch, SQS...), REST in the path
            form = dict(parse_qsl(_peek_body(environ).decode(errors="replace")))
            operation = form.get("Action") or environ.get("PATH_INFO", "").strip("/") or "?"
        usage.aws_request(f"{service}.{operation}")
        if target == "AWSEvents.PutEvents":
            usage.events_published(len(_json_or_empty(_peek_body(environ)).get("Entries") or []))

    def _remember_trace(self, environ: dict[str, Any]) -> None:
        raw = _peek_body(environ)
        context = TraceContext.parse(environ.get("HTTP_X_AMZN_TRACE_ID"))
        try:
            name = json.loads(raw).get("name")
        except ValueError:
            return
        if context is not None and name:
            with self._traces_lock:
                self._execution_traces.setdefault(name, context)

    def _execution_trace(self, event: Any) -> str | None:
        """The trace of the execution a saga task belongs to (its payload names the order)."""
        order_id = event.get("order_id") if isinstance(event, dict) else None
        if not isinstance(order_id, str):
            return None
        with self._traces_lock:
            context = self._execution_traces.setdefault(order_id, TraceContext.new())
        return context.header(context.parent) if context.parent else f"Root={context.root}"


def _peek_body(environ: dict[str, Any]) -> bytes:
    """The request body, left in place for moto to read after us. A body without a length
    (chunked) is read whole only when the server marked the stream terminated; otherwise it
    is left alone and counts as empty here."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        raw: bytes = environ["wsgi.input"].read(length)
    elif environ.get("wsgi.input_terminated"):
        raw = environ["wsgi.input"].read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def _json_or_empty(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _lambda_refusal(
    start_response: StartResponse, status: str, code: str, message: str, reason: str | None = None
) -> list[bytes]:
    """An error of the Lambda service, shaped so botocore (and so the engine) parses it: a JSON
    body, the error type header, and a request id (moto's interpreter reads it for the cause)."""
    body: dict[str, str] = {"Type": "User" if status[0] == "4" else "Service", "message": message}
    if reason:
        body["Reason"] = reason
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [json.dumps(body).encode()]


class AwsEndpoint(BackgroundServer):
    """moto + the Lambda middleware, served on one port in a background thread."""

    def __init__(self, runtime: LambdaRuntime, host: str, port: int) -> None:
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        share_interpreter_clients(f"http://{host}:{port}")
        parse_each_definition_once()
        parse_each_json_path_once()
        parse_each_condition_once()
        serialize_dynamodb_items_directly()
        list_moto_modules_once()
        snapshot_transaction_items()
        keep_task_failure_cause()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS call
        backends = DomainDispatcherApplication(backend_app_without_debug(create_backend_app))
        app = LambdaInvokeMiddleware(runtime, backends)
        server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        super().__init__(server)

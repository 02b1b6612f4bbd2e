"""The local AWS endpoint: moto in server mode, with Lambda Invoke answered by the local runtime.

moto's Step Functions interpreter, running in this process, calls every service over HTTP at
localhost:$MOTO_PORT; pointing MOTO_PORT at this endpoint makes its Lambda calls come here, where
the middleware runs the real handler and answers as Lambda does (200, and on error the
`X-Amz-Function-Error: Unhandled` header with `{"errorType", "errorMessage"}`). Everything else is
moto's own WSGI application.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from deploy.local.moto_tuning import share_interpreter_clients
from deploy.local.runtime import LambdaRuntime

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
StartResponse = Callable[..., Any]


class LambdaInvokeMiddleware:
    def __init__(self, runtime: LambdaRuntime, moto_app: Any) -> None:
        self._runtime = runtime
        self._moto_app = moto_app
        # moto applies a DynamoDB request in several unlocked steps, so two concurrent
        # transactions can both pass their conditions. DynamoDB applies each request atomically;
        # serializing DynamoDB requests gives the local cloud that same guarantee.
        self._dynamodb = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _INVOKE.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "POST":
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
                with self._dynamodb:
                    return list(self._moto_app(environ, start_response))
            result: Iterable[bytes] = self._moto_app(environ, start_response)
            return result
        name = self._runtime.resolve(unquote(match.group("name")))
        if name is None:
            body = json.dumps({"Type": "User", "message": f"Function not found: {match['name']}"})
            start_response(
                "404 Not Found",
                [
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", "ResourceNotFoundException"),
                ],
            )
            return [body.encode()]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        event = json.loads(raw) if raw else {}
        trace_header = environ.get("HTTP_X_AMZN_TRACE_ID")
        outcome = self._runtime.invoke(name, event, trace_header)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if outcome.failed:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        start_response("200 OK", headers)
        return [json.dumps(outcome.payload).encode()]


class AwsEndpoint:
    """moto + the Lambda middleware, served on one port in a background thread."""

    def __init__(self, runtime: LambdaRuntime, host: str, port: int) -> None:
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        share_interpreter_clients(f"http://{host}:{port}")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS call
        app = LambdaInvokeMiddleware(runtime, DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

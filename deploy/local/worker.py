"""One Lambda execution environment: imports one handler once (cold start), then serves invokes.

Started by the runtime as `python -m deploy.local.worker <in-fd> <out-fd>` with the function's
environment; stdout and stderr go to the function's log file. At start it also checks the template
against the code: the function's settings must load from its environment, and every table a
PynamoDB model is bound to must exist with the model's key schema.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from deploy.local.protocol import WorkerGoneError, reader, receive, send, writer


class LocalContext:
    """The Lambda context object handlers receive."""

    def __init__(self, request_id: str, timeout_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        self.invoked_function_arn = os.environ["CHECKOUT_FUNCTION_ARN"]
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _settings_check(handler_module: str) -> None:
    """Start the function as its first invocation would (a service's `bootstrap.start`, or a
    package's `settings.get_settings`): a bad template fails here, not at the first request."""
    package = handler_module
    while "." in package:
        package = package.rsplit(".", 1)[0]
        for module_name, entry in ((f"{package}.bootstrap", "start"),
                                   (f"{package}.settings", "get_settings")):  # fmt: skip
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            getattr(module, entry)()
            return


def _key_schema_check() -> None:
    """Every bound PynamoDB model's table must exist with the model's key schema."""
    from pynamodb.models import Model

    pending, seen = list(Model.__subclasses__()), set()
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        name = model.Meta.table_name
        if model in seen or name.startswith("unbound-"):
            continue
        seen.add(model)
        described = model.describe_table()
        actual = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
        expected = {model._hash_key_attribute().attr_name: "HASH"}  # type: ignore[no-untyped-call]
        range_key = model._range_key_attribute()  # type: ignore[no-untyped-call]
        if range_key is not None:
            expected[range_key.attr_name] = "RANGE"
        if actual != expected:
            raise RuntimeError(
                f"table {name} has key schema {actual} but {model.__name__} expects {expected}"
            )


def _error(error: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error)[-8:],
    }


def main() -> int:
    requests, replies = reader(int(sys.argv[1])), writer(int(sys.argv[2]))
    handler_path = os.environ["_HANDLER"]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runtime stops us; Ctrl-C is for it
    started = time.perf_counter()
    try:
        module_name, _, attribute = handler_path.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        _settings_check(module_name)
        _key_schema_check()
    except BaseException as error:  # report why this function cannot start, then stop
        traceback.print_exc()
        send(replies, {"kind": "init_error", "error": _error(error)})
        return 1
    send(replies, {"kind": "ready", "init_ms": int((time.perf_counter() - started) * 1000)})
    while True:
        try:
            request = receive(requests)
        except WorkerGoneError:
            return 0  # the runtime went away: so do we
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_header") or ""
        context = LocalContext(request["request_id"], request["timeout_ms"])
        began = time.perf_counter()
        try:
            result = handler(request["event"], context)
            reply: dict[str, Any] = {"kind": "result", "payload": result}
        except Exception as error:  # what the Lambda runtime does with an unhandled exception
            traceback.print_exc()
            reply = {"kind": "error", "error": _error(error)}
        reply["duration_ms"] = (time.perf_counter() - began) * 1000
        sys.stdout.flush()
        try:
            _answer(replies, reply)
        except WorkerGoneError:
            return 0  # the runtime went away while we worked


def _answer(replies: Connection, reply: dict[str, Any]) -> None:
    try:
        send(replies, reply)
    except (TypeError, ValueError) as error:  # a result JSON cannot carry
        send(replies, {"kind": "error", "duration_ms": reply["duration_ms"], "error": {
            "errorType": "Runtime.MarshalError",
            "errorMessage": f"Unable to marshal response: {error}",
        }})  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

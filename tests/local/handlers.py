"""Tiny handlers the local runtime tests run in real worker processes."""

from __future__ import annotations

import os
import time
from typing import Any


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "pid": os.getpid(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "function": context.function_name,
        "stage": os.environ.get("STAGE"),
    }


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event["seconds"]))
    return {"slept": event["seconds"], "pid": os.getpid()}


class OutOfCoffeeError(Exception):
    pass


def boom(event: Any, context: Any) -> None:
    raise OutOfCoffeeError("no coffee left")


def crash(event: Any, context: Any) -> None:
    os._exit(3)  # the process dies mid-invocation, as an out-of-memory kill would


def unserialisable(event: Any, context: Any) -> Any:
    return {"when": object()}


def slow(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("seconds", 0.5)))
    return {"pid": os.getpid()}

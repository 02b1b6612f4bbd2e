"""Make moto's Step Functions interpreter cheap per execution and per task, and tell us when
executions end.

moto parses the definition again for every execution (about 0.1 s of CPU for the checkout saga's
21 KB), and builds a new boto3 client for every task it runs (tens of milliseconds each): with a
few hundred executions in flight that, not the handlers, is what the machine spends its time on.
A parsed definition is a tree of declarations whose run state lives in each execution's
`Environment` (its heap, keyed by component), so one parse serves every execution of a
definition. The local cloud has one region and fixed fake credentials, so one client per service
is enough; boto3 clients are thread-safe.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

_MODULES = [
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.{name}"
        for name in (
            "state_task_service_events", "state_task_service_dynamodb",
            "state_task_service_aws_sdk", "state_task_service_sqs", "state_task_service_sns",
            "state_task_service_sfn",
        )
    ),
]  # fmt: skip


def share_interpreter_clients(endpoint: str) -> None:
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        with lock:
            if key not in clients:
                clients[key] = boto3.client(
                    service_name=service,
                    region_name=region,
                    endpoint_url=endpoint,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=60,
                        read_timeout=3600,
                        max_pool_connections=256,
                    ),
                )
            return clients[key]

    for name in _MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "boto_client_for"):
            setattr(module, "boto_client_for", boto_client_for)  # noqa: B010


def parse_each_definition_once(cached_definitions: int = 16) -> None:
    """Parse a definition on its first execution only (the result is cached by its text)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse
    if isinstance(parse, functools._lru_cache_wrapper):
        return  # already cached
    AmazonStateLanguageParser.parse = staticmethod(  # type: ignore[method-assign]
        functools.lru_cache(maxsize=cached_definitions)(parse)
    )


_closed_callback: Callable[[Any], None] | None = None
_hooked = False


def on_execution_closed(callback: Callable[[Any], None] | None) -> None:
    """Call `callback(execution)` whenever an execution ends (None: stop calling).

    moto publishes no "Execution Status Change" events; its interpreter tells the execution it
    terminated, which is the moment Step Functions would publish one.
    """
    global _closed_callback, _hooked
    _closed_callback = callback
    if _hooked:
        return
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original(self)
        listener = _closed_callback
        if listener is not None:
            try:
                listener(self.execution)
            except Exception:  # a listener must never break the interpreter
                logging.getLogger(__name__).exception("execution-closed listener failed")

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    _hooked = True


def keep_task_failure_cause() -> None:
    """moto 5.2's SendTaskFailure drops `cause` (it passes only `error` on), so a decline sent
    through a task token would reach the rollback without its reason: pass it on, as AWS does.
    Idempotent; a moto that fixes it is left alone."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure
    if getattr(original, "_keeps_cause", False):
        return

    @functools.wraps(original)
    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"),
            error=self._get_param("error"),
            cause=self._get_param("cause"),
        )
        return EmptyResult()

    send_task_failure._keeps_cause = True  # type: ignore[attr-defined]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]

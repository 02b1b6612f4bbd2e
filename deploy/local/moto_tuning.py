"""Make moto's Step Functions interpreter cheap per task, for the local cloud only.

moto builds a new boto3 client for every task it runs (tens of milliseconds of CPU each): with a
few hundred executions in flight that, not the handlers, is what the machine spends its time on.
The local cloud has one region and fixed fake credentials, so one client per service is enough;
boto3 clients are thread-safe.
"""

from __future__ import annotations

import importlib
import threading
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

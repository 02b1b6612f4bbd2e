"""The local EventBridge: the events the templates' functions subscribe to, delivered locally.

moto's Step Functions emits no "Execution Status Change" events and moto runs no schedules, so
this does what EventBridge does for the functions' `EventBridgeRule` and `Schedule` events:
- every execution that closes is published as Step Functions publishes it, matched against each
  rule's pattern (moto's own EventBridge pattern matcher), and delivered to the rule's function
  asynchronously, with Lambda's two retries of an asynchronous invocation that fails;
- every schedule invokes its function with a "Scheduled Event", every `interval_seconds`
  (`CHECKOUT_SCHEDULE_SECONDS`, 10 by default: the templates' minutes become seconds locally).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

from moto.events.models import EventPattern

from deploy.local.config import ACCOUNT, REGION
from deploy.local.deployer import EventRule, Schedule
from deploy.local.runtime import LambdaRuntime

STATUS_CHANGE = "Step Functions Execution Status Change"
ASYNC_RETRIES = 2  # what Lambda does with a failed asynchronous invocation
RETRY_DELAYS = (1.0, 2.0)  # seconds locally (about a minute and two on AWS)

log = logging.getLogger(__name__)


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def status_change_event(execution: Any) -> dict[str, Any]:
    """A moto execution as Step Functions' EventBridge event describes it."""
    status = str(getattr(execution.exec_status, "value", execution.exec_status))
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": status,
            "startDate": _millis(execution.start_date),
            "stopDate": _millis(execution.stop_date),
            "input": execution.input_data,
            "output": execution.output if isinstance(execution.output, str) else None,
            "error": execution.error,
            "cause": execution.cause,
        },
    }


class LocalEventBridge:
    def __init__(
        self,
        runtime: LambdaRuntime,
        rules: list[EventRule],
        schedules: list[Schedule],
        interval_seconds: float,
    ) -> None:
        self._runtime = runtime
        self._rules = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in rules]
        self._schedules = schedules
        self._interval = interval_seconds
        self._deliveries = ThreadPoolExecutor(max_workers=4, thread_name_prefix="event")
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.delivered: dict[str, int] = {}  # function -> events delivered (for the banner/bench)

    def start(self) -> None:
        from deploy.local.moto_tuning import on_execution_closed

        on_execution_closed(lambda execution: self.publish(status_change_event(execution)))
        for schedule in self._schedules:
            thread = threading.Thread(
                target=self._tick,
                args=(schedule,),
                daemon=True,
                name=f"schedule-{schedule.function}",
            )
            thread.start()
            self._threads.append(thread)

    def publish(self, event: dict[str, Any]) -> None:
        if self._stopping.is_set():
            return
        for rule, pattern in self._rules:
            if pattern.matches_event(cast(Any, event)):  # moto types it as its own TypedDict
                self._deliveries.submit(self._deliver, rule.function, event)

    def _tick(self, schedule: Schedule) -> None:
        while not self._stopping.wait(self._interval):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT,
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [f"local-schedule/{schedule.function}"],
                "detail": {},
            }
            self._deliver(schedule.function, event)

    def _deliver(self, function: str, event: dict[str, Any]) -> None:
        for attempt in range(ASYNC_RETRIES + 1):
            if self._stopping.is_set():
                return
            result = self._runtime.invoke(function, event, when_busy="wait")
            if not result.failed:
                self.delivered[function] = self.delivered.get(function, 0) + 1
                return
            log.warning(
                "%s failed on %s (attempt %d): %s",
                function, event["detail-type"], attempt + 1, result.payload,
            )  # fmt: skip
            if attempt < ASYNC_RETRIES:
                time.sleep(RETRY_DELAYS[attempt])

    def stop(self) -> None:
        from deploy.local.moto_tuning import on_execution_closed

        self._stopping.set()
        on_execution_closed(None)
        self._deliveries.shutdown(wait=True, cancel_futures=True)
        for thread in self._threads:
            thread.join(timeout=2)

"""Lambda: the reconciler, for the saga's execution status-change events and its schedule."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field, StringConstraints

from orchestration.reconciler.logic import reconcile_execution, sweep
from orchestration.reconciler.settings import get_settings
from shared.contracts import Contract
from shared.observability import logger, tracer
from shared.saga_task import parse_task, report_failure, report_success

STATUS_CHANGE = "Step Functions Execution Status Change"
SCHEDULED = "Scheduled Event"

ExecutionArn = Annotated[
    str, StringConstraints(pattern=r"^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$")
]


class _Event(Contract):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class StatusChangeDetail(_Event):
    execution_arn: ExecutionArn = Field(alias="executionArn")
    status: str


class StatusChange(_Event):
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: StatusChangeDetail


class Scheduled(_Event):
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")


class ReconcilerEvent(_Event):
    """Either of the two EventBridge events the template routes here."""

    event: StatusChange | Scheduled


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = get_settings()
        received = parse_task({"event": event}, ReconcilerEvent).event  # bad event: named, raised
        if isinstance(received, StatusChange):
            arn = received.detail.execution_arn
            tracer.put_annotation("execution", arn.rsplit(":", 1)[-1])
            outcomes = [reconcile_execution(arn, settings)]
        else:
            outcomes = sweep(settings)
    except Exception as error:
        report_failure(error, "reconciliation failed")
        raise
    for outcome in outcomes:
        logger.info("reconciled", extra=outcome.as_dict())
    report_success(f"{len(outcomes)} execution(s) reconciled")
    return {"outcomes": [outcome.as_dict() for outcome in outcomes]}

"""Cancel an order with a reason: the compensation of create_order."""

from __future__ import annotations

import json

from services.order.dal import orders
from services.order.models import OrderStatus
from shared.contracts import CancelOrderInput, CancelOrderOutput, CompensationDone, SagaFailure
from shared.errors import DependencyUnavailableError, OrderNotPendingError

MAX_ATTEMPTS = 3
MAX_REASON_LENGTH = 1_000  # the contract's Reason; a stack trace or a huge message is cut
TRUNCATION_MARK = "…"


def cancel_order(task: CancelOrderInput) -> CancelOrderOutput:
    cancellation = _cancellation(task)
    reason_code, reason = cancellation.reason_code, cancellation.reason
    for _ in range(MAX_ATTEMPTS):
        order = orders.get_order(task.order_id)
        if order is None:
            # The create may still land later (it timed out): leave a tombstone so it is refused.
            try:
                orders.create_tombstone(task.order_id, cancellation)
            except orders.OrderAlreadyRecordedError:
                continue  # the create landed just now: cancel it
            return _cancelled(task, reason_code, reason, cancelled_now=False)
        if order.status is OrderStatus.CANCELLED:
            # Keep the first reason: a repeated compensation must not rewrite history.
            return _cancelled(
                task,
                order.reason_code or reason_code,
                order.reason or reason,
                cancelled_now=False,
            )
        if order.status is OrderStatus.CONFIRMED:
            raise OrderNotPendingError(
                f"order {task.order_id} is already confirmed; it cannot be cancelled"
            )
        try:
            orders.cancel_order(task.order_id, cancellation)
        except orders.OrderChangedError:
            continue  # a concurrent confirm or cancel landed first: re-read and decide again
        return _cancelled(task, reason_code, reason, cancelled_now=True)
    raise DependencyUnavailableError(
        f"order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _cancellation(task: CancelOrderInput) -> orders.Cancellation:
    return orders.Cancellation(
        reason_code=task.failure.Error,
        reason=failure_reason(task.failure),
        total=task.total,
        compensations=[
            CompensationDone(operation=operation, status=result.status)
            for operation, result in task.compensations.items()
            if result is not None  # its step never started, so it did not run
        ],
    )


def failure_reason(failure: SagaFailure) -> str:
    """A human-readable reason from a Catch's `$.failure`.

    For a Lambda error, `Cause` is the JSON Lambda reported (errorType, errorMessage, stack trace):
    the message is the useful part. For platform errors (States.Timeout, ...) it is plain text or
    absent, and then the error name is all there is.
    """
    cause = (failure.Cause or "").strip()
    reason = _error_message(cause) or cause or failure.Error
    if len(reason) > MAX_REASON_LENGTH:
        reason = reason[: MAX_REASON_LENGTH - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return reason


def _error_message(cause: str) -> str | None:
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    message = parsed.get("errorMessage")
    if not isinstance(message, str) or not message.strip():
        return None
    return message.strip()


def _cancelled(
    task: CancelOrderInput, reason_code: str, reason: str, *, cancelled_now: bool
) -> CancelOrderOutput:
    return CancelOrderOutput(
        order_id=task.order_id,
        status=OrderStatus.CANCELLED.value,
        reason_code=reason_code,
        reason=reason,
        cancelled_now=cancelled_now,
    )

"""Start a checkout saga once per Idempotency-Key, and read a checkout's progress."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orchestration import aws
from orchestration.api import catalog
from orchestration.history import state_input, steps_from_history
from orchestration.api.models import (
    ApiError,
    CheckoutAccepted,
    CheckoutRequest,
    CheckoutStatus,
    CheckoutView,
    SagaInput,
)
from orchestration.api.settings import CheckoutApiSettings
from orchestration.steps import ENDINGS

_STATUS_OF_EXECUTION: dict[str, CheckoutStatus] = {
    "RUNNING": "PENDING",
    "PENDING_REDRIVE": "PENDING",
    "FAILED": "FAILED",
    "TIMED_OUT": "FAILED",
    "ABORTED": "FAILED",
}


def order_id_for(idempotency_key: str) -> str:
    """The order id (and execution name) a key maps to: a replayed key finds the same saga."""
    return "ord-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def execution_arn(settings: CheckoutApiSettings, order_id: str) -> str:
    return settings.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{order_id}"


def fingerprint(request: CheckoutRequest, fault: str | None) -> str:
    canonical = json.dumps(
        {"request": request.model_dump(mode="json"), "fault": fault}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def start_checkout(
    request: CheckoutRequest, idempotency_key: str, fault: str | None, settings: CheckoutApiSettings
) -> CheckoutAccepted:
    _require_known_skus(request, settings)
    order_id = order_id_for(idempotency_key)
    saga_input = SagaInput(
        order_id=order_id,
        customer_id=request.customer_id,
        items=[line.model_dump(mode="json") for line in request.items],
        payment_token=request.payment_token,
        fault=fault,
        request_fingerprint=fingerprint(request, fault),
    )
    try:
        aws.start_execution(settings.state_machine_arn, order_id, saga_input.model_dump_json())
    except aws.ExecutionAlreadyExistsError:
        return _replay(order_id, saga_input.request_fingerprint, settings)
    return CheckoutAccepted(order_id=order_id, status="PENDING")


def _require_known_skus(request: CheckoutRequest, settings: CheckoutApiSettings) -> None:
    """Refuse unknown skus before a saga starts, so nothing is written for them."""
    known = catalog.get_products(settings, [line.sku for line in request.items])
    if known.missing:
        raise ApiError(
            422,
            "unknown_sku",
            f"unknown sku(s): {', '.join(known.missing)}",
            [{"field": "items", "problem": f"unknown sku {sku}"} for sku in known.missing],
        )


def _replay(
    order_id: str, request_fingerprint: str, settings: CheckoutApiSettings
) -> CheckoutAccepted:
    """The key was used before: same request → the same order; another request → 409."""
    described = aws.describe_execution(execution_arn(settings, order_id))
    if described is None:  # vanishingly rare: the name is taken but not readable yet
        raise ApiError(503, "try_again", "the checkout is being created; retry shortly")
    previous = json.loads(described.get("input") or "{}")
    if previous.get("request_fingerprint") != request_fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different checkout request",
        )
    status = _status(described, aws.execution_history(described["executionArn"]))
    return CheckoutAccepted(order_id=order_id, status=status)


def _confirmed(events: list[dict[str, Any]]) -> bool:
    """Did ConfirmOrder succeed? After the pivot the order is confirmed whatever follows."""
    return any(
        step.state == "ConfirmOrder" and step.outcome == "succeeded"
        for step in steps_from_history(events, running=False)
    )


def _status(described: dict[str, Any], events: list[dict[str, Any]]) -> CheckoutStatus:
    if described["status"] != "SUCCEEDED" and _confirmed(events):
        # e.g. publishing CheckoutConfirmed failed after its retries: the execution failed
        # (and alarmed), but the order is confirmed and paid; telling the customer FAILED
        # would invite a second purchase.
        return "CONFIRMED"
    if described["status"] == "SUCCEEDED":
        for event in reversed(events):
            entered = event.get("stateEnteredEventDetails")
            if entered is not None and entered["name"] in ENDINGS:
                status: CheckoutStatus = ENDINGS[entered["name"]]  # type: ignore[assignment]
                return status
        return "CONFIRMED"
    return _STATUS_OF_EXECUTION.get(described["status"], "PENDING")


def checkout_view(order_id: str, settings: CheckoutApiSettings) -> CheckoutView:
    described = aws.describe_execution(execution_arn(settings, order_id))
    if described is None:
        raise ApiError(404, "checkout_not_found", f"no checkout with order id {order_id}")
    events = aws.execution_history(described["executionArn"])
    status = _status(described, events)
    output = json.loads(described.get("output") or "null") or {}
    reason, reason_code, total = None, None, output.get("reservation", {}).get("total")
    if status == "CANCELLED":
        cancellation = output.get("cancellation", {})
        reason, reason_code = cancellation.get("reason"), cancellation.get("reason_code")
    elif status == "CONFIRMED" and described["status"] != "SUCCEEDED":
        total = (
            (state_input(events, "PublishCheckoutConfirmed") or {})
            .get("reservation", {})
            .get("total")
        )
    elif status == "FAILED":
        parked = state_input(events, "ParkCheckout") or {}
        total = parked.get("reservation", {}).get("total")
        stuck = parked.get("stuck_step")
        error = (parked.get("stuck_failure") or {}).get("Error") or described.get("error")
        reason_code = described.get("error") or "ExecutionFailed"
        reason = (
            f"{stuck} could not finish ({error}); the order is parked for an operator"
            if stuck
            else f"the saga ended {described['status']}: {described.get('cause') or error}"
        )
    return CheckoutView(
        order_id=order_id,
        status=status,
        reason=reason,
        reason_code=reason_code,
        total=total,
        steps=steps_from_history(events, running=described["status"] == "RUNNING"),
    )

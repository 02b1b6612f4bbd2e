"""Start a checkout saga once per Idempotency-Key, and read a checkout's progress."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from orchestration import aws
from orchestration.api import catalog
from orchestration.api.models import (
    ApiError,
    CheckoutAccepted,
    CheckoutRequest,
    CheckoutStatus,
    CheckoutView,
    RecoveryView,
    SagaInput,
)
from orchestration.api.settings import CheckoutApiSettings
from orchestration.history import state_input, steps_from_history
from orchestration.parked_checkouts import find_parked
from orchestration.recovery import PARKED_ERROR, execution_chain, recovery_of
from orchestration.steps import ENDINGS


def order_id_for(idempotency_key: str) -> str:
    """The order id (and execution name) a key maps to: a replayed key finds the same saga."""
    return "ord-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


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
    described = aws.describe_execution(aws.execution_arn(settings.state_machine_arn, order_id))
    if described is None:  # vanishingly rare: the name is taken but not readable yet
        raise ApiError(503, "try_again", "the checkout is being created; retry shortly")
    previous = json.loads(described.get("input") or "{}")
    if previous.get("request_fingerprint") != request_fingerprint:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different checkout request",
        )
    return CheckoutAccepted(order_id=order_id, status=checkout_view(order_id, settings).status)


@dataclass(frozen=True)
class _Run:
    """One execution of the checkout (its saga or a recovery) and its history."""

    described: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.described["status"])

    @property
    def confirmed(self) -> bool:
        """Did ConfirmOrder succeed? After the pivot the order is confirmed whatever follows."""
        return any(
            step.state == "ConfirmOrder" and step.outcome == "succeeded"
            for step in steps_from_history(self.events, running=False)
        )

    @property
    def ending(self) -> str | None:
        for event in reversed(self.events):
            entered = event.get("stateEnteredEventDetails")
            if entered is not None and entered["name"] in ENDINGS:
                return str(entered["name"])
        return None


@dataclass(frozen=True)
class _Ending:
    status: CheckoutStatus
    reason: str | None = None
    reason_code: str | None = None
    total: dict[str, Any] | None = None


def checkout_view(order_id: str, settings: CheckoutApiSettings) -> CheckoutView:
    chain = execution_chain(aws.describe_execution, settings.state_machine_arn, order_id)
    if not chain:
        raise ApiError(404, "checkout_not_found", f"no checkout with order id {order_id}")
    runs = [_Run(d, aws.execution_history(d["executionArn"])) for d in chain]
    ending = _ending(runs, order_id)
    return CheckoutView(
        order_id=order_id,
        status=ending.status,
        reason=ending.reason,
        reason_code=ending.reason_code,
        total=ending.total,
        steps=[
            step
            for run in runs
            for step in steps_from_history(
                run.events, running=run.status == "RUNNING", execution=run.described["name"]
            )
        ],
        recoveries=[
            RecoveryView(
                execution=run.described["name"],
                resume=str(recovery["resume"]),
                reason=str(recovery.get("reason") or ""),
                status=run.status,
            )
            for run in runs
            if (recovery := recovery_of(run.described)) is not None
        ],
    )


def _ending(runs: list[_Run], order_id: str) -> _Ending:
    """The checkout's status from its executions: the last one decides, except that a pivot
    that succeeded in any of them means CONFIRMED (telling the customer otherwise would invite a
    second purchase)."""
    last = runs[-1]
    for run in runs:
        if run.confirmed:
            confirm = state_input(run.events, "ConfirmOrder") or {}
            return _Ending("CONFIRMED", total=_total(confirm))
    if last.status == "RUNNING" or last.status == "PENDING_REDRIVE":
        return _Ending("PENDING")
    if last.status == "SUCCEEDED":
        output = json.loads(last.described.get("output") or "null") or {}
        if ENDINGS.get(last.ending or "") == "CANCELLED":
            cancellation = output.get("cancellation", {})
            return _Ending(
                "CANCELLED", cancellation.get("reason"), cancellation.get("reason_code"),
                _total(output),
            )  # fmt: skip
        return _Ending("CONFIRMED", total=_total(output))
    if last.status == "FAILED" and last.described.get("error") == PARKED_ERROR:
        parked = state_input(last.events, "ParkCheckout") or {}
        stuck = parked.get("stuck_step")
        error = (parked.get("stuck_failure") or {}).get("Error")
        return _Ending(
            "FAILED",
            f"{stuck} could not finish ({error}); the order is parked for an operator",
            PARKED_ERROR,
            _total(parked),
        )
    parked_record = find_parked(order_id)
    if parked_record is not None:  # the reconciler parked it after its recoveries died
        return _Ending(
            "FAILED",
            f"{parked_record.stuck_failure.get('Cause')}; the order is parked for an operator",
            parked_record.error,
            parked_record.reservation.get("total"),
        )
    # Closed unfinished and not parked: the reconciler is bringing it to an end (its status-change
    # event starts a recovery within seconds; the sweep catches a missed one).
    return _Ending(
        "PENDING",
        f"the saga execution {last.described['name']} ended {last.status}; "
        "the reconciler is finishing the checkout",
        last.described.get("error") or f"Execution{last.status.title().replace('_', '')}",
    )


def _total(state: dict[str, Any]) -> dict[str, Any] | None:
    total: dict[str, Any] | None = (state.get("reservation") or {}).get("total")
    return total

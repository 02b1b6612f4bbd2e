"""Start a checkout saga once per Idempotency-Key, and read a checkout's status and steps."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor, wait

from orchestration import aws
from orchestration.api import catalog, orders
from orchestration.api.models import (
    ApiError,
    CheckoutAccepted,
    CheckoutRequest,
    CheckoutStatus,
    CheckoutStepsView,
    CheckoutView,
    CompensationView,
    ParkedView,
    RecoveryView,
    SagaInput,
)
from orchestration.api.settings import CheckoutApiSettings
from orchestration.history import steps_from_history
from orchestration.parked_checkouts import ParkedCheckout, find_parked
from orchestration.recovery import PARKED_ERROR, execution_chain, recovery_of
from orchestration.spec import SAGA, state_name
from orchestration.steps import STEPS, label_of
from shared.contracts import Money, OrderSummary, stored_money


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
        execution_input = SAGA.execution_input(saga_input.model_dump(mode="json"))
        aws.start_execution(settings.state_machine_arn, order_id, json.dumps(execution_input))
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


# One thread: a status read has one read to overlap. Started on the first status read, not at
# import; the read is always awaited, so nothing runs while Lambda freezes the process.
_PARKED_READS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parked-read")


def checkout_view(order_id: str, settings: CheckoutApiSettings) -> CheckoutView:
    """The checkout's status from the services' records, never from Step Functions history.

    The order (read through the order service) says CONFIRMED or CANCELLED; an order still
    PENDING, or none yet, reads FAILED when the saga or the reconciler parked it, and any parked
    record is shown (`parked`) whatever the order says. Only a poll that arrives before the saga's
    first step recorded the order asks Step Functions whether the checkout exists
    (docs/decisions.md, "Status from the order").
    """
    # The two reads are independent: the parked record is read while the order service answers,
    # so a status read costs about one read, not two (docs/performance.md, round 6).
    parked_read = _PARKED_READS.submit(find_parked, order_id)
    try:
        order = orders.get_order(settings, order_id)
    finally:
        wait([parked_read])  # never left running: Lambda may freeze the process after the answer
    parked = parked_read.result()
    if parked is not None and not _is_final(order):
        # An operator's retry may have finished it between the two reads: the order decides.
        order = orders.get_order(settings, order_id)
    if order is not None and _is_final(order):
        view = _view(order_id, order, order.status)  # type: ignore[arg-type]
        return view.model_copy(update={"parked": _parked(parked)}) if parked else view
    if parked is not None:
        return _parked_view(order_id, order, parked)
    if order is None and not _saga_exists(order_id, settings):
        raise ApiError(404, "checkout_not_found", f"no checkout with order id {order_id}")
    return _view(order_id, order, "PENDING")


FINAL_ORDER_STATUSES = ("CONFIRMED", "CANCELLED")


def _is_final(order: OrderSummary | None) -> bool:
    return order is not None and order.status in FINAL_ORDER_STATUSES


def _parked(parked: ParkedCheckout) -> ParkedView:
    return ParkedView(stuck_step=parked.stuck_step, error=parked.error, parked_at=parked.parked_at)


def _saga_exists(order_id: str, settings: CheckoutApiSettings) -> bool:
    arn = aws.execution_arn(settings.state_machine_arn, order_id)
    return aws.describe_execution(arn) is not None


def _view(order_id: str, order: OrderSummary | None, status: CheckoutStatus) -> CheckoutView:
    return CheckoutView(
        order_id=order_id,
        status=status,
        reason=order.reason if order else None,
        reason_code=order.reason_code if order else None,
        total=order.total if order else None,
        created_at=order.created_at if order else None,
        updated_at=order.updated_at if order else None,
        compensations=[
            CompensationView(operation=_label(done.operation), status=done.status)
            for done in (order.compensations if order else [])
        ],
        parked=None,
        next_action=order.next_action if order and status == "PENDING" else None,
    )


def _parked_view(order_id: str, order: OrderSummary | None, parked: ParkedCheckout) -> CheckoutView:
    view = _view(order_id, order, "FAILED")
    return view.model_copy(
        update={
            "reason": (
                f"{parked.stuck_step} could not finish ({parked.error}); "
                "the order is parked for an operator"
            ),
            "reason_code": PARKED_ERROR,
            "total": _reserved_total(parked),
            "parked": _parked(parked),
        }
    )


def _reserved_total(parked: ParkedCheckout) -> Money | None:
    total = parked.reservation.get("total") or {}
    return stored_money(total.get("amount"), total.get("currency"))


def _label(operation: str) -> str:
    """void_payment -> payment.void_payment, as the step timeline names it."""
    state = state_name(operation)
    return label_of(state) if state in STEPS else operation


def checkout_steps_view(order_id: str, settings: CheckoutApiSettings) -> CheckoutStepsView:
    """The status, with the step timeline of every execution of the checkout (history reads)."""
    view = checkout_view(order_id, settings)
    chain = execution_chain(aws.describe_execution, settings.state_machine_arn, order_id)
    runs = [(described, aws.execution_history(described["executionArn"])) for described in chain]
    return CheckoutStepsView(
        **dict(view),  # the fields as they are: no dump and validate again
        steps=[
            step
            for described, events in runs
            for step in steps_from_history(
                events, running=described["status"] == "RUNNING", execution=described["name"]
            )
        ],
        recoveries=[
            RecoveryView(
                execution=described["name"],
                resume=str(recovery["resume"]),
                reason=str(recovery.get("reason") or ""),
                status=described["status"],
            )
            for described, _ in runs
            if (recovery := recovery_of(described)) is not None
        ],
    )

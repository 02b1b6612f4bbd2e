"""Create an order as PENDING: saga step 1, the action that cancel_order compensates."""

from __future__ import annotations

from services.order.dal import orders
from services.order.models import Order, OrderStatus
from shared.contracts import CreateOrderInput, CreateOrderOutput
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
)

# A conflict means another call recorded the order between our read and our put; one re-read
# settles it, so a few attempts are plenty before the state machine retries (a transient error).
MAX_ATTEMPTS = 3


def create_order(task: CreateOrderInput) -> CreateOrderOutput:
    for _ in range(MAX_ATTEMPTS):
        existing = orders.get_order(task.order_id)
        if existing is not None:
            return _replay(existing, task)
        try:
            orders.create_order(task.order_id, task.customer_id, task.items)
        except orders.OrderAlreadyRecordedError:
            continue  # a concurrent create or cancel landed first: re-read and decide again
        return CreateOrderOutput(order_id=task.order_id, status=OrderStatus.PENDING.value)
    raise DependencyUnavailableError(
        f"order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _replay(existing: Order, task: CreateOrderInput) -> CreateOrderOutput:
    """The same order again: report it as stored, refuse a late or a different request."""
    if existing.status is OrderStatus.CANCELLED:
        # Includes the tombstone: the cancel ran first, so the late create must not revive it.
        raise AlreadyCompensatedError(
            f"order {task.order_id} was already cancelled; refusing a late create"
        )
    requested = sorted((line.sku, line.quantity) for line in task.items)
    recorded = sorted((line.sku, line.quantity) for line in existing.items)
    if existing.customer_id != task.customer_id or requested != recorded:
        raise IdempotencyConflictError(
            f"order {task.order_id} was already created for a different customer or items"
        )
    return CreateOrderOutput(order_id=task.order_id, status=existing.status.value)

"""Confirm an order: saga step 4, the pivot. After it the saga only moves forward."""

from __future__ import annotations

from services.order.dal import orders
from services.order.models import Order, OrderStatus
from shared.contracts import ConfirmOrderInput, ConfirmOrderOutput
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    OrderNotPendingError,
)

MAX_ATTEMPTS = 3


def confirm_order(task: ConfirmOrderInput) -> ConfirmOrderOutput:
    for _ in range(MAX_ATTEMPTS):
        order = orders.get_order(task.order_id)
        if order is None:
            raise OrderNotPendingError(f"order {task.order_id} does not exist")
        if order.status is OrderStatus.CANCELLED:
            raise AlreadyCompensatedError(
                f"order {task.order_id} was already cancelled; refusing to confirm it"
            )
        if order.status is OrderStatus.CONFIRMED:
            return _replay(order, task)
        try:
            orders.confirm_order(task.order_id, task.total, task.charge_id)
        except orders.OrderChangedError:
            continue  # a concurrent confirm or cancel landed first: re-read and decide again
        return ConfirmOrderOutput(
            order_id=task.order_id, status=OrderStatus.CONFIRMED.value, total=task.total
        )
    raise DependencyUnavailableError(
        f"order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _replay(order: Order, task: ConfirmOrderInput) -> ConfirmOrderOutput:
    """Confirmed already: the same confirmation is replayed, a different one is refused."""
    if order.total is None or order.total != task.total or order.charge_id != task.charge_id:
        raise IdempotencyConflictError(
            f"order {task.order_id} was already confirmed with a different total or charge"
        )
    return ConfirmOrderOutput(
        order_id=task.order_id, status=OrderStatus.CONFIRMED.value, total=order.total
    )

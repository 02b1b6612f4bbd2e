"""Read one order: the checkout status API's answer comes from here (the system of record)."""

from __future__ import annotations

from services.order.dal import orders
from services.order.models import Order, OrderStatus
from shared.contracts import GetOrderInput, GetOrderOutput, OrderSummary


def get_order(request: GetOrderInput) -> GetOrderOutput:
    """The order as stored, or None when it does not exist (a tombstone does exist: CANCELLED)."""
    order = orders.get_order(request.order_id)
    return GetOrderOutput(order=_summary(order) if order is not None else None)


def _summary(order: Order) -> OrderSummary:
    return OrderSummary(
        order_id=order.order_id,
        status=order.status.value,
        total=order.total,
        reason_code=order.reason_code,
        reason=order.reason,
        compensations=order.compensations,
        created_at=order.created_at.isoformat(),
        updated_at=order.updated_at.isoformat(),
        # Only while it can still be acted on: the answer, or the end, withdraws it.
        next_action=order.next_action if order.status is OrderStatus.PENDING else None,
    )

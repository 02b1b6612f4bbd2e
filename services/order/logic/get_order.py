"""Read one order, for the checkout status API."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from services.order.dal import orders
from services.order.models import Order
from shared.contracts import OrderId
from shared.errors import InvalidInputError

_ORDER_ID = TypeAdapter(OrderId)


def get_order(order_id: str) -> Order | None:
    """The order as stored, or None when it does not exist (a tombstone does exist: CANCELLED)."""
    # An id from a URL is untrusted: refuse a malformed one instead of sending it to DynamoDB.
    try:
        _ORDER_ID.validate_python(order_id, strict=True)
    except ValidationError:
        raise InvalidInputError(f"order_id {order_id!r} is not a valid order id") from None
    return orders.get_order(order_id)

"""Provider idempotency keys, derived from the order so every retry of a step reuses them."""

from __future__ import annotations


def authorize_key(order_id: str) -> str:
    return f"authorize:{order_id}"


def capture_key(order_id: str) -> str:
    return f"capture:{order_id}"


def void_key(order_id: str) -> str:
    return f"void:{order_id}"


def refund_key(order_id: str) -> str:
    return f"refund:{order_id}"

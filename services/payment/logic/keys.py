"""Provider idempotency keys, derived from the order so every retry of a step reuses them."""

from __future__ import annotations


def charge_key(order_id: str) -> str:
    return f"charge:{order_id}"


def refund_key(order_id: str) -> str:
    return f"refund:{order_id}"

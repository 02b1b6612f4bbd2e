"""A checkout's order, read through the order service's get_order function (it owns the data)."""

from __future__ import annotations

from orchestration import aws
from orchestration.api.settings import CheckoutApiSettings
from shared.contracts import GetOrderOutput, OrderSummary


def get_order(settings: CheckoutApiSettings, order_id: str) -> OrderSummary | None:
    return GetOrderOutput.model_validate(
        aws.invoke_function(settings.get_order_function_arn, {"order_id": order_id})
    ).order

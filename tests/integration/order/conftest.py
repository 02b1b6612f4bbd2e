from __future__ import annotations

import json
from typing import Any

import pytest

from services.order.bootstrap import start as get_settings
from services.order.dal import orders as orders_dal
from services.order.dal.records import OrderRecord
from services.order.models import Order
from services.order.settings import OrderSettings
from tests.support.tables import bind_service, table_items

ORDER_ENV = {"ORDERS_TABLE_NAME": "test-orders"}

ORDER = "order-0001"
CUSTOMER = "customer-1"
ITEMS = [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}]
TOTAL = {"amount": 3_250, "currency": "EUR"}
CHARGE = "ch_0001"
OUT_OF_STOCK_MESSAGE = "not enough stock for SKU-A (requested 3, available 1)"


@pytest.fixture
def orders(aws: None, monkeypatch: pytest.MonkeyPatch) -> OrderSettings:
    settings: OrderSettings = bind_service(monkeypatch, get_settings, ORDER_ENV, [OrderRecord])
    return settings


def create_event(
    order_id: str = ORDER, customer_id: str = CUSTOMER, items: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "items": ITEMS if items is None else items,
    }


def confirm_event(
    order_id: str = ORDER, total: dict[str, Any] | None = None, charge_id: str = CHARGE
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "total": TOTAL if total is None else total,
        "charge_id": charge_id,
    }


def lambda_cause(error_type: str, message: str) -> str:
    """The `Cause` a Catch records for a Lambda error: Lambda's error JSON, as a string."""
    return json.dumps(
        {"errorType": error_type, "errorMessage": message, "trace": ['  File "handler.py"']}
    )


def cancel_event(
    order_id: str = ORDER,
    error: str = "OutOfStockError",
    cause: str | None = lambda_cause("OutOfStockError", OUT_OF_STOCK_MESSAGE),
) -> dict[str, Any]:
    return {"order_id": order_id, "failure": {"Error": error, "Cause": cause}}


def stale_reads(monkeypatch: pytest.MonkeyPatch, times: int, seen: Order | None = None) -> None:
    """Make the next `times` order reads return `seen`: a writer landed just after our read."""
    real_get_order = orders_dal.get_order
    remaining = [times]

    def get_order(order_id: str) -> Order | None:
        if remaining[0] > 0:
            remaining[0] -= 1
            return seen
        return real_get_order(order_id)

    monkeypatch.setattr(orders_dal, "get_order", get_order)


def stored_order() -> dict[str, Any]:
    """The one stored order, as plain data (fails if there is not exactly one)."""
    [item] = table_items(OrderRecord)
    return item


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tests.support.lambda_context import FakeLambdaContext

    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result


@pytest.fixture
def pending_order(orders: OrderSettings) -> dict[str, Any]:
    """An order the saga created and has not confirmed or cancelled yet."""
    from services.order.handlers import create_order

    invoke(create_order.lambda_handler, create_event())
    return stored_order()

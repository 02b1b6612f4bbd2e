from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.inventory.bootstrap import start as get_settings
from services.inventory.dal import stock
from services.inventory.dal.records import ProductRecord, ReservationRecord
from services.inventory.models import Product
from services.inventory.settings import InventorySettings
from tests.support.tables import bind_service

INVENTORY_ENV = {
    "PRODUCTS_TABLE_NAME": "test-products",
    "RESERVATIONS_TABLE_NAME": "test-reservations",
}


@pytest.fixture
def inventory(aws: None, monkeypatch: pytest.MonkeyPatch) -> InventorySettings:
    settings: InventorySettings = bind_service(
        monkeypatch, get_settings, INVENTORY_ENV, [ProductRecord, ReservationRecord]
    )
    return settings


@pytest.fixture
def add_product(inventory: InventorySettings) -> Callable[..., Product]:
    def add(sku: str, available: int, unit_price: int = 1_500, currency: str = "EUR") -> Product:
        product = Product(
            sku=sku,
            name=f"Product {sku}",
            unit_price=unit_price,
            currency=currency,
            available=available,
        )
        stock.put_product(product)
        return product

    return add


def available(sku: str) -> int:
    product = stock.get_product(sku)
    assert product is not None
    return product.available


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from tests.support.lambda_context import FakeLambdaContext

    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result

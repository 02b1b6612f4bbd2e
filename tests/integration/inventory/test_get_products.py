"""get_products handler against moto tables: the catalog read the checkout API invokes directly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.inventory.dal.records import ProductRecord, ReservationRecord
from services.inventory.handlers import get_products, reserve_stock
from shared.errors import InvalidInputError
from tests.integration.inventory.conftest import invoke
from tests.support.tables import table_items


def view(sku: str, available: int, price: int = 1_500, currency: str = "EUR") -> dict[str, Any]:
    """The public product shape, as the add_product fixture stores it."""
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "price": price,
        "currency": currency,
        "available": available,
    }


@pytest.fixture
def catalog(add_product):
    add_product("SKU-B", available=2, unit_price=250)
    add_product("SKU-C", available=0, unit_price=9_900, currency="USD")
    add_product("SKU-A", available=5)


@pytest.fixture
def writes_nothing(catalog) -> Iterator[None]:
    """Every table holds exactly what it held before the test's invocations."""
    products, reservations = table_items(ProductRecord), table_items(ReservationRecord)
    yield
    assert table_items(ProductRecord) == products
    assert table_items(ReservationRecord) == reservations


@pytest.mark.usefixtures("writes_nothing")
@pytest.mark.parametrize("event", [{}, {"skus": None}], ids=["no-skus", "null-skus"])
def test_without_skus_returns_the_whole_catalog_sorted_by_sku(event):
    # Given three products stored out of order (the catalog fixture)
    # When the catalog is read without naming skus
    result = invoke(get_products.lambda_handler, event)

    # Then every product comes back in the public shape, sorted by sku, and nothing is missing
    assert result == {
        "products": [
            view("SKU-A", 5),
            view("SKU-B", 2, price=250),
            view("SKU-C", 0, price=9_900, currency="USD"),
        ],
        "missing": [],
    }


@pytest.mark.usefixtures("writes_nothing")
def test_given_skus_returns_the_found_sorted_and_the_missing_in_request_order():
    # When a checkout's skus are looked up, some of them unknown
    result = invoke(
        get_products.lambda_handler, {"skus": ["SKU-Z", "SKU-C", "SKU-NOPE", "SKU-A", "SKU-Y"]}
    )

    # Then the known ones come back sorted by sku, the unknown ones in the order they were asked
    assert result["products"] == [view("SKU-A", 5), view("SKU-C", 0, price=9_900, currency="USD")]
    assert result["missing"] == ["SKU-Z", "SKU-NOPE", "SKU-Y"]


@pytest.mark.usefixtures("writes_nothing")
def test_one_sku_is_the_product_page():
    result = invoke(get_products.lambda_handler, {"skus": ["SKU-B"]})

    assert result == {"products": [view("SKU-B", 2, price=250)], "missing": []}


@pytest.mark.usefixtures("writes_nothing")
def test_only_unknown_skus_return_no_products_and_all_missing():
    result = invoke(get_products.lambda_handler, {"skus": ["SKU-Y", "SKU-X"]})

    assert result == {"products": [], "missing": ["SKU-Y", "SKU-X"]}


def test_an_empty_catalog_reads_as_no_products(inventory):
    assert invoke(get_products.lambda_handler, {}) == {"products": [], "missing": []}


def test_available_reflects_reservations(catalog):
    # Given an order that holds 2 units of SKU-A
    invoke(
        reserve_stock.lambda_handler,
        {"order_id": "order-0001", "items": [{"sku": "SKU-A", "quantity": 2}]},
    )

    # When SKU-A is read, then what is left is available
    result = invoke(get_products.lambda_handler, {"skus": ["SKU-A"]})

    assert result["products"] == [view("SKU-A", 3)]


@pytest.mark.usefixtures("writes_nothing")
@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({"skus": ["SKU-A", "SKU-B", "SKU-A"]}, r"duplicate sku\(s\) SKU-A", id="dup"),
        pytest.param({"skus": ["x y"]}, r"skus\.0: String should match pattern", id="bad-sku"),
        pytest.param(
            {"skus": [f"SKU-{i}" for i in range(101)]},
            r"skus: List should have at most 100 items",
            id="101-skus",
        ),
        pytest.param({"skus": []}, r"skus: List should have at least 1 item", id="no-skus"),
        pytest.param({"skus": "SKU-A"}, r"skus: Input should be a valid list", id="not-a-list"),
        pytest.param({"sku": "SKU-A"}, r"sku: Extra inputs are not permitted", id="extra-field"),
        pytest.param(["SKU-A"], r"payload must be a JSON object", id="not-an-object"),
    ],
)
def test_malformed_payload_is_invalid_input_naming_the_problem(event, problem):
    with pytest.raises(InvalidInputError, match=rf"^GetProductsInput: .*{problem}"):
        invoke(get_products.lambda_handler, event)

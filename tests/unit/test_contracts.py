"""The saga contracts: strict, closed, integer money, one line per sku, bounded sizes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    MAX_AMOUNT_MINOR_UNITS,
    MAX_LINES_PER_ORDER,
    MAX_QUANTITY_PER_LINE,
    MAX_SKUS_PER_LOOKUP,
    AuthorizePaymentInput,
    CreateOrderInput,
    GetProductsInput,
    GetProductsOutput,
    Money,
    OrderLine,
    PricedLine,
    ProductView,
    ReserveStockInput,
    SagaFailure,
    TaskInput,
    summarize,
    total_of,
)

ORDER = "order-0001"


def line(sku: str = "SKU-A", quantity: Any = 1) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity}


def priced(sku: str, quantity: int, unit_price: int, currency: str = "EUR") -> PricedLine:
    return PricedLine(sku=sku, quantity=quantity, unit_price=unit_price, currency=currency)


def reserve(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"order_id": ORDER, "items": items, **extra}


def charge(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "order_id": ORDER,
        "customer_id": "cust-1",
        "payment_token": "tok_visa",
        "lines": lines,
        "amount": {"amount": 1_000, "currency": "EUR"},
    }


def priced_line(sku: str) -> dict[str, Any]:
    return {"sku": sku, "quantity": 1, "unit_price": 500, "currency": "EUR"}


# --- strict integers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity",
    [
        pytest.param("2", id="numeric-string"),
        pytest.param(2.0, id="integral-float"),
        pytest.param(2.5, id="fractional-float"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="null"),
    ],
)
def test_a_quantity_must_be_a_real_integer(quantity):
    # Given a quantity that only looks like an integer
    # When a line is built from it, then it is refused rather than coerced
    with pytest.raises(ValidationError, match="quantity"):
        OrderLine.model_validate(line(quantity=quantity))


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_must_be_positive(quantity):
    with pytest.raises(ValidationError, match="quantity"):
        OrderLine.model_validate(line(quantity=quantity))


def test_quantity_is_bounded_per_line():
    # Given the largest allowed quantity, then it is accepted
    assert OrderLine.model_validate(line(quantity=MAX_QUANTITY_PER_LINE)).quantity == 1_000

    # When one more is asked for, then it is refused
    with pytest.raises(ValidationError, match="quantity"):
        OrderLine.model_validate(line(quantity=MAX_QUANTITY_PER_LINE + 1))


# --- money is integer minor units, never a float ------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(12.5, id="float"),
        pytest.param(12.0, id="integral-float"),
        pytest.param("1250", id="string"),
        pytest.param(True, id="bool"),
        pytest.param(-1, id="negative"),
        pytest.param(MAX_AMOUNT_MINOR_UNITS + 1, id="over-the-limit"),
    ],
)
def test_money_amount_is_bounded_integer_minor_units(amount):
    with pytest.raises(ValidationError, match="amount"):
        Money.model_validate({"amount": amount, "currency": "EUR"})


def test_money_accepts_zero_and_the_limit():
    assert Money(amount=0, currency="EUR").amount == 0
    assert Money(amount=MAX_AMOUNT_MINOR_UNITS, currency="EUR").amount == 100_000_000


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", "", "€"])
def test_currency_is_an_iso_4217_code(currency):
    with pytest.raises(ValidationError, match="currency"):
        Money.model_validate({"amount": 100, "currency": currency})


def test_a_unit_price_must_be_integer_minor_units():
    with pytest.raises(ValidationError, match="unit_price"):
        PricedLine.model_validate({**line(), "unit_price": 9.99, "currency": "EUR"})


# --- one line per sku ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        pytest.param(ReserveStockInput, reserve([line("SKU-A"), line("SKU-A", 2)]), id="reserve"),
        pytest.param(
            CreateOrderInput,
            {"order_id": ORDER, "customer_id": "cust-1", "items": [line("SKU-A"), line("SKU-A")]},
            id="create-order",
        ),
        pytest.param(
            AuthorizePaymentInput,
            charge([priced_line("SKU-A"), priced_line("SKU-A")]),
            id="charge",
        ),
    ],
)
def test_duplicate_skus_are_rejected_and_named(model: type[BaseModel], payload):
    # Given two lines for the same sku
    # When the input is validated, then it is refused and the message names the sku
    with pytest.raises(ValidationError, match=r"duplicate sku.*SKU-A"):
        model.model_validate(payload)


def test_every_duplicate_sku_is_named_once():
    payload = reserve([line("SKU-B"), line("SKU-A"), line("SKU-B"), line("SKU-A"), line("SKU-C")])

    with pytest.raises(ValidationError, match=r"duplicate sku\(s\) SKU-A, SKU-B:"):
        ReserveStockInput.model_validate(payload)


# --- size limits --------------------------------------------------------------------------------


def test_an_order_holds_at_most_max_lines():
    # Given the largest allowed number of distinct lines, then it is accepted
    items = [line(f"SKU-{n}") for n in range(MAX_LINES_PER_ORDER)]
    assert len(ReserveStockInput.model_validate(reserve(items)).items) == 25

    # When one more line is added, then the order is refused
    with pytest.raises(ValidationError, match="items"):
        ReserveStockInput.model_validate(reserve([*items, line("SKU-EXTRA")]))


def test_an_order_has_at_least_one_line():
    with pytest.raises(ValidationError, match="items"):
        ReserveStockInput.model_validate(reserve([]))


def test_a_charge_holds_at_most_max_lines():
    lines = [priced_line(f"SKU-{n}") for n in range(MAX_LINES_PER_ORDER + 1)]

    with pytest.raises(ValidationError, match="lines"):
        AuthorizePaymentInput.model_validate(charge(lines))


# --- closed models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        pytest.param(ReserveStockInput, reserve([line()], price=1), "price", id="top-level"),
        pytest.param(
            ReserveStockInput,
            reserve([{**line(), "unit_price": 1}]),
            "unit_price",
            id="nested-line",
        ),
        pytest.param(TaskInput, {"order_id": ORDER, "debug": True}, "debug", id="task-input"),
    ],
)
def test_extra_fields_are_forbidden(model: type[BaseModel], payload, field):
    # Given a payload carrying a field the contract does not know
    # When it is validated, then it is refused and the field is named (not silently dropped)
    with pytest.raises(ValidationError, match=field) as error:
        model.model_validate(payload)

    assert error.value.errors()[0]["type"] == "extra_forbidden"


def test_a_saga_failure_ignores_what_it_does_not_use():
    # Given the `$.failure` a Catch produced, with an extra field
    failure = SagaFailure.model_validate({"Error": "OutOfStockError", "Cause": "x", "Extra": 1})

    # Then only Error and Cause are kept
    assert failure.model_dump() == {"Error": "OutOfStockError", "Cause": "x"}


def test_contracts_are_frozen():
    money = Money(amount=100, currency="EUR")

    with pytest.raises(ValidationError, match="frozen"):
        money.amount = 200  # type: ignore[misc]


@pytest.mark.parametrize(
    ("order_id", "valid"),
    [
        ("order-01", True),  # 8 characters: the shortest allowed
        ("order-1", False),
        ("a" * 64, True),
        ("a" * 65, False),
        ("-order-0001", False),
        ("order 0001", False),
    ],
)
def test_order_id_shape(order_id, valid):
    payload = {"order_id": order_id}

    if valid:
        assert TaskInput.model_validate(payload).order_id == order_id
    else:
        with pytest.raises(ValidationError, match="order_id"):
            TaskInput.model_validate(payload)


@pytest.mark.parametrize(
    ("fault", "kept"),
    [
        ("inventory.reserve", "inventory.reserve=business"),
        ("order.cancel = transient * 3 ;payment.authorize", "order.cancel=transient*3; "
         "payment.authorize=business"),
    ],
)  # fmt: skip
def test_a_fault_schedule_is_kept_in_its_canonical_form(fault, kept):
    assert TaskInput.model_validate({"order_id": ORDER, "fault": fault}).fault == kept


@pytest.mark.parametrize("fault", ["inventory", "inventory.Reserve", "", "order.confirm=explode"])
def test_a_malformed_fault_schedule_is_refused(fault):
    # which operations exist is the API's check (against the saga specification); a task reads
    # the grammar, and only its own operation's fault
    with pytest.raises(ValidationError, match="fault"):
        TaskInput.model_validate({"order_id": ORDER, "fault": fault})


# --- totals -------------------------------------------------------------------------------------


def test_total_of_sums_line_totals_in_minor_units():
    # Given lines priced in integer minor units
    lines = [priced("SKU-A", 3, 199), priced("SKU-B", 2, 1), priced("SKU-C", 1, 10_000)]

    # When they are totalled
    total = total_of(lines)

    # Then the total is the exact integer sum, in the lines' currency
    assert total == Money(amount=3 * 199 + 2 * 1 + 10_000, currency="EUR")
    assert isinstance(total.amount, int)
    assert lines[0].line_total == 597


def test_total_of_rejects_mixed_currencies():
    lines = [priced("SKU-A", 1, 100, "EUR"), priced("SKU-B", 1, 100, "USD")]

    with pytest.raises(ValueError, match=r"mix currencies \['EUR', 'USD'\]"):
        total_of(lines)


def test_total_of_nothing_is_refused():
    with pytest.raises(ValueError, match="currencies"):
        total_of([])


def test_total_of_refuses_a_total_beyond_the_money_limit():
    # Given two lines whose sum passes the largest amount a Money may hold
    lines = [priced("SKU-A", 1, MAX_AMOUNT_MINOR_UNITS), priced("SKU-B", 1, 1)]

    # When they are totalled, then the total is refused rather than overflowing the contract
    with pytest.raises(ValueError, match="amount"):
        total_of(lines)


def test_summarize_returns_plain_json_data():
    lines = [priced("SKU-A", 2, 250)]

    assert summarize(total_of(lines)) == {"amount": 500, "currency": "EUR"}


# --- the catalog read (not a saga task) ---------------------------------------------------------


def product(**overrides: Any) -> dict[str, Any]:
    return {
        "sku": "SKU-A",
        "name": "Product SKU-A",
        "price": 1_500,
        "currency": "EUR",
        "available": 0,
        **overrides,
    }


def test_no_skus_asks_for_the_whole_catalog():
    assert GetProductsInput.model_validate({}).skus is None
    assert GetProductsInput.model_validate({"skus": None}).skus is None


def test_a_lookup_takes_up_to_one_batch_of_skus():
    skus = [f"SKU-{i}" for i in range(MAX_SKUS_PER_LOOKUP)]

    assert GetProductsInput.model_validate({"skus": skus}).skus == skus
    with pytest.raises(ValidationError, match="at most 100"):
        GetProductsInput.model_validate({"skus": [*skus, "SKU-X"]})


def test_a_lookup_names_each_sku_once():
    with pytest.raises(
        ValidationError, match=r"duplicate sku\(s\) SKU-A, SKU-B: ask for each sku once"
    ):
        GetProductsInput.model_validate({"skus": ["SKU-B", "SKU-A", "SKU-B", "SKU-A", "SKU-C"]})


def test_a_lookup_is_not_a_saga_task():
    # Given the payload of a saga task, with its order id
    # When it is parsed as a catalog read, then the order id is an unknown field
    assert not issubclass(GetProductsInput, TaskInput)
    with pytest.raises(ValidationError, match="order_id"):
        GetProductsInput.model_validate({"order_id": ORDER, "skus": ["SKU-A"]})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "n" * 201}, "name", id="long-name"),
        pytest.param({"price": 9.99}, "price", id="float-price"),
        pytest.param({"price": MAX_AMOUNT_MINOR_UNITS + 1}, "price", id="huge-price"),
        pytest.param({"available": -1}, "available", id="negative-stock"),
        pytest.param({"currency": "eur"}, "currency", id="currency"),
        pytest.param({"sku": "x y"}, "sku", id="sku"),
    ],
)
def test_a_product_view_holds_only_what_the_catalog_may(overrides, field):
    with pytest.raises(ValidationError, match=field):
        ProductView.model_validate(product(**overrides))


def test_a_product_view_is_the_public_product_shape():
    output = GetProductsOutput(products=[ProductView(**product())], missing=["SKU-B"])

    assert summarize(output) == {"products": [product()], "missing": ["SKU-B"]}
    assert list(ProductView.model_fields) == ["sku", "name", "price", "currency", "available"]

"""direct_function: parse, call the logic, annotate function and outcome, return JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts import Contract, Money, Sku
from shared.direct_function import direct_function
from shared.errors import InvalidInputError, UnknownSkuError
from shared.observability import Outcome, tracer
from shared.settings import BaseSettings
from tests.support.lambda_context import FakeLambdaContext

Logic = Callable[["PriceInput", "FakeSettings"], "PriceOutput"]


class FakeSettings(BaseSettings):
    pass


class PriceInput(Contract):
    sku: Sku


class PriceOutput(Contract):
    sku: Sku
    price: Money
    stage: str  # shows which settings the logic was given


def quote(request: PriceInput, settings: FakeSettings) -> PriceOutput:
    return PriceOutput(
        sku=request.sku, price=Money(amount=250, currency="EUR"), stage=settings.stage
    )


def never_called(request: PriceInput, settings: FakeSettings) -> PriceOutput:
    pytest.fail("the logic ran on a payload that breaks the contract")


def call(logic: Logic, event: Any) -> dict[str, Any]:
    handler = direct_function(
        name="get_price",
        input_model=PriceInput,
        settings=lambda: FakeSettings(stage="test", aws_region="us-east-1"),
    )(logic)
    return handler(event, FakeLambdaContext("get-price"))  # type: ignore[arg-type]


@pytest.fixture
def annotated(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The trace annotations the decorator puts (the tracer itself is off in tests)."""
    recorded: dict[str, Any] = {}
    put: Callable[[str, Any], None] = recorded.__setitem__
    monkeypatch.setattr(tracer, "put_annotation", put)
    return recorded


def test_the_logic_gets_the_parsed_request_and_settings_and_its_result_is_json(annotated):
    result = call(quote, {"sku": "SKU-A"})

    assert result == {"sku": "SKU-A", "price": {"amount": 250, "currency": "EUR"}, "stage": "test"}
    assert annotated == {"function": "get_price", "outcome": Outcome.OK.value}


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param({"sku": "x y"}, r"sku: String should match", id="bad-field"),
        pytest.param({"sku": "SKU-A", "order_id": "order-0001"}, r"order_id: Extra", id="extra"),
        pytest.param(None, r"payload must be a JSON object", id="not-an-object"),
    ],
)
def test_a_bad_payload_is_invalid_input_and_the_logic_never_runs(annotated, event, problem):
    with pytest.raises(InvalidInputError, match=rf"^PriceInput: .*{problem}"):
        call(never_called, event)

    assert annotated["outcome"] == Outcome.INVALID_INPUT.value


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        pytest.param(UnknownSkuError("unknown sku(s): SKU-A"), Outcome.INVALID_INPUT, id="ours"),
        pytest.param(KeyError("sku"), Outcome.TRANSIENT_ERROR, id="unexpected"),
    ],
)
def test_an_error_from_the_logic_propagates_unchanged(annotated, error, outcome):
    def failing(request: PriceInput, settings: FakeSettings) -> PriceOutput:
        raise error

    with pytest.raises(type(error)) as raised:
        call(failing, {"sku": "SKU-A"})

    assert raised.value is error
    assert annotated == {"function": "get_price", "outcome": outcome.value}

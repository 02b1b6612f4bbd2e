"""The saga_task decorator: parse, honour faults outside production, call the logic, return JSON."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

import shared.saga_task as saga_task_module
from shared import faults
from shared.contracts import Money, Quantity, ReserveStockInput, TaskInput
from shared.errors import (
    DependencyUnavailableError,
    InjectedFaultError,
    InvalidInputError,
    OutOfStockError,
    PaymentProviderUnavailableError,
)
from shared.observability import Outcome, Phase
from shared.saga_task import LambdaHandler, parse_task, saga_task
from shared.settings import BaseSettings, ConfigurationError
from tests.support.lambda_context import FakeLambdaContext

FAULT = "inventory.reserve"
ORDER = "order-0001"


class FakeSettings(BaseSettings):
    pass


class WidgetInput(TaskInput):
    quantity: Quantity


class Shade(StrEnum):
    RED = "red"


class WidgetOutput(BaseModel):
    order_id: str
    shade: Shade
    made_at: datetime
    total: Money


@dataclass
class SpyLogic:
    """A fake logic function: records its calls, returns a fixed output or raises."""

    raises: Exception | None = None
    calls: list[tuple[WidgetInput, FakeSettings]] = field(default_factory=list)

    def __call__(self, task: WidgetInput, settings: FakeSettings) -> WidgetOutput:
        self.calls.append((task, settings))
        if self.raises is not None:
            raise self.raises
        return WidgetOutput(
            order_id=task.order_id,
            shade=Shade.RED,
            made_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            total=Money(amount=task.quantity * 150, currency="EUR"),
        )


def settings_for(stage: str) -> Callable[[], FakeSettings]:
    """A tiny settings loader, standing in for a service's cached get_settings."""

    def load() -> FakeSettings:
        return FakeSettings(stage=stage, aws_region="us-east-1")

    return load


def handler_for(logic: SpyLogic, stage: str = "test") -> LambdaHandler:
    decorate = saga_task(
        step="make_widget",
        phase=Phase.ACTION,
        fault_name=FAULT,
        input_model=WidgetInput,
        settings=settings_for(stage),
    )
    return decorate(logic)


def call(handler: LambdaHandler, event: Any) -> dict[str, Any]:
    return handler(event, FakeLambdaContext("make-widget"))  # type: ignore[arg-type]


def event(**overrides: Any) -> dict[str, Any]:
    return {"order_id": ORDER, "quantity": 2, **overrides}


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Outcome]]:
    """The (step, outcome) of every metric set the decorator records."""
    recorded: list[tuple[str, Outcome]] = []

    def record(step: str, outcome: Outcome, started: float) -> None:
        recorded.append((step, outcome))

    monkeypatch.setattr(saga_task_module, "_record", record)
    return recorded


# --- the happy path -----------------------------------------------------------------------------


def test_the_logic_gets_the_parsed_task_and_the_settings(outcomes):
    # Given a valid payload
    logic = SpyLogic()

    # When the handler is invoked
    call(handler_for(logic), event())

    # Then the logic was called once, with the contract model and the loaded settings
    [(task, settings)] = logic.calls
    assert task == WidgetInput(order_id=ORDER, quantity=2)
    assert settings == FakeSettings(stage="test", aws_region="us-east-1")
    assert outcomes == [("make_widget", Outcome.OK)]


def test_the_result_is_json_mode_data(outcomes):
    # Given a logic whose output holds an enum, a datetime and a nested model
    # When the handler is invoked
    result = call(handler_for(SpyLogic()), event())

    # Then the state machine gets plain JSON data: strings for the enum and the datetime
    assert result == {
        "order_id": ORDER,
        "shade": "red",
        "made_at": "2026-01-02T03:04:05Z",
        "total": {"amount": 300, "currency": "EUR"},
    }
    assert type(result["shade"]) is str
    assert json.loads(json.dumps(result)) == result


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        pytest.param({"order_id": ORDER}, r"quantity: Field required", id="missing-field"),
        pytest.param(event(quantity="2"), r"quantity: Input should be a valid integer", id="str"),
        pytest.param(event(quantity=0), r"quantity: Input should be greater than 0", id="zero"),
        pytest.param(event(colour="red"), r"colour: Extra inputs are not permitted", id="extra"),
        pytest.param(event(order_id="x"), r"order_id: String should match", id="order-id"),
    ],
)
def test_a_parse_error_is_invalid_input_naming_the_field(outcomes, payload, problem):
    # Given a payload that breaks the contract
    logic = SpyLogic()

    # When the handler is invoked, then it fails as InvalidInputError naming model and field
    with pytest.raises(InvalidInputError, match=rf"^WidgetInput: .*{problem}"):
        call(handler_for(logic), payload)

    # and the logic never ran (nothing can have been written)
    assert logic.calls == []
    assert outcomes == [("make_widget", Outcome.INVALID_INPUT)]


def test_every_problem_is_named_in_one_message():
    # Given a payload with two problems
    payload = {"order_id": "x", "quantity": "2"}

    # When it is parsed, then one error names both fields
    with pytest.raises(InvalidInputError) as error:
        parse_task(payload, WidgetInput)

    assert "order_id:" in error.value.message
    assert "quantity:" in error.value.message


def test_a_whole_model_problem_is_reported_against_the_payload():
    # Given two lines for one sku (a rule on the whole model, not on one field)
    payload = {"order_id": ORDER, "items": [{"sku": "SKU-A", "quantity": 1}] * 2}

    # When it is parsed, then the message says "payload" and names the sku
    with pytest.raises(InvalidInputError, match=r"^ReserveStockInput: payload: .*SKU-A"):
        parse_task(payload, ReserveStockInput)


@pytest.mark.parametrize("payload", [None, [event()], "order-0001", 42])
def test_a_payload_that_is_not_an_object_is_invalid_input(outcomes, payload):
    logic = SpyLogic()

    with pytest.raises(InvalidInputError, match="payload must be a JSON object"):
        call(handler_for(logic), payload)

    assert logic.calls == []
    assert outcomes == [("make_widget", Outcome.INVALID_INPUT)]


# --- errors from the logic ----------------------------------------------------------------------


def test_a_business_error_propagates_with_its_own_class(outcomes):
    # Given a logic that finds the order cannot succeed
    refusal = OutOfStockError("not enough stock for SKU-A")
    logic = SpyLogic(raises=refusal)

    # When the handler is invoked
    with pytest.raises(OutOfStockError) as error:
        call(handler_for(logic), event())

    # Then the very same error reaches Lambda, so errorType is the name the state machine matches
    assert error.value is refusal
    assert type(error.value) is OutOfStockError
    assert outcomes == [("make_widget", Outcome.BUSINESS_ERROR)]


def test_a_transient_error_propagates_and_is_recorded_as_transient(outcomes):
    logic = SpyLogic(raises=PaymentProviderUnavailableError("provider timed out"))

    with pytest.raises(PaymentProviderUnavailableError):
        call(handler_for(logic), event())

    assert outcomes == [("make_widget", Outcome.TRANSIENT_ERROR)]


def test_an_unexpected_exception_propagates_unwrapped_and_counts_as_transient(outcomes):
    # Given a logic with a bug
    logic = SpyLogic(raises=KeyError("sku"))

    # When the handler is invoked, then the exception is not disguised as a project error
    with pytest.raises(KeyError):
        call(handler_for(logic), event())

    assert outcomes == [("make_widget", Outcome.TRANSIENT_ERROR)]


def test_a_settings_failure_stops_before_the_logic(outcomes):
    # Given a settings loader that finds the environment incomplete
    def broken_settings() -> FakeSettings:
        raise ConfigurationError("FakeSettings: invalid environment: STAGE is not set")

    logic = SpyLogic()
    handler = saga_task(
        step="make_widget",
        phase=Phase.ACTION,
        fault_name=FAULT,
        input_model=WidgetInput,
        settings=broken_settings,
    )(logic)

    # When the handler is invoked, then the configuration error surfaces and nothing ran
    with pytest.raises(ConfigurationError, match="STAGE is not set"):
        call(handler, event())

    assert logic.calls == []


# --- injected faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["test", "dev", "pr-7"])
def test_the_named_fault_is_raised_outside_production_before_the_logic(outcomes, stage):
    # Given a non-production stage and a payload naming this step's fault
    logic = SpyLogic()

    # When the handler is invoked, then it fails with InjectedFaultError and the logic never ran
    with pytest.raises(InjectedFaultError, match=FAULT):
        call(handler_for(logic, stage=stage), event(fault=FAULT))

    assert logic.calls == []
    assert outcomes == [("make_widget", Outcome.BUSINESS_ERROR)]


@pytest.mark.parametrize("stage", ["prod", "production", "PROD"])
def test_the_named_fault_is_ignored_in_production(stage):
    # Given a production stage and a payload naming this step's fault
    logic = SpyLogic()

    # When the handler is invoked, then the fault is ignored and the logic runs
    result = call(handler_for(logic, stage=stage), event(fault=FAULT))

    assert len(logic.calls) == 1
    assert result["order_id"] == ORDER


@pytest.mark.parametrize("fault", [None, "payment.authorize", "inventory.release"])
def test_a_fault_naming_another_operation_is_not_raised_here(fault):
    # Given a payload naming no fault, or another step's fault
    logic = SpyLogic()

    # When this step's handler is invoked, then it runs normally
    result = call(handler_for(logic), event(fault=fault))

    assert len(logic.calls) == 1
    assert logic.calls[0][0].fault == (fault and f"{fault}=business")
    assert result["total"] == {"amount": 300, "currency": "EUR"}


def test_a_malformed_fault_is_invalid_input_not_ignored():
    logic = SpyLogic()

    with pytest.raises(InvalidInputError, match="fault"):
        call(handler_for(logic), event(fault="inventory.Reserve"))

    assert logic.calls == []


# --- the kinds of a fault schedule ----------------------------------------------------------------


class ProcessEnded(BaseException):
    """What the fake process effects raise instead of killing the test process."""


@dataclass
class FakeProcess:
    events: list[str] = field(default_factory=list)

    def crash(self) -> None:
        self.events.append("crash")
        raise ProcessEnded("crash")

    def hang(self, context: Any) -> None:
        self.events.append("hang")
        raise ProcessEnded("hang")


@pytest.fixture
def process(monkeypatch: pytest.MonkeyPatch) -> FakeProcess:
    fake = FakeProcess()
    monkeypatch.setattr(faults, "effects", fake)
    return fake


@pytest.mark.parametrize(
    ("kind", "logic_runs", "ended_by"),
    [
        ("crash_before_commit", 0, "crash"),
        ("crash_after_commit", 1, "crash"),
        ("timeout", 1, "hang"),
    ],
)
def test_a_crash_or_a_hang_ends_the_process_before_or_after_the_work(
    process, outcomes, kind, logic_runs, ended_by
):
    logic = SpyLogic()

    with pytest.raises(ProcessEnded):
        call(handler_for(logic), event(fault=f"{FAULT}={kind}"))

    assert len(logic.calls) == logic_runs
    assert process.events == [ended_by]
    assert outcomes == [], "a process that dies records no outcome"


def test_transient_k_fails_the_first_k_attempts_then_lets_the_work_run(outcomes):
    logic = SpyLogic()
    handler = handler_for(logic)

    for attempt in range(3):
        with pytest.raises(DependencyUnavailableError, match="transient\\*3"):
            call(handler, event(fault=f"{FAULT}=transient*3", attempt=attempt))
    result = call(handler, event(fault=f"{FAULT}=transient*3", attempt=3))

    assert len(logic.calls) == 1
    assert result["order_id"] == ORDER
    assert [outcome for _, outcome in outcomes] == [Outcome.TRANSIENT_ERROR] * 3 + [Outcome.OK]


def test_a_crash_applies_to_its_first_attempt_only_by_default(process):
    logic = SpyLogic()

    result = call(handler_for(logic), event(fault=f"{FAULT}=crash_after_commit", attempt=1))

    assert result["order_id"] == ORDER
    assert process.events == []


def test_duplicate_delivers_the_work_twice_and_answers_the_second():
    logic = SpyLogic()

    result = call(handler_for(logic), event(fault=f"{FAULT}=duplicate"))

    assert len(logic.calls) == 2
    assert result["order_id"] == ORDER


def test_a_business_fault_applies_on_every_attempt():
    logic = SpyLogic()

    with pytest.raises(InjectedFaultError):
        call(handler_for(logic), event(fault=FAULT, attempt=5))

    assert logic.calls == []


@pytest.mark.parametrize("stage", ["prod", "prod-eu"])
def test_no_kind_of_fault_touches_a_production_stage(process, stage):
    logic = SpyLogic()

    call(handler_for(logic, stage=stage), event(fault=f"{FAULT}=crash_before_commit"))

    assert process.events == []
    assert len(logic.calls) == 1


# --- the metrics actually emitted ---------------------------------------------------------------


def _emf(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]


@pytest.mark.parametrize(
    ("logic", "outcome"),
    [(SpyLogic(), "ok"), (SpyLogic(raises=OutOfStockError("none left")), "business_error")],
)
def test_every_invocation_emits_one_metric_set_with_step_and_outcome(
    logic, outcome, monkeypatch, capsys
):
    from shared.observability import metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()

    with contextlib.suppress(OutOfStockError):
        call(handler_for(logic), event())

    [document] = _emf(capsys.readouterr().out)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "CheckoutSaga"
    assert {m["Name"] for m in directive["Metrics"]} == {"StepCompleted", "StepDuration"}
    assert sorted(directive["Dimensions"][0]) == ["outcome", "service", "step"]
    assert document["step"] == "make_widget"
    assert document["outcome"] == outcome
    assert document["StepCompleted"] in (1.0, [1.0])

"""How a Catch's `$.failure` becomes the reason stored on a cancelled order."""

from __future__ import annotations

import json

import pytest

from services.order.logic.cancel_order import MAX_REASON_LENGTH, failure_reason
from shared.contracts import SagaFailure


def lambda_cause(message: object, error_type: str = "OutOfStockError") -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message, "trace": ["File ..."]})


def test_a_lambda_error_gives_its_message_not_its_json():
    # Given the Cause Lambda reports for a raised OutOfStockError
    message = "not enough stock for SKU-A (requested 3, available 1)"
    failure = SagaFailure(Error="OutOfStockError", Cause=lambda_cause(message))

    # Then the reason is the error message alone (no type, no stack trace)
    assert failure_reason(failure) == message


def test_a_plain_cause_is_used_as_it_is():
    failure = SagaFailure(Error="States.TaskFailed", Cause="Lambda was throttled")

    assert failure_reason(failure) == "Lambda was throttled"


@pytest.mark.parametrize("cause", [None, "", "   "])
def test_no_cause_falls_back_to_the_error_name(cause):
    failure = SagaFailure(Error="States.Timeout", Cause=cause)

    assert failure_reason(failure) == "States.Timeout"


@pytest.mark.parametrize(
    "cause",
    [
        pytest.param(json.dumps({"errorType": "X"}), id="json-without-message"),
        pytest.param(lambda_cause(""), id="empty-message"),
        pytest.param(lambda_cause(42), id="message-not-text"),
        pytest.param(json.dumps(["a", "list"]), id="json-not-an-object"),
        pytest.param('{"errorMessage": "cut', id="broken-json"),
    ],
)
def test_json_without_a_usable_message_falls_back_to_the_cause_text(cause):
    failure = SagaFailure(Error="SomeError", Cause=cause)

    assert failure_reason(failure) == cause


def test_a_very_long_message_is_cut_to_the_contract_limit_and_marked():
    failure = SagaFailure(Error="OutOfStockError", Cause=lambda_cause("x" * 5_000))

    reason = failure_reason(failure)

    assert len(reason) == MAX_REASON_LENGTH == 1_000
    assert reason.startswith("x" * 900)
    assert reason.endswith("…")


def test_a_long_plain_cause_is_cut_too():
    failure = SagaFailure(Error="States.Runtime", Cause="y" * 1_001)

    assert len(failure_reason(failure)) == MAX_REASON_LENGTH


def test_a_message_at_the_limit_is_kept_whole():
    failure = SagaFailure(Error="E", Cause="z" * MAX_REASON_LENGTH)

    assert failure_reason(failure) == "z" * MAX_REASON_LENGTH

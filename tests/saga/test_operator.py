"""`checkout parked` and `checkout retry`, run as an operator runs them (`--aws`, here on moto)."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from orchestration.cli import main
from tests.saga.harness import EVENT_BUS, PARKED_TABLE
from tests.saga.test_checkout_saga import checkout

pytestmark = pytest.mark.saga

ORDER = "order-1000"
AWS = ["--aws", "--region", "us-east-1", "--stage", "test"]


@pytest.fixture
def operator(saga, monkeypatch):
    # The commands point this process's AWS environment at their target: restore it afterwards.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ[name])
    saga.add_product("SKU-A", available=10, unit_price=1_250)
    saga.add_product("SKU-B", available=3, unit_price=500)
    ssm = boto3.client("ssm", region_name="us-east-1")
    for name, value in {
        "checkout-state-machine/arn": saga.state_machine_arn,
        "parked-checkouts-table/name": PARKED_TABLE,
        "checkout-event-bus/name": EVENT_BUS,
    }.items():
        ssm.put_parameter(Name=f"/checkout/test/orchestration/{name}", Value=value, Type="String")
    return saga


def parked_after_release_kept_failing(saga) -> None:
    saga.dispatcher.fail_always("release-stock", "DependencyUnavailableError")
    assert saga.run(checkout(fault="order.confirm")).status == "FAILED"
    saga.dispatcher.fail_always("release-stock", None)  # the operator fixed the cause


def test_parked_lists_why_and_what_each_checkout_still_holds(operator, capsys):
    parked_after_release_kept_failing(operator)

    assert main(["parked", *AWS]) == 0
    text = capsys.readouterr().out
    assert main(["parked", "--json", *AWS]) == 0
    [listed] = json.loads(capsys.readouterr().out)["parked"]

    assert "1 parked checkout(s)" in text
    assert f"checkout retry {ORDER}" in text
    assert listed["stuck_step"] == "release_stock"
    assert listed["holds"]["stock"] == [
        {"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1},
    ]  # fmt: skip
    assert listed["holds"]["money"] is None, "the void ran before the release got stuck"
    assert listed["original_failure"]["Error"] == "InjectedFaultError"


def test_retry_finishes_the_rollback_and_clears_the_record(operator, capsys):
    parked_after_release_kept_failing(operator)

    assert main(["retry", ORDER, *AWS]) == 0

    assert f"{ORDER}--r1 SUCCEEDED" in capsys.readouterr().out
    assert operator.parked() == []
    assert operator.order(ORDER)["status"] == "CANCELLED"
    assert operator.order(ORDER)["reason_code"] == "InjectedFaultError"
    assert operator.available("SKU-A") == 10
    assert [p["status"] for p in operator.payments()] == ["VOIDED"]


def test_retry_of_an_order_that_is_not_parked_is_refused(operator, capsys):
    assert operator.run(checkout()).status == "SUCCEEDED"

    assert main(["retry", ORDER, *AWS]) == 1
    assert "is not parked" in capsys.readouterr().err


def test_retry_of_a_pivot_with_an_unknown_outcome_confirms_it(operator, capsys):
    operator.dispatcher.fail_always("confirm-order", "Lambda.ServiceException")
    assert operator.run(checkout()).status == "FAILED"
    operator.dispatcher.fail_always("confirm-order", None)

    assert main(["retry", ORDER, *AWS]) == 0

    assert operator.order(ORDER)["status"] == "CONFIRMED"
    assert operator.parked() == []


def test_a_stuck_capture_is_listed_with_its_hold_and_its_retry_captures_once(operator, capsys):
    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"
    operator.dispatcher.fail_always("capture-payment", None)  # the provider is back

    assert main(["parked", "--json", *AWS]) == 0
    [listed] = json.loads(capsys.readouterr().out)["parked"]
    assert listed["stuck_step"] == "capture_payment"
    assert listed["holds"]["money"] == {"amount": 3_000, "currency": "EUR"}
    assert listed["holds"]["charge_id"]
    assert listed["holds"]["order"].startswith("CONFIRMED")

    assert main(["retry", ORDER, *AWS]) == 0

    assert operator.order(ORDER)["status"] == "CONFIRMED"
    assert operator.parked() == []
    assert [p["status"] for p in operator.payments()] == ["CAPTURED"]
    assert [e.operation for e in operator.provider_journal()] == ["authorize", "capture"]
    assert "void-payment" not in operator.dispatcher.successful_calls()

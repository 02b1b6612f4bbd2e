"""`checkout parked` and `checkout retry`, run as an operator runs them (`--aws`, here on moto)."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from orchestration.cli import main
from shared.contracts import Money
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


# --- checkout resolve: the stuck payment step settled at the provider by hand -----------------

NOTE = "ops/ana: the provider refuses; settled in its dashboard"


def _dashboard() -> Any:
    """The provider's dashboard, as an operator uses it: operations under keys of its own."""
    from services.payment.bootstrap import start as get_settings
    from services.payment.gateway import provider_for

    return provider_for(get_settings())


def _provider_still_refuses(monkeypatch: pytest.MonkeyPatch, operation: str) -> list[str]:
    """From now on the provider refuses `operation` (as one whose authorization expired does);
    the keys it was asked with, so a test can say it was not asked at all."""
    from services.payment.gateway.simulated import SimulatedPaymentProvider
    from shared.errors import PaymentProviderUnavailableError

    asked: list[str] = []

    def refuse(self: Any, **request: Any) -> Any:
        asked.append(request["idempotency_key"])
        raise PaymentProviderUnavailableError(f"the provider refuses this {operation}")

    monkeypatch.setattr(SimulatedPaymentProvider, operation, refuse)
    return asked


def _execution_input(operator, name: str) -> dict[str, Any]:
    described = operator.sfn.describe_execution(executionArn=operator.execution_arn(name))
    loaded: dict[str, Any] = json.loads(described["input"])
    return loaded


def test_resolve_records_a_void_made_at_the_provider_and_the_rollback_finishes(
    operator, capsys, monkeypatch
):
    operator.dispatcher.fail_always("void-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout(fault="order.confirm")).status == "FAILED"
    [parked] = operator.parked()
    assert parked.stuck_step == "void_payment"
    operator.dispatcher.fail_always("void-payment", None)
    released = _dashboard().void(
        idempotency_key="dashboard-void-1", authorization_key=f"authorize:{ORDER}"
    )
    asked = _provider_still_refuses(monkeypatch, "void")

    assert main(["resolve", ORDER, "--reference", released.void_id, "--note", NOTE, *AWS]) == 0

    out = capsys.readouterr().out
    assert "recorded the payment voided" in out
    assert f"{ORDER}--r1 SUCCEEDED" in out
    assert operator.parked() == []
    assert operator.order(ORDER)["status"] == "CANCELLED"
    assert operator.order(ORDER)["reason_code"] == "InjectedFaultError"
    assert operator.available("SKU-A") == 10
    assert operator.available("SKU-B") == 3
    [payment] = operator.payments()
    assert payment["status"] == "VOIDED"
    assert payment["void_id"] == released.void_id
    assert payment["settled_by_operator"] == NOTE
    assert asked == [], "the recovery's void found the hold released and did not ask again"
    assert "void-payment" in operator.dispatcher.successful_calls()
    reason = _execution_input(operator, f"{ORDER}--r1")["recovery"]["reason"]
    assert "an operator resolved the checkout parked at void_payment" in reason
    assert released.void_id in reason


def test_resolve_records_a_capture_made_at_the_provider_and_the_order_stays_confirmed(
    operator, capsys, monkeypatch
):
    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"
    operator.dispatcher.fail_always("capture-payment", None)
    captured = _dashboard().capture(
        idempotency_key="dashboard-capture-1",
        authorization_key=f"authorize:{ORDER}",
        amount=Money(amount=3_000, currency="EUR"),
    )
    asked = _provider_still_refuses(monkeypatch, "capture")

    assert main(["resolve", ORDER, "--reference", captured.capture_id, "--note", NOTE, *AWS]) == 0

    assert f"{ORDER}--r1 SUCCEEDED" in capsys.readouterr().out
    assert operator.order(ORDER)["status"] == "CONFIRMED"
    assert operator.parked() == []
    [payment] = operator.payments()
    assert (payment["status"], payment["capture_id"]) == ("CAPTURED", captured.capture_id)
    assert asked == [], "the recovery's capture replayed the recorded one"


def test_resolve_of_a_checkout_parked_in_our_own_stores_is_refused_naming_retry(operator, capsys):
    parked_after_release_kept_failing(operator)
    payments_before = operator.payments()

    assert main(["resolve", ORDER, "--reference", "ref-1", "--note", NOTE, *AWS]) == 1

    error = capsys.readouterr().err
    assert "parked at release_stock" in error
    assert f"checkout retry {ORDER}" in error
    assert [p.stuck_step for p in operator.parked()] == ["release_stock"]
    assert operator.payments() == payments_before
    assert "settle-payment" not in [call.function for call in operator.dispatcher.calls]
    assert operator.executions() == [ORDER]


def test_resolve_that_the_payment_contradicts_is_refused_and_starts_nothing(operator, capsys):
    operator.dispatcher.fail_always("void-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout(fault="order.confirm")).status == "FAILED"
    # the hold was captured meanwhile (by hand, in error): a void cannot be recorded over it
    from services.payment.dal import payments

    payments.mark_captured(ORDER, "ch_by_mistake")

    assert main(["resolve", ORDER, "--reference", "v-1", "--note", NOTE, *AWS]) == 1

    assert "is CAPTURED (ch_by_mistake)" in capsys.readouterr().err
    assert [p.stuck_step for p in operator.parked()] == ["void_payment"]
    assert operator.executions() == [ORDER]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--reference", "ref-1", "--note", "  "], "the note"),
        (["--reference", "two words", "--note", NOTE], "the reference"),
    ],
)
def test_resolve_with_a_blank_note_or_a_bad_reference_names_it_and_writes_nothing(
    operator, capsys, arguments, problem
):
    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"

    assert main(["resolve", ORDER, *arguments, *AWS]) == 1

    assert problem in capsys.readouterr().err
    assert [p["status"] for p in operator.payments()] == ["AUTHORIZED"]
    assert len(operator.parked()) == 1


def test_parked_names_resolve_only_where_the_provider_holds_the_step(operator, capsys):
    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"

    assert main(["parked", *AWS]) == 0
    assert main(["parked", "--json", *AWS]) == 0
    out = capsys.readouterr().out

    assert f"captured at the provider by hand: checkout resolve {ORDER}" in out
    assert '"resolvable_as": "captured"' in out


def test_a_resolve_whose_recovery_cannot_start_says_the_payment_is_recorded_and_retry_ends_it(
    operator, capsys, monkeypatch
):
    from orchestration import aws
    from shared.errors import DependencyUnavailableError

    operator.dispatcher.fail_always("capture-payment", "PaymentProviderUnavailableError")
    assert operator.run(checkout()).status == "FAILED"
    operator.dispatcher.fail_always("capture-payment", None)
    start = aws.start_execution

    def unavailable(*args: Any) -> str:
        raise DependencyUnavailableError("StartExecution failed: throttled")

    monkeypatch.setattr(aws, "start_execution", unavailable)
    assert main(["resolve", ORDER, "--reference", "ch_dash_2", "--note", NOTE, *AWS]) == 2
    error = capsys.readouterr().err
    assert f"recorded the payment of order {ORDER} captured" in error
    assert f"run `checkout retry {ORDER}`" in error
    assert [p["status"] for p in operator.payments()] == ["CAPTURED"]
    assert len(operator.parked()) == 1

    monkeypatch.setattr(aws, "start_execution", start)
    assert main(["resolve", ORDER, "--reference", "ch_dash_3", "--note", NOTE, *AWS]) == 0

    out = capsys.readouterr().out
    assert "recorded the payment captured (the payment already said so)" in out
    assert f"{ORDER}--r1 SUCCEEDED" in out
    assert operator.order(ORDER)["status"] == "CONFIRMED"
    assert operator.payments()[0]["capture_id"] == "ch_dash_2", "the first settlement stands"
    reason = _execution_input(operator, f"{ORDER}--r1")["recovery"]["reason"]
    assert "ch_dash_2" in reason
    assert operator.parked() == []


def test_resolve_of_a_checkout_the_reconciler_parked_says_retry_first(operator, capsys):
    from orchestration.parked_checkouts import ParkedCheckout, park

    assert operator.run(checkout()).status == "SUCCEEDED"
    park(
        ParkedCheckout(
            order_id=ORDER, stuck_step="reconciler", error="RecoveryExhausted",
            stuck_failure={"Error": "RecoveryExhausted", "Cause": "3 recoveries died"},
            original_failure=None, reservation={"lines": [], "total": None},
            payment={"charge_id": None}, execution_arn=operator.execution_arn(ORDER),
            parked_at="2026-12-04T00:00:00+00:00",
        )
    )  # fmt: skip

    assert main(["resolve", ORDER, "--reference", "v-1", "--note", NOTE, *AWS]) == 1

    assert "parked by the reconciler" in capsys.readouterr().err
    assert "settle-payment" not in [call.function for call in operator.dispatcher.calls]

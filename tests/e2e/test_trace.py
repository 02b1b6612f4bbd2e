"""Each failure scenario on the local cloud leaves one X-Ray trace that explains it."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from orchestration.tracing import CheckoutTrace, find_checkout_trace
from tests.e2e.conftest import Shop

pytestmark = pytest.mark.e2e

SCENARIOS: dict[str, dict[str, Any]] = {
    "declined-card": {
        "checkout": {"items": [{"sku": "SKU-MUG", "quantity": 1}], "token": "tok_chargeDeclined"},
        "failed": ("authorize_payment", "PaymentDeclinedError"),
        "compensations": ["void_payment", "release_stock", "cancel_order"],
    },
    "failed-confirmation": {
        "checkout": {"items": [{"sku": "SKU-MUG", "quantity": 1}], "fault": "order.confirm"},
        "failed": ("confirm_order", "InjectedFaultError"),
        "compensations": ["void_payment", "release_stock", "cancel_order"],
    },
    "out-of-stock": {
        "checkout": {"items": [{"sku": "SKU-RARE", "quantity": 9}]},
        "failed": ("reserve_stock", "OutOfStockError"),
        "compensations": ["release_stock", "cancel_order"],
    },
}


def wait_for_trace(shop: Shop, order_id: str, compensations: int) -> CheckoutTrace:
    """Segments arrive over UDP shortly after each step: wait until every step is stored."""
    xray = boto3.client(
        "xray", endpoint_url=shop.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        trace = find_checkout_trace(xray, order_id, use_filter=False)
        done = trace is not None and sum(
            1 for s in trace.steps if s.phase == "compensation"
        ) >= compensations  # fmt: skip
        if done or time.monotonic() > deadline:
            assert trace is not None, f"no trace for {order_id}"
            return trace
        time.sleep(0.5)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_the_trace_holds_the_failed_step_and_every_compensation_in_order(shop: Shop, scenario):
    expected = SCENARIOS[scenario]
    accepted = shop.checkout(**expected["checkout"])
    view = shop.wait_final(accepted.body["order_id"])
    assert view["status"] == "CANCELLED"

    trace = wait_for_trace(shop, view["order_id"], len(expected["compensations"]))

    # one trace id for the API call, every step and every compensation
    trace_ids = {document["trace_id"] for document in trace.documents}
    assert trace_ids == {trace.trace_id}
    assert trace.roots[0].name.startswith("checkout-api/"), "the API call starts the trace"
    step, error = expected["failed"]
    [failed] = [s for s in trace.steps if s.phase == "action" and s.outcome != "ok"]
    assert failed.step == step
    assert failed.error is not None
    assert failed.error.startswith(error)
    compensations = [s.step for s in trace.steps if s.phase == "compensation"]
    assert compensations == expected["compensations"]
    assert all(s.outcome == "ok" for s in trace.steps if s.phase == "compensation")
    # never a payment token in anything stored
    assert "tok_" not in json.dumps(trace.documents)


def test_the_trace_command_prints_the_tree_and_refuses_an_unknown_order(shop: Shop, capsys):
    from orchestration.cli import main

    accepted = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}], token="tok_chargeDeclined")
    order_id = shop.wait_final(accepted.body["order_id"])["order_id"]
    wait_for_trace(shop, order_id, 3)

    assert main(["trace", order_id, "--endpoint-url", shop.aws_endpoint]) == 0
    printed = capsys.readouterr().out
    assert "<- the failed step" in printed
    assert "failed step: authorize_payment (PaymentDeclinedError: card declined)" in printed
    assert printed.index("void_payment") < printed.index("release_stock")
    assert "execution SUCCEEDED" in printed  # and the Step Functions history, step by step
    assert "payment.authorize_payment" in printed

    assert main(["trace", "ord-000000000000000000000000", "--endpoint-url", shop.aws_endpoint]) == 1
    assert "no trace and no saga execution found" in capsys.readouterr().err

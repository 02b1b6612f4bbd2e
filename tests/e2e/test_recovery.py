"""Crashes, stopped executions and parked checkouts on the real local cloud, HTTP and CLI only.

The local runtime kills a worker for real (SIGKILL) when a fault schedule says crash, the engine
is stopped with StopExecution as an operator would, and the local EventBridge hands the dead
execution to the reconciler, as on AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import boto3
import pytest

from tests.e2e.conftest import ROOT, Shop

pytestmark = pytest.mark.e2e
ITEMS = [{"sku": "SKU-MUG", "quantity": 1}]


def test_a_worker_killed_after_its_write_is_retried_and_authorizes_once(shop: Shop):
    accepted = shop.checkout(ITEMS, fault="payment.authorize=crash_after_commit").body

    view = shop.wait_final(accepted["order_id"])

    assert view["status"] == "CONFIRMED"
    [charge] = [s for s in view["steps"] if s["operation"] == "payment.authorize_payment"]
    assert charge["attempts"] == 2
    assert charge["error"] == "Runtime.ExitError"


def test_a_stopped_execution_is_rolled_back_by_the_reconciler_within_30_seconds(shop: Shop):
    before = shop.available("SKU-MUG")
    accepted = shop.checkout(ITEMS, fault="payment.authorize=timeout").body  # a 10 s window
    order_id = accepted["order_id"]
    sfn = boto3.client(
        "stepfunctions", endpoint_url=shop.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    [machine] = sfn.list_state_machines()["stateMachines"]
    arn = machine["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{order_id}"
    deadline = time.monotonic() + 20
    while "AuthorizePayment" not in str(sfn.get_execution_history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    sfn.stop_execution(executionArn=arn, cause="e2e: an operator stopped it")
    stopped = time.monotonic()
    view = shop.wait_final(order_id, timeout=30)

    assert time.monotonic() - stopped < 30
    assert view["status"] == "CANCELLED"
    assert [r["execution"] for r in view["recoveries"]] == [f"{order_id}--r1"]
    assert shop.available("SKU-MUG") == before


def _checkout_command(shop: Shop, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHECKOUT_STATE_DIR": str(shop.state_dir)}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_parked_checkout_is_listed_and_its_retry_finishes_it(shop: Shop):
    before = shop.available("SKU-MUG")
    accepted = shop.checkout(ITEMS, fault="order.confirm; order.cancel").body
    order_id = accepted["order_id"]
    assert shop.wait_final(order_id, timeout=600)["status"] == "FAILED"

    listed = _checkout_command(shop, "parked")
    retried = _checkout_command(shop, "retry", order_id)

    assert listed.returncode == 0, listed.stderr
    assert order_id in listed.stdout
    assert "stuck at  cancel_order" in listed.stdout
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"{order_id}--r1 SUCCEEDED" in retried.stdout
    view = shop.wait_final(order_id)
    assert view["status"] == "CANCELLED"
    assert shop.available("SKU-MUG") == before
    assert order_id not in _checkout_command(shop, "parked").stdout


def test_a_void_settled_at_the_provider_by_hand_is_resolved_and_the_rollback_finishes(shop: Shop):
    before = shop.available("SKU-MUG")
    accepted = shop.checkout(ITEMS, fault="order.confirm; payment.void").body
    order_id = accepted["order_id"]
    assert shop.wait_final(order_id, timeout=600)["status"] == "FAILED"
    note = "e2e: the provider kept refusing; voided in its dashboard"

    resolved = _checkout_command(
        shop, "resolve", order_id, "--reference", "void_dashboard_1", "--note", note
    )

    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "recorded the payment voided" in resolved.stdout
    assert f"{order_id}--r1 SUCCEEDED" in resolved.stdout
    view = shop.wait_final(order_id)
    assert view["status"] == "CANCELLED"
    assert shop.available("SKU-MUG") == before
    assert order_id not in _checkout_command(shop, "parked").stdout
    payments = boto3.resource(
        "dynamodb", endpoint_url=shop.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    ).Table("checkout-local-payments")  # fmt: skip
    payment = payments.get_item(Key={"order_id": order_id})["Item"]
    assert (payment["status"], payment["void_id"]) == ("VOIDED", "void_dashboard_1")
    assert payment["settled_by_operator"] == note

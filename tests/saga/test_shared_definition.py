"""One parse of the definition serves every execution (deploy/local/moto_tuning.py): executions
running at the same time on the shared parse behave exactly as each does alone."""

from __future__ import annotations

from typing import Any

import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from tests.saga.harness import wait_for_execution
from tests.saga.test_checkout_saga import checkout

pytestmark = pytest.mark.saga

SCENARIOS: dict[str, dict[str, Any]] = {
    "happy": {},
    "declined": {"payment_token": "tok_chargeDeclined"},
    "out-of-stock": {"items": [{"sku": "SKU-B", "quantity": 99}]},
    "failed-confirmation": {"fault": "order.confirm"},
    "authorize-retried": {"fault": "payment.authorize=transient*2"},
    "release-retried": {"fault": "inventory.release=transient*3; order.confirm"},
    "reserve-timeout": {"fault": "inventory.reserve=timeout"},
    "happy-again": {},
}


def _task_events(history: list[dict[str, Any]]) -> list[str]:
    """The Lambda task events in order: attempts, failures and retries included."""
    return [event["type"] for event in history if event["type"].startswith("LambdaFunction")]


def _run_together(saga: Any, prefix: str) -> dict[str, Any]:
    started = {
        name: saga.start(checkout(order_id=f"{prefix}-{name}", **changes))
        for name, changes in SCENARIOS.items()
    }
    return {name: wait_for_execution(saga.sfn, arn) for name, arn in started.items()}


def test_concurrent_executions_on_one_parse_share_no_run_state(saga):
    # Handlers one at a time: moto applies a DynamoDB transaction in unlocked steps, so two
    # reservations racing can read each other's half-applied writes (a spurious OutOfStockError,
    # seen in CI). The executions still interleave in the shared parse, which is what is tested.
    saga.dispatcher.serialize = True
    saga.add_product("SKU-A", available=100, unit_price=1_250)
    saga.add_product("SKU-B", available=30, unit_price=500)
    parse = AmazonStateLanguageParser.parse
    alone = {}
    for name, changes in SCENARIOS.items():
        alone[name] = saga.run(checkout(order_id=f"alone-{name}", **changes))
    parsed_before = parse.cache_info().misses  # type: ignore[attr-defined]

    together = _run_together(saga, "together")

    assert parse.cache_info().misses == parsed_before  # type: ignore[attr-defined]
    for name in SCENARIOS:
        assert together[name].status == alone[name].status, name
        assert together[name].path == alone[name].path, name
        assert _task_events(together[name].history) == _task_events(alone[name].history), name
    for name in SCENARIOS:
        ran_alone = saga.order(f"alone-{name}")
        ran_together = saga.order(f"together-{name}")
        assert ran_together["status"] == ran_alone["status"], name
        assert ran_together.get("reason_code") == ran_alone.get("reason_code"), name
    assert {together[name].path[-1] for name in SCENARIOS} == {
        "CheckoutConfirmed",
        "CheckoutCancelled",
    }

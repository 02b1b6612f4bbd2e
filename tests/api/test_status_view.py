"""GET /checkouts/{id} answers from the services' records: every saga ending, compared with them.

The status view must say what the stores say (the order's record, the orchestration's parked
record, the stock and the payment the rollback undid), and read no Step Functions API once the
order exists; `?view=steps` adds the timeline from the executions' histories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from orchestration import aws
from tests.api.test_checkout_api import body, finish, post


@dataclass(frozen=True)
class Ending:
    name: str
    body: dict[str, Any]
    fault: str | None
    status: str
    reason_code: str | None
    compensations: tuple[str, ...]  # operations the rollback recorded, newest first


ENDINGS = [
    Ending("confirmed", body(), None, "CONFIRMED", None, ()),
    Ending(
        "declined", body(payment_token="tok_chargeDeclined"), None, "CANCELLED",
        "PaymentDeclinedError", ("payment.void_payment", "inventory.release_stock"),
    ),
    Ending(
        "out of stock", body(items=[{"sku": "SKU-A", "quantity": 9}]), None, "CANCELLED",
        "OutOfStockError", ("inventory.release_stock",),
    ),
    Ending(
        "failed confirmation", body(), "order.confirm", "CANCELLED", "InjectedFaultError",
        ("payment.void_payment", "inventory.release_stock"),
    ),
    Ending(
        "parked rollback", body(payment_token="tok_chargeDeclined"), "payment.void", "FAILED",
        "CheckoutParkedForOperator", (),
    ),
    # after the pivot: the order is confirmed (that is its status), the capture owed (`parked`)
    Ending("parked capture", body(), "payment.capture", "CONFIRMED", None, ()),
]  # fmt: skip


def _no_step_functions_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the status read called a Step Functions read API")

    monkeypatch.setattr(aws, "describe_execution", refuse)
    monkeypatch.setattr(aws, "execution_history", refuse)


@pytest.fixture
def shop(saga):
    saga.add_product("SKU-A", available=5, unit_price=1_250)
    return saga


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda ending: ending.name)
def test_the_status_view_is_what_the_stores_say(api, shop, monkeypatch, ending):
    headers = {"X-Checkout-Fault": ending.fault} if ending.fault else {}
    _, accepted = post(api, ending.body, headers=headers)
    order_id = accepted["order_id"]
    finish(shop, order_id)
    _no_step_functions_reads(monkeypatch)

    status, view = api("GET", f"/checkouts/{order_id}")

    assert status == 200
    order = shop.order(order_id)
    assert (view["status"], view["reason_code"]) == (ending.status, ending.reason_code)
    final = order["status"] in {"CONFIRMED", "CANCELLED"}
    assert view["status"] == ("FAILED" if shop.parked() and not final else order["status"])
    assert view["created_at"] is not None
    assert view["updated_at"] >= view["created_at"]
    if ending.status == "CONFIRMED":
        assert view["total"] == {"amount": order["total_amount"], "currency": order["currency"]}
    _compare_compensations(shop, view, ending)
    _compare_parking(shop, view)


def _compare_compensations(shop: Any, view: dict[str, Any], ending: Ending) -> None:
    stored: dict[str, Callable[[], str]] = {
        "payment.void_payment": lambda: shop.payments()[0]["status"],
        "inventory.release_stock": lambda: shop.reservations()[0]["status"],
    }
    assert [c["operation"] for c in view["compensations"]] == list(ending.compensations)
    for compensation in view["compensations"]:
        assert compensation["status"] == stored[compensation["operation"]]()


def _compare_parking(shop: Any, view: dict[str, Any]) -> None:
    parked = shop.parked()
    if not parked:
        assert view["parked"] is None
        return
    [record] = parked
    assert view["parked"] == {
        "stuck_step": record.stuck_step, "error": record.error, "parked_at": record.parked_at,
    }  # fmt: skip
    assert view["total"] == record.reservation["total"]
    if view["status"] == "CONFIRMED":  # parked after the pivot: the order stays confirmed
        assert record.stuck_step == "capture_payment"
        assert shop.payments()[0]["status"] == "AUTHORIZED"  # the hold kept, not captured
        return
    assert shop.order(view["order_id"])["status"] == "PENDING"  # nothing undid the order yet


def test_the_steps_view_adds_the_timeline_to_the_same_status(api, shop):
    _, accepted = post(api, body(payment_token="tok_chargeDeclined"))
    finish(shop, accepted["order_id"])

    _, status_view = api("GET", f"/checkouts/{accepted['order_id']}")
    _, steps_view = api("GET", f"/checkouts/{accepted['order_id']}?view=steps")

    assert {k: v for k, v in steps_view.items() if k not in ("steps", "recoveries")} == status_view
    assert [s["state"] for s in steps_view["steps"] if s["phase"] == "compensation"] == [
        "VoidPayment", "ReleaseStock", "CancelOrder",
    ]  # fmt: skip


def test_a_poll_before_the_order_exists_reads_pending_not_404(api, shop):
    # Given an execution stopped while its first step crashed before recording the order
    shop.stop_when("create-order")
    _, accepted = post(api, headers={"X-Checkout-Fault": "order.create=crash_before_commit"})
    finish(shop, accepted["order_id"])
    assert shop.orders() == []

    status, view = api("GET", f"/checkouts/{accepted['order_id']}")

    assert status == 200
    assert view["status"] == "PENDING"
    assert view["created_at"] is None
    assert api.headers["Retry-After"] == "1"


@pytest.mark.parametrize("value", ["", "STEPS", "history", "steps,status"])
def test_an_unknown_view_is_a_400_naming_the_choices(api, shop, value):
    _, accepted = post(api)

    status, error = api("GET", f"/checkouts/{accepted['order_id']}?view={value}")

    assert status == 400
    assert error["error"]["code"] == "invalid_parameter"
    assert "'status' or 'steps'" in error["error"]["message"]
    assert error["error"]["message"].startswith(f"view is malformed: {value!r}")

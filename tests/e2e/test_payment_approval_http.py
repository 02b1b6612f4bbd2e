"""Customer approval on the local cloud, over HTTP only, as a storefront and a customer do it: the
checkout view carries the next action, the simulated provider's page answers a plain POST and
sends its signed webhook to the checkout API, and the saga goes on."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import APPROVAL_SECONDS, Shop

pytestmark = pytest.mark.e2e

TOKEN = "tok_threeDSecureRequired"


def _next_action(shop: Shop, order_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = shop.request("GET", f"/checkouts/{order_id}")
        assert answer.status == 200, answer.body
        if answer.body.get("next_action"):
            assert answer.body["status"] == "PENDING"
            action: dict[str, Any] = answer.body["next_action"]
            return action
        assert answer.body["status"] == "PENDING", answer.body
        time.sleep(0.2)
    raise AssertionError(f"{order_id} never asked for the customer's approval")


def _page(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_customer_approves_on_the_providers_page_and_the_order_is_confirmed(shop: Shop):
    accepted = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}], token=TOKEN)
    order_id = accepted.body["order_id"]
    action = _next_action(shop, order_id)
    assert action["type"] == "approve_payment"
    assert action["approve_url"].startswith(shop.url)

    status, page = _page(action["approve_url"])
    assert status == 200
    assert "<form" in page
    assert "Approve" in page
    assert "Decline" in page
    status, page = _page(action["approve_url"], "POST")
    assert status == 200, page
    assert "approved" in page

    view = shop.wait_final(order_id)
    assert view["status"] == "CONFIRMED"
    assert view["next_action"] is None
    assert "order.await_payment_approval" in [step["operation"] for step in view["steps"]]
    # answering again is a redelivery: nothing changes
    status, _ = _page(action["approve_url"], "POST")
    assert status == 200
    assert shop.wait_final(order_id)["status"] == "CONFIRMED"


def test_the_customer_declines_and_the_checkout_is_cancelled(shop: Shop):
    before = shop.available("SKU-MUG")
    accepted = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}], token=TOKEN)
    order_id = accepted.body["order_id"]
    action = _next_action(shop, order_id)

    status, page = _page(action["decline_url"], "POST")

    assert status == 200, page
    view = shop.wait_final(order_id)
    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "PaymentDeclinedError"
    assert shop.available("SKU-MUG") == before
    # too late to change one's mind
    status, page = _page(action["approve_url"], "POST")
    assert status == 409, page


def test_no_answer_cancels_the_checkout_after_the_stage_timeout(shop: Shop):
    accepted = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}], token=TOKEN)
    order_id = accepted.body["order_id"]
    action = _next_action(shop, order_id)

    view = shop.wait_final(order_id, timeout=APPROVAL_SECONDS + 60)

    assert view["status"] == "CANCELLED"
    assert view["reason_code"] == "PaymentApprovalTimedOut"
    status, page = _page(action["approve_url"], "POST")
    assert status == 409, page  # the void cancelled the approval at the provider


def test_a_forged_webhook_is_refused(shop: Shop):
    answer = shop.request(
        "POST",
        "/payments/webhook",
        {"id": "evt_forged", "type": "payment.approval.approved", "created": int(time.time())},
        {"Webhook-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert answer.status == 401
    assert answer.body["error"]["code"] == "invalid_signature"


def test_a_signature_header_longer_than_any_signature_is_refused_not_a_crash(shop: Shop):
    answer = shop.request(
        "POST",
        "/payments/webhook",
        {"id": "evt_long", "type": "payment.approval.approved", "created": int(time.time())},
        {"Stripe-Signature": "t=1,v1=" + "a" * 5000},
    )
    assert answer.status == 401
    assert answer.body["error"]["code"] == "invalid_signature"

"""Customer approval (3-D Secure), executed on the real definition: the saga waits on a task token
while the order shows the next action; the provider's signed webhook, through the checkout API,
resumes it. Every scenario asserts the stores of all three services and the provider's journal."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.saga.conftest import APPROVAL_SECONDS, SagaRig
from tests.saga.harness import ExecutionResult, wait_for_execution
from tests.saga.test_checkout_saga import (
    assert_no_money_moved,
    authorizations,
    captures,
    checkout,
)

pytestmark = pytest.mark.saga

TOKEN = "tok_threeDSecureRequired"
WAITING = ["AuthorizePayment", "AuthorizePaymentNeedsApproval", "AwaitPaymentApproval"]


@pytest.fixture
def catalog(saga):
    saga.add_product("SKU-A", available=10, unit_price=1_250)
    saga.add_product("SKU-B", available=3, unit_price=500)
    return saga


class Running:
    """An execution started in the background, so the test can act while the saga waits."""

    def __init__(self, saga: SagaRig, order_id: str) -> None:
        self.arn = saga.start(checkout(order_id, payment_token=TOKEN))
        self._saga = saga
        self._result: ExecutionResult | None = None
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        self._result = wait_for_execution(self._saga.sfn, self.arn)

    def result(self) -> ExecutionResult:
        self._thread.join(timeout=60)
        assert self._result is not None, "the execution did not end"
        return self._result


def _view(saga: SagaRig, order_id: str) -> dict[str, Any]:
    """The order as the checkout API reads it (the order service's get_order function)."""
    answer = saga.invoke_task("get_order", {"order_id": order_id})
    order: dict[str, Any] = answer["order"]
    return order


def test_approved_payment_confirms_the_order_and_captures_once(catalog):
    running = Running(catalog, "order-3ds-approved")
    action = catalog.wait_for_next_action("order-3ds-approved")
    assert action["type"] == "approve_payment"
    assert action["approve_url"].endswith("/approve")
    assert action["decline_url"].endswith("/decline")
    # While it waits: the order is PENDING with the next action, the payment needs approval.
    view = _view(catalog, "order-3ds-approved")
    assert view["status"] == "PENDING"
    assert view["next_action"]["approve_url"] == action["approve_url"]
    [payment] = catalog.payments()
    assert payment["status"] == "REQUIRES_ACTION"
    assert captures(catalog) == []

    answered = catalog.customer_answers("order-3ds-approved", approved=True)

    assert answered == {
        "status": 200,
        "body": {
            "received": True,
            "outcome": "approved",
            "order_id": "order-3ds-approved",
            "delivered": True,
        },
    }
    result = running.result()
    assert result.status == "SUCCEEDED"
    assert result.path[3:6] == WAITING
    assert result.path[-3:] == ["ConfirmOrder", "CapturePayment", "CheckoutConfirmed"]
    order = catalog.order("order-3ds-approved")
    assert order["status"] == "CONFIRMED"
    assert "next_action" not in order
    assert _view(catalog, "order-3ds-approved")["next_action"] is None
    [payment] = catalog.payments()
    assert payment["status"] == "CAPTURED"
    [held] = authorizations(catalog)
    assert held.approval == "approved"
    assert held.settled_as == "capture"
    [taken] = captures(catalog)
    assert taken.amount.amount == 3_000
    assert catalog.available("SKU-A") == 8


def test_declined_payment_cancels_and_releases_everything(catalog):
    running = Running(catalog, "order-3ds-declined")
    catalog.wait_for_next_action("order-3ds-declined")

    answered = catalog.customer_answers("order-3ds-declined", approved=False)

    assert answered["status"] == 200
    assert answered["body"]["outcome"] == "declined"
    assert answered["body"]["delivered"] is True
    result = running.result()
    assert result.status == "SUCCEEDED"
    assert result.path[-4:] == ["VoidPayment", "ReleaseStock", "CancelOrder", "CheckoutCancelled"]
    order = catalog.order("order-3ds-declined")
    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "PaymentDeclinedError"
    assert "declined" in order["reason"]
    assert catalog.available("SKU-A") == 10
    assert catalog.available("SKU-B") == 3
    [payment] = catalog.payments()
    assert payment["status"] == "VOIDED"
    assert captures(catalog) == []
    [held] = authorizations(catalog)
    assert held.approval == "declined"  # the customer's no: nothing was ever capturable


def test_no_answer_before_the_timeout_cancels_and_a_late_answer_is_refused(catalog):
    running = Running(catalog, "order-3ds-timeout")
    catalog.wait_for_next_action("order-3ds-timeout")

    result = running.result()  # nobody answers

    assert result.status == "SUCCEEDED"
    assert "AwaitPaymentApprovalTimedOut" in result.path
    assert result.path[-4:] == ["VoidPayment", "ReleaseStock", "CancelOrder", "CheckoutCancelled"]
    order = catalog.order("order-3ds-timeout")
    assert order["status"] == "CANCELLED"
    assert order["reason_code"] == "PaymentApprovalTimedOut"
    assert catalog.available("SKU-A") == 10
    assert_no_money_moved(catalog)  # the void cancelled the pending authorization
    # The customer clicks Approve too late: the provider refuses, nothing changes.
    from shared.errors import PaymentNotCapturableError

    with pytest.raises(PaymentNotCapturableError, match="cancelled"):
        catalog.customer_answers("order-3ds-timeout", approved=True)
    [payment] = catalog.payments()
    # And a (validly signed) late webhook changes nothing either.
    late = catalog.deliver_webhook(
        catalog.signed_webhook("order-3ds-timeout", payment["charge_id"], approved=True)
    )
    assert late["status"] == 200
    assert late["body"]["outcome"] == "ignored"
    assert catalog.order("order-3ds-timeout")["status"] == "CANCELLED"
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]
    assert_no_money_moved(catalog)
    assert APPROVAL_SECONDS <= 10  # the wait above took this long


def test_a_duplicate_webhook_changes_nothing(catalog):
    running = Running(catalog, "order-3ds-duplicate")
    catalog.wait_for_next_action("order-3ds-duplicate")
    first = catalog.customer_answers("order-3ds-duplicate", approved=True)
    assert first["body"]["delivered"] is True
    result = running.result()
    assert result.status == "SUCCEEDED"
    before = (catalog.orders(), catalog.payments(), catalog.provider_journal())

    [payment] = catalog.payments()
    again = catalog.deliver_webhook(
        catalog.signed_webhook("order-3ds-duplicate", payment["charge_id"], approved=True)
    )

    assert again["status"] == 200
    assert again["body"]["outcome"] == "approved"  # the same answer, recognised
    assert again["body"]["delivered"] is False  # the saga no longer waits: nothing resumed
    assert (catalog.orders(), catalog.payments(), catalog.provider_journal()) == before
    assert len(captures(catalog)) == 1


def test_a_forged_webhook_is_refused_and_changes_nothing(catalog):
    running = Running(catalog, "order-3ds-forged")
    catalog.wait_for_next_action("order-3ds-forged")
    [payment] = catalog.payments()

    forged = catalog.deliver_webhook(
        catalog.signed_webhook(
            "order-3ds-forged", payment["charge_id"], approved=True, secret="not-the-secret"
        )
    )

    assert forged["status"] == 401
    assert forged["body"]["error"]["code"] == "invalid_signature"
    assert [p["status"] for p in catalog.payments()] == ["REQUIRES_ACTION"]
    assert catalog.order("order-3ds-forged")["status"] == "PENDING"
    # the saga still waits; the customer's real answer still works
    assert catalog.customer_answers("order-3ds-forged", approved=True)["body"]["delivered"]
    assert running.result().status == "SUCCEEDED"
    assert catalog.order("order-3ds-forged")["status"] == "CONFIRMED"


def test_an_answer_that_comes_before_the_wait_begins_still_resumes_the_saga(catalog):
    """The webhook can beat the wait's invocation (a fast customer, a retried invocation): the
    answer is kept on the order and the wait completes itself when it runs."""
    answered: list[dict[str, Any]] = []

    def answer_first(payload: dict[str, Any]) -> None:
        # The order has no token yet: the answer is kept, nothing can be resumed now.
        answered.append(catalog.customer_answers(payload["order_id"], approved=True))

    catalog.dispatcher.before_call("await-payment-approval", 1, answer_first)
    result = catalog.run(checkout("order-3ds-early", payment_token=TOKEN))

    assert answered[0]["body"]["outcome"] == "approved"
    assert answered[0]["body"]["delivered"] is False  # kept for the wait, not delivered
    assert result.status == "SUCCEEDED"
    assert catalog.order("order-3ds-early")["status"] == "CONFIRMED"
    assert len(captures(catalog)) == 1


def test_a_checkout_stopped_while_waiting_is_rolled_back_and_a_late_answer_changes_nothing(
    catalog,
):
    """Stopped (an operator, a bad deploy) while the saga waits for the customer: the task token
    dies with the execution. The reconciler rolls the checkout back, and the customer's answer
    that comes afterwards is refused by the provider and ignored by the services."""
    running = Running(catalog, "order-3ds-stopped")
    catalog.wait_for_next_action("order-3ds-stopped")
    catalog.sfn.stop_execution(executionArn=running.arn, cause="test: stopped while waiting")
    # ABORTED on AWS; moto's interpreter reports a wait it interrupts as FAILED
    assert running.result().status in ("ABORTED", "FAILED")

    outcome = catalog.reconcile(running.arn)

    assert outcome["outcomes"][0]["action"] == "recovery_started"
    recovery = catalog.wait("order-3ds-stopped--r1")
    assert recovery.status == "SUCCEEDED"
    assert recovery.path[-1] == "CheckoutCancelled"
    order = catalog.order("order-3ds-stopped")
    assert order["status"] == "CANCELLED"
    assert "next_action" not in order
    assert catalog.available("SKU-A") == 10
    assert_no_money_moved(catalog)
    assert [p["status"] for p in catalog.payments()] == ["VOIDED"]
    from shared.errors import PaymentNotCapturableError

    with pytest.raises(PaymentNotCapturableError):
        catalog.customer_answers("order-3ds-stopped", approved=True)
    assert catalog.order("order-3ds-stopped")["status"] == "CANCELLED"
    assert_no_money_moved(catalog)

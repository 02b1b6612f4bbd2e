"""await_payment_approval and answer_payment_approval: the saga's wait for the customer's approval.

The wait keeps the saga's task token and shows the next action on a PENDING order; the answer
(from the provider's webhook) is kept on the order and completes the task. Whichever of the two
comes second completes it. Step Functions is replaced by a client that records what it was told.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.order.dal.records import OrderRecord
from services.order.gateway import saga
from services.order.handlers import (
    answer_payment_approval,
    await_payment_approval,
    cancel_order,
    confirm_order,
    get_order,
)
from shared.errors import DependencyUnavailableError, OrderNotPendingError
from tests.integration.order.conftest import (
    ORDER,
    cancel_event,
    confirm_event,
    invoke,
    stored_order,
)
from tests.support.tables import table_items

TOKEN = "task-token-0001"
NEXT_ACTION = {
    "type": "approve_payment",
    "approve_url": f"/simulated-provider/approvals/{ORDER}/pi_1/approve",
    "decline_url": f"/simulated-provider/approvals/{ORDER}/pi_1/decline",
}
PAYMENT = {
    "status": "AUTHORIZED",
    "charge_id": "pi_1",
    "amount": {"amount": 3_250, "currency": "EUR"},
}
DECLINED_REASON = "the customer declined the payment"


class RecordingStepFunctions:
    """Stands for the Step Functions client: records every completion, or refuses with `code`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.code: str | None = None

    def _answer(self, call: dict[str, Any]) -> None:
        self.calls.append(call)
        if self.code is not None:
            error = {"Error": {"Code": self.code, "Message": "refused by the test"}}
            raise ClientError(error, call["kind"])

    def send_task_success(self, *, taskToken: str, output: str) -> None:  # noqa: N803
        self._answer({"kind": "SendTaskSuccess", "token": taskToken, "output": json.loads(output)})

    def send_task_failure(self, *, taskToken: str, error: str, cause: str) -> None:  # noqa: N803
        self._answer(
            {"kind": "SendTaskFailure", "token": taskToken, "error": error, "cause": cause}
        )


@pytest.fixture
def step_functions(monkeypatch: pytest.MonkeyPatch) -> RecordingStepFunctions:
    client = RecordingStepFunctions()
    monkeypatch.setattr(saga, "_client", lambda region: client)
    return client


def wait(order_id: str = ORDER, token: str = TOKEN) -> dict[str, Any]:
    return invoke(
        await_payment_approval.lambda_handler,
        {"order_id": order_id, "next_action": NEXT_ACTION, "task_token": token},
    )


def approve(order_id: str = ORDER) -> dict[str, Any]:
    return invoke(
        answer_payment_approval.lambda_handler,
        {"order_id": order_id, "approved": True, "payment": PAYMENT},
    )


def decline(order_id: str = ORDER) -> dict[str, Any]:
    return invoke(
        answer_payment_approval.lambda_handler,
        {"order_id": order_id, "approved": False, "reason": DECLINED_REASON},
    )


def summary() -> dict[str, Any]:
    order: dict[str, Any] = invoke(get_order.lambda_handler, {"order_id": ORDER})["order"]
    return order


def success(token: str = TOKEN) -> dict[str, Any]:
    return {"kind": "SendTaskSuccess", "token": token, "output": PAYMENT}


def failure(token: str = TOKEN) -> dict[str, Any]:
    return {
        "kind": "SendTaskFailure",
        "token": token,
        "error": "PaymentDeclinedError",
        "cause": DECLINED_REASON,
    }


# --- the wait ------------------------------------------------------------------------------------


def test_the_wait_keeps_the_token_and_shows_the_next_action(pending_order, step_functions):
    result = wait()

    assert result == {"order_id": ORDER, "status": "WAITING"}
    stored = stored_order()
    assert stored["status"] == "PENDING"
    assert stored["approval_token"] == TOKEN
    assert stored["next_action"] == NEXT_ACTION
    assert "approval_answer" not in stored
    assert stored["items"] == pending_order["items"]
    assert summary()["next_action"] == NEXT_ACTION
    assert step_functions.calls == []  # nobody answered yet: the saga just waits


def test_a_retried_wait_keeps_the_newest_token(pending_order, step_functions):
    wait(token="task-token-first")

    assert wait(token="task-token-retry")["status"] == "WAITING"

    assert stored_order()["approval_token"] == "task-token-retry"
    approve()
    assert step_functions.calls == [success("task-token-retry")]


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(lambda: invoke(confirm_order.lambda_handler, confirm_event()), id="confirmed"),
        pytest.param(lambda: invoke(cancel_order.lambda_handler, cancel_event()), id="cancelled"),
    ],
)
def test_an_order_no_longer_pending_cannot_wait(pending_order, step_functions, finish):
    finish()
    before = stored_order()

    with pytest.raises(OrderNotPendingError, match="cannot wait"):
        wait()

    assert stored_order() == before
    assert "approval_token" not in before
    assert "next_action" not in before
    assert step_functions.calls == []


def test_a_missing_order_cannot_wait_and_nothing_is_created(orders, step_functions):
    with pytest.raises(OrderNotPendingError, match="missing"):
        wait()

    assert table_items(OrderRecord) == []
    assert step_functions.calls == []


# --- the answer after the wait began --------------------------------------------------------------


def test_an_approval_completes_the_waiting_task_with_the_payment(pending_order, step_functions):
    wait()

    result = approve()

    assert result == {"order_id": ORDER, "delivered": True}
    assert step_functions.calls == [success()]
    stored = stored_order()
    assert stored["status"] == "PENDING"  # the saga confirms it; the answer only resumes it
    assert "next_action" not in stored  # nothing left for the customer to do
    assert json.loads(stored["approval_answer"]) == {
        "order_id": ORDER,
        "approved": True,
        "payment": PAYMENT,
        "reason": None,
    }
    assert summary()["next_action"] is None


def test_a_decline_fails_the_waiting_task_as_a_declined_payment(pending_order, step_functions):
    wait()

    result = decline()

    assert result == {"order_id": ORDER, "delivered": True}
    assert step_functions.calls == [failure()]
    stored = stored_order()
    assert json.loads(stored["approval_answer"])["approved"] is False
    assert "next_action" not in stored


def test_a_redelivered_answer_completes_again_with_the_first_answer(pending_order, step_functions):
    wait()
    approve()
    before = stored_order()

    # the webhook again, and then the other answer (forged or late): the first one is the answer
    assert approve() == {"order_id": ORDER, "delivered": True}
    assert decline() == {"order_id": ORDER, "delivered": True}

    assert step_functions.calls == [success(), success(), success()]
    assert stored_order() == before


def test_an_answer_the_saga_no_longer_waits_for_is_not_delivered(pending_order, step_functions):
    wait()
    step_functions.code = "TaskTimedOut"

    result = approve()

    assert result == {"order_id": ORDER, "delivered": False}
    assert len(step_functions.calls) == 1
    assert json.loads(stored_order()["approval_answer"])["approved"] is True


def test_step_functions_failing_is_retried_and_the_redelivery_completes(
    pending_order, step_functions
):
    wait()
    step_functions.code = "ServiceUnavailable"

    with pytest.raises(DependencyUnavailableError, match="Step Functions"):
        approve()

    # the answer is kept, so the provider's redelivery completes the task
    assert json.loads(stored_order()["approval_answer"])["approved"] is True
    step_functions.code = None
    assert approve() == {"order_id": ORDER, "delivered": True}
    assert step_functions.calls == [success(), success()]


# --- the answer before the wait -------------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "declined"])
def test_an_answer_before_the_wait_is_kept_and_the_wait_completes_itself(
    pending_order, step_functions, approved
):
    # Given the customer answered before the wait task ran (a fast customer, a retried task)
    result = approve() if approved else decline()

    # Then the answer is kept, and there is no task yet to complete
    assert result == {"order_id": ORDER, "delivered": False}
    assert step_functions.calls == []
    kept = stored_order()
    assert json.loads(kept["approval_answer"])["approved"] is approved
    assert "approval_token" not in kept

    # When the wait runs, it finds the answer and completes its own task at once
    waited = wait()

    assert waited == {"order_id": ORDER, "status": "ANSWERED"}
    assert step_functions.calls == [success() if approved else failure()]
    stored = stored_order()
    assert "next_action" not in stored  # never shown: the customer already answered
    assert stored["approval_answer"] == kept["approval_answer"]
    assert summary()["next_action"] is None
    assert summary()["status"] == "PENDING"


def test_a_second_answer_before_the_wait_keeps_the_first(pending_order, step_functions):
    approve()
    first = stored_order()["approval_answer"]

    assert decline() == {"order_id": ORDER, "delivered": False}

    assert stored_order()["approval_answer"] == first
    wait()
    assert step_functions.calls == [success()]


# --- an order that stopped waiting ---------------------------------------------------------------


@pytest.mark.parametrize("waited", [True, False], ids=["after-the-wait", "without-a-wait"])
def test_an_answer_for_a_cancelled_order_is_not_delivered_and_changes_nothing(
    pending_order, step_functions, waited
):
    # Given the wait timed out (or never began) and the saga cancelled the order
    if waited:
        wait()
    invoke(cancel_order.lambda_handler, cancel_event(error="PaymentApprovalTimedOut"))
    before = stored_order()
    assert before["status"] == "CANCELLED"
    assert "next_action" not in before

    # When the customer's answer arrives late
    results = [approve(), decline()]

    # Then it is not delivered, nothing resumes, and the order keeps its outcome
    assert results == [{"order_id": ORDER, "delivered": False}] * 2
    assert step_functions.calls == []
    assert stored_order() == before
    assert "approval_answer" not in before


def test_an_answer_for_a_confirmed_order_changes_nothing(pending_order, step_functions):
    wait()
    approve()
    invoke(confirm_order.lambda_handler, confirm_event())
    before = stored_order()
    step_functions.calls.clear()

    assert approve() == {"order_id": ORDER, "delivered": False}

    assert step_functions.calls == []
    assert stored_order() == before
    assert summary()["next_action"] is None


def test_an_answer_for_an_unknown_order_creates_nothing(orders, step_functions):
    assert approve() == {"order_id": ORDER, "delivered": False}

    assert table_items(OrderRecord) == []
    assert step_functions.calls == []

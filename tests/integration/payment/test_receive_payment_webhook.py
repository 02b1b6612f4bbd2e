"""receive_payment_webhook handler against moto (DynamoDB and an SSM SecureString secret): the
provider's signed webhook moves a REQUIRES_ACTION payment to AUTHORIZED or DECLINED, once; a
duplicate repeats the answer, a forgery is rejected before anything is read, and a webhook for a
payment no longer waiting changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from services.payment.bootstrap import start as get_settings
from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord
from services.payment.dal.secrets import secure_parameter
from services.payment.gateway.simulated import (
    DECLINED_BY_CUSTOMER,
    TOKEN_APPROVAL_REQUIRED,
    SimulatedPaymentProvider,
)
from services.payment.gateway.webhooks import approval_event, sign
from services.payment.handlers import (
    authorize_payment,
    capture_payment,
    receive_payment_webhook,
    void_payment,
)
from services.payment.logic import simulated_approval
from services.payment.logic.receive_payment_webhook import (
    receive_payment_webhook as receive_payment_webhook_logic,
)
from services.payment.settings import PaymentSettings
from shared.contracts import ReceivePaymentWebhookInput
from shared.errors import DependencyUnavailableError, PaymentDeclinedError
from shared.settings import ConfigurationError
from tests.integration.payment.conftest import (
    authorize_event,
    invoke,
    journal_of,
    stored_payment,
)
from tests.support.tables import table_items

ORDER = "order-3ds-0001"
AUTHORIZE_KEY = f"authorize:{ORDER}"
CAPTURE_KEY = f"capture:{ORDER}"
VOID_KEY = f"void:{ORDER}"
SECRET_PARAMETER = "/checkout/test/payment/webhook-signing-secret"
SECRET = "whsec_integration-test-secret"
WEBHOOK_URL = "https://checkout.example/payments/webhook"
AMOUNT = {"amount": 2_100, "currency": "EUR"}


@pytest.fixture
def webhooks(
    payment: PaymentSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PaymentSettings]:
    """The payment settings with the webhook signing secret in SSM, as the template sets them."""
    boto3.client("ssm", region_name=payment.aws_region).put_parameter(
        Name=SECRET_PARAMETER, Type="SecureString", Value=SECRET
    )
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET_PARAMETER", SECRET_PARAMETER)
    monkeypatch.setenv("PAYMENT_WEBHOOK_URL", WEBHOOK_URL)
    get_settings.cache_clear()
    secure_parameter.cache_clear()
    settings = get_settings()
    assert settings.payment_webhook_secret_parameter == SECRET_PARAMETER
    yield settings
    secure_parameter.cache_clear()  # never leak this test's secret into another's moto
    get_settings.cache_clear()


def awaiting_approval() -> dict[str, Any]:
    """Authorize the order with the 3-D Secure test token: REQUIRES_ACTION, as the saga sees it."""
    result = invoke(
        authorize_payment.lambda_handler, authorize_event(ORDER, token=TOKEN_APPROVAL_REQUIRED)
    )
    assert result["status"] == "REQUIRES_ACTION"
    assert stored_payment()["status"] == "REQUIRES_ACTION"
    return result


def webhook(
    charge_id: str,
    approved: bool,
    *,
    secret: str = SECRET,
    order_id: str = ORDER,
    signed_at: int | None = None,
) -> dict[str, Any]:
    """The event the checkout API passes on: the raw body and its signature header."""
    now = int(time.time()) if signed_at is None else signed_at
    body = approval_event(order_id, charge_id, approved, now)
    return {"body": body, "signature": sign(secret, body, now)}


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    return invoke(receive_payment_webhook.lambda_handler, event)


def customer_answers(simulated: SimulatedPaymentProvider, charge_id: str, approved: bool) -> None:
    """What the provider's page records before it sends the webhook."""
    simulated.answer_approval(
        authorization_key=AUTHORIZE_KEY, authorization_id=charge_id, approved=approved
    )


def everything_stored() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return table_items(PaymentRecord), table_items(SimulatedLedgerRecord)


# --- the customer's answer, applied -----------------------------------------------------------


def test_the_authorization_pending_approval_says_what_the_customer_must_do(webhooks):
    result = awaiting_approval()

    charge_id = result["charge_id"]
    assert charge_id.startswith("pi_")
    page = f"/simulated-provider/approvals/{ORDER}/{charge_id}"
    assert result["next_action"] == {
        "type": "approve_payment",
        "approve_url": f"{page}/approve",
        "decline_url": f"{page}/decline",
    }
    assert result["approval_seconds"] == webhooks.payment_approval_seconds
    stored = stored_payment()
    assert stored["charge_id"] == charge_id
    assert "tok_" not in json.dumps(stored)


def test_an_approval_moves_the_payment_to_authorized_and_it_can_be_captured(webhooks, simulated):
    charge_id = awaiting_approval()["charge_id"]
    customer_answers(simulated, charge_id, approved=True)

    answered = deliver(webhook(charge_id, approved=True))

    assert answered == {
        "outcome": "approved",
        "order_id": ORDER,
        "payment": {"status": "AUTHORIZED", "charge_id": charge_id, "amount": AMOUNT},
        "reason": None,
    }
    stored = stored_payment()
    assert stored["status"] == "AUTHORIZED"
    assert stored["charge_id"] == charge_id
    assert "decline_reason" not in stored
    # And the approved authorization is capturable, once
    captured = invoke(
        capture_payment.lambda_handler,
        {"order_id": ORDER, "charge_id": charge_id, "amount": AMOUNT},
    )
    assert captured["status"] == "CAPTURED"
    assert stored_payment()["status"] == "CAPTURED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("capture", CAPTURE_KEY)]


def test_a_decline_moves_the_payment_to_declined_and_nothing_is_ever_held(webhooks, simulated):
    charge_id = awaiting_approval()["charge_id"]
    customer_answers(simulated, charge_id, approved=False)

    answered = deliver(webhook(charge_id, approved=False))

    assert answered == {
        "outcome": "declined",
        "order_id": ORDER,
        "payment": None,
        "reason": DECLINED_BY_CUSTOMER,
    }
    stored = stored_payment()
    assert stored["status"] == "DECLINED"
    assert stored["decline_reason"] == DECLINED_BY_CUSTOMER
    assert stored["charge_id"] == charge_id
    # And a retry of the step repeats the decline; the rollback's void touches no provider
    with pytest.raises(PaymentDeclinedError, match="declined"):
        invoke(
            authorize_payment.lambda_handler,
            authorize_event(ORDER, token=TOKEN_APPROVAL_REQUIRED),
        )
    voided = invoke(void_payment.lambda_handler, {"order_id": ORDER})
    assert (voided["status"], voided["voided_now"]) == ("VOIDED", False)
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY)]
    [held] = simulated.journal
    assert held.approval == "declined"
    assert held.settled_by is None


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "declined"])
def test_a_duplicate_delivery_repeats_the_answer_and_changes_nothing(webhooks, approved):
    charge_id = awaiting_approval()["charge_id"]
    event = webhook(charge_id, approved=approved)
    first = deliver(event)
    after_first = everything_stored()

    again = deliver(event)  # the provider's redelivery: the very same bytes
    resent = deliver(webhook(charge_id, approved=approved, signed_at=int(time.time()) - 60))

    assert again == resent == first
    assert first["outcome"] == ("approved" if approved else "declined")
    assert everything_stored() == after_first  # not even updated_at moved


def test_the_other_answer_after_the_first_is_ignored(webhooks):
    charge_id = awaiting_approval()["charge_id"]
    deliver(webhook(charge_id, approved=True))
    before = everything_stored()

    late = deliver(webhook(charge_id, approved=False))

    assert late["outcome"] == "ignored"
    assert late["order_id"] == ORDER
    assert "AUTHORIZED" in late["reason"]
    assert everything_stored() == before


# --- what is not believed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forge", "problem"),
    [
        pytest.param(lambda event: {**event, "signature": None}, "missing", id="unsigned"),
        pytest.param(
            lambda event: {k: v for k, v in event.items() if k != "signature"},
            "missing",
            id="no-signature-field",
        ),
        pytest.param(lambda event: {**event, "signature": "v1=deadbeef"}, "malformed", id="bad"),
        pytest.param(
            lambda event: {**event, "body": event["body"].replace("declined", "approved")},
            "does not match",
            id="tampered",
        ),
    ],
)
def test_an_unsigned_or_tampered_webhook_is_rejected_and_writes_nothing(webhooks, forge, problem):
    charge_id = awaiting_approval()["charge_id"]
    event = forge(webhook(charge_id, approved=False))
    before = everything_stored()

    answered = deliver(event)

    assert answered["outcome"] == "rejected"
    assert problem in answered["reason"]
    assert answered["order_id"] is None
    assert answered["payment"] is None
    assert everything_stored() == before
    assert stored_payment()["status"] == "REQUIRES_ACTION"


@pytest.mark.parametrize(
    ("secret", "age"),
    [("whsec_someone-else", 0), (SECRET, 301), (SECRET, -301)],
    ids=["wrong-secret", "stale", "from-the-future"],
)
def test_a_forged_or_replayed_webhook_is_rejected_and_writes_nothing(webhooks, secret, age):
    charge_id = awaiting_approval()["charge_id"]
    before = everything_stored()

    answered = deliver(
        webhook(charge_id, approved=True, secret=secret, signed_at=int(time.time()) - age)
    )

    assert answered["outcome"] == "rejected"
    assert everything_stored() == before
    assert stored_payment()["status"] == "REQUIRES_ACTION"


def test_a_forged_webhook_for_an_unknown_order_creates_nothing(webhooks):
    answered = deliver(webhook("pi_forged", approved=True, secret="guess"))

    assert answered["outcome"] == "rejected"
    assert everything_stored() == ([], [])


# --- a payment no longer waiting -----------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "declined"])
def test_a_webhook_for_a_voided_payment_is_ignored(webhooks, simulated, approved):
    # Given the saga stopped waiting (the approval timed out) and voided the pending authorization
    charge_id = awaiting_approval()["charge_id"]
    voided = invoke(void_payment.lambda_handler, {"order_id": ORDER})
    assert voided["voided_now"] is True
    before = everything_stored()

    answered = deliver(webhook(charge_id, approved=approved))

    assert answered["outcome"] == "ignored"
    assert answered["order_id"] == ORDER
    assert answered["payment"] is None
    assert "VOIDED" in answered["reason"]
    assert everything_stored() == before
    assert stored_payment()["status"] == "VOIDED"
    assert journal_of(simulated) == [("authorize", AUTHORIZE_KEY), ("void", VOID_KEY)]


def test_a_webhook_naming_another_authorization_is_ignored(webhooks):
    awaiting_approval()
    before = everything_stored()

    answered = deliver(webhook("pi_not-this-payments", approved=True))

    assert answered["outcome"] == "ignored"
    assert everything_stored() == before
    assert stored_payment()["status"] == "REQUIRES_ACTION"


def test_a_webhook_for_an_order_without_a_payment_is_ignored_and_creates_nothing(webhooks):
    answered = deliver(webhook("pi_whatever", approved=True, order_id="order-none-0001"))

    assert answered["outcome"] == "ignored"
    assert answered["order_id"] == "order-none-0001"
    assert everything_stored() == ([], [])


def test_a_signed_event_of_another_type_is_ignored(webhooks):
    awaiting_approval()
    before = everything_stored()
    now = int(time.time())
    body = json.dumps({"id": "evt_other", "type": "payment.refunded", "created": now})

    answered = deliver({"body": body, "signature": sign(SECRET, body, now)})

    assert answered["outcome"] == "ignored"
    assert everything_stored() == before


# --- the secret ----------------------------------------------------------------------------------


def test_the_secret_is_read_from_ssm_once_per_process(webhooks):
    charge_id = awaiting_approval()["charge_id"]
    assert deliver(webhook(charge_id, approved=True))["outcome"] == "approved"

    # The parameter goes away: a warm process keeps verifying with the secret it read
    boto3.client("ssm", region_name=webhooks.aws_region).delete_parameter(Name=SECRET_PARAMETER)

    assert deliver(webhook(charge_id, approved=True))["outcome"] == "approved"
    # while a cold start cannot read it, and says so (a retry, never a forged "rejected")
    secure_parameter.cache_clear()
    with pytest.raises(DependencyUnavailableError, match=SECRET_PARAMETER):
        deliver(webhook(charge_id, approved=True))


def test_without_a_secret_parameter_configured_nothing_is_believed(payment):
    assert payment.payment_webhook_secret_parameter is None

    with pytest.raises(ConfigurationError, match="PAYMENT_WEBHOOK_SECRET_PARAMETER"):
        receive_payment_webhook_logic(
            ReceivePaymentWebhookInput(body="{}", signature="t=1,v1=00"), payment
        )
    assert table_items(PaymentRecord) == []


# --- the simulated provider's page sends what the service believes ------------------------------


def test_the_approval_page_answer_sends_a_webhook_the_service_applies(
    webhooks, simulated, monkeypatch
):
    charge_id = awaiting_approval()["charge_id"]
    sent: list[tuple[str, str, str]] = []

    def deliver_to_test(url: str, body: str, signature: str) -> int:
        sent.append((url, body, signature))
        return 200

    monkeypatch.setattr(simulated_approval, "deliver", deliver_to_test)

    page = simulated_approval.answer(ORDER, charge_id, approved=True, settings=webhooks)

    assert page.status == 200
    assert "approved" in page.body
    [(url, body, signature)] = sent
    assert url == WEBHOOK_URL
    assert simulated.journal[0].approval == "approved"
    answered = deliver({"body": body, "signature": signature})
    assert answered["outcome"] == "approved"
    assert stored_payment()["status"] == "AUTHORIZED"
    # and answering again the same way sends the same event again (a redelivery)
    again = simulated_approval.answer(ORDER, charge_id, approved=True, settings=webhooks)
    assert again.status == 200
    assert json.loads(sent[1][1])["id"] == json.loads(body)["id"]


def test_the_approval_page_refuses_the_other_answer_and_sends_nothing(
    webhooks, simulated, monkeypatch
):
    charge_id = awaiting_approval()["charge_id"]
    sent: list[str] = []

    def deliver_to_test(url: str, body: str, signature: str) -> int:
        sent.append(body)
        return 200

    monkeypatch.setattr(simulated_approval, "deliver", deliver_to_test)
    simulated_approval.answer(ORDER, charge_id, approved=False, settings=webhooks)

    page = simulated_approval.answer(ORDER, charge_id, approved=True, settings=webhooks)

    assert page.status == 409
    assert len(sent) == 1
    assert simulated.journal[0].approval == "declined"

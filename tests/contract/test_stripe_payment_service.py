"""The payment service's functions with PAYMENT_PROVIDER=stripe, as a Stripe stage deploys them: the
API key read from an SSM SecureString (moto), Stripe's API the local double, Stripe's own signed
webhooks. What is asserted is what each side stores: the service's payment record and the intents
the double holds."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from services.payment.bootstrap import start as get_settings
from services.payment.dal.records import PaymentRecord
from services.payment.dal.secrets import secure_parameter
from services.payment.gateway import _stripe, provider_for
from services.payment.gateway.stripe_provider import StripePaymentProvider
from services.payment.gateway.webhooks import sign
from services.payment.handlers import (
    authorize_payment,
    capture_payment,
    receive_payment_webhook,
    void_payment,
)
from services.payment.settings import PaymentSettings
from tests.support import stripe_double
from tests.support.lambda_context import FakeLambdaContext
from tests.support.tables import bind_service, table_items

ORDER = "order-stripe-0001"
KEY_PARAMETER = "/checkout/test/payment/stripe-api-key"
WEBHOOK_SECRET_PARAMETER = "/checkout/test/payment/webhook-signing-secret"
WEBHOOK_SECRET = "whsec_stripe-double"
LINES = [{"sku": "SKU-1", "quantity": 3, "unit_price": 700, "currency": "EUR"}]


@pytest.fixture
def double() -> Iterator[stripe_double.StripeDouble]:
    with stripe_double.serving() as serving:
        yield serving


@pytest.fixture
def stripe_stage(
    aws: None, monkeypatch: pytest.MonkeyPatch, double: stripe_double.StripeDouble
) -> Iterator[PaymentSettings]:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name=KEY_PARAMETER, Type="SecureString", Value=stripe_double.API_KEY)
    ssm.put_parameter(Name=WEBHOOK_SECRET_PARAMETER, Type="SecureString", Value=WEBHOOK_SECRET)
    secure_parameter.cache_clear()
    _stripe.cache_clear()
    settings: PaymentSettings = bind_service(
        monkeypatch,
        get_settings,
        {
            "PAYMENTS_TABLE_NAME": "test-payments",
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY_PARAMETER": KEY_PARAMETER,
            "STRIPE_RETURN_URL": "https://shop.example/checkout/return",
            "STRIPE_API_BASE": double.base_url,
            "PAYMENT_WEBHOOK_SECRET_PARAMETER": WEBHOOK_SECRET_PARAMETER,
        },
        [PaymentRecord],
    )
    yield settings
    secure_parameter.cache_clear()  # never leak this test's secrets into another's moto
    _stripe.cache_clear()
    get_settings.cache_clear()


def invoke(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler(event, FakeLambdaContext(handler.__module__))
    return result


def authorize(token: str = "tok_visa") -> dict[str, Any]:
    return invoke(
        authorize_payment.lambda_handler,
        {
            "order_id": ORDER,
            "customer_id": "c-1",
            "payment_token": token,
            "lines": LINES,
            "amount": {"amount": 2_100, "currency": "EUR"},
        },
    )


def capture(charge_id: str) -> dict[str, Any]:
    return invoke(
        capture_payment.lambda_handler,
        {"order_id": ORDER, "charge_id": charge_id, "amount": {"amount": 2_100, "currency": "EUR"}},
    )


def stored() -> dict[str, Any]:
    [item] = table_items(PaymentRecord)
    return item


def stripe_event(kind: str, intent: dict[str, Any], secret: str = WEBHOOK_SECRET) -> dict[str, Any]:
    """Stripe's event for an intent, signed as Stripe signs (the `Stripe-Signature` scheme)."""
    now = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_{kind}",
            "object": "event",
            "type": kind,
            "created": now,
            "data": {"object": intent},
        }
    )
    return {"body": body, "signature": sign(secret, body, now)}


def test_the_stripe_provider_is_built_from_the_settings_with_the_key_from_ssm(stripe_stage):
    provider = provider_for(stripe_stage)

    assert isinstance(provider, StripePaymentProvider)
    assert provider_for(stripe_stage) is provider  # one client per process


def test_a_checkout_holds_then_captures_at_stripe(stripe_stage, double):
    held = authorize()

    assert held["status"] == "AUTHORIZED"
    intent = double.intents[held["charge_id"]]
    assert (intent["status"], intent["amount"], intent["currency"]) == (
        "requires_capture",
        2_100,
        "eur",
    )
    assert intent["metadata"]["order_id"] == ORDER
    assert stored()["status"] == "AUTHORIZED"

    taken = capture(held["charge_id"])

    assert taken["status"] == "CAPTURED"
    assert double.intents[held["charge_id"]]["status"] == "succeeded"
    assert stored()["capture_id"] == taken["capture_id"] == intent["latest_charge"]
    assert capture(held["charge_id"]) == taken  # a retried capture: recorded, not repeated


def test_a_rollback_cancels_the_intent_and_nothing_moves(stripe_stage, double):
    held = authorize()

    released = invoke(void_payment.lambda_handler, {"order_id": ORDER})

    assert released["voided_now"] is True
    assert double.intents[held["charge_id"]]["status"] == "canceled"
    assert double.intents[held["charge_id"]]["amount_received"] == 0
    assert stored()["status"] == "VOIDED"


def test_a_declined_card_is_recorded_declined_without_the_token(stripe_stage, double):
    with pytest.raises(Exception, match="card declined") as declined:
        authorize("tok_chargeDeclined")

    assert "tok_" not in str(declined.value)
    assert stored()["status"] == "DECLINED"
    assert "tok_" not in json.dumps(stored())


def test_stripe_approval_webhook_authorizes_the_payment_then_it_captures(stripe_stage, double):
    waiting = authorize("tok_threeDSecureRequired")
    assert waiting["status"] == "REQUIRES_ACTION"
    page = waiting["next_action"]["approve_url"]
    assert page.startswith(double.base_url)  # Stripe's approval page
    with urllib.request.urlopen(urllib.request.Request(f"{page}/approve", b""), timeout=5):
        pass
    intent = double.intents[waiting["charge_id"]]

    answer = invoke(
        receive_payment_webhook.lambda_handler,
        stripe_event("payment_intent.amount_capturable_updated", intent),
    )

    assert answer["outcome"] == "approved"
    assert answer["payment"]["charge_id"] == waiting["charge_id"]
    assert stored()["status"] == "AUTHORIZED"
    assert capture(waiting["charge_id"])["status"] == "CAPTURED"


def test_a_failed_approval_webhook_declines_the_payment(stripe_stage, double):
    waiting = authorize("tok_threeDSecureRequired")
    intent = double.intents[waiting["charge_id"]]

    answer = invoke(
        receive_payment_webhook.lambda_handler,
        stripe_event("payment_intent.payment_failed", intent),
    )

    assert answer["outcome"] == "declined"
    assert stored()["status"] == "DECLINED"


def test_a_stripe_webhook_signed_with_another_secret_changes_nothing(stripe_stage, double):
    waiting = authorize("tok_threeDSecureRequired")
    intent = double.intents[waiting["charge_id"]]

    answer = invoke(
        receive_payment_webhook.lambda_handler,
        stripe_event("payment_intent.amount_capturable_updated", intent, secret="whsec_forged"),
    )

    assert answer["outcome"] == "rejected"
    assert stored()["status"] == "REQUIRES_ACTION"


def test_other_stripe_events_are_ignored(stripe_stage, double):
    held = authorize()

    answer = invoke(
        receive_payment_webhook.lambda_handler,
        stripe_event("charge.updated", {"id": "ch_1", "object": "charge", "metadata": {}}),
    )

    assert answer["outcome"] == "ignored"
    assert stored()["status"] == "AUTHORIZED"
    assert double.intents[held["charge_id"]]["status"] == "requires_capture"


def test_the_capturable_event_of_an_authorization_that_needed_no_approval_is_ignored(
    stripe_stage, double
):
    # Stripe sends amount_capturable_updated for every manual-capture authorization, not only
    # after 3-D Secure: the order must not be told of an approval nobody was asked for.
    held = authorize()
    intent = double.intents[held["charge_id"]]

    answer = invoke(
        receive_payment_webhook.lambda_handler,
        stripe_event("payment_intent.amount_capturable_updated", intent),
    )

    assert answer["outcome"] == "ignored"
    assert stored()["status"] == "AUTHORIZED"


def test_a_duplicate_approval_webhook_repeats_the_answer(stripe_stage, double):
    waiting = authorize("tok_threeDSecureRequired")
    with urllib.request.urlopen(
        urllib.request.Request(f"{waiting['next_action']['approve_url']}/approve", b""), timeout=5
    ):
        pass
    event = stripe_event(
        "payment_intent.amount_capturable_updated", double.intents[waiting["charge_id"]]
    )

    first = invoke(receive_payment_webhook.lambda_handler, event)
    again = invoke(receive_payment_webhook.lambda_handler, event)

    assert first["outcome"] == again["outcome"] == "approved"
    assert stored()["status"] == "AUTHORIZED"

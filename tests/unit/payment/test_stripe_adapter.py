"""What the Stripe adapter does beyond the port's contract (tests/contract): Stripe's failures
mapped to the port's errors without leaking a key or a token, a void that waits for Stripe's search
to index the authorization it must release, and Stripe's webhook events read and verified."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import stripe

from services.payment.gateway.stripe_provider import StripePaymentProvider, stripe_webhook_event
from services.payment.gateway.webhooks import APPROVED, DECLINED, WebhookRejectedError, sign
from shared.contracts import Money
from shared.errors import (
    InvalidInputError,
    PaymentNotCapturableError,
    PaymentProviderUnavailableError,
)
from tests.support import stripe_double

EUR_21 = Money(amount=2_100, currency="EUR")
SECRET = "whsec_unit"
ORDER = "order-stripe-0001"


@pytest.fixture
def double() -> Iterator[stripe_double.StripeDouble]:
    with stripe_double.serving() as serving:
        yield serving


def adapter(double: stripe_double.StripeDouble, key: str = stripe_double.API_KEY):
    client = stripe.StripeClient(
        key, base_addresses={"api": double.base_url}, max_network_retries=0
    )
    return StripePaymentProvider(client, "https://shop.example/return")


def authorize(provider: StripePaymentProvider, order: str = "o-1", token: str = "tok_visa"):
    return provider.authorize(
        idempotency_key=f"authorize:{order}",
        amount=EUR_21,
        payment_token=token,
        customer_id="c-1",
        order_id=order,
    )


def test_a_wrong_api_key_is_retryable_and_never_named(double):
    with pytest.raises(PaymentProviderUnavailableError, match="refused the API key") as refused:
        authorize(adapter(double, key="sk_test_wrong_secret"))

    assert "sk_test_wrong_secret" not in str(refused.value)
    assert double.intents == {}


def test_stripe_down_is_retryable_and_the_retry_holds_once(double):
    provider = adapter(double)
    double.outage(1)

    with pytest.raises(PaymentProviderUnavailableError, match="HTTP 500"):
        authorize(provider)
    held = authorize(provider)

    assert [intent["id"] for intent in double.intents.values()] == [held.charge_id]


def test_a_void_without_the_id_waits_until_stripe_can_find_the_authorization(double):
    provider = adapter(double)
    held = authorize(provider)
    double.search_lag = True

    with pytest.raises(PaymentProviderUnavailableError, match="not searchable"):
        provider.void(idempotency_key="void:o-1", authorization_key="authorize:o-1")
    assert double.intents[held.charge_id]["status"] == "requires_capture"  # still held
    double.search_lag = False
    released = provider.void(idempotency_key="void:o-1", authorization_key="authorize:o-1")

    assert released.voided
    assert double.intents[held.charge_id]["status"] == "canceled"


def test_a_capture_without_a_recorded_authorization_is_refused_without_calling_stripe(double):
    with pytest.raises(PaymentNotCapturableError):
        adapter(double).capture(
            idempotency_key="capture:o-1", authorization_key="authorize:o-1", amount=EUR_21
        )

    assert double.requests == []


def test_every_request_that_moves_money_carries_its_idempotency_key(double):
    provider = adapter(double)
    held = authorize(provider)
    provider.capture(
        idempotency_key="capture:o-1",
        authorization_key="authorize:o-1",
        amount=EUR_21,
        authorization_id=held.charge_id,
    )

    assert set(double.saved) == {"authorize:o-1", "capture:o-1"}


# --- Stripe's webhooks ------------------------------------------------------------------------


def event(kind: str, metadata: dict[str, str] | None = None, created: int | None = None) -> str:
    intent = {
        "id": "pi_123",
        "object": "payment_intent",
        "metadata": metadata or {"order_id": ORDER},
    }
    return json.dumps(
        {"id": "evt_1", "type": kind, "created": created or 0, "data": {"object": intent}}
    )


def signed(body: str, secret: str = SECRET, at: float | None = None) -> str:
    return sign(secret, body, int(time.time() if at is None else at))


@pytest.mark.parametrize(
    ("kind", "meaning"),
    [
        ("payment_intent.amount_capturable_updated", APPROVED),
        ("payment_intent.payment_failed", DECLINED),
    ],
)
def test_stripe_approval_events_are_read_as_the_customers_answer(kind, meaning):
    body = event(kind)

    read = stripe_webhook_event(SECRET, body, signed(body))

    assert read.type == meaning
    assert read.data is not None
    assert (read.data.order_id, read.data.authorization_id) == (ORDER, "pi_123")


def test_a_signature_under_a_rotated_secret_still_verifies():
    body = event("payment_intent.amount_capturable_updated")
    now = int(time.time())
    old = sign("whsec_old", body, now).split(",")[1]
    header = f"{sign(SECRET, body, now)},{old}"

    assert stripe_webhook_event(SECRET, body, header).approved
    assert stripe_webhook_event("whsec_old", body, header).approved


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "does not verify"),
        ("t=1,v1=00", "does not verify"),
        ("forged", "does not verify"),
    ],
)
def test_a_webhook_stripe_did_not_sign_is_rejected(header, problem):
    with pytest.raises(WebhookRejectedError, match=problem):
        stripe_webhook_event(SECRET, event("payment_intent.payment_failed"), header)


def test_a_stale_stripe_webhook_is_rejected_as_a_replay():
    body = event("payment_intent.amount_capturable_updated")

    with pytest.raises(WebhookRejectedError, match="does not verify"):
        stripe_webhook_event(SECRET, body, signed(body, at=time.time() - 301))


def test_other_events_and_intents_of_no_order_carry_no_answer():
    other = event("charge.refunded")
    no_order = event("payment_intent.payment_failed", metadata={"tombstone": "true"})
    not_ours = event("payment_intent.payment_failed", metadata={"order_id": "o/1"})

    assert stripe_webhook_event(SECRET, other, signed(other)).data is None
    assert stripe_webhook_event(SECRET, no_order, signed(no_order)).data is None
    assert stripe_webhook_event(SECRET, not_ours, signed(not_ours)).data is None


def test_a_signed_body_that_is_not_an_event_is_rejected():
    body = json.dumps({"hello": "world"})

    with pytest.raises(WebhookRejectedError, match="not a Stripe event"):
        stripe_webhook_event(SECRET, body, signed(body))


def test_a_token_stripe_does_not_know_is_refused_without_echoing_it(double):
    with pytest.raises(InvalidInputError, match="resource_missing") as refused:
        authorize(adapter(double), token="tok_secretlooking123")

    assert "tok_secretlooking123" not in str(refused.value)

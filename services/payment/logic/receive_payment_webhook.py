"""Apply the provider's webhook: the customer approved, or declined, an authorization.

The webhook is believed only when its signature verifies (`gateway.webhooks`, or Stripe's own
events and signatures through its SDK, `gateway.stripe_provider`). Applying it is a
conditional transition of the payment (REQUIRES_ACTION -> AUTHORIZED or DECLINED), so a duplicate
or a replay within the signature's window finds the payment already moved the same way and only
repeats the answer (the API hands it to the saga again, which ignores it); a webhook for a payment
no longer waiting (voided after the saga stopped waiting, or answered the other way) changes
nothing and is ignored.
"""

from __future__ import annotations

import time

from services.payment.dal import payments
from services.payment.dal.secrets import secure_parameter
from services.payment.gateway.simulated import DECLINED_BY_CUSTOMER
from services.payment.gateway.stripe_provider import stripe_webhook_event
from services.payment.gateway.webhooks import WebhookEvent, WebhookRejectedError, verify
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import (
    PaymentApproval,
    ReceivePaymentWebhookInput,
    ReceivePaymentWebhookOutput,
)
from shared.observability import logger
from shared.settings import ConfigurationError


def receive_payment_webhook(
    request: ReceivePaymentWebhookInput, settings: PaymentSettings, now: float | None = None
) -> ReceivePaymentWebhookOutput:
    if settings.payment_webhook_secret_parameter is None:
        raise ConfigurationError("PAYMENT_WEBHOOK_SECRET_PARAMETER is not set")
    secret = secure_parameter(settings.payment_webhook_secret_parameter, settings.aws_region)
    try:
        if settings.payment_provider == "stripe":
            event = stripe_webhook_event(secret, request.body, request.signature)
        else:
            event = verify(secret, request.body, request.signature, now or time.time())
    except WebhookRejectedError as rejected:
        logger.warning("webhook rejected", extra={"problem": str(rejected)})
        return ReceivePaymentWebhookOutput(outcome="rejected", reason=str(rejected))
    if event.data is None:
        return ReceivePaymentWebhookOutput(outcome="ignored", reason=f"event type {event.type}")
    logger.append_keys(order_id=event.data.order_id, webhook_event=event.id)
    return _apply(event)


def _apply(event: WebhookEvent) -> ReceivePaymentWebhookOutput:
    assert event.data is not None
    order_id = event.data.order_id
    payment = payments.get_payment(order_id)
    if payment is None or payment.charge_id != event.data.authorization_id:
        return _ignored(order_id, "no payment of this order has that authorization")
    if not payment.approval_required:
        # Stripe reports every manual-capture authorization as capturable, asked or not.
        return _ignored(order_id, "the payment needed no approval")
    if payment.status is PaymentStatus.REQUIRES_ACTION:
        try:
            if event.approved:
                payments.mark_authorized(order_id, event.data.authorization_id)
            else:
                payments.mark_declined(order_id, DECLINED_BY_CUSTOMER)
        except payments.PaymentChangedError:
            pass  # a concurrent delivery (or the void) moved it: decide from what it is now
        payment = payments.get_payment(order_id)
        if payment is None:
            return _ignored(order_id, "the payment disappeared")
    return _answer(payment, event)


def _answer(payment: Payment, event: WebhookEvent) -> ReceivePaymentWebhookOutput:
    """What the saga is told, from the payment as it now is (now or at an earlier delivery)."""
    approved = payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)
    if event.approved and approved and payment.charge_id is not None:
        return ReceivePaymentWebhookOutput(
            outcome="approved",
            order_id=payment.order_id,
            payment=PaymentApproval(
                status="AUTHORIZED", charge_id=payment.charge_id, amount=payment.require_amount()
            ),
        )
    if not event.approved and payment.status is PaymentStatus.DECLINED:
        return ReceivePaymentWebhookOutput(
            outcome="declined",
            order_id=payment.order_id,
            reason=payment.decline_reason or DECLINED_BY_CUSTOMER,
        )
    return _ignored(payment.order_id, f"the payment is {payment.status.value}")


def _ignored(order_id: str, why: str) -> ReceivePaymentWebhookOutput:
    logger.info("webhook ignored", extra={"reason": why})
    return ReceivePaymentWebhookOutput(outcome="ignored", order_id=order_id, reason=why)

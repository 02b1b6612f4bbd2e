"""Capture an order's authorization once the order is confirmed: the step after the pivot.

It is retried until it succeeds and never compensated: the order is confirmed, so the only ways
out are a capture or an operator. Capturing twice is harmless (one capture key per order, and the
provider settles an authorization once); a payment with nothing to capture (voided, declined,
never authorized) is an operator's case, refused with PaymentNotCapturableError, which parks the
checkout with the order confirmed.
"""

from __future__ import annotations

from services.payment.dal import payments
from services.payment.gateway import provider_for
from services.payment.gateway.port import PaymentProvider
from services.payment.logic.keys import authorize_key, capture_key
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import CapturePaymentInput, CapturePaymentOutput, Money
from shared.errors import AmountMismatchError, PaymentNotCapturableError


def capture_payment(
    task: CapturePaymentInput, settings: PaymentSettings, provider: PaymentProvider | None = None
) -> CapturePaymentOutput:
    if provider is None:
        provider = provider_for(settings)
    payment = payments.get_payment(task.order_id)
    if payment is None:
        raise PaymentNotCapturableError(f"order {task.order_id} has no payment to capture")
    _check(payment, task)
    if payment.status is PaymentStatus.CAPTURED:
        return _replay(payment, task)
    if payment.status is not PaymentStatus.AUTHORIZED:
        raise PaymentNotCapturableError(
            f"payment of order {task.order_id} is {payment.status.value}: nothing is held to "
            "capture"
        )
    captured = provider.capture(
        idempotency_key=capture_key(task.order_id),
        authorization_key=authorize_key(task.order_id),
        amount=task.amount,
        authorization_id=payment.charge_id,
    )
    try:
        payments.mark_captured(task.order_id, captured.capture_id)
    except payments.PaymentChangedError:
        # Only a concurrent capture (a retry racing its predecessor) moves an AUTHORIZED payment
        # on here; it recorded the same capture, which the replay returns.
        again = payments.get_payment(task.order_id)
        if again is None or again.status is not PaymentStatus.CAPTURED:
            status = again.status.value if again is not None else "missing"
            raise PaymentNotCapturableError(
                f"payment of order {task.order_id} became {status} while it was being captured"
            ) from None
        return _replay(again, task)
    return _output(task.order_id, captured.capture_id, captured.amount)


def _check(payment: Payment, task: CapturePaymentInput) -> None:
    """The capture names the authorization the order was confirmed with, for its whole amount."""
    if payment.charge_id is not None and payment.charge_id != task.charge_id:
        raise PaymentNotCapturableError(
            f"order {task.order_id} was authorized as {payment.charge_id}, not {task.charge_id}"
        )
    if payment.amount is not None and payment.amount != task.amount:
        raise AmountMismatchError(
            f"capture of {task.amount.amount} {task.amount.currency} for an authorization of "
            f"{payment.amount.amount} {payment.amount.currency}"
        )


def _replay(payment: Payment, task: CapturePaymentInput) -> CapturePaymentOutput:
    if payment.capture_id is None:
        raise ValueError(f"payment of order {task.order_id} is CAPTURED without a capture id")
    return _output(task.order_id, payment.capture_id, payment.require_amount())


def _output(order_id: str, capture_id: str, amount: Money) -> CapturePaymentOutput:
    return CapturePaymentOutput(
        order_id=order_id, status=PaymentStatus.CAPTURED.value, capture_id=capture_id, amount=amount
    )

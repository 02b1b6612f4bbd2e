"""Refund an order's charge: the compensation of charge_payment.

Whatever the state, it ends with no money kept: a charge is refunded, a charge still in flight is
voided (and given back by whichever of charge and refund finishes last), and a refund that comes
first leaves a tombstone so a late charge is refused.
"""

from __future__ import annotations

from services.payment.dal import payments
from services.payment.gateway import provider_for
from services.payment.gateway.port import PaymentProvider, RefundResult
from services.payment.logic.keys import charge_key, refund_key
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import RefundPaymentInput, RefundPaymentOutput
from shared.errors import DependencyUnavailableError, PaymentProviderUnavailableError

MAX_ATTEMPTS = 3


def refund_payment(
    task: RefundPaymentInput, settings: PaymentSettings, provider: PaymentProvider | None = None
) -> RefundPaymentOutput:
    if provider is None:
        provider = provider_for(settings)
    for _ in range(MAX_ATTEMPTS):
        payment = payments.get_payment(task.order_id)
        done = _undo(task, provider, payment)
        if done is not None:
            return done
        # lost a race with a concurrent charge or refund: re-read and decide again
    raise DependencyUnavailableError(
        f"payment of order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _undo(
    task: RefundPaymentInput, provider: PaymentProvider, payment: Payment | None
) -> RefundPaymentOutput | None:
    """Give back what the payment holds, by its state; None when a concurrent write won."""
    if payment is None:
        # The charge may still land later (it timed out): leave a tombstone so it is refused.
        try:
            payments.create_tombstone(task.order_id)
        except payments.PaymentAlreadyRecordedError:
            return None  # the charge started just now: deal with it
        return _output(task, PaymentStatus.VOIDED, refunded_now=False)
    match payment.status:
        case PaymentStatus.REFUNDED | PaymentStatus.VOIDED:
            return _output(task, payment.status, refunded_now=False, refund_id=payment.refund_id)
        case PaymentStatus.DECLINED:
            try:
                payments.mark_voided(task.order_id, PaymentStatus.DECLINED)
            except payments.PaymentChangedError:
                return None
            return _output(task, PaymentStatus.VOIDED, refunded_now=False)
        case PaymentStatus.CHARGED:
            return _refund_charged(task, provider, payment)
        case PaymentStatus.CHARGING:
            return _void_in_flight(task, provider, payment)
    return None


def _refund_charged(
    task: RefundPaymentInput, provider: PaymentProvider, payment: Payment
) -> RefundPaymentOutput | None:
    refund = _refund(provider, payment)
    if not refund.refunded or refund.refund_id is None:
        # Our record says charged, the provider knows no charge: an operator must look.
        raise PaymentProviderUnavailableError(
            f"provider holds no charge for CHARGED order {task.order_id}"
        )
    try:
        payments.mark_refunded(task.order_id, refund.refund_id)
    except payments.PaymentChangedError:
        return None  # a concurrent refund recorded it first (same refund, deduplicated)
    return _output(task, PaymentStatus.REFUNDED, refunded_now=True, refund_id=refund.refund_id)


def _void_in_flight(
    task: RefundPaymentInput, provider: PaymentProvider, payment: Payment
) -> RefundPaymentOutput | None:
    # Refund first, void second: if the refund fails the payment stays CHARGING and the retry
    # asks again. A charge landing after our refund call either records CHARGED before our void
    # (we loop and refund it) or finds VOIDED and refunds itself.
    refund = _refund(provider, payment)
    try:
        payments.mark_voided(task.order_id, PaymentStatus.CHARGING, refund.refund_id)
    except payments.PaymentChangedError:
        return None
    return _output(
        task, PaymentStatus.VOIDED, refunded_now=refund.refunded, refund_id=refund.refund_id
    )


def _refund(provider: PaymentProvider, payment: Payment) -> RefundResult:
    return provider.refund(
        idempotency_key=refund_key(payment.order_id),
        charge_idempotency_key=charge_key(payment.order_id),
        amount=payment.require_amount(),
    )


def _output(
    task: RefundPaymentInput,
    status: PaymentStatus,
    *,
    refunded_now: bool,
    refund_id: str | None = None,
) -> RefundPaymentOutput:
    return RefundPaymentOutput(
        order_id=task.order_id, status=status.value, refunded_now=refunded_now, refund_id=refund_id
    )

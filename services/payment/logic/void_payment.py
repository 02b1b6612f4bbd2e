"""Void an order's authorization: the compensation of authorize_payment.

Whatever the state, it ends with nothing held and nothing moved: an authorization is released, an
authorization still in flight is released by whichever of authorize and void finishes last, and a
void that comes first leaves a tombstone (here and at the provider) so a late authorization is
refused. A captured payment is never voided: the capture comes after the pivot, which a rollback
never crosses, so finding one means an operator must look (PaymentAlreadyCapturedError).
"""

from __future__ import annotations

from services.payment.dal import payments
from services.payment.gateway import provider_for
from services.payment.gateway.port import PaymentProvider, VoidResult
from services.payment.logic.keys import authorize_key, void_key
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import VoidPaymentInput, VoidPaymentOutput
from shared.errors import DependencyUnavailableError, PaymentAlreadyCapturedError

MAX_ATTEMPTS = 3


def void_payment(
    task: VoidPaymentInput, settings: PaymentSettings, provider: PaymentProvider | None = None
) -> VoidPaymentOutput:
    if provider is None:
        provider = provider_for(settings)
    for _ in range(MAX_ATTEMPTS):
        payment = payments.get_payment(task.order_id)
        done = _undo(task, provider, payment)
        if done is not None:
            return done
        # lost a race with a concurrent authorization or void: re-read and decide again
    raise DependencyUnavailableError(
        f"payment of order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _undo(
    task: VoidPaymentInput, provider: PaymentProvider, payment: Payment | None
) -> VoidPaymentOutput | None:
    """Release what the payment holds, by its state; None when a concurrent write won."""
    if payment is None:
        # The authorization may still start later (it timed out before writing): leave a
        # tombstone so it is refused. Nothing reached the provider: an authorization records
        # AUTHORIZING before it calls the provider.
        try:
            payments.create_tombstone(task.order_id)
        except payments.PaymentAlreadyRecordedError:
            return None  # the authorization started just now: deal with it
        return _output(task, voided_now=False)
    match payment.status:
        case PaymentStatus.VOIDED:
            return _output(task, voided_now=False, void_id=payment.void_id)
        case PaymentStatus.DECLINED:
            try:
                payments.mark_voided(task.order_id, PaymentStatus.DECLINED)
            except payments.PaymentChangedError:
                return None
            return _output(task, voided_now=False)
        case PaymentStatus.AUTHORIZED:
            return _void_held(task, provider, payment)
        case PaymentStatus.AUTHORIZING | PaymentStatus.REQUIRES_ACTION:
            # awaiting the customer: the provider's void cancels the approval, so an answer
            # that comes later is refused there and finds VOIDED here
            return _void_in_flight(task, provider, payment)
        case PaymentStatus.CAPTURED:
            raise PaymentAlreadyCapturedError(
                f"payment of order {task.order_id} was captured; a rollback never voids a "
                "capture (refund it after an operator's review)"
            )
    return None


def _void_held(
    task: VoidPaymentInput, provider: PaymentProvider, payment: Payment
) -> VoidPaymentOutput | None:
    released = _void(provider, task.order_id, payment.charge_id)
    # voided=False: the provider holds nothing for it (released before, under another key):
    # nothing is held either way, so the record says VOIDED, with the void if there was one.
    try:
        payments.mark_voided(task.order_id, PaymentStatus.AUTHORIZED, released.void_id)
    except payments.PaymentChangedError:
        return None  # a concurrent void recorded it first (the same void, deduplicated)
    return _output(task, voided_now=released.voided, void_id=released.void_id)


def _void_in_flight(
    task: VoidPaymentInput, provider: PaymentProvider, payment: Payment
) -> VoidPaymentOutput | None:
    status = payment.status
    # Provider first, record second: if the void fails the payment stays AUTHORIZING and the retry
    # asks again. An authorization landing after our void finds the provider's tombstone and is
    # refused; one that landed just before is released by our void, or finds VOIDED and releases
    # itself.
    released = _void(provider, task.order_id, payment.charge_id)
    try:
        payments.mark_voided(task.order_id, status, released.void_id)
    except payments.PaymentChangedError:
        return None
    return _output(task, voided_now=released.voided, void_id=released.void_id)


def _void(provider: PaymentProvider, order_id: str, authorization_id: str | None) -> VoidResult:
    return provider.void(
        idempotency_key=void_key(order_id),
        authorization_key=authorize_key(order_id),
        authorization_id=authorization_id,
    )


def _output(
    task: VoidPaymentInput, *, voided_now: bool, void_id: str | None = None
) -> VoidPaymentOutput:
    return VoidPaymentOutput(
        order_id=task.order_id,
        status=PaymentStatus.VOIDED.value,
        voided_now=voided_now,
        void_id=void_id,
    )

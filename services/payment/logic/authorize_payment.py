"""Authorize the order's total on the customer's card, at most once, and never for an order
already compensated. Nothing moves yet: the capture takes the hold once the order is confirmed."""

from __future__ import annotations

from contextlib import suppress

from services.payment.dal import payments
from services.payment.gateway import provider_for
from services.payment.gateway.port import PaymentProvider
from services.payment.logic.keys import authorize_key, void_key
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import AuthorizePaymentInput, AuthorizePaymentOutput, Money, total_of
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InvalidInputError,
    PaymentDeclinedError,
)

# A conflicting write between our read and our put is rare (a concurrent retry, a void); re-read
# a few times, then let the state machine retry (the error is transient).
MAX_ATTEMPTS = 3


def authorize_payment(
    task: AuthorizePaymentInput, settings: PaymentSettings, provider: PaymentProvider | None = None
) -> AuthorizePaymentOutput:
    if provider is None:
        provider = provider_for(settings)
    _check_amount(task)
    for _ in range(MAX_ATTEMPTS):
        payment = payments.get_payment(task.order_id)
        if payment is None:
            try:
                # Recorded before the provider call, so a void arriving mid-way can see it.
                payments.start_authorization(task.order_id, task.customer_id, task.amount)
            except payments.PaymentAlreadyRecordedError:
                continue  # a concurrent attempt or a void's tombstone came first: re-read
            return _authorize(task, settings, provider)
        if payment.status in (PaymentStatus.AUTHORIZING, PaymentStatus.REQUIRES_ACTION):
            # An earlier attempt stopped mid-way, or asked the customer: the provider key makes
            # asking again safe, and the provider answers what it knows now.
            _require_same_amount(payment, task)
            return _authorize(task, settings, provider)
        return _replay(payment, task)
    raise DependencyUnavailableError(
        f"payment of order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _check_amount(task: AuthorizePaymentInput) -> None:
    """The amount must be the total of the priced lines; nothing is held or written otherwise."""
    try:
        expected = total_of(task.lines)
    except ValueError as error:  # mixed currencies, or a total beyond what Money allows
        raise InvalidInputError(f"lines cannot be totalled: {error}") from None
    if task.amount != expected:
        raise AmountMismatchError(
            f"amount {task.amount.amount} {task.amount.currency} does not match the lines' total "
            f"{expected.amount} {expected.currency}"
        )


def _require_same_amount(payment: Payment, task: AuthorizePaymentInput) -> None:
    recorded = payment.require_amount()
    if recorded != task.amount:
        raise IdempotencyConflictError(
            f"order {task.order_id} was already authorized for {recorded.amount} "
            f"{recorded.currency}"
        )


def _authorize(
    task: AuthorizePaymentInput, settings: PaymentSettings, provider: PaymentProvider
) -> AuthorizePaymentOutput:
    """Call the provider for an AUTHORIZING (or REQUIRES_ACTION) payment and record the answer.

    An authorization the customer must approve is recorded REQUIRES_ACTION and answered with the
    provider's next action: the saga waits for the webhook (`receive_payment_webhook`).

    A PaymentProviderUnavailableError propagates with the payment left AUTHORIZING: the retry
    calls the provider again with the same key. An AlreadyCompensatedError (the provider's
    tombstone: the void came first) propagates too; the void records the payment VOIDED.
    """
    try:
        authorization = provider.authorize(
            idempotency_key=authorize_key(task.order_id),
            amount=task.amount,
            payment_token=task.payment_token,
            customer_id=task.customer_id,
            order_id=task.order_id,
        )
    except PaymentDeclinedError as declined:
        # Lost only to a void that released it, or to a retry that recorded the same decline.
        with suppress(payments.PaymentChangedError):
            payments.mark_declined(task.order_id, declined.message)
        raise
    if authorization.next_action is not None:
        try:
            payments.mark_requires_action(task.order_id, authorization.charge_id)
        except payments.PaymentChangedError:
            payment = payments.get_payment(task.order_id)
            if payment is None or payment.status is not PaymentStatus.REQUIRES_ACTION:
                return _after_lost_race(task, provider, authorization.charge_id)
        return AuthorizePaymentOutput(
            order_id=task.order_id,
            status=PaymentStatus.REQUIRES_ACTION.value,
            charge_id=authorization.charge_id,
            amount=authorization.amount,
            next_action=authorization.next_action,
            approval_seconds=settings.payment_approval_seconds,
        )
    try:
        payments.mark_authorized(task.order_id, authorization.charge_id)
    except payments.PaymentChangedError:
        return _after_lost_race(task, provider, authorization.charge_id)
    return _output(task.order_id, authorization.charge_id, authorization.amount)


def _after_lost_race(
    task: AuthorizePaymentInput, provider: PaymentProvider, authorization_id: str
) -> AuthorizePaymentOutput:
    """The provider holds the amount but the payment left AUTHORIZING under us: who moved it?"""
    payment = payments.get_payment(task.order_id)
    if payment is not None and payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        # A concurrent attempt recorded the same authorization (and the capture may have taken
        # it since): never void it, answer it.
        return _replay(payment, task)
    # A void got here first (VOIDED). Release the hold again (the same void key: at most once),
    # so the customer never keeps a hold for a compensated order.
    released = provider.void(
        idempotency_key=void_key(task.order_id),
        authorization_key=authorize_key(task.order_id),
        authorization_id=authorization_id,
    )
    if released.void_id is not None:
        with suppress(payments.PaymentChangedError):  # bookkeeping only: the hold is released
            payments.record_late_void(task.order_id, released.void_id)
    status = payment.status.value if payment is not None else "missing"
    raise AlreadyCompensatedError(
        f"payment of order {task.order_id} was compensated ({status}) while it was being "
        "authorized; the authorization was voided"
    )


def _replay(payment: Payment, task: AuthorizePaymentInput) -> AuthorizePaymentOutput:
    """The same order again: return the recorded authorization, or repeat the recorded refusal."""
    if payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        _require_same_amount(payment, task)
        if payment.charge_id is None:
            raise ValueError(f"payment of order {task.order_id} is {payment.status} without an id")
        return _output(task.order_id, payment.charge_id, payment.require_amount())
    if payment.status is PaymentStatus.DECLINED:
        raise PaymentDeclinedError(payment.decline_reason or "card declined")
    raise AlreadyCompensatedError(
        f"payment of order {task.order_id} was already {payment.status.value.lower()}; "
        "refusing a late authorization"
    )


def _output(order_id: str, charge_id: str, amount: Money) -> AuthorizePaymentOutput:
    return AuthorizePaymentOutput(
        order_id=order_id, status=PaymentStatus.AUTHORIZED.value, charge_id=charge_id, amount=amount
    )

"""Charge the customer for an order, at most once, and never for an order already compensated."""

from __future__ import annotations

from contextlib import suppress

from services.payment.dal import payments
from services.payment.gateway import provider_for
from services.payment.gateway.port import ChargeResult, PaymentProvider
from services.payment.logic.keys import charge_key, refund_key
from services.payment.models import Payment, PaymentStatus
from services.payment.settings import PaymentSettings
from shared.contracts import ChargePaymentInput, ChargePaymentOutput, Money, total_of
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InvalidInputError,
    PaymentDeclinedError,
)

# A conflicting write between our read and our put is rare (a concurrent retry, a refund); re-read
# a few times, then let the state machine retry (the error is transient).
MAX_ATTEMPTS = 3


def charge_payment(
    task: ChargePaymentInput, settings: PaymentSettings, provider: PaymentProvider | None = None
) -> ChargePaymentOutput:
    if provider is None:
        provider = provider_for(settings)
    _check_amount(task)
    for _ in range(MAX_ATTEMPTS):
        payment = payments.get_payment(task.order_id)
        if payment is None:
            try:
                # Recorded before the provider call, so a refund arriving mid-charge can see it.
                payments.start_charge(task.order_id, task.customer_id, task.amount)
            except payments.PaymentAlreadyRecordedError:
                continue  # a concurrent attempt or a refund's tombstone came first: re-read
            return _charge(task, provider)
        if payment.status is PaymentStatus.CHARGING:
            # An earlier attempt stopped mid-way; the provider key makes calling again safe.
            _require_same_amount(payment, task)
            return _charge(task, provider)
        return _replay(payment, task)
    raise DependencyUnavailableError(
        f"payment of order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _check_amount(task: ChargePaymentInput) -> None:
    """The amount must be the total of the priced lines; nothing is charged or written otherwise."""
    try:
        expected = total_of(task.lines)
    except ValueError as error:  # mixed currencies, or a total beyond what Money allows
        raise InvalidInputError(f"lines cannot be totalled: {error}") from None
    if task.amount != expected:
        raise AmountMismatchError(
            f"amount {task.amount.amount} {task.amount.currency} does not match the lines' total "
            f"{expected.amount} {expected.currency}"
        )


def _require_same_amount(payment: Payment, task: ChargePaymentInput) -> None:
    if payment.require_amount() != task.amount:
        recorded = payment.require_amount()
        raise IdempotencyConflictError(
            f"order {task.order_id} was already charged {recorded.amount} {recorded.currency}"
        )


def _charge(task: ChargePaymentInput, provider: PaymentProvider) -> ChargePaymentOutput:
    """Call the provider for a CHARGING payment and record the answer.

    A PaymentProviderUnavailableError propagates with the payment left CHARGING: the retry calls
    the provider again with the same key.
    """
    try:
        charge = provider.charge(
            idempotency_key=charge_key(task.order_id),
            amount=task.amount,
            payment_token=task.payment_token,
            customer_id=task.customer_id,
        )
    except PaymentDeclinedError as declined:
        # Lost only to a refund that voided it, or to a retry that recorded the same decline.
        with suppress(payments.PaymentChangedError):
            payments.mark_declined(task.order_id, declined.message)
        raise
    try:
        payments.mark_charged(task.order_id, charge.charge_id)
    except payments.PaymentChangedError:
        return _after_lost_race(task, provider, charge)
    return _output(task.order_id, charge.charge_id, charge.amount)


def _after_lost_race(
    task: ChargePaymentInput, provider: PaymentProvider, charge: ChargeResult
) -> ChargePaymentOutput:
    """Money moved but the payment left CHARGING under us: find out who moved it."""
    payment = payments.get_payment(task.order_id)
    if payment is not None and payment.status is PaymentStatus.CHARGED:
        return _replay(payment, task)  # a concurrent attempt recorded the same charge first
    # A refund got here first (VOIDED). It may have found no charge to give back, so give this
    # one back now: the customer must never stay charged for a compensated order.
    refund = provider.refund(
        idempotency_key=refund_key(task.order_id),
        charge_idempotency_key=charge_key(task.order_id),
        amount=charge.amount,
    )
    if refund.refund_id is not None:
        with suppress(payments.PaymentChangedError):  # bookkeeping only: the money is back
            payments.record_late_refund(task.order_id, refund.refund_id)
    status = payment.status.value if payment is not None else "missing"
    raise AlreadyCompensatedError(
        f"payment of order {task.order_id} was compensated ({status}) while it was being "
        "charged; the charge was refunded"
    )


def _replay(payment: Payment, task: ChargePaymentInput) -> ChargePaymentOutput:
    """The same order again: return the recorded charge, or repeat the recorded refusal."""
    if payment.status is PaymentStatus.CHARGED:
        _require_same_amount(payment, task)
        if payment.charge_id is None:
            raise ValueError(f"payment of order {task.order_id} is CHARGED without a charge id")
        return _output(task.order_id, payment.charge_id, payment.require_amount())
    if payment.status is PaymentStatus.DECLINED:
        raise PaymentDeclinedError(payment.decline_reason or "card declined")
    raise AlreadyCompensatedError(
        f"payment of order {task.order_id} was already {payment.status.value.lower()}; "
        "refusing a late charge"
    )


def _output(order_id: str, charge_id: str, amount: Money) -> ChargePaymentOutput:
    return ChargePaymentOutput(
        order_id=order_id, status=PaymentStatus.CHARGED.value, charge_id=charge_id, amount=amount
    )

"""Reads and conditional writes of payment records.

Every write is conditional on the state the logic read, so two attempts (a retried authorization,
a void racing an authorization) can never both win: the database decides, not a read-then-write.
A lost condition surfaces as one of the exceptions below, and the logic re-reads and decides again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from services.payment.dal.records import PaymentRecord
from services.payment.models import Payment, PaymentStatus
from shared.contracts import Money, stored_money
from shared.dynamodb import get_or_none, save_if_new, update_if


class PaymentAlreadyRecordedError(Exception):
    """A payment (or tombstone) for this order exists already: re-read it and decide."""


class PaymentChangedError(Exception):
    """The payment is no longer in the state the transition expected: re-read it and decide."""


def _now() -> datetime:
    return datetime.now(UTC)


def _to_payment(record: PaymentRecord) -> Payment:
    amount = stored_money(record.amount, record.currency)
    return Payment(
        order_id=record.order_id,
        status=PaymentStatus(record.status),
        customer_id=record.customer_id,
        amount=amount,
        charge_id=record.charge_id,
        capture_id=record.capture_id,
        void_id=record.void_id,
        decline_reason=record.decline_reason,
        approval_required=bool(record.approval_required),
        settled_by_operator=record.settled_by_operator,
    )


def get_payment(order_id: str) -> Payment | None:
    record = get_or_none(PaymentRecord, order_id)
    return _to_payment(record) if record is not None else None


def _create(record: PaymentRecord, operation: str) -> None:
    if not save_if_new(record, operation):
        raise PaymentAlreadyRecordedError(record.order_id)


def start_authorization(order_id: str, customer_id: str, amount: Money) -> None:
    """Record AUTHORIZING before calling the provider, only if nothing exists for the order yet."""
    now = _now()
    record = PaymentRecord(
        order_id=order_id,
        status=PaymentStatus.AUTHORIZING.value,
        customer_id=customer_id,
        amount=amount.amount,
        currency=amount.currency,
        created_at=now,
        updated_at=now,
    )
    _create(record, "authorizing payment")


def create_tombstone(order_id: str) -> None:
    """Record that this order's payment was voided before any authorization was recorded."""
    now = _now()
    record = PaymentRecord(
        order_id=order_id, status=PaymentStatus.VOIDED.value, created_at=now, updated_at=now
    )
    _create(record, "payment tombstone")


def _transition(order_id: str, condition: Condition, actions: list[Action], operation: str) -> None:
    record = PaymentRecord(order_id=order_id)
    if not update_if(
        record, condition, [*actions, PaymentRecord.updated_at.set(_now())], operation
    ):
        raise PaymentChangedError(order_id)


def _status_is(status: PaymentStatus) -> Condition:
    return PaymentRecord.status == status.value


def _awaiting_provider() -> Condition:
    """Asked of the provider (AUTHORIZING), or of the customer through it (REQUIRES_ACTION)."""
    either: Condition = _status_is(PaymentStatus.AUTHORIZING) | _status_is(
        PaymentStatus.REQUIRES_ACTION
    )
    return either


def mark_requires_action(order_id: str, charge_id: str) -> None:
    """AUTHORIZING -> REQUIRES_ACTION: the provider awaits the customer's approval."""
    _transition(
        order_id,
        _status_is(PaymentStatus.AUTHORIZING),
        [
            PaymentRecord.status.set(PaymentStatus.REQUIRES_ACTION.value),
            PaymentRecord.charge_id.set(charge_id),
            PaymentRecord.approval_required.set(True),
        ],
        "mark requires action",
    )


def mark_authorized(order_id: str, charge_id: str) -> None:
    """AUTHORIZING or REQUIRES_ACTION -> AUTHORIZED; fails if a void released the payment
    meanwhile."""
    _transition(
        order_id,
        _awaiting_provider(),
        [
            PaymentRecord.status.set(PaymentStatus.AUTHORIZED.value),
            PaymentRecord.charge_id.set(charge_id),
        ],
        "mark authorized",
    )


def mark_declined(order_id: str, reason: str) -> None:
    """AUTHORIZING or REQUIRES_ACTION -> DECLINED, keeping the provider's reason for the replay
    and for operators."""
    _transition(
        order_id,
        _awaiting_provider(),
        [
            PaymentRecord.status.set(PaymentStatus.DECLINED.value),
            PaymentRecord.decline_reason.set(reason),
        ],
        "mark declined",
    )


def mark_captured(order_id: str, capture_id: str) -> None:
    """AUTHORIZED -> CAPTURED."""
    _transition(
        order_id,
        _status_is(PaymentStatus.AUTHORIZED),
        [
            PaymentRecord.status.set(PaymentStatus.CAPTURED.value),
            PaymentRecord.capture_id.set(capture_id),
        ],
        "mark captured",
    )


def mark_voided(order_id: str, expected: PaymentStatus, void_id: str | None = None) -> None:
    """AUTHORIZING, REQUIRES_ACTION, AUTHORIZED or DECLINED -> VOIDED; `void_id` when a hold
    was released."""
    actions: list[Action] = [PaymentRecord.status.set(PaymentStatus.VOIDED.value)]
    if void_id is not None:
        actions.append(PaymentRecord.void_id.set(void_id))
    _transition(order_id, _status_is(expected), actions, "mark voided")


def record_late_void(order_id: str, void_id: str) -> None:
    """Note on a VOIDED payment the release of a hold that landed after the void."""
    _transition(
        order_id,
        _status_is(PaymentStatus.VOIDED) & PaymentRecord.void_id.does_not_exist(),
        [PaymentRecord.void_id.set(void_id)],
        "record late void",
    )


def record_operator_settlement(
    order_id: str, expected: PaymentStatus, settled: PaymentStatus, reference: str, note: str
) -> None:
    """`expected` -> VOIDED or CAPTURED as an operator settled it at the provider, with the id
    they gave as the void's or the capture's and their note."""
    reference_attribute = (
        PaymentRecord.capture_id if settled is PaymentStatus.CAPTURED else PaymentRecord.void_id
    )
    _transition(
        order_id,
        _status_is(expected),
        [
            PaymentRecord.status.set(settled.value),
            reference_attribute.set(reference),
            PaymentRecord.settled_by_operator.set(note),
        ],
        "record operator settlement",
    )

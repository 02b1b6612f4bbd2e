"""Reads and conditional writes of orders.

Every write is conditional on the state the logic decided from, so two racing calls (a retried
create and its cancel, say) can never both win: the database decides, not a read-then-write. A lost
race surfaces as a dal-internal exception that tells the logic to re-read and decide again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from services.order.dal.records import (
    CompensationAttribute,
    LineAttribute,
    NextActionAttribute,
    OrderRecord,
)
from services.order.models import Order, OrderStatus
from shared.contracts import (
    AnswerPaymentApprovalInput,
    CompensationDone,
    Money,
    NextAction,
    OrderLine,
    stored_money,
)
from shared.dynamodb import get_or_none, save_if_new, update_if


class OrderAlreadyRecordedError(Exception):
    """An order (or tombstone) with this id exists already: re-read it and replay."""


class OrderChangedError(Exception):
    """The order is no longer PENDING (or does not exist): re-read and decide."""


def _now() -> datetime:
    return datetime.now(UTC)


def _to_order(record: OrderRecord) -> Order:
    total = stored_money(record.total_amount, record.currency)
    return Order(
        order_id=record.order_id,
        status=OrderStatus(record.status),
        customer_id=record.customer_id,
        items=[OrderLine(sku=line.sku, quantity=int(line.quantity)) for line in record.items],
        total=total,
        charge_id=record.charge_id,
        reason_code=record.reason_code,
        reason=record.reason,
        compensations=[
            CompensationDone(operation=done.operation, status=done.status)
            for done in record.compensations
        ],
        created_at=record.created_at,
        updated_at=record.updated_at,
        next_action=(
            NextAction(
                approve_url=record.next_action.approve_url,
                decline_url=record.next_action.decline_url,
            )
            if record.next_action is not None
            else None
        ),
        approval_token=record.approval_token,
        approval_answer=(
            AnswerPaymentApprovalInput.model_validate_json(record.approval_answer)
            if record.approval_answer
            else None
        ),
    )


def get_order(order_id: str) -> Order | None:
    record = get_or_none(OrderRecord, order_id)
    return _to_order(record) if record is not None else None


def _put_new(record: OrderRecord, operation: str) -> None:
    if not save_if_new(record, operation):
        raise OrderAlreadyRecordedError(record.order_id)


def create_order(order_id: str, customer_id: str, items: list[OrderLine]) -> None:
    """Record a new PENDING order, unless an order or tombstone with this id exists."""
    now = _now()
    record = OrderRecord(
        order_id=order_id,
        status=OrderStatus.PENDING.value,
        customer_id=customer_id,
        items=[LineAttribute(sku=line.sku, quantity=line.quantity) for line in items],  # type: ignore[no-untyped-call]
        created_at=now,
        updated_at=now,
    )
    _put_new(record, "order")


@dataclass(frozen=True)
class Cancellation:
    """Why an order was cancelled, and what the rest of its rollback did."""

    reason_code: str
    reason: str
    total: Money | None  # what had been reserved, if anything
    compensations: list[CompensationDone]


def _compensation_attributes(cancellation: Cancellation) -> list[CompensationAttribute]:
    return [
        CompensationAttribute(operation=done.operation, status=done.status)  # type: ignore[no-untyped-call]
        for done in cancellation.compensations
    ]


def create_tombstone(order_id: str, cancellation: Cancellation) -> None:
    """Record that this order was cancelled before it was ever created."""
    now = _now()
    total = cancellation.total
    record = OrderRecord(
        order_id=order_id,
        status=OrderStatus.CANCELLED.value,
        reason_code=cancellation.reason_code,
        reason=cancellation.reason,
        total_amount=total.amount if total else None,
        currency=total.currency if total else None,
        compensations=_compensation_attributes(cancellation),
        created_at=now,
        updated_at=now,
    )
    _put_new(record, "order tombstone")


def _update_pending(order_id: str, operation: str, actions: list[Action]) -> None:
    # The condition fails on a missing item too, so an update never creates a half order.
    if not update_if(
        OrderRecord(order_id),
        OrderRecord.status == OrderStatus.PENDING.value,
        [*actions, OrderRecord.updated_at.set(_now())],
        operation,
    ):
        raise OrderChangedError(order_id)


def confirm_order(order_id: str, total: Money, charge_id: str) -> None:
    """Move a PENDING order to CONFIRMED, storing what was charged."""
    _update_pending(
        order_id,
        "confirm order",
        [
            OrderRecord.status.set(OrderStatus.CONFIRMED.value),
            OrderRecord.total_amount.set(total.amount),
            OrderRecord.currency.set(total.currency),
            OrderRecord.charge_id.set(charge_id),
            OrderRecord.next_action.remove(),
        ],
    )


def cancel_order(order_id: str, cancellation: Cancellation) -> None:
    """Move a PENDING order to CANCELLED, storing why and what the rollback did."""
    actions: list[Action] = [
        OrderRecord.status.set(OrderStatus.CANCELLED.value),
        OrderRecord.reason_code.set(cancellation.reason_code),
        OrderRecord.reason.set(cancellation.reason),
        OrderRecord.compensations.set(_compensation_attributes(cancellation)),
        OrderRecord.next_action.remove(),
    ]
    if cancellation.total is not None:
        actions.append(OrderRecord.total_amount.set(cancellation.total.amount))
        actions.append(OrderRecord.currency.set(cancellation.total.currency))
    _update_pending(order_id, "cancel order", actions)


def _pending_unanswered() -> Condition:
    pending: Condition = OrderRecord.status == OrderStatus.PENDING.value
    unanswered: Condition = pending & OrderRecord.approval_answer.does_not_exist()
    return unanswered


def await_approval(order_id: str, task_token: str, next_action: NextAction) -> None:
    """Show the next action and keep the saga's task token on a PENDING order whose answer has
    not come; OrderChangedError otherwise (re-read: the answer may be there)."""
    attribute = NextActionAttribute(  # type: ignore[no-untyped-call]
        type=next_action.type,
        approve_url=next_action.approve_url,
        decline_url=next_action.decline_url,
    )
    if not update_if(
        OrderRecord(order_id),
        _pending_unanswered(),
        [
            OrderRecord.next_action.set(attribute),
            OrderRecord.approval_token.set(task_token),
            OrderRecord.updated_at.set(_now()),
        ],
        "await payment approval",
    ):
        raise OrderChangedError(order_id)


def record_approval_answer(order_id: str, answer: AnswerPaymentApprovalInput) -> str | None:
    """Keep the customer's answer on a PENDING order that has none yet, and stop showing the
    next action; the task token to complete (None: the wait has not begun). OrderChangedError
    when the order is no longer PENDING or was answered before (re-read)."""
    record = OrderRecord(order_id)
    if not update_if(
        record,
        _pending_unanswered(),
        [
            OrderRecord.approval_answer.set(answer.model_dump_json()),
            OrderRecord.next_action.remove(),
            OrderRecord.updated_at.set(_now()),
        ],
        "record payment approval answer",
    ):
        raise OrderChangedError(order_id)
    token: str | None = record.approval_token  # the update returns the item as it now is
    return token

"""Checkouts the saga parked for an operator.

A checkout is parked when a compensation kept failing after its retries, when the confirmation
(the pivot) failed in a way that leaves its outcome unknown, so voiding could be wrong, when
capture after the confirmation kept failing (the order stays confirmed, the hold is kept), or when
the reconciler's recoveries of a dead execution kept dying.

The state machine writes these items itself (DynamoDB service integration); the reconciler writes
the same item when it parks; this module is how an operator, a runbook or a test reads them back,
and how `checkout retry` clears one once a new rollback is under way.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DeleteError
from pynamodb.models import Model

from shared.dynamodb import bind_models, dynamodb_errors, get_or_none, is_condition_failure


class ParkedCheckoutRecord(Model):
    class Meta:
        table_name = "unbound-parked-checkouts"  # bound by bind_parked_table

    order_id = UnicodeAttribute(hash_key=True)
    stuck_step = UnicodeAttribute()
    error = UnicodeAttribute()
    stuck_failure = UnicodeAttribute()  # JSON: {"Error", "Cause"} of the step that could not finish
    original_failure = UnicodeAttribute()  # JSON: the failure that started the rollback, or null
    reservation = UnicodeAttribute()  # JSON: what was reserved (lines, total)
    payment = UnicodeAttribute()  # JSON: what was authorized (charge_id, amount)
    execution_arn = UnicodeAttribute()
    parked_at = UnicodeAttribute()


class ParkedCheckout(BaseModel):
    order_id: str
    stuck_step: str
    error: str
    stuck_failure: dict[str, Any]
    original_failure: dict[str, Any] | None  # None when the pivot's outcome was unknown
    reservation: dict[str, Any]
    payment: dict[str, Any]
    execution_arn: str
    parked_at: str


def bind_parked_table(table_name: str, region: str) -> None:
    bind_models({ParkedCheckoutRecord: table_name}, region=region)


def _to_parked(record: ParkedCheckoutRecord) -> ParkedCheckout:
    return ParkedCheckout(
        order_id=record.order_id,
        stuck_step=record.stuck_step,
        error=record.error,
        stuck_failure=json.loads(record.stuck_failure),
        original_failure=json.loads(record.original_failure),
        reservation=json.loads(record.reservation),
        payment=json.loads(record.payment),
        execution_arn=record.execution_arn,
        parked_at=record.parked_at,
    )


def list_parked() -> list[ParkedCheckout]:
    """Every parked checkout, oldest first."""
    with dynamodb_errors("Scan parked checkouts"):
        parked = [_to_parked(record) for record in ParkedCheckoutRecord.scan()]
    return sorted(parked, key=lambda item: item.parked_at)


def find_parked(order_id: str) -> ParkedCheckout | None:
    record = get_or_none(ParkedCheckoutRecord, order_id)
    return _to_parked(record) if record is not None else None


def park(checkout: ParkedCheckout) -> None:
    """Write the record the state machine's ParkCheckout writes (the reconciler parks so)."""
    record = ParkedCheckoutRecord(
        order_id=checkout.order_id,
        stuck_step=checkout.stuck_step,
        error=checkout.error,
        stuck_failure=json.dumps(checkout.stuck_failure),
        original_failure=json.dumps(checkout.original_failure),
        reservation=json.dumps(checkout.reservation),
        payment=json.dumps(checkout.payment),
        execution_arn=checkout.execution_arn,
        parked_at=checkout.parked_at,
    )
    with dynamodb_errors("PutItem parked checkout"):
        record.save()


def clear_parked(order_id: str, execution_arn: str) -> bool:
    """Delete the record if it still describes `execution_arn` (not a newer parking)."""
    try:
        with dynamodb_errors("DeleteItem parked checkout"):
            ParkedCheckoutRecord(order_id).delete(
                condition=ParkedCheckoutRecord.execution_arn == execution_arn
            )
    except DeleteError as error:
        if is_condition_failure(error):
            return False
        raise
    return True

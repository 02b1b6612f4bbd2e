"""Checkouts the saga parked for an operator.

A checkout is parked when a compensation kept failing after its retries, or when the confirmation
(the pivot) failed in a way that leaves its outcome unknown, so refunding could be wrong.

The state machine writes these items itself (DynamoDB service integration); this module is how an
operator, a runbook or a test reads them back.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model


class ParkedCheckoutRecord(Model):
    class Meta:
        table_name = "unbound-parked-checkouts"  # bound by bind_parked_table

    order_id = UnicodeAttribute(hash_key=True)
    stuck_step = UnicodeAttribute()
    error = UnicodeAttribute()
    stuck_failure = UnicodeAttribute()  # JSON: {"Error", "Cause"} of the step that could not finish
    original_failure = UnicodeAttribute()  # JSON: the failure that started the rollback, or null
    reservation = UnicodeAttribute()  # JSON: what was reserved (lines, total)
    payment = UnicodeAttribute()  # JSON: what was charged (charge_id)
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
    from shared.dynamodb import bind_models

    bind_models({ParkedCheckoutRecord: table_name}, region=region)


def list_parked() -> list[ParkedCheckout]:
    """Every parked checkout, oldest first."""
    parked = [
        ParkedCheckout(
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
        for record in ParkedCheckoutRecord.scan()
    ]
    return sorted(parked, key=lambda item: item.parked_at)

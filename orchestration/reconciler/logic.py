"""Carry out the reconciler's plans: start a recovery execution, or park the order.

Everything here is safe to run twice or concurrently: a recovery's name and input follow from the
dead execution alone, so Step Functions starts it once (a second start finds it running with the
same input, or refuses the name once it closed), and parking writes the same record again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration import aws
from orchestration.parked_checkouts import ParkedCheckout, clear_parked, find_parked, park
from orchestration.reconciler.settings import ReconcilerSettings
from orchestration.recovery import (
    CLOSED_UNFINISHED,
    RECONCILER_STEP,
    ParkOrder,
    Plan,
    Skip,
    StartRecovery,
    execution_name,
    parse_execution_name,
    plan,
    plan_retry,
)
from orchestration.steps import SETTLED_AT_PROVIDER
from shared.observability import logger


@dataclass(frozen=True)
class Outcome:
    execution: str  # the execution reconciled
    action: str  # skipped | recovery_started | already_recovered | parked
    detail: str
    recovery: str | None = None  # the recovery execution's name, when one was started

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "action": self.action,
            "detail": self.detail,
            "recovery": self.recovery,
        }


class NotParkedError(Exception):
    """`checkout retry` of an order that is not parked."""


class StillRunningError(Exception):
    """`checkout retry` while an execution of the order still runs: it would race the rollback."""


# A capture that names another amount is refused before its replay: settling cannot finish it.
REFUSED_WHATEVER_IS_SETTLED = frozenset({"AmountMismatchError"})


class RecoveryNotStartedError(Exception):
    """`checkout resolve` recorded the settlement but could not start the recovery: a retry (or
    a second resolve) finishes it."""


class NotResolvableError(Exception):
    """`checkout resolve` of a checkout not parked at a payment step, or one whose payment says
    otherwise: nothing was written."""


def reconcile_execution(execution_arn: str, settings: ReconcilerSettings) -> Outcome:
    """Look at one execution and, if it died unfinished, bring its order to an end."""
    name = execution_arn.rsplit(":", 1)[-1]
    described = aws.describe_execution(execution_arn)
    if described is None:
        return Outcome(name, "skipped", "no such execution")
    decided = plan(described, aws.execution_history(execution_arn))
    return _carry_out(decided, name, settings)


def sweep(settings: ReconcilerSettings, now: datetime | None = None) -> list[Outcome]:
    """Reconcile every execution that closed unfinished within the lookback and has no recovery.

    The net under the status-change events: a missed or failed delivery is found here.
    """
    since = (now or datetime.now(UTC)) - timedelta(minutes=settings.reconcile_lookback_minutes)
    outcomes = []
    for status in CLOSED_UNFINISHED:
        for execution in aws.list_closed_executions(settings.state_machine_arn, status, since):
            order_id, number = parse_execution_name(execution["name"])
            successor = aws.execution_arn(
                settings.state_machine_arn, execution_name(order_id, number + 1)
            )
            if aws.describe_execution(successor) is not None:
                continue  # recovered already
            outcome = reconcile_execution(execution["executionArn"], settings)
            if outcome.action != "skipped":
                outcomes.append(outcome)
    return outcomes


def retry_parked(order_id: str, settings: ReconcilerSettings) -> Outcome:
    """An operator's `checkout retry`: run the parked checkout's rollback (or pivot) again."""
    parked, described, number = _retry_point(order_id, settings)
    return _restart(parked, described, number, settings)


def resolve_parked(
    order_id: str, settlement: Settlement, settings: ReconcilerSettings, settle_function: str
) -> Resolution:
    """An operator's `checkout resolve`: they settled the stuck payment step at the provider by
    hand; the payment service records it, then a recovery finishes the checkout through its own
    steps (which find the void or capture done), as a retry would."""
    parked, described, number = _retry_point(order_id, settings)
    settled_as = _settleable(parked)
    try:
        settled = aws.invoke_function(
            settle_function,
            {
                "order_id": order_id,
                "settled_as": settled_as,
                "reference": settlement.reference,
                "note": settlement.note,
            },
            refusals=("SettlementRefusedError", "InvalidInputError"),
        )
    except aws.FunctionRefusedError as refused:
        raise NotResolvableError(f"order {order_id}: {refused.error_message}") from refused
    # The record keeps the first settlement: a second resolve names that one, not its own.
    reference = settled.get("reference") or settlement.reference
    logger.info(
        "an operator settled a parked checkout's payment",
        extra={
            "order_id": order_id,
            "settled_as": settled_as,
            "reference": reference,
            "note": settlement.note,
            "settled_now": settled.get("settled_now"),
        },
    )
    reason = (
        f"an operator resolved the checkout parked at {parked.stuck_step}: {settled_as} at the "
        f"provider as {reference} ({settlement.note})"
    )
    try:
        outcome = _restart(parked, described, number, settings, reason)
    except Exception as error:  # the payment is recorded: say so, and how to finish
        raise RecoveryNotStartedError(
            f"recorded the payment of order {order_id} {settled_as}, but the recovery did not "
            f"start ({error}); run `checkout retry {order_id}` (or resolve again) to finish it"
        ) from error
    return Resolution(settled_as, bool(settled.get("settled_now")), outcome)


def _settleable(parked: ParkedCheckout) -> str:
    """What `checkout resolve` records for this parked checkout, or NotResolvableError."""
    order_id = parked.order_id
    if parked.stuck_step == RECONCILER_STEP:
        raise NotResolvableError(
            f"order {order_id} was parked by the reconciler after its recoveries kept dying: "
            f"`checkout retry {order_id}` first; if it parks at the void or the capture, resolve "
            "it then"
        )
    settled_as = SETTLED_AT_PROVIDER.get(parked.stuck_step)
    if settled_as is None:
        raise NotResolvableError(
            f"order {order_id} is parked at {parked.stuck_step}, whose effect is in our own "
            f"stores, not at the payment provider: nothing there to settle by hand; use "
            f"`checkout retry {order_id}` once the cause is fixed"
        )
    if parked.error in REFUSED_WHATEVER_IS_SETTLED:
        raise NotResolvableError(
            f"order {order_id} is parked at {parked.stuck_step} with {parked.error}: the "
            "capture asked for is not the authorization's, so it would park again however the "
            "hold is settled; see docs/saga.md, 'Runbook: a parked checkout'"
        )
    return settled_as


@dataclass(frozen=True)
class Settlement:
    """What an operator did at the provider: its id there, and their note (who, what, why)."""

    reference: str
    note: str


@dataclass(frozen=True)
class Resolution:
    settled_as: str  # voided | captured
    settled_now: bool  # False: the payment already said so (a second resolve)
    outcome: Outcome  # the recovery that finishes the checkout


def _retry_point(
    order_id: str, settings: ReconcilerSettings
) -> tuple[ParkedCheckout, dict[str, Any], int]:
    """The parked record, the execution that parked it, and the number of the next recovery;
    refused when the order is not parked or one of its executions still runs."""
    parked = find_parked(order_id)
    if parked is None:
        raise NotParkedError(f"order {order_id} is not parked")
    described = aws.describe_execution(parked.execution_arn)
    if described is None:
        raise NotParkedError(f"the execution that parked {order_id} no longer exists")
    number = parse_execution_name(described["name"])[1] + 1
    while True:  # the next free recovery number (a retry may have been retried already)
        later = aws.describe_execution(
            aws.execution_arn(settings.state_machine_arn, execution_name(order_id, number))
        )
        if later is None:
            return parked, described, number
        if later["status"] == "RUNNING":
            raise StillRunningError(f"{later['name']} is still running; wait for it to end")
        number += 1


def _restart(
    parked: ParkedCheckout,
    described: dict[str, Any],
    number: int,
    settings: ReconcilerSettings,
    reason: str | None = None,
) -> Outcome:
    decided = plan_retry(
        parked.model_dump(),
        described,
        aws.execution_history(parked.execution_arn),
        number,
        reason,
    )
    outcome = _carry_out(decided, described["name"], settings)
    # The new execution is durable now (and watched by the reconciler): the old record goes,
    # unless the retry has already parked the order again under a new execution.
    clear_parked(parked.order_id, parked.execution_arn)
    return outcome


def _carry_out(decided: Plan, name: str, settings: ReconcilerSettings) -> Outcome:
    if isinstance(decided, Skip):
        return Outcome(name, "skipped", decided.reason)
    if isinstance(decided, StartRecovery):
        recovery_arn = aws.execution_arn(settings.state_machine_arn, decided.name)
        if aws.describe_execution(recovery_arn) is not None:  # a second delivery, or the sweep
            return Outcome(name, "already_recovered", decided.reason, decided.name)
        logger.info(
            "starting a recovery",
            extra={"order_id": decided.order_id, "recovery": decided.name, "lane": decided.lane},
        )
        try:  # the name makes a concurrent second start find this one, never start another
            aws.start_execution(settings.state_machine_arn, decided.name, decided.input)
        except aws.ExecutionAlreadyExistsError:
            return Outcome(name, "already_recovered", decided.reason, decided.name)
        return Outcome(name, "recovery_started", decided.reason, decided.name)
    _park(decided, settings)
    return Outcome(name, "parked", decided.reason)


def _park(decided: ParkOrder, settings: ReconcilerSettings) -> None:
    """Park as the state machine parks: the record, the alarm's metric, the CheckoutFailed event."""
    logger.warning("parking the checkout", extra={"order_id": decided.order_id})
    state = decided.state
    stuck_failure = {"Error": "RecoveryExhausted", "Cause": decided.reason}
    reservation = state.get("reservation") or {"lines": [], "total": None}
    park(
        ParkedCheckout(
            order_id=decided.order_id,
            stuck_step=RECONCILER_STEP,
            error=stuck_failure["Error"],
            stuck_failure=stuck_failure,
            original_failure=state.get("failure"),
            reservation=reservation,
            payment=state.get("payment") or {"charge_id": None},
            execution_arn=decided.execution_arn,
            parked_at=datetime.now(UTC).isoformat(),
        )
    )
    aws.count_parked_checkout(settings.stage)
    aws.put_event(
        settings.checkout_event_bus_name,
        "CheckoutFailed",
        {
            "version": "1",
            "order_id": decided.order_id,
            "customer_id": state.get("customer_id"),
            "total": reservation.get("total"),
            "stuck_step": RECONCILER_STEP,
            "error": stuck_failure["Error"],
        },
    )


__all__ = [
    "NotParkedError",
    "NotResolvableError",
    "Outcome",
    "RecoveryNotStartedError",
    "Resolution",
    "Settlement",
    "StillRunningError",
    "reconcile_execution",
    "resolve_parked",
    "retry_parked",
    "sweep",
]

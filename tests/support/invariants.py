"""The promise, as checks on the services' own stores (never the API's view).

Used by the in-process fault-schedule checker and by `make chaos` against a real local cloud: the
same reads (each service's PynamoDB records, the simulated provider's ledger, the orchestration's
parked table) and the same rules:

- every order ends CONFIRMED, CANCELLED, or parked (with its record) — never PENDING unparked;
- per sku: initial stock = available + units held by RESERVED reservations, every one of which
  belongs to a CONFIRMED or a parked order; never negative;
- per order, at the provider: captured = the order's total if CONFIRMED (unless parked after the
  pivot, when the authorization of the total is still held, to be captured); nothing captured and
  no open authorization if CANCELLED; never both captured and voided; no refund (the saga never
  refunds: it voids before the pivot);
- no action applied after its compensation: a RELEASED reservation holds nothing, a VOIDED or
  DECLINED payment holds and took nothing, a CANCELLED order was never confirmed;
- an order shows the customer a next action only while PENDING;
- the execution's ending agrees with the order, and a parked order has its record, its
  CheckoutFailed event and (counted together) the alarm's metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.models import Model


@dataclass(frozen=True)
class OrderState:
    order_id: str
    order: dict[str, Any] | None
    reservation: dict[str, Any] | None
    payment: dict[str, Any] | None
    authorization: dict[str, Any] | None  # the ledger entry under authorize:<order>
    captured: int  # minor units taken (the capture's amount, 0 without one)
    voided: bool  # a void released the authorization (not a tombstone)
    refunded: bool
    parked: dict[str, Any] | None

    @property
    def hold_open(self) -> int:
        """What the provider still holds on the card for the order, unsettled (minor units)."""
        held = self.authorization
        if held is None or held["operation"] != "authorize" or held.get("settled_by"):
            return 0
        if held.get("approval") == "declined":  # the customer said no: nothing is held
            return 0
        # an authorization awaiting the customer's approval is open: it could still be approved
        return int(held["amount"])


@dataclass(frozen=True)
class Stores:
    available: dict[str, int]
    orders: dict[str, OrderState]


@dataclass(frozen=True)
class Ending:
    """How the order's last execution ended: SUCCEEDED/FAILED/... and its ending state."""

    status: str
    state: str | None  # CheckoutConfirmed | CheckoutCancelled | CheckoutFailed | None
    execution_arn: str
    last_entered: str | None = None  # the state it was in, for a message about it


@dataclass
class Evidence:
    """What else the checks may look at: endings, published events, the parked metric."""

    endings: dict[str, Ending] = field(default_factory=dict)
    events: list[dict[str, Any]] | None = None  # {"detail-type", "detail"}
    parked_metric: int | None = None  # CheckoutsParked data points during the run


def _get(model: type[Model], key: str) -> dict[str, Any] | None:
    try:
        simple: dict[str, Any] = model.get(key, consistent_read=True).to_simple_dict()
    except model.DoesNotExist:
        return None
    return simple


def read_stores(skus: Iterable[str], order_ids: Iterable[str]) -> Stores:
    """Everything the checks read, straight from each service's own table (bound models)."""
    from orchestration.parked_checkouts import ParkedCheckoutRecord
    from services.inventory.dal.records import ProductRecord, ReservationRecord
    from services.order.dal.records import OrderRecord
    from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord

    available = {}
    for sku in skus:
        product = _get(ProductRecord, sku)
        available[sku] = int(product["available"]) if product else -(10**9)
    orders = {}
    for order_id in order_ids:
        capture = _get(SimulatedLedgerRecord, f"capture:{order_id}")
        orders[order_id] = OrderState(
            order_id=order_id,
            order=_get(OrderRecord, order_id),
            reservation=_get(ReservationRecord, order_id),
            payment=_get(PaymentRecord, order_id),
            authorization=_get(SimulatedLedgerRecord, f"authorize:{order_id}"),
            captured=int(capture["amount"]) if capture else 0,
            voided=_get(SimulatedLedgerRecord, f"void:{order_id}") is not None,
            refunded=_get(SimulatedLedgerRecord, f"refund:{order_id}") is not None,
            parked=_get(ParkedCheckoutRecord, order_id),
        )
    return Stores(available, orders)


def violations(
    stores: Stores, initial_stock: dict[str, int], evidence: Evidence | None = None
) -> list[str]:
    """Every broken rule, as one sentence each naming the order or sku; [] when all hold."""
    found: list[str] = []
    held: dict[str, int] = dict.fromkeys(initial_stock, 0)
    for state in stores.orders.values():
        found += _order_violations(state)
        reservation = state.reservation
        if reservation is not None and reservation["status"] == "RESERVED":
            for line in reservation.get("lines", []):
                held[line["sku"]] = held.get(line["sku"], 0) + int(line["quantity"])
    for sku, initial in initial_stock.items():
        available = stores.available[sku]
        if available < 0:
            found.append(f"{sku}: stock is negative ({available})")
        if initial != available + held[sku]:
            found.append(f"{sku}: initial {initial} != available {available} + held {held[sku]}")
    if evidence is not None:
        found += _evidence_violations(stores, evidence)
    return found


def _status(state: OrderState) -> str | None:
    return state.order["status"] if state.order else None


def _order_violations(state: OrderState) -> list[str]:
    return [
        f"{state.order_id}: {problem}"
        for rule in (_finished, _counted, _confirmed, _cancelled, _compensated)
        for problem in rule(state)
    ]


def _finished(state: OrderState) -> list[str]:
    status = _status(state)
    if status not in {"CONFIRMED", "CANCELLED"} and state.parked is None:
        return [f"left {status or 'without an order record'} and not parked"]
    return []


def _counted(state: OrderState) -> list[str]:
    found = []
    if state.captured and state.voided:
        found.append("both captured and voided")
    if state.refunded:
        found.append("refunded: the saga never refunds, it voids before the pivot")
    return found


def _confirmed(state: OrderState) -> list[str]:
    if _status(state) != "CONFIRMED" or state.order is None:
        return []
    total = int(state.order["total_amount"]) if "total_amount" in state.order else None
    reservation = state.reservation["status"] if state.reservation else None
    payment = state.payment["status"] if state.payment else None
    found = []
    if reservation != "RESERVED":
        found.append(f"CONFIRMED but its reservation is {reservation}")
    if state.parked is not None and state.captured == 0:
        # parked after the pivot: the capture is owed, so the whole total must still be held
        if state.hold_open != total:
            found.append(f"CONFIRMED and parked for {total} but {state.hold_open} held")
        if payment != "AUTHORIZED":
            found.append(f"CONFIRMED and parked uncaptured but its payment is {payment}")
        return found
    if state.captured != total:
        found.append(f"CONFIRMED for {total} but {state.captured} captured")
    if payment != "CAPTURED":
        found.append(f"CONFIRMED but its payment is {payment}")
    return found


def _cancelled(state: OrderState) -> list[str]:
    # parked or not: the order is cancelled only after the money and the stock were given back
    if _status(state) != "CANCELLED":
        return []
    found = []
    if state.captured:
        found.append(f"CANCELLED but {state.captured} captured")
    if state.hold_open:
        found.append(f"CANCELLED but {state.hold_open} still authorized on the card")
    if state.reservation and state.reservation["status"] == "RESERVED":
        found.append("CANCELLED but its stock is still reserved")
    return found


def _compensated(state: OrderState) -> list[str]:
    """No action applied after its compensation."""
    status = _status(state)
    payment = state.payment["status"] if state.payment else None
    reserved = bool(state.reservation and state.reservation["status"] == "RESERVED")
    found = []
    if payment in {"VOIDED", "DECLINED"} and (state.captured or state.hold_open):
        found.append(
            f"payment {payment} but {state.captured} captured and {state.hold_open} held "
            "(an authorization after its void)"
        )
    if reserved and status != "CONFIRMED" and state.parked is None:
        found.append(f"stock reserved for a {status} order that is not parked")
    if state.order and state.order.get("next_action") and status != "PENDING":
        found.append(f"{status} but still shows the customer a next action")
    return found


def _ending_violation(state: OrderState, ending: Ending) -> str | None:
    status = _status(state)
    if ending.status == "RUNNING":
        name = ending.execution_arn.rsplit(":", 1)[-1]
        return f"an execution is still running ({name}, in {ending.last_entered})"
    if ending.state == "CheckoutConfirmed" and status != "CONFIRMED":
        return f"the saga ended confirmed, the order is {status}"
    if ending.state == "CheckoutCancelled" and status != "CANCELLED":
        return f"the saga ended cancelled, the order is {status}"
    if ending.state == "CheckoutFailed" and state.parked is None:
        return "the saga parked it but there is no parked record"
    if ending.state is None and state.parked is None:
        return f"its last execution ended {ending.status}, unrecovered"
    return None


def _expected_event(state: OrderState) -> str | None:
    if state.parked is not None:
        return "CheckoutFailed"
    return {"CONFIRMED": "CheckoutConfirmed", "CANCELLED": "CheckoutCancelled"}.get(
        _status(state) or ""
    )


def _evidence_violations(stores: Stores, evidence: Evidence) -> list[str]:
    found = []
    for oid, state in stores.orders.items():
        ending = evidence.endings.get(oid)
        problem = _ending_violation(state, ending) if ending is not None else None
        if problem:
            found.append(f"{oid}: {problem}")
        expected = _expected_event(state)
        if evidence.events is not None and expected is not None:
            published = {
                e["detail-type"] for e in evidence.events if e["detail"].get("order_id") == oid
            }
            if expected not in published:
                found.append(f"{oid}: no {expected} event (got {sorted(published)})")
    parked = sum(1 for state in stores.orders.values() if state.parked is not None)
    if evidence.parked_metric is not None and evidence.parked_metric < parked:
        found.append(f"{parked} parked orders but the metric counted {evidence.parked_metric}")
    return found

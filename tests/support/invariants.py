"""The promise, as checks on the services' own stores (never the API's view).

Used by the in-process fault-schedule checker and by `make chaos` against a real local cloud: the
same reads (each service's PynamoDB records, the simulated provider's ledger, the orchestration's
parked table) and the same rules:

- every order ends CONFIRMED, CANCELLED, or parked (with its record) — never PENDING unparked;
- per sku: initial stock = available + units held by RESERVED reservations, every one of which
  belongs to a CONFIRMED or a parked order; never negative;
- per order: money kept at the provider = the order's total if CONFIRMED, 0 if CANCELLED; at most
  one charge and one refund per order;
- no action applied after its compensation: a RELEASED reservation holds nothing, a VOIDED or
  REFUNDED payment keeps no money, a CANCELLED order was never confirmed;
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
    charges: int  # ledger entries under the order's charge key (0 or 1)
    refunds: int
    money_kept: int  # charged - refunded, minor units
    parked: dict[str, Any] | None


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
        charge = _get(SimulatedLedgerRecord, f"charge:{order_id}")
        refund = _get(SimulatedLedgerRecord, f"refund:{order_id}")
        orders[order_id] = OrderState(
            order_id=order_id,
            order=_get(OrderRecord, order_id),
            reservation=_get(ReservationRecord, order_id),
            payment=_get(PaymentRecord, order_id),
            charges=int(charge is not None),
            refunds=int(refund is not None),
            money_kept=int(charge["amount"] if charge else 0)
            - int(refund["amount"] if refund else 0),
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


def _order_violations(state: OrderState) -> list[str]:
    found = []
    oid, order, parked = state.order_id, state.order, state.parked
    status = order["status"] if order else None
    if status not in {"CONFIRMED", "CANCELLED"} and parked is None:
        found.append(f"{oid}: left {status or 'without an order record'} and not parked")
    if state.charges > 1 or state.refunds > 1:
        found.append(f"{oid}: {state.charges} charges, {state.refunds} refunds")
    reservation = state.reservation["status"] if state.reservation else None
    payment = state.payment["status"] if state.payment else None
    if status == "CONFIRMED":
        total = int(order["total_amount"]) if order and "total_amount" in order else None
        if state.money_kept != total:
            found.append(f"{oid}: CONFIRMED for {total} but {state.money_kept} kept")
        if reservation != "RESERVED":
            found.append(f"{oid}: CONFIRMED but its reservation is {reservation}")
        if payment != "CHARGED":
            found.append(f"{oid}: CONFIRMED but its payment is {payment}")
    if status == "CANCELLED" and parked is None:
        if state.money_kept != 0:
            found.append(f"{oid}: CANCELLED but {state.money_kept} kept")
        if reservation == "RESERVED":
            found.append(f"{oid}: CANCELLED but its stock is still reserved")
    if payment in {"VOIDED", "REFUNDED", "DECLINED"} and state.money_kept != 0:
        found.append(f"{oid}: payment {payment} but {state.money_kept} kept (charge after void)")
    if reservation == "RESERVED" and status not in {"CONFIRMED", None, "PENDING"}:
        found.append(f"{oid}: stock reserved for a {status} order")
    if reservation == "RESERVED" and status != "CONFIRMED" and parked is None:
        found.append(f"{oid}: stock reserved for a {status} order that is not parked")
    return found


def _evidence_violations(stores: Stores, evidence: Evidence) -> list[str]:
    found = []
    for oid, state in stores.orders.items():
        ending = evidence.endings.get(oid)
        status = state.order["status"] if state.order else None
        if ending is not None:
            if ending.status == "RUNNING":
                found.append(f"{oid}: an execution is still running")
            elif ending.state == "CheckoutConfirmed" and status != "CONFIRMED":
                found.append(f"{oid}: the saga ended confirmed, the order is {status}")
            elif ending.state == "CheckoutCancelled" and status != "CANCELLED":
                found.append(f"{oid}: the saga ended cancelled, the order is {status}")
            elif ending.state == "CheckoutFailed" and state.parked is None:
                found.append(f"{oid}: the saga parked it but there is no parked record")
            elif ending.state is None and state.parked is None:
                found.append(f"{oid}: its last execution ended {ending.status}, unrecovered")
        if evidence.events is not None:
            published = {
                e["detail-type"] for e in evidence.events if e["detail"].get("order_id") == oid
            }
            expected = (
                "CheckoutFailed"
                if state.parked is not None
                else {"CONFIRMED": "CheckoutConfirmed", "CANCELLED": "CheckoutCancelled"}.get(
                    status or ""
                )
            )
            if expected is not None and expected not in published:
                found.append(f"{oid}: no {expected} event (got {sorted(published)})")
    parked = sum(1 for state in stores.orders.values() if state.parked is not None)
    if evidence.parked_metric is not None and evidence.parked_metric < parked:
        found.append(f"{parked} parked orders but the metric counted {evidence.parked_metric}")
    return found

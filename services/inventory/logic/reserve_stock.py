"""Reserve stock for every line of an order, or for none."""

from __future__ import annotations

from services.inventory.dal import stock
from services.inventory.models import Reservation, ReservationStatus
from shared.contracts import PricedLine, ReserveStockInput, ReserveStockOutput, total_of
from shared.errors import (
    AlreadyCompensatedError,
    DependencyUnavailableError,
    IdempotencyConflictError,
    InvalidInputError,
    OutOfStockError,
    UnknownSkuError,
)

# A price or stock change between our read and the transaction is rare; re-price a few times, then
# let the state machine retry (the error is transient).
MAX_ATTEMPTS = 3


def reserve_stock(task: ReserveStockInput) -> ReserveStockOutput:
    for _ in range(MAX_ATTEMPTS):
        existing = stock.get_reservation(task.order_id)
        if existing is not None:
            return _replay(existing, task)
        lines = _price_and_check(task)
        try:
            stock.create_reservation(task.order_id, lines, total_of(lines))
        except (stock.ReservationAlreadyRecordedError, stock.StockChangedError):
            continue  # someone else moved first: re-read and decide again
        return ReserveStockOutput(order_id=task.order_id, lines=lines, total=total_of(lines))
    raise DependencyUnavailableError(
        f"stock for order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _price_and_check(task: ReserveStockInput) -> list[PricedLine]:
    """Price every line from the catalog (never from the client) and check availability."""
    products = stock.get_products([line.sku for line in task.items])
    unknown = [line.sku for line in task.items if line.sku not in products]
    if unknown:
        raise UnknownSkuError(f"unknown sku(s): {', '.join(unknown)}")
    currencies = {products[line.sku].currency for line in task.items}
    if len(currencies) > 1:
        raise InvalidInputError(f"an order must be in one currency; lines use {sorted(currencies)}")
    short = [
        f"{line.sku} (requested {line.quantity}, available {products[line.sku].available})"
        for line in task.items
        if products[line.sku].available < line.quantity
    ]
    if short:
        raise OutOfStockError(f"not enough stock for {', '.join(short)}")
    lines = [
        PricedLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=products[line.sku].unit_price,
            currency=products[line.sku].currency,
        )
        for line in task.items
    ]
    try:
        total_of(lines)
    except ValueError as error:  # e.g. a total beyond what any charge may be
        raise InvalidInputError(str(error)) from None
    return lines


def _replay(existing: Reservation, task: ReserveStockInput) -> ReserveStockOutput:
    """The same order again: return what was reserved, refuse a late or a different request."""
    if existing.status is ReservationStatus.RELEASED:
        raise AlreadyCompensatedError(
            f"reservation for order {task.order_id} was already released; refusing a late reserve"
        )
    requested = sorted((line.sku, line.quantity) for line in task.items)
    reserved = sorted((line.sku, line.quantity) for line in existing.lines)
    if requested != reserved or existing.total is None:
        raise IdempotencyConflictError(
            f"order {task.order_id} already reserved different lines {reserved}"
        )
    return ReserveStockOutput(order_id=task.order_id, lines=existing.lines, total=existing.total)

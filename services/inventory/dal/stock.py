"""Reads and conditional writes of products and reservations.

Every write that matters is conditional, so stock can never go negative and a reservation can
never be applied twice, whatever the concurrency: the database decides, not a read-then-write.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from services.inventory.dal.records import ProductRecord, ReservationRecord, ReservedLineAttribute
from services.inventory.models import Product, Reservation, ReservationStatus
from shared.contracts import Money, PricedLine, stored_money
from shared.dynamodb import (
    cancellation_codes,
    dynamodb_errors,
    get_or_none,
    model_region,
    save_if_new,
    transaction_connection,
)


class ReservationAlreadyRecordedError(Exception):
    """A reservation (or tombstone) for this order exists already: re-read it and replay."""


class StockChangedError(Exception):
    """A product's stock or price no longer satisfies the reservation: re-read and decide."""


class ReservationChangedError(Exception):
    """The reservation changed between read and release: re-read and decide."""


def _now() -> datetime:
    return datetime.now(UTC)


def _to_product(record: ProductRecord) -> Product:
    return Product(
        sku=record.sku,
        name=record.name,
        unit_price=int(record.unit_price),
        currency=record.currency,
        available=int(record.available),
    )


def _to_reservation(record: ReservationRecord) -> Reservation:
    lines = [
        PricedLine(
            sku=line.sku,
            quantity=int(line.quantity),
            unit_price=int(line.unit_price),
            currency=line.currency,
        )
        for line in record.lines
    ]
    total = stored_money(record.total_amount, record.currency)
    return Reservation(
        order_id=record.order_id,
        status=ReservationStatus(record.status),
        lines=lines,
        total=total,
    )


def get_products(skus: list[str]) -> dict[str, Product]:
    with dynamodb_errors("BatchGetItem products"):
        return {
            record.sku: _to_product(record)
            for record in ProductRecord.batch_get(skus, consistent_read=True)
        }


def get_product(sku: str) -> Product | None:
    record = get_or_none(ProductRecord, sku)
    return _to_product(record) if record is not None else None


def list_products() -> list[Product]:
    with dynamodb_errors("Scan products"):
        return sorted((_to_product(r) for r in ProductRecord.scan()), key=lambda p: p.sku)


def put_product(product: Product) -> None:
    """Create or replace a catalog entry (seeding and operator tooling, not the saga)."""
    with dynamodb_errors("PutItem product"):
        ProductRecord(**product.model_dump()).save()


def get_reservation(order_id: str) -> Reservation | None:
    record = get_or_none(ReservationRecord, order_id)
    return _to_reservation(record) if record is not None else None


def _reservation_record(
    order_id: str, status: ReservationStatus, lines: list[PricedLine], total: Money | None
) -> ReservationRecord:
    now = _now()
    return ReservationRecord(
        order_id=order_id,
        status=status.value,
        lines=[ReservedLineAttribute(**line.model_dump()) for line in lines],  # type: ignore[no-untyped-call]
        total_amount=total.amount if total else None,
        currency=total.currency if total else None,
        created_at=now,
        updated_at=now,
    )


def create_reservation(order_id: str, lines: list[PricedLine], total: Money) -> None:
    """Decrement every line's stock and record the reservation, in one transaction.

    Each product update is conditional on enough stock and on the price the lines were priced at;
    the reservation put is conditional on no reservation (or tombstone) existing for the order.
    """
    reservation = _reservation_record(order_id, ReservationStatus.RESERVED, lines, total)
    try:
        with (
            dynamodb_errors("TransactWriteItems reserve"),
            TransactWrite(connection=transaction_connection(model_region(ProductRecord))) as tx,
        ):
            tx.save(reservation, condition=ReservationRecord.order_id.does_not_exist())
            for line in lines:
                tx.update(
                    ProductRecord(sku=line.sku),
                    actions=[ProductRecord.available.add(-line.quantity)],
                    condition=(ProductRecord.available >= line.quantity)
                    & (ProductRecord.unit_price == line.unit_price)
                    & (ProductRecord.currency == line.currency),
                )
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes and codes[0] == "ConditionalCheckFailed":
            raise ReservationAlreadyRecordedError(order_id) from error
        raise StockChangedError(order_id) from error


def release_reservation(reservation: Reservation) -> None:
    """Return every line's stock and mark the reservation RELEASED, in one transaction."""
    try:
        with (
            dynamodb_errors("TransactWriteItems release"),
            TransactWrite(connection=transaction_connection(model_region(ProductRecord))) as tx,
        ):
            tx.update(
                ReservationRecord(order_id=reservation.order_id),
                actions=[
                    ReservationRecord.status.set(ReservationStatus.RELEASED.value),
                    ReservationRecord.updated_at.set(_now()),
                ],
                condition=ReservationRecord.status == ReservationStatus.RESERVED.value,
            )
            for line in reservation.lines:
                tx.update(
                    ProductRecord(sku=line.sku),
                    actions=[ProductRecord.available.add(line.quantity)],
                    # never resurrect a deleted product as a half item
                    condition=ProductRecord.sku.exists(),
                )
    except TransactWriteError as error:
        raise ReservationChangedError(reservation.order_id) from error


def create_tombstone(order_id: str) -> None:
    """Record that this order's reservation was released before it was ever made."""
    record = _reservation_record(order_id, ReservationStatus.RELEASED, [], None)
    if not save_if_new(record, "reservation tombstone"):
        raise ReservationAlreadyRecordedError(order_id)

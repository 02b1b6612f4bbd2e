"""Release an order's reservation: the compensation of reserve_stock."""

from __future__ import annotations

from services.inventory.dal import stock
from services.inventory.models import ReservationStatus
from shared.contracts import ReleaseStockInput, ReleaseStockOutput
from shared.errors import DependencyUnavailableError

MAX_ATTEMPTS = 3


def release_stock(task: ReleaseStockInput) -> ReleaseStockOutput:
    for _ in range(MAX_ATTEMPTS):
        reservation = stock.get_reservation(task.order_id)
        if reservation is None:
            # The reserve may still land later (it timed out): leave a tombstone so it is refused.
            try:
                stock.create_tombstone(task.order_id)
            except stock.ReservationAlreadyRecordedError:
                continue  # the reserve landed just now: release it
            return _released(task, released_now=False)
        if reservation.status is ReservationStatus.RELEASED:
            return _released(task, released_now=False)
        try:
            stock.release_reservation(reservation)
        except stock.ReservationChangedError:
            continue
        return _released(task, released_now=True)
    raise DependencyUnavailableError(
        f"reservation of order {task.order_id} kept changing during {MAX_ATTEMPTS} attempts; retry"
    )


def _released(task: ReleaseStockInput, *, released_now: bool) -> ReleaseStockOutput:
    return ReleaseStockOutput(
        order_id=task.order_id, status=ReservationStatus.RELEASED.value, released_now=released_now
    )

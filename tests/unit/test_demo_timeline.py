"""The demo reads a checkout's steps once its saga has ended, not when the order leaves PENDING."""

from __future__ import annotations

from orchestration.cli.demo import _ended


def step(operation: str, phase: str, outcome: str = "succeeded") -> dict[str, str]:
    return {"operation": operation, "phase": phase, "outcome": outcome}


CONFIRMED_AT_THE_PIVOT = [
    step("order.create_order", "action"),
    step("order.confirm_order", "action"),
]


def test_a_confirmed_order_whose_capture_runs_has_not_ended():
    assert not _ended(CONFIRMED_AT_THE_PIVOT)
    assert not _ended(
        [*CONFIRMED_AT_THE_PIVOT, step("payment.capture_payment", "action", "running")]
    )


def test_the_ending_event_or_the_parking_ends_it():
    captured = [*CONFIRMED_AT_THE_PIVOT, step("payment.capture_payment", "action")]
    assert _ended([*captured, step("CheckoutConfirmed", "event")])
    failed = [*CONFIRMED_AT_THE_PIVOT, step("payment.capture_payment", "action", "failed")]
    assert _ended([*failed, step("ParkCheckout", "operator")])
    assert not _ended([])

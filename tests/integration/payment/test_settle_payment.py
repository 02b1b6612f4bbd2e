"""settle_payment handler: an operator's void or capture done at the provider by hand, recorded so
the saga's own void and capture then find it done (`checkout resolve`).

What it records must be what the void or the capture would have recorded; what contradicts the
record is refused without a write; and it never calls the provider.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.payment.dal import payments
from services.payment.gateway.simulated import SimulatedPaymentProvider
from services.payment.handlers import (
    authorize_payment,
    capture_payment,
    settle_payment,
    void_payment,
)
from services.payment.models import PaymentStatus
from shared.errors import InvalidInputError, SettlementRefusedError
from tests.integration.payment.conftest import authorize_event, invoke, stored_payment

ORDER = "order-0007"
NOTE = "ops/ana: voided in the dashboard, the authorization had expired"


def settle(settled_as: str, reference: str = "void_dash_1", note: str = NOTE) -> dict[str, Any]:
    return invoke(
        settle_payment.lambda_handler,
        {"order_id": ORDER, "settled_as": settled_as, "reference": reference, "note": note},
    )


def authorized() -> dict[str, Any]:
    return invoke(authorize_payment.lambda_handler, authorize_event(ORDER))


def test_a_hold_voided_by_hand_is_recorded_as_the_void_would_and_the_void_then_replays(
    simulated: SimulatedPaymentProvider,
):
    authorized()
    journal_before = list(simulated.journal)

    answer = settle("voided")
    voided = invoke(void_payment.lambda_handler, {"order_id": ORDER})

    assert answer == {
        "order_id": ORDER, "status": "VOIDED", "settled_now": True, "reference": "void_dash_1",
    }  # fmt: skip
    stored = stored_payment()
    assert stored["status"] == "VOIDED"
    assert stored["void_id"] == "void_dash_1"
    assert stored["settled_by_operator"] == NOTE
    assert voided["status"] == "VOIDED"
    assert voided["voided_now"] is False, "the saga's void finds it done"
    assert voided["void_id"] == "void_dash_1"
    assert simulated.journal == journal_before, "neither the settlement nor the void asked it"


def test_a_hold_captured_by_hand_is_recorded_and_the_capture_then_replays_it(
    simulated: SimulatedPaymentProvider,
):
    authorization = authorized()

    answer = settle("captured", reference="ch_dash_9", note="ops/ana: captured in the dashboard")
    captured = invoke(
        capture_payment.lambda_handler,
        {
            "order_id": ORDER,
            "charge_id": authorization["charge_id"],
            "amount": authorization["amount"],
        },
    )

    assert answer["status"] == "CAPTURED"
    assert answer["settled_now"] is True
    assert stored_payment()["capture_id"] == "ch_dash_9"
    assert captured["capture_id"] == "ch_dash_9"
    assert [entry.operation for entry in simulated.journal] == ["authorize"]


def test_settling_again_what_is_already_so_writes_nothing_and_says_so():
    authorized()
    settle("voided")
    first = stored_payment()

    again = settle("voided", reference="void_dash_2", note="a second operator, the same void")

    assert again == {
        "order_id": ORDER, "status": "VOIDED", "settled_now": False, "reference": "void_dash_1",
    }  # fmt: skip
    assert stored_payment() == first


@pytest.mark.parametrize(
    ("before", "settled_as", "problem"),
    [
        ("captured", "voided", "is CAPTURED .*refund it at the provider"),
        ("voided", "captured", "is VOIDED: no confirmed hold to capture"),
        (None, "voided", "has no payment: nothing was held"),
    ],
)
def test_a_settlement_that_contradicts_the_record_is_refused_and_writes_nothing(
    before: str | None, settled_as: str, problem: str
):
    if before is not None:
        authorized()
        settle(before, reference="first_ref", note="the first settlement")
    stored = stored_payment() if before is not None else None

    with pytest.raises(SettlementRefusedError, match=problem):
        settle(settled_as)

    assert (stored_payment() if before is not None else payments.get_payment(ORDER)) == stored


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("note", "  ", "note"),
        ("note", "x" * 501, "note"),
        ("reference", "has spaces", "reference"),
        ("settled_as", "refunded", "settled_as"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(field, value, problem):
    authorized()
    before = stored_payment()
    event = {"order_id": ORDER, "settled_as": "voided", "reference": "void_1", "note": NOTE}

    with pytest.raises(InvalidInputError, match=problem):
        invoke(settle_payment.lambda_handler, {**event, field: value})

    assert stored_payment() == before
    assert PaymentStatus(before["status"]) is PaymentStatus.AUTHORIZED

"""The fault schedule grammar: what the header, the saga input and every task agree on."""

from __future__ import annotations

import pytest

from shared.faults import (
    MAX_COUNT,
    Fault,
    FaultKind,
    FaultScheduleError,
    canonical,
    normalize,
    parse_schedule,
)


def test_the_example_of_the_docs_parses():
    schedule = parse_schedule(
        "payment.authorize=crash_after_commit; inventory.release=transient*3; order.confirm=timeout"
    )

    assert schedule == {
        "payment.authorize": Fault(FaultKind.CRASH_AFTER_COMMIT, 1),
        "inventory.release": Fault(FaultKind.TRANSIENT, 3),
        "order.confirm": Fault(FaultKind.TIMEOUT, 1),
    }


def test_a_bare_operation_is_a_business_fault_on_every_attempt():
    [fault] = parse_schedule("order.confirm").values()

    assert fault == Fault(FaultKind.BUSINESS, None)
    assert fault.applies(0)
    assert fault.applies(99)


def test_a_counted_fault_applies_to_its_first_attempts_only():
    fault = parse_schedule("order.cancel=transient*2")["order.cancel"]

    assert [fault.applies(attempt) for attempt in range(4)] == [True, True, False, False]


def test_the_canonical_form_is_sorted_and_round_trips():
    text = "order.cancel=duplicate*2;order.create ;  payment.void = crash_before_commit"

    assert normalize(text) == (
        "order.cancel=duplicate*2; order.create=business; payment.void=crash_before_commit*1"
    )
    assert normalize(normalize(text)) == normalize(text)
    assert canonical(parse_schedule(normalize(text))) == normalize(text)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("order.confirm=explode", "unknown kind 'explode'"),
        ("order.confirm=transient*0", "between 1 and"),
        (f"order.confirm=transient*{MAX_COUNT + 1}", "between 1 and"),
        ("order.confirm; order.confirm=timeout", "order.confirm is scheduled twice"),
        ("order.confirm=timeout*x", "is not '<service>.<operation>"),
        ("Order.Confirm", "is not '<service>.<operation>"),
        (" ; ", "names no operation"),
        ("order.confirm;" * 100, "longer than"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_problem(text, named):
    with pytest.raises(FaultScheduleError, match=named.replace("*", "\\*")):
        parse_schedule(text)


def test_operations_are_checked_against_the_ones_given():
    refused = r"unknown operation 'shipping\.send'; known: a\.b"
    with pytest.raises(FaultScheduleError, match=refused):
        parse_schedule("shipping.send", operations=["a.b"])
    assert parse_schedule("shipping.send")  # the grammar alone accepts any service.operation

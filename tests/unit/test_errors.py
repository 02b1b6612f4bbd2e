"""The error taxonomy: public names the state machine matches, and the family each belongs to."""

from __future__ import annotations

import pytest

import shared.errors as errors_module
from shared.errors import (
    AlreadyCompensatedError,
    AmountMismatchError,
    BusinessRuleError,
    CheckoutError,
    DependencyUnavailableError,
    ErrorKind,
    IdempotencyConflictError,
    InjectedFaultError,
    InvalidInputError,
    OrderNotPendingError,
    OutOfStockError,
    PaymentDeclinedError,
    PaymentProviderUnavailableError,
    TransientError,
    UnknownSkuError,
    all_error_names,
    error_kind,
)
from shared.observability import Outcome

# Every concrete class known today, with the family it must stay in. A class added later is still
# checked by test_every_declared_error_has_exactly_one_family.
FAMILY_OF: dict[type[CheckoutError], type[CheckoutError]] = {
    OutOfStockError: BusinessRuleError,
    PaymentDeclinedError: BusinessRuleError,
    AlreadyCompensatedError: BusinessRuleError,
    OrderNotPendingError: BusinessRuleError,
    InjectedFaultError: BusinessRuleError,
    DependencyUnavailableError: TransientError,
    PaymentProviderUnavailableError: TransientError,
    InvalidInputError: InvalidInputError,  # raised as is for a payload that breaks the contract
    UnknownSkuError: InvalidInputError,
    AmountMismatchError: InvalidInputError,
    IdempotencyConflictError: InvalidInputError,
}
KIND_OF_FAMILY = {
    BusinessRuleError: ErrorKind.BUSINESS,
    TransientError: ErrorKind.TRANSIENT,
    InvalidInputError: ErrorKind.INVALID_INPUT,
}
FAMILIES = tuple(KIND_OF_FAMILY)


def declared_errors() -> list[type[CheckoutError]]:
    """Every error class declared in shared.errors (found by reading the module, not a list)."""
    return [
        value
        for value in vars(errors_module).values()
        if isinstance(value, type)
        and issubclass(value, CheckoutError)
        and value.__module__ == errors_module.__name__
    ]


@pytest.mark.parametrize("cls", list(FAMILY_OF), ids=lambda cls: cls.__name__)
def test_every_concrete_error_is_a_public_name(cls):
    # Then the state machine can match it by name
    assert cls.__name__ in all_error_names()


def test_every_declared_error_is_reported_under_its_own_name():
    # Given every error class shared.errors declares
    declared = {cls.__name__ for cls in declared_errors()}

    # Then all_error_names() reports each of them (the ASL static checks rely on it)
    assert declared <= all_error_names()
    assert set(FAMILY_OF.keys()) <= set(declared_errors())


@pytest.mark.parametrize(
    "cls",
    [cls for cls in declared_errors() if cls is not CheckoutError and cls not in FAMILIES],
    ids=lambda cls: cls.__name__,
)
def test_every_declared_error_has_exactly_one_family(cls):
    # Given any error class below the families, including one added after this test was written
    # Then it sits in exactly one family, so the state machine knows whether to retry it
    assert len([family for family in FAMILIES if issubclass(cls, family)]) == 1


@pytest.mark.parametrize(("cls", "family"), list(FAMILY_OF.items()), ids=lambda v: v.__name__)
def test_each_error_belongs_to_exactly_one_family(cls, family):
    # Given an instance of the class
    error = cls("something went wrong")

    # Then it is in its family and in no other, and its kind is the family's
    assert isinstance(error, family)
    assert [f for f in FAMILIES if isinstance(error, f)] == [family]
    assert isinstance(error, CheckoutError)
    assert error.kind is KIND_OF_FAMILY[family]
    assert error_kind(error) is KIND_OF_FAMILY[family]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ValueError("bad"), id="ValueError"),
        pytest.param(KeyError("k"), id="KeyError"),
        pytest.param(RuntimeError("boom"), id="RuntimeError"),
        pytest.param(TimeoutError(), id="TimeoutError"),
        pytest.param(Exception(), id="Exception"),
    ],
)
def test_an_unknown_exception_is_transient(error):
    # Given an exception the project did not raise on purpose
    # Then it is classified transient (the platform retries it)
    assert error_kind(error) is ErrorKind.TRANSIENT


def test_the_message_is_kept_on_the_error():
    error = OutOfStockError("not enough stock for SKU-A")

    assert error.message == "not enough stock for SKU-A"
    assert str(error) == "not enough stock for SKU-A"


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_each_kind_has_the_outcome_of_the_same_name(kind):
    # Then metrics and traces can report an error's kind as an outcome without a translation table
    assert Outcome(kind.value).value == kind.value

"""The error taxonomy the state machine routes on.

Step Functions matches `ErrorEquals` on the exact error name (the exception class name that Lambda
reports as `errorType`), never on inheritance. So every concrete class below is a public name: the
ASL file lists them, and a test proves every listed name exists here. Renaming one is a breaking
change to the state machine.

Three families:
- BusinessRuleError: the request cannot succeed as asked (out of stock, card declined). Never
  retried; the saga compensates.
- TransientError: the platform or a dependency hiccupped. Retried with backoff; safe because every
  action and compensation is idempotent.
- InvalidInputError: the payload breaks the contract. Never retried; nothing is written.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    BUSINESS = "business_error"
    TRANSIENT = "transient_error"
    INVALID_INPUT = "invalid_input"


class CheckoutError(Exception):
    """Base of every error the project raises on purpose."""

    kind: ErrorKind

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- business errors: never retried, trigger compensation -------------------------------------


class BusinessRuleError(CheckoutError):
    kind = ErrorKind.BUSINESS


class OutOfStockError(BusinessRuleError):
    """Not enough available stock for at least one line; nothing was reserved."""


class PaymentDeclinedError(BusinessRuleError):
    """The payment provider declined the authorization; no money moved and none is held."""


class PaymentNotCapturableError(BusinessRuleError):
    """There is no open authorization to capture (never made, declined or voided): an operator
    must look, since the order it pays for is confirmed."""


class PaymentAlreadyCapturedError(BusinessRuleError):
    """The authorization was captured: it can no longer be voided (a refund gives money back)."""


class SettlementRefusedError(BusinessRuleError):
    """An operator's settlement contradicts the payment's record (a void of a captured payment,
    a capture of a voided one): nothing is written; the message says what the record holds."""


class AlreadyCompensatedError(BusinessRuleError):
    """A late action arrived after its compensation ran (a tombstone exists); it is refused."""


class OrderNotPendingError(BusinessRuleError):
    """The order is not in a state that allows this transition (e.g. cancel after confirm)."""


class InjectedFaultError(BusinessRuleError):
    """A fault asked for by a test or demo (non-production stages only)."""


# --- transient errors: retried with backoff -----------------------------------------------------


class TransientError(CheckoutError):
    kind = ErrorKind.TRANSIENT


class DependencyUnavailableError(TransientError):
    """DynamoDB throttled, timed out or answered 5xx, or a transaction met a concurrent one."""


class PaymentProviderUnavailableError(TransientError):
    """The payment provider could not be reached or answered with a retryable failure."""


# --- invalid input: never retried, nothing written ----------------------------------------------


class InvalidInputError(CheckoutError):
    """The payload breaks the task's contract; the message names the problem."""

    kind = ErrorKind.INVALID_INPUT


class UnknownSkuError(InvalidInputError):
    """A line names a sku that is not in the catalog."""


class AmountMismatchError(InvalidInputError):
    """An amount does not match the lines it claims to total."""


class IdempotencyConflictError(InvalidInputError):
    """The same order id was used before with a different payload."""


def error_kind(error: BaseException) -> ErrorKind:
    """Classify any exception; unknown exceptions count as transient (the platform retries them)."""
    if isinstance(error, CheckoutError):
        return error.kind
    return ErrorKind.TRANSIENT


def all_error_names() -> set[str]:
    """Every concrete error class name a function can report (used by the ASL static checks)."""
    names: set[str] = set()
    pending: list[type[CheckoutError]] = [CheckoutError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names

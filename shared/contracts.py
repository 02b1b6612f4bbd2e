"""What each saga task receives and returns: the only thing services share.

Money is always integer minor units plus an ISO 4217 currency code; never a float. Models are
strict (no "2" for 2) and forbid unknown fields, so a drift between the state machine's
`Parameters` and a handler fails loudly as invalid input instead of being silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shared.faults import normalize

MAX_LINES_PER_ORDER = 25  # DynamoDB transactions hold 100 items; 25 keeps reserve well inside
MAX_QUANTITY_PER_LINE = 1_000
MAX_AMOUNT_MINOR_UNITS = 100_000_000  # 1,000,000.00 in a two-decimal currency
MAX_SKUS_PER_LOOKUP = 100  # what one BatchGetItem reads

OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$")]
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.@+-]+$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,63}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY_PER_LINE)]
MinorUnits = Annotated[int, Field(ge=0, le=MAX_AMOUNT_MINOR_UNITS)]
PaymentToken = Annotated[str, StringConstraints(pattern=r"^tok_[A-Za-z0-9_]{1,64}$")]
# A fault schedule (shared.faults): validated wherever it is read, kept in its canonical text.
FaultSchedule = Annotated[str, AfterValidator(normalize)]
Attempt = Annotated[int, Field(ge=0, le=1_000)]  # $$.State.RetryCount of the task
Reason = Annotated[str, StringConstraints(max_length=1_000)]
ProductName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Step Functions task tokens are up to 1,024 characters (moto's are UUIDs).
TaskToken = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^(https?://|/)")]
MAX_WEBHOOK_BYTES = 64 * 1024


class Contract(BaseModel):
    # defer_build: a function validates one or two contracts; build only those, on first use.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class Money(Contract):
    amount: MinorUnits
    currency: Currency


def stored_money(amount: float | None, currency: str | None) -> Money | None:
    """Money read back from a stored item (DynamoDB numbers come back as floats), or None."""
    if amount is None or currency is None:
        return None
    return Money(amount=int(amount), currency=currency)


class OrderLine(Contract):
    sku: Sku
    quantity: Quantity


class PricedLine(OrderLine):
    unit_price: MinorUnits
    currency: Currency

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


def _require_unique_skus(lines: list[OrderLine] | list[PricedLine]) -> None:
    _refuse_duplicate_skus([line.sku for line in lines], "send one line per sku")


def _refuse_duplicate_skus(skus: list[str], advice: str) -> None:
    duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
    if duplicates:
        raise ValueError(f"duplicate sku(s) {', '.join(duplicates)}: {advice}")


def total_of(lines: list[PricedLine]) -> Money:
    """The lines' total; ValueError when there are none, they mix currencies, or it is too large."""
    if not lines:
        raise ValueError("no lines to total (no currencies)")
    currencies = {line.currency for line in lines}
    if len(currencies) != 1:
        raise ValueError(f"lines mix currencies {sorted(currencies)}")
    amount = sum(line.line_total for line in lines)
    if amount > MAX_AMOUNT_MINOR_UNITS:
        raise ValueError(
            f"order total {amount} exceeds the largest amount accepted ({MAX_AMOUNT_MINOR_UNITS})"
        )
    return Money(amount=amount, currency=currencies.pop())


class SagaFailure(Contract):
    """What a Catch puts in the state (`ResultPath: $.failure`): the error behind a rollback."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    Error: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    Cause: str | None = None


class TaskInput(Contract):
    """Fields every task receives: the order, the fault schedule of this checkout (non-production
    only) and which attempt of the task this is (the state machine's retry count)."""

    order_id: OrderId
    fault: FaultSchedule | None = None
    attempt: Attempt = 0


# --- order service ------------------------------------------------------------------------------


class CreateOrderInput(TaskInput):
    customer_id: CustomerId
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES_PER_ORDER)]

    @model_validator(mode="after")
    def _unique_skus(self) -> Self:
        _require_unique_skus(self.items)
        return self


class CreateOrderOutput(Contract):
    order_id: OrderId
    status: str


class ConfirmOrderInput(TaskInput):
    total: Money
    charge_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ConfirmOrderOutput(Contract):
    order_id: OrderId
    status: str
    total: Money


class CompensationResult(Contract):
    """What an earlier compensation of the rollback answered, as the state machine kept it."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    status: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CancelOrderInput(TaskInput):
    failure: SagaFailure
    total: Money | None = None  # what was reserved, when anything was
    # The rollback's other compensations, by operation, as they answered before this one (the
    # last of the rollback); None for one that did not run (its step never started).
    compensations: dict[str, CompensationResult | None] = Field(default_factory=dict)


class CancelOrderOutput(Contract):
    order_id: OrderId
    status: str
    reason_code: str
    reason: Reason
    cancelled_now: bool  # False when this call was a no-op (already cancelled, or a tombstone)


class GetOrderInput(Contract):
    """A direct read by the checkout API (the status of a checkout), not a saga task."""

    order_id: OrderId


class CompensationDone(Contract):
    operation: str  # e.g. void_payment
    status: str  # what it reported: its record's state after it ran


class NextAction(Contract):
    """What the customer must do before the checkout can go on: approve (or decline) the payment
    at the provider. Plain links: a GET shows the provider's page, a POST answers."""

    type: Literal["approve_payment"] = "approve_payment"
    approve_url: Url
    decline_url: Url


class OrderSummary(Contract):
    """An order as the checkout status API reads it (timestamps in ISO 8601, UTC)."""

    order_id: OrderId
    status: str  # PENDING | CONFIRMED | CANCELLED
    total: Money | None  # confirmed: what was charged; cancelled: what had been reserved
    reason_code: str | None
    reason: Reason | None
    compensations: list[CompensationDone]  # the rollback's, before the order was cancelled
    created_at: str
    updated_at: str
    next_action: NextAction | None = None  # while PENDING and waiting for the customer


class GetOrderOutput(Contract):
    order: OrderSummary | None  # None: no order (and no tombstone) with this id


# --- inventory service --------------------------------------------------------------------------


class ReserveStockInput(TaskInput):
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES_PER_ORDER)]

    @model_validator(mode="after")
    def _unique_skus(self) -> Self:
        _require_unique_skus(self.items)
        return self


class ReserveStockOutput(Contract):
    order_id: OrderId
    lines: list[PricedLine]
    total: Money


class ReleaseStockInput(TaskInput):
    pass


class ReleaseStockOutput(Contract):
    order_id: OrderId
    status: str
    released_now: bool  # False when nothing was held (already released, or a tombstone)


class ProductView(Contract):
    """A catalog entry as the checkout API shows it."""

    sku: Sku
    name: ProductName
    price: MinorUnits  # per unit
    currency: Currency
    available: Annotated[int, Field(ge=0)]


class GetProductsInput(Contract):
    """A direct read by the checkout API, not a saga task (no order id). No skus: whole catalog."""

    skus: Annotated[list[Sku], Field(min_length=1, max_length=MAX_SKUS_PER_LOOKUP)] | None = None

    @model_validator(mode="after")
    def _unique_skus(self) -> Self:
        if self.skus is not None:
            _refuse_duplicate_skus(self.skus, "ask for each sku once")
        return self


class GetProductsOutput(Contract):
    products: list[ProductView]  # sorted by sku
    missing: list[Sku]  # requested skus not in the catalog, in request order


# --- payment service ----------------------------------------------------------------------------


class AuthorizePaymentInput(TaskInput):
    customer_id: CustomerId
    payment_token: PaymentToken
    lines: Annotated[list[PricedLine], Field(min_length=1, max_length=MAX_LINES_PER_ORDER)]
    amount: Money  # checked against `lines` by the payment logic (AmountMismatchError)

    @model_validator(mode="after")
    def _unique_skus(self) -> Self:
        _require_unique_skus(self.lines)
        return self


class AuthorizePaymentOutput(Contract):
    order_id: OrderId
    status: str  # AUTHORIZED, or REQUIRES_ACTION: the customer must approve it first
    charge_id: str  # the authorization's id: the payment the capture later settles
    amount: Money
    next_action: NextAction | None = None  # when REQUIRES_ACTION
    approval_seconds: int | None = None  # when REQUIRES_ACTION: how long the saga waits


class PaymentApproval(Contract):
    """What completes the saga's wait for the customer: the authorization, now approved."""

    status: Literal["AUTHORIZED"]
    charge_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Money


class AwaitPaymentApprovalInput(TaskInput):
    next_action: NextAction
    task_token: TaskToken


class AwaitPaymentApprovalOutput(Contract):
    # Step Functions ignores it (the task ends with the answer); it is for traces and tests.
    order_id: OrderId
    status: Literal["WAITING", "ANSWERED"]


class AnswerPaymentApprovalInput(Contract):
    """The customer's answer, from the provider's webhook: invoked by the checkout API."""

    order_id: OrderId
    approved: bool
    payment: PaymentApproval | None = None  # required when approved
    reason: Reason | None = None  # when declined

    @model_validator(mode="after")
    def _approval_carries_the_payment(self) -> Self:
        if self.approved and self.payment is None:
            raise ValueError("an approval carries the approved payment")
        return self


class AnswerPaymentApprovalOutput(Contract):
    order_id: OrderId
    delivered: bool  # False: the saga no longer waits (timed out, stopped, answered before)


class ReceivePaymentWebhookInput(Contract):
    """A provider's webhook as the API received it: the raw body (the signature covers its
    bytes) and the signature header."""

    body: Annotated[str, StringConstraints(max_length=MAX_WEBHOOK_BYTES)]
    signature: Annotated[str, StringConstraints(max_length=1024)] | None = None


class ReceivePaymentWebhookOutput(Contract):
    # approved / declined: the payment moved (now or at an earlier delivery): tell the saga.
    # ignored: nothing to tell (another event type, or a payment no longer waiting).
    # rejected: not from the provider (signature missing, wrong or stale): nothing was read.
    outcome: Literal["approved", "declined", "ignored", "rejected"]
    order_id: OrderId | None = None
    payment: PaymentApproval | None = None
    reason: Reason | None = None


class VoidPaymentInput(TaskInput):
    pass


class VoidPaymentOutput(Contract):
    order_id: OrderId
    status: str
    voided_now: bool  # False when no hold was left to release (already voided, or a tombstone)
    void_id: str | None = None


class CapturePaymentInput(TaskInput):
    charge_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Money  # must be the authorized amount: a capture takes the whole hold


class CapturePaymentOutput(Contract):
    order_id: OrderId
    status: str
    capture_id: str
    amount: Money


# What an operator did at the provider for a parked checkout (`checkout resolve`).
SettledAs = Literal["voided", "captured"]
ProviderReference = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\w.:/#@+-]+$")
]
OperatorNote = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)
]


class SettlePaymentInput(Contract):
    """An operator's account of a hold they settled at the provider by hand (its dashboard):
    invoked by `checkout resolve` for a checkout parked at the void or the capture."""

    order_id: OrderId
    settled_as: SettledAs
    reference: ProviderReference  # the provider's id of that void or capture
    note: OperatorNote  # who did what, and why: kept with the payment


class SettlePaymentOutput(Contract):
    order_id: OrderId
    status: str  # the payment's status now: VOIDED or CAPTURED
    settled_now: bool  # False: it was already so (a second resolve, or the saga got there)
    reference: str | None  # the void's or capture's id on the payment record


def summarize(model: BaseModel) -> dict[str, Any]:
    """The JSON a task returns to the state machine."""
    return model.model_dump(mode="json")

"""Request and response bodies of the checkout API (the public shapes; docs/openapi.yaml)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts import (
    MAX_LINES_PER_ORDER,
    CustomerId,
    FaultSchedule,
    OrderLine,
    PaymentToken,
)

MAX_BODY_BYTES = 16 * 1024
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]
CheckoutStatus = Literal["PENDING", "CONFIRMED", "CANCELLED", "FAILED"]


class CheckoutRequest(BaseModel):
    """POST /checkouts body. Prices are never accepted: the catalog prices every line."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    customer_id: CustomerId
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES_PER_ORDER)]
    payment_token: PaymentToken

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> Self:
        skus = [line.sku for line in self.items]
        duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
        if duplicates:
            raise ValueError(f"duplicate sku(s) {', '.join(duplicates)}: send one line per sku")
        return self


class SagaInput(BaseModel):
    """What the API starts the state machine with."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str
    items: list[dict[str, Any]]
    payment_token: str
    fault: FaultSchedule | None
    request_fingerprint: str  # a replayed key must carry the same request


class CheckoutAccepted(BaseModel):
    order_id: str
    status: CheckoutStatus


class CheckoutStep(BaseModel):
    execution: str  # the saga's execution (named after the order) or a recovery's (`--r<n>`)
    state: str
    operation: str  # service.operation, e.g. payment.void_payment
    phase: str  # action | compensation | event | operator
    outcome: Literal["succeeded", "failed", "running"]
    attempts: int
    started_at: str
    duration_ms: int | None
    error: str | None = None


class RecoveryView(BaseModel):
    """An execution the reconciler (or an operator's retry) started to finish this checkout."""

    execution: str
    resume: str  # compensate | confirm | park
    reason: str
    status: str  # the execution's: RUNNING, SUCCEEDED, FAILED, ...


class CompensationView(BaseModel):
    operation: str  # service.operation, e.g. payment.void_payment
    status: str  # what it reported: its record's state after it ran


class ParkedView(BaseModel):
    """Why a checkout waits for an operator (`checkout parked`, docs/operations.md)."""

    stuck_step: str
    error: str
    parked_at: str


class CheckoutView(BaseModel):
    """GET /checkouts/{order_id}: the checkout as the services' records have it."""

    order_id: str
    status: CheckoutStatus
    reason: str | None
    reason_code: str | None
    total: dict[str, Any] | None
    created_at: str | None  # the order's; None before the saga's first step recorded it
    updated_at: str | None
    compensations: list[CompensationView]  # what the rollback undid, newest first
    parked: ParkedView | None
    # While PENDING and the customer must act (approve the payment): what to show them.
    next_action: dict[str, str] | None = None


class CheckoutStepsView(CheckoutView):
    """GET /checkouts/{order_id}?view=steps: the same, with the executions' step timeline."""

    steps: list[CheckoutStep]
    recoveries: list[RecoveryView]


class ApiError(Exception):
    """An error the API answers with a 4xx/5xx JSON body naming the problem."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}

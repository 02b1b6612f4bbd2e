"""Request and response bodies of the checkout API (the public shapes; docs/openapi.yaml)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts import (
    MAX_LINES_PER_ORDER,
    CustomerId,
    FaultSchedule,
    Money,
    NextAction,
    OrderLine,
    PaymentToken,
    ProductView,
)

MAX_BODY_BYTES = 16 * 1024
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]
CheckoutStatus = Literal["PENDING", "CONFIRMED", "CANCELLED", "FAILED"]


class CheckoutRequest(BaseModel):
    """POST /checkouts body. Prices are never accepted: the catalog prices every line."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    customer_id: CustomerId
    items: Annotated[
        list[OrderLine],
        Field(
            min_length=1,
            max_length=MAX_LINES_PER_ORDER,
            description="One line per sku. Prices are never sent; the catalog prices every line.",
        ),
    ]
    payment_token: PaymentToken = Field(
        description="A provider token; in non-production, tok_visa approves, tok_chargeDeclined "
        "declines, tok_threeDSecureRequired asks the customer to approve (`next_action`)."
    )

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


class Response(BaseModel):
    """A response body: every field always sent, nothing else (additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid", json_schema_mode_override="serialization")


class CheckoutAccepted(Response):
    order_id: str
    status: CheckoutStatus


class CheckoutStep(Response):
    execution: str = Field(description="the saga's execution (the order id) or a recovery's")
    state: str
    operation: str = Field(description="service.operation, e.g. payment.void_payment")
    phase: Literal["action", "compensation", "event", "operator"]
    outcome: Literal["succeeded", "failed", "running"]
    attempts: Annotated[int, Field(ge=0)]
    started_at: str = Field(json_schema_extra={"format": "date-time"})
    duration_ms: int | None
    error: str | None = None


class RecoveryView(Response):
    """An execution the reconciler (or an operator's retry) started to finish this checkout."""

    execution: str = Field(description="<order_id>--r<n>")
    resume: Literal["compensate", "confirm", "park"]
    reason: str
    status: str = Field(description="the execution's status: RUNNING, SUCCEEDED, FAILED, ...")


class CompensationView(Response):
    operation: str = Field(description="service.operation, e.g. payment.void_payment")
    status: str = Field(description="what it reported, its record's state: VOIDED, RELEASED...")


class ParkedView(Response):
    """Why the checkout waits for an operator (`checkout parked`, docs/operations.md)."""

    stuck_step: str
    error: str
    parked_at: str = Field(json_schema_extra={"format": "date-time"})


class CheckoutView(Response):
    """GET /checkouts/{order_id}: the checkout as the services' records have it."""

    order_id: str
    status: CheckoutStatus
    reason: str | None
    reason_code: str | None = Field(
        description="the error behind a cancellation; CheckoutParkedForOperator when FAILED"
    )
    total: Money | None = Field(
        description="confirmed, what was authorized and is captured; cancelled or failed, "
        "what had been reserved"
    )
    created_at: str | None = Field(
        description="the order's; null before the saga's first step recorded it",
        json_schema_extra={"format": "date-time"},
    )
    updated_at: str | None = Field(json_schema_extra={"format": "date-time"})
    compensations: list[CompensationView] = Field(
        description="what the rollback undid before the order was cancelled, newest first"
    )
    parked: ParkedView | None
    next_action: NextAction | None = Field(
        default=None,
        description="While PENDING and the customer must approve the payment (3-D Secure): "
        "send them to approve_url (a GET shows the provider's page; a POST approves) or "
        "decline_url. The answer reaches the shop as the provider's webhook; keep polling.",
    )


class CheckoutStepsView(CheckoutView):
    """GET /checkouts/{order_id}?view=steps: the same, with the executions' step timeline."""

    steps: list[CheckoutStep] = Field(
        description="every step of the saga, then of each recovery, in order"
    )
    recoveries: list[RecoveryView] = Field(
        description="Executions the reconciler (or an operator's `checkout retry`) started to "
        "finish this checkout after its saga execution died; empty for most checkouts."
    )


class ProductList(Response):
    products: list[ProductView] = Field(description="every product, by sku")


class WebhookTaken(Response):
    """POST /payments/webhook: the provider's delivery was taken."""

    received: bool
    outcome: Literal["approved", "declined", "ignored"]
    order_id: str | None
    delivered: bool = Field(description="the waiting checkout was resumed now")


class FieldProblem(Response):
    field: str
    problem: str


class ErrorDetail(Response):
    code: str = Field(description="stable, for programs: unknown_sku, invalid_request, ...")
    message: str = Field(description="for people: what was wrong and how to mend it")
    details: list[FieldProblem] | None = Field(
        default=None, description="one entry per field refused (sent only when there are some)"
    )


class ErrorBody(Response):
    """Every 4xx and 5xx of this API: JSON naming the problem."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers with a 4xx/5xx JSON body naming the problem."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        error = ErrorDetail(
            code=self.code,
            message=self.message,
            details=[FieldProblem(**detail) for detail in self.details] or None,
        )
        return ErrorBody(error=error).model_dump(exclude_none=True)

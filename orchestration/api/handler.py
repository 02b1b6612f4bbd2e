"""Lambda: the checkout API (API Gateway REST, proxy integration).

Powertools' REST event handler routes, validates and serialises: the route functions' signatures
(pydantic models, `Header`, `Path`, `Query`) are the contract, and `docs/openapi.yaml` is generated
from them (`orchestration/openapi.py`). What it cannot see — the body's media type, size and JSON
syntax — is checked before routing (`transport.py`).
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from orchestration.api import catalog, checkouts, payments, transport
from orchestration.api.errors import dependency_unavailable, refused_request
from orchestration.api.models import (
    ApiError,
    CheckoutAccepted,
    CheckoutRequest,
    CheckoutStepsView,
    CheckoutView,
    IdempotencyKey,
    ProductList,
    WebhookTaken,
)
from orchestration.api.responses import CHECKOUT_HEADERS, JSON, errors
from orchestration.api.settings import get_settings
from orchestration.spec import SAGA
from shared.contracts import OrderId, ProductView, ReceivePaymentWebhookInput, Sku
from shared.errors import DependencyUnavailableError
from shared.faults import FaultScheduleError, normalize
from shared.observability import logger, tracer

FAULT_HEADER = "X-Checkout-Fault"
FAULT_OPERATIONS = SAGA.fault_names
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The providers' signature headers: the simulated provider's, then Stripe's.
WEBHOOK_SIGNATURE_HEADERS = ("Webhook-Signature", "Stripe-Signature")
MAX_SIGNATURE_LENGTH = 1024  # ReceivePaymentWebhookInput's bound; a longer one is no signature
# The polling hint while a checkout runs: a happy checkout takes well under a second, and every
# poll costs the shop a status read (docs/decisions.md).
POLL_AFTER_SECONDS = 1

FAULT_HEADER_DESCRIPTION = (
    "Non-production stages only (refused with 400 in production). A schedule of faults per "
    'operation, separated by "; ": `<operation>[=<kind>[*<count>]]`, e.g. '
    "`payment.authorize=crash_after_commit; inventory.release=transient*3; order.confirm=timeout`, "
    "each operation at most once. Operations: the fault names of the saga specification "
    "(`orchestration/spec.py`, listed in the pattern). Kinds: business (the default; every "
    "attempt), transient*k (fails k times, then succeeds), timeout (the work lands, then it hangs "
    "past the function's Timeout), crash_before_commit, crash_after_commit (the process dies "
    "before / after its write lands), duplicate (delivered twice); count 1-20, 1 when left out. "
    "An unknown operation or kind, a repeated operation or a malformed entry is a 400 naming it "
    '(the API also takes spaces around "=", "*" and ";").'
)
WEBHOOK_DESCRIPTION = (
    "For the payment provider, not the storefront. The signature header (`Webhook-Signature` for "
    'the simulated provider, `t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">`; `Stripe-Signature` for '
    "Stripe) must verify and be at most 300 s old; then the customer's answer is applied once and "
    "handed to the waiting checkout. A duplicate or late delivery answers 200 and changes nothing."
)

app = APIGatewayRestResolver(enable_validation=True)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def _poll_hint(order_id: str) -> dict[str, str]:
    return {"Retry-After": str(POLL_AFTER_SECONDS), "Location": f"/checkouts/{order_id}"}


def _fault(requested: str | None) -> str | None:
    if requested is None:  # headers arrive trimmed, an empty one left out (transport.py)
        return None
    if get_settings().is_production:
        raise ApiError(400, "fault_injection_disabled", f"{FAULT_HEADER} is refused in production")
    try:
        return normalize(requested, FAULT_OPERATIONS)
    except FaultScheduleError as error:
        raise ApiError(400, "invalid_fault_schedule", f"{FAULT_HEADER}: {error}") from None


@app.post(
    "/checkouts",
    operation_id="startCheckout",
    summary="Start a checkout saga (once per Idempotency-Key)",
    responses={
        202: {
            "description": "Accepted; the saga runs (or, for a replayed key, the existing order).",
            "headers": CHECKOUT_HEADERS,
        },
        **errors(400, 409, 413, 415, 422, 429, 503),
    },
)
def start_checkout(
    request: CheckoutRequest,
    idempotency_key: Annotated[
        IdempotencyKey,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="8-128 characters of letters, digits and _.:- . The same key with the "
            "same body returns the same order (also after the saga ended); with another body, 409.",
        ),
    ],
    fault: Annotated[
        str | None,
        # Its schema in docs/openapi.yaml is the fault grammar; `normalize` enforces it, with a
        # message naming what is wrong (a pattern could only say "does not match").
        Header(alias=FAULT_HEADER, description=FAULT_HEADER_DESCRIPTION),
    ] = None,
) -> Response[CheckoutAccepted]:
    checked_fault = _fault(fault)
    started = checkouts.start_checkout(request, idempotency_key, checked_fault, get_settings())
    tracer.put_annotation("order_id", started.order_id)
    logger.append_keys(order_id=started.order_id)
    return _json(202, started, _poll_hint(started.order_id))


@app.get(
    "/checkouts/<order_id>",
    operation_id="getCheckout",
    summary="A checkout's status from its order's record; with view=steps, every step taken",
    responses={
        200: {
            "description": "The checkout. While it is PENDING, a polling hint (Retry-After, "
            "Location).",
            "headers": CHECKOUT_HEADERS,
        },
        **errors(400, 404, 503),
    },
)
def get_checkout(
    order_id: Annotated[OrderId, Path()],
    view: Annotated[
        Literal["status", "steps"],
        Query(
            description="`status` (the default): the order service's record, as a storefront "
            "polls it; no Step Functions read. `steps`: the same, plus the step timeline of "
            "every execution of the checkout (it reads their histories; for people and tools, "
            "not for polling)."
        ),
    ] = "status",
) -> Response[CheckoutView | CheckoutStepsView]:
    tracer.put_annotation("order_id", order_id)
    found: CheckoutView = (
        checkouts.checkout_steps_view(order_id, get_settings())
        if view == "steps"
        else checkouts.checkout_view(order_id, get_settings())
    )
    return _json(200, found, _poll_hint(order_id) if found.status == "PENDING" else None)


@app.post(
    "/payments/webhook",
    operation_id="receivePaymentWebhook",
    summary="The payment provider's signed webhook (the customer approved or declined a payment)",
    description=WEBHOOK_DESCRIPTION,
    responses={
        200: {"description": "Taken (applied now, applied before, or nothing to apply)."},
        **errors(401, 413, 503),
    },
)
def payment_webhook(
    webhook_signature: Annotated[str | None, Header(alias=WEBHOOK_SIGNATURE_HEADERS[0])] = None,
    stripe_signature: Annotated[str | None, Header(alias=WEBHOOK_SIGNATURE_HEADERS[1])] = None,
) -> Response[WebhookTaken]:
    """The payment provider's signed webhook (the customer approved or declined a payment).

    The body is read raw, not parsed: the signature is over its bytes. 200 once the payment
    service took it (applied now, applied before, or nothing to apply), so the provider stops
    redelivering; 401 for one whose signature does not verify (nothing is read or written); 503
    when a service is out, so the provider delivers it again later.
    """
    raw = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    signature = webhook_signature or stripe_signature
    if signature is not None and len(signature) > MAX_SIGNATURE_LENGTH:
        raise ApiError(401, "invalid_signature", "the signature header is too long to be one")
    settings = get_settings()
    received = payments.receive_webhook(
        settings, ReceivePaymentWebhookInput(body=raw, signature=signature)
    )
    if received.outcome == "rejected":
        raise ApiError(401, "invalid_signature", received.reason or "the webhook is not signed")
    answered = payments.answer_approval(settings, received)
    if received.order_id is not None:
        tracer.put_annotation("order_id", received.order_id)
    taken = WebhookTaken(
        received=True,
        outcome=received.outcome,
        order_id=received.order_id,
        delivered=answered.delivered if answered is not None else False,
    )
    return _json(200, taken)


@app.get(
    "/products",
    operation_id="listProducts",
    summary="The catalog, with prices and available stock",
    responses={200: {"description": "Every product, by sku."}, **errors(503)},
)
def list_products() -> ProductList:
    return ProductList(products=catalog.get_products(get_settings()).products)


@app.get(
    "/products/<sku>",
    operation_id="getProduct",
    summary="One product",
    responses={200: {"description": "The product."}, **errors(400, 404, 503)},
)
def get_product(sku: Annotated[Sku, Path()]) -> ProductView:
    found = catalog.get_products(get_settings(), [sku]).products
    if not found:
        raise ApiError(404, "product_not_found", f"no product with sku {sku}")
    return found[0]


def _log_refusal(error: ApiError) -> None:
    log = logger.warning if error.status < 500 else logger.error
    log("request refused", extra={"status": error.status, "code": error.code})


def _refuse(error: ApiError) -> Response[str]:
    _log_refusal(error)
    return Response(
        status_code=error.status, content_type=JSON, body=json.dumps(error.body()),
        headers=error.headers,
    )  # fmt: skip


def _invalid(error: RequestValidationError) -> Response[str]:
    """Powertools' validation errors, in this API's shape (errors.refused_request)."""
    return _refuse(refused_request(error.errors()))


def _dependency_error(error: DependencyUnavailableError) -> Response[str]:
    logger.exception("dependency unavailable")
    return _refuse(dependency_unavailable(error.message))


def _allowed_methods(resource: str) -> list[str]:
    """The methods routed on an API resource (`/checkouts/{order_id}`), as registered above."""
    return sorted(
        route.method
        for route in app._static_routes + app._dynamic_routes  # Powertools' route table
        if route.path.replace("<", "{").replace(">", "}") == resource
    )


def _not_found(_: Exception) -> Response[str]:
    event = app.current_event
    allowed = _allowed_methods(event.resource)
    if allowed:  # the template routes every other method on a known path here (ANY)
        return _refuse(ApiError(
            405, "method_not_allowed",
            f"{event.http_method} is not allowed on {event.resource}; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        ))  # fmt: skip
    return _refuse(ApiError(404, "route_not_found", f"no route {event.http_method} {event.path}"))


# Registered by call: Powertools' decorators are untyped.
app.exception_handler(ApiError)(_refuse)
app.exception_handler(RequestValidationError)(_invalid)
app.exception_handler(DependencyUnavailableError)(_dependency_error)
app.not_found(_not_found)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = transport.with_plain_headers(event)
    refused = transport.refusal(event)
    if refused is not None:  # before routing: the resolver would parse the body first
        _log_refusal(refused)
        return {
            "statusCode": refused.status,
            "headers": {"Content-Type": JSON},
            "body": json.dumps(refused.body()),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)

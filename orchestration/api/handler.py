"""Lambda: the checkout API (API Gateway REST, proxy integration)."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter, ValidationError

from orchestration.api import catalog, checkouts, payments
from orchestration.api.errors import dependency_unavailable, validation_error
from orchestration.api.models import MAX_BODY_BYTES, ApiError, CheckoutRequest, IdempotencyKey
from orchestration.api.settings import get_settings
from orchestration.spec import SAGA
from shared.contracts import MAX_WEBHOOK_BYTES, OrderId, ReceivePaymentWebhookInput, Sku
from shared.errors import DependencyUnavailableError
from shared.faults import FaultScheduleError, normalize
from shared.observability import logger, tracer

FAULT_HEADER = "X-Checkout-Fault"
FAULT_OPERATIONS = SAGA.fault_names
IDEMPOTENCY_HEADER = "Idempotency-Key"
# The providers' signature headers: the simulated provider's, then Stripe's.
WEBHOOK_SIGNATURE_HEADERS = ("Webhook-Signature", "Stripe-Signature")
# The polling hint while a checkout runs: a happy checkout takes well under a second, and every
# poll costs the shop a status read (docs/decisions.md).
POLL_AFTER_SECONDS = 1
VIEWS = ("status", "steps")

app = APIGatewayRestResolver()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(body),
        headers=headers,
    )  # fmt: skip


def _poll_hint(order_id: str) -> dict[str, str]:
    return {"Retry-After": str(POLL_AFTER_SECONDS), "Location": f"/checkouts/{order_id}"}


def _header(name: str) -> str | None:
    value = app.current_event.headers.get(name)  # case-insensitive, as HTTP headers are
    return value.strip() if isinstance(value, str) and value.strip() else None


def _checked(adapter: TypeAdapter[str], value: str | None, what: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise ApiError(400, "invalid_parameter", f"{what} is malformed: {value!r}") from None


_IDEMPOTENCY_KEY = TypeAdapter(IdempotencyKey)
_ORDER_ID = TypeAdapter(OrderId)
_SKU = TypeAdapter(Sku)


def _checkout_request() -> CheckoutRequest:
    content_type = (_header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = app.current_event.body or ""
    if len(raw.encode()) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error.msg}") from None
    except (ValueError, RecursionError):  # a 5,000-digit number, or nesting thousands deep
        raise ApiError(400, "invalid_json", "the body is not JSON this API accepts") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    try:
        return CheckoutRequest.model_validate(body)
    except ValidationError as error:
        raise validation_error(error) from None


def _fault() -> str | None:
    requested = _header(FAULT_HEADER)
    if requested is None:
        return None
    if get_settings().is_production:
        raise ApiError(400, "fault_injection_disabled", f"{FAULT_HEADER} is refused in production")
    try:
        return normalize(requested, FAULT_OPERATIONS)
    except FaultScheduleError as error:
        raise ApiError(400, "invalid_fault_schedule", f"{FAULT_HEADER}: {error}") from None


@app.post("/checkouts")
def start_checkout() -> Response[str]:
    key = _header(IDEMPOTENCY_HEADER)
    if key is None:
        raise ApiError(
            400, "idempotency_key_required", f"the {IDEMPOTENCY_HEADER} header is required"
        )
    key = _checked(_IDEMPOTENCY_KEY, key, IDEMPOTENCY_HEADER)
    request = _checkout_request()
    fault = _fault()
    accepted = checkouts.start_checkout(request, key, fault, get_settings())
    tracer.put_annotation("order_id", accepted.order_id)
    logger.append_keys(order_id=accepted.order_id)
    return _json(202, accepted.model_dump(), _poll_hint(accepted.order_id))


@app.get("/checkouts/<order_id>")
def get_checkout(order_id: str) -> Response[str]:
    order_id = _checked(_ORDER_ID, order_id, "order id")
    tracer.put_annotation("order_id", order_id)
    view = (
        checkouts.checkout_steps_view(order_id, get_settings())
        if _view_parameter() == "steps"
        else checkouts.checkout_view(order_id, get_settings())
    )
    return _json(200, view.model_dump(), _poll_hint(order_id) if view.status == "PENDING" else None)


def _view_parameter() -> str:
    """`?view=status` (the default: the order's record) or `?view=steps` (history reads too)."""
    view = (app.current_event.query_string_parameters or {}).get("view", "status")
    if view not in VIEWS:
        raise ApiError(
            400, "invalid_parameter", f"view must be one of {', '.join(VIEWS)}, not {view!r}"
        )
    return view


@app.post("/payments/webhook")
def payment_webhook() -> Response[str]:
    """The payment provider's signed webhook (the customer approved or declined a payment).

    200 once the payment service took it (applied now, applied before, or nothing to apply), so
    the provider stops redelivering; 401 for one whose signature does not verify (nothing is
    read or written); 503 when a service is out, so the provider delivers it again later.
    """
    raw = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    if len(raw.encode()) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "body_too_large", f"the body exceeds {MAX_WEBHOOK_BYTES} bytes")
    signature = next(
        (found for name in WEBHOOK_SIGNATURE_HEADERS if (found := _header(name))), None
    )
    settings = get_settings()
    received = payments.receive_webhook(
        settings, ReceivePaymentWebhookInput(body=raw, signature=signature)
    )
    if received.outcome == "rejected":
        raise ApiError(401, "invalid_signature", received.reason or "the webhook is not signed")
    answered = payments.answer_approval(settings, received)
    if received.order_id is not None:
        tracer.put_annotation("order_id", received.order_id)
    return _json(
        200,
        {
            "received": True,
            "outcome": received.outcome,
            "order_id": received.order_id,
            "delivered": answered.delivered if answered is not None else False,
        },
    )


@app.get("/products")
def list_products() -> Response[str]:
    products = catalog.get_products(get_settings()).products
    return _json(200, {"products": [product.model_dump() for product in products]})


@app.get("/products/<sku>")
def get_product(sku: str) -> Response[str]:
    sku = _checked(_SKU, sku, "sku")
    found = catalog.get_products(get_settings(), [sku]).products
    if not found:
        raise ApiError(404, "product_not_found", f"no product with sku {sku}")
    return _json(200, found[0].model_dump())


def _refuse(error: ApiError) -> Response[str]:
    log = logger.warning if error.status < 500 else logger.error
    log("request refused", extra={"status": error.status, "code": error.code})
    return _json(error.status, error.body())


def _dependency_error(error: DependencyUnavailableError) -> Response[str]:
    logger.exception("dependency unavailable")
    return _refuse(dependency_unavailable(error.message))


def _allowed_methods(resource: str) -> list[str]:
    """The methods routed on an API resource (`/checkouts/{order_id}`), as registered below."""
    return sorted(
        route.method
        for route in app._static_routes + app._dynamic_routes  # Powertools' route table
        if route.path.replace("<", "{").replace(">", "}") == resource
    )


def _not_found(_: Exception) -> Response[str]:
    event = app.current_event
    allowed = _allowed_methods(event.resource)
    if allowed:  # the template routes every other method on a known path here (ANY)
        error = ApiError(
            405, "method_not_allowed",
            f"{event.http_method} is not allowed on {event.resource}; use {', '.join(allowed)}",
        )  # fmt: skip
        return _json(405, error.body(), {"Allow": ", ".join(allowed)})
    return _refuse(ApiError(404, "route_not_found", f"no route {event.http_method} {event.path}"))


# Registered by call: Powertools' decorators are untyped.
app.exception_handler(ApiError)(_refuse)
app.exception_handler(DependencyUnavailableError)(_dependency_error)
app.not_found(_not_found)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The responses each route declares beyond its success: they become docs/openapi.yaml."""

from __future__ import annotations

from typing import Any

from orchestration.api.models import ErrorBody

JSON = "application/json"

# Sent with a checkout while it is PENDING (the 202, and the 200 of a poll).
CHECKOUT_HEADERS: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before polling the checkout again (sent while it is "
        "PENDING).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Location": {
        "description": "Where to poll the checkout, `/checkouts/{order_id}`.",
        "schema": {"type": "string"},
    },
}

ERROR_DESCRIPTIONS = {
    400: "A header, path or query parameter is missing or malformed, or the body is not JSON "
    "(the error names which).",
    401: "The signature is missing, wrong or older than 300 s (`invalid_signature`); nothing was "
    "read or written.",
    404: "No such checkout or product.",
    409: "The Idempotency-Key was used before for a different request (`idempotency_key_reused`).",
    413: "The body is larger than this operation takes (`body_too_large`).",
    415: "The body is not sent as application/json (`unsupported_media_type`).",
    422: "The body is JSON but not a valid request, or names a sku the catalog does not have "
    "(`unknown_sku`); `details` names each field.",
    429: "Throttled (by API Gateway, or a service's capacity); retry with backoff.",
    503: "A service the API needs is out (`dependency_unavailable`); retry shortly.",
}


def errors(*statuses: int) -> dict[int, Any]:
    """The error responses of a route: each one this API's JSON error body (ErrorBody)."""
    return {
        status: {"description": ERROR_DESCRIPTIONS[status], "content": {JSON: {"model": ErrorBody}}}
        for status in statuses
    }

"""What is done before routing: the headers made plain, the body's media type, size and syntax.

Powertools' validation parses the body as JSON when no Content-Type is sent, as a form when one
is, and lets a 5,000-digit number or nesting thousands deep escape as a 500; and it runs before
any middleware of ours. So the transport's limits are kept here, on the raw event, and a request
that passes them reaches the resolver with a body it can parse.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from orchestration.api.models import MAX_BODY_BYTES, ApiError
from shared.contracts import MAX_WEBHOOK_BYTES


@dataclass(frozen=True)
class BodyRule:
    max_bytes: int
    json_only: bool  # the body must be sent as application/json, and be JSON


# Per route, as API Gateway names it (method, resource). The webhook's body is read raw (the
# signature is over its bytes), so only its size is checked here.
BODY_RULES = {
    ("POST", "/checkouts"): BodyRule(MAX_BODY_BYTES, json_only=True),
    ("POST", "/payments/webhook"): BodyRule(MAX_WEBHOOK_BYTES, json_only=False),
}


def with_plain_headers(event: dict[str, Any]) -> dict[str, Any]:
    """The event with each header once, trimmed, and an empty one left out; the media type in
    lower case. As the hand-written handler read them: a header sent twice counts by its last
    value (Powertools would refuse it as a list), `Idempotency-Key: ` is a missing key, an
    empty `X-Checkout-Fault` no schedule, and `Application/JSON` JSON (Powertools compares
    the media type case-sensitively and answers 415 in a shape of its own)."""
    headers: dict[str, str] = {}
    for name, value in (event.get("headers") or {}).items():
        headers[str(name)] = str(value).strip() if value is not None else ""
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values:
            headers[str(name)] = str(values[-1]).strip()
    plain = {name: value for name, value in headers.items() if value}
    for name in [name for name in plain if name.lower() == "content-type"]:
        media, _, parameters = plain[name].partition(";")
        plain[name] = media.strip().lower() + (f";{parameters}" if parameters else "")
    return {
        **event,
        "headers": plain,
        "multiValueHeaders": {name: [value] for name, value in plain.items()},
    }


def refusal(event: dict[str, Any]) -> ApiError | None:
    """Why the request's body is refused before routing, or None."""
    rule = BODY_RULES.get((str(event.get("httpMethod")), str(event.get("resource"))))
    if rule is None:
        return None
    raw = _body_bytes(event)
    if rule.json_only and _media_type(event) != "application/json":
        return ApiError(415, "unsupported_media_type", "send the body as application/json")
    if len(raw) > rule.max_bytes:
        return ApiError(413, "body_too_large", f"the body exceeds {rule.max_bytes} bytes")
    if rule.json_only:
        return _json_refusal(raw)
    return None


def _body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def _media_type(event: dict[str, Any]) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    return str(headers.get("content-type") or "").split(";")[0].strip().lower()


def _json_refusal(raw: bytes) -> ApiError | None:
    try:
        json.loads(raw)
    except json.JSONDecodeError as error:
        return ApiError(400, "invalid_json", f"the body is not valid JSON: {error.msg}")
    except (ValueError, RecursionError):  # a 5,000-digit number, or nesting thousands deep
        return ApiError(400, "invalid_json", "the body is not JSON this API accepts")
    return None

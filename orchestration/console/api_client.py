"""The console's calls to the checkout API: the catalog, and a checkout started from Try it.

Over HTTP, as a storefront calls it, so Try it goes through the same validation, idempotency
and fault header as any client (`X-Checkout-Fault`, shared/faults.py).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

TIMEOUT_SECONDS = 15


class ApiUnavailableError(Exception):
    """The checkout API did not answer."""


def _call(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as refused:
        body = refused.read()
        try:
            return refused.code, json.loads(body or b"null")
        except ValueError:
            text = body.decode(errors="replace")
            return refused.code, {"error": {"code": "http", "message": text}}
    except (urllib.error.URLError, OSError) as error:
        raise ApiUnavailableError(
            f"the checkout API at {request.full_url} is unreachable: {error}"
        ) from None


def products(api_url: str) -> list[dict[str, Any]]:
    status, answer = _call(urllib.request.Request(f"{api_url}/products"))
    if status != 200:
        raise ApiUnavailableError(f"GET /products answered {status}")
    found: list[dict[str, Any]] = answer["products"]
    return found


def start_checkout(api_url: str, checkout: dict[str, Any], fault: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"console-{uuid.uuid4()}"}
    if fault:
        headers["X-Checkout-Fault"] = fault
    request = urllib.request.Request(
        f"{api_url}/checkouts", data=json.dumps(checkout).encode(), headers=headers, method="POST"
    )
    return _call(request)

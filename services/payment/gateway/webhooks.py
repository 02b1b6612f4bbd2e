"""The simulated provider's webhooks: what they say, and how they are signed and verified.

Signed as the big providers sign theirs (Stripe's scheme): the header
`Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` under a secret the
provider and the service share. Verification recomputes it over the raw bytes received, compares in
constant time, and refuses a timestamp more than `TOLERANCE_SECONDS` away from now, so a captured
webhook cannot be replayed later; one replayed within the window changes nothing, because applying
an event is idempotent (`logic.receive_payment_webhook`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.contracts import OrderId

SIGNATURE_HEADER = "Webhook-Signature"
TOLERANCE_SECONDS = 300
APPROVED = "payment.approval.approved"
DECLINED = "payment.approval.declined"


class WebhookRejectedError(Exception):
    """The webhook is not one the provider sent (bad or stale signature, or malformed)."""


class ApprovalData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    order_id: OrderId
    authorization_id: str


class WebhookEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    type: Literal["payment.approval.approved", "payment.approval.declined"] | str
    created: int
    data: ApprovalData | None = None

    @property
    def approved(self) -> bool:
        return self.type == APPROVED


def approval_event(order_id: str, authorization_id: str, approved: bool, created: int) -> str:
    """The body of the webhook that tells the customer's answer: one event id per answer, so a
    resend is recognisably the same event."""
    kind = APPROVED if approved else DECLINED
    event_id = "evt_" + hashlib.sha256(f"{authorization_id}:{kind}".encode()).hexdigest()[:24]
    data = {"order_id": order_id, "authorization_id": authorization_id}
    return json.dumps({"id": event_id, "type": kind, "created": created, "data": data})


def _digest(secret: str, body: str, timestamp: int) -> str:
    signed = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: str, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: str, body: str, header: str | None, now: float) -> WebhookEvent:
    """The event, if `header` signs `body` under `secret` and is fresh; else WebhookRejectedError
    saying which (never echoing the signature)."""
    if not header:
        raise WebhookRejectedError(f"the {SIGNATURE_HEADER} header is missing")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    # ASCII digits and hex only: str.isdigit() admits "²", compare_digest refuses non-ASCII
    if not re.fullmatch(r"[0-9]{1,12}", timestamp) or not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise WebhookRejectedError(f"the {SIGNATURE_HEADER} header is malformed")
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRejectedError(
            f"the signature's timestamp is more than {TOLERANCE_SECONDS} s from now (a replay?)"
        )
    if not hmac.compare_digest(_digest(secret, body, int(timestamp)), signature):
        raise WebhookRejectedError("the signature does not match the body")
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError:
        raise WebhookRejectedError("the signed body is not a webhook event") from None


DELIVERY_ATTEMPTS = 3
DELIVERY_TIMEOUT_SECONDS = 10


def deliver(url: str, body: str, signature: str) -> int:
    """POST the webhook as a provider does, retrying what may be transient (a connection error,
    a 5xx); the HTTP status of the last attempt, or 0 when it never got an answer."""
    status = 0
    for _ in range(DELIVERY_ATTEMPTS):
        request = urllib.request.Request(
            url,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            status = error.code
            if status < 500:
                return status  # refused: sending it again would be refused again
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            status = 0
    return status

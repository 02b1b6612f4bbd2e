"""The simulated provider's approval page: what the customer sees, and what their answer does.

A real provider (3-D Secure at the card issuer) hosts this page itself; the simulated one serves it
from the payment service so a checkout that needs approval can be played locally: a GET shows the
page, a plain POST to the approve or decline link records the answer at the provider and sends the
signed webhook to the checkout API, as the provider would. Answering again the same way sends the
webhook again (a provider's redelivery); the other way is refused.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from services.payment.dal.secrets import secure_parameter
from services.payment.gateway import simulated_provider
from services.payment.gateway.webhooks import approval_event, deliver, sign
from services.payment.logic.keys import authorize_key
from services.payment.settings import PaymentSettings
from shared.errors import InvalidInputError, PaymentNotCapturableError


@dataclass(frozen=True)
class Page:
    status: int
    body: str  # HTML


def approval_page(order_id: str, authorization_id: str, settings: PaymentSettings) -> Page:
    provider = simulated_provider(settings)
    entry = provider.approval_entry(authorize_key(order_id), authorization_id)
    if entry is None:
        return _page(404, "Unknown payment", "No payment awaits approval at this address.")
    amount = entry.amount
    what = f"{amount.amount / 100:.2f} {amount.currency}" if amount else "this payment"
    if not entry.awaits_approval or entry.settled_by is not None:
        state = entry.approval if entry.settled_by is None else "cancelled"
        return _page(200, "Payment approval", f"This payment was {html.escape(str(state))}.")
    buttons = (
        # relative to either link (…/approve or …/decline), whatever prefix serves the page
        '<form method="post" action="approve"><button autofocus>Approve</button></form>'
        '<form method="post" action="decline"><button>Decline</button></form>'
    )
    return _page(
        200,
        "Approve this payment?",
        f"<p>Order <code>{html.escape(order_id)}</code> asks for {html.escape(what)}.</p>"
        f'<div class="buttons">{buttons}</div>',
    )


def answer(order_id: str, authorization_id: str, approved: bool, settings: PaymentSettings) -> Page:
    provider = simulated_provider(settings)
    try:
        provider.answer_approval(
            authorization_key=authorize_key(order_id),
            authorization_id=authorization_id,
            approved=approved,
        )
    except InvalidInputError as error:
        return _page(404, "Unknown payment", html.escape(error.message))
    except PaymentNotCapturableError as error:
        return _page(409, "Too late", html.escape(error.message))
    if not settings.payment_webhook_url or not settings.payment_webhook_secret_parameter:
        return _page(503, "Not configured", "The provider has no webhook endpoint to tell.")
    secret = secure_parameter(settings.payment_webhook_secret_parameter, settings.aws_region)
    now = int(time.time())
    body = approval_event(order_id, authorization_id, approved, now)
    status = deliver(settings.payment_webhook_url, body, sign(secret, body, now))
    if not 200 <= status < 300:
        return _page(
            502, "Answer recorded", f"The shop did not take the answer (HTTP {status}); try again."
        )
    word = "approved" if approved else "declined"
    return _page(200, f"Payment {word}", f"You {word} the payment. You can close this page.")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#111}"
    ".buttons{display:flex;gap:1rem}button{font-size:1.1rem;padding:.6rem 1.4rem}"
)


def _page(status: int, title: str, content: str) -> Page:
    return Page(
        status,
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{content}"
        "<p><small>Simulated payment provider: no real money moves.</small></p></body></html>",
    )

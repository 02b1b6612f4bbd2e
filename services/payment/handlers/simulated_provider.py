"""Lambda: the simulated provider's approval page (API events of the payment template).

    GET  /simulated-provider/approvals/{order_id}/{authorization_id}/approve   the page
    POST /simulated-provider/approvals/{order_id}/{authorization_id}/approve   approve
    POST /simulated-provider/approvals/{order_id}/{authorization_id}/decline   decline

(a GET of the decline link shows the page too). Only for the simulated provider: a real one hosts
its own page (logic.simulated_approval).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.payment.bootstrap import start
from services.payment.logic.simulated_approval import Page, answer, approval_page
from shared.observability import logger, tracer

app = APIGatewayRestResolver()
PAGE = "/simulated-provider/approvals/<order_id>/<authorization_id>/<choice>"
CHOICES = ("approve", "decline")


def _html(page: Page) -> Response[str]:
    return Response(
        status_code=page.status,
        content_type="text/html; charset=utf-8",
        body=page.body,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def _unknown() -> Response[str]:
    return _html(Page(404, "<!doctype html><title>Not found</title><h1>Not found</h1>"))


@app.get(PAGE)
def show(order_id: str, authorization_id: str, choice: str) -> Response[str]:
    if choice not in CHOICES:
        return _unknown()
    return _html(approval_page(order_id, authorization_id, start()))


@app.post(PAGE)
def choose(order_id: str, authorization_id: str, choice: str) -> Response[str]:
    if choice not in CHOICES:
        return _unknown()
    logger.append_keys(order_id=order_id)
    return _html(answer(order_id, authorization_id, choice == "approve", start()))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

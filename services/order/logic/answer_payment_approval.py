"""The customer's answer to the payment approval, from the provider's webhook via the checkout API:
keep it on the order and complete the saga's waiting task.

Idempotent: a second delivery of the same answer completes the task again (Step Functions ignores
a token already used), so a crash between keeping the answer and completing the task is repaired
by the provider's redelivery. An order no longer PENDING (cancelled when the wait timed out) keeps
its outcome: the late answer changes nothing.
"""

from __future__ import annotations

from services.order.dal import orders
from services.order.gateway.saga import complete_wait
from services.order.models import Order, OrderStatus
from services.order.settings import OrderSettings
from shared.contracts import AnswerPaymentApprovalInput, AnswerPaymentApprovalOutput
from shared.observability import logger


def answer_payment_approval(
    request: AnswerPaymentApprovalInput, settings: OrderSettings
) -> AnswerPaymentApprovalOutput:
    answer, token = request, None
    try:
        token = orders.record_approval_answer(request.order_id, request)
    except orders.OrderChangedError:
        order = orders.get_order(request.order_id)
        if order is None or order.status is not OrderStatus.PENDING:
            logger.info("approval answer too late", extra={"order_status": _status(order)})
            return AnswerPaymentApprovalOutput(order_id=request.order_id, delivered=False)
        answer = order.approval_answer or request  # the first answer kept is the answer
        token = order.approval_token
    if token is None:  # the wait has not begun: it finds the answer and completes itself
        return AnswerPaymentApprovalOutput(order_id=request.order_id, delivered=False)
    delivered = complete_wait(token, answer, settings.aws_region)
    return AnswerPaymentApprovalOutput(order_id=request.order_id, delivered=delivered)


def _status(order: Order | None) -> str:
    return order.status.value if order is not None else "missing"

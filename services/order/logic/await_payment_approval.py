"""Wait for the customer to approve the payment: the order shows the next action and keeps the
saga's task token (invoked by the state machine with `.waitForTaskToken`).

The customer's answer reaches `answer_payment_approval` through the provider's webhook, maybe
before this runs (a fast customer, a retried invocation): whichever of the two comes second
completes the task, because both write conditionally on the other's field.
"""

from __future__ import annotations

from services.order.dal import orders
from services.order.gateway.saga import complete_wait
from services.order.models import OrderStatus
from services.order.settings import OrderSettings
from shared.contracts import AwaitPaymentApprovalInput, AwaitPaymentApprovalOutput
from shared.errors import DependencyUnavailableError, OrderNotPendingError


def await_payment_approval(
    task: AwaitPaymentApprovalInput, settings: OrderSettings
) -> AwaitPaymentApprovalOutput:
    try:
        # The newest token wins: a retried invocation's token replaces the failed one's.
        orders.await_approval(task.order_id, task.task_token, task.next_action)
    except orders.OrderChangedError:
        order = orders.get_order(task.order_id)
        if order is None or order.status is not OrderStatus.PENDING:
            status = order.status.value if order is not None else "missing"
            raise OrderNotPendingError(
                f"order {task.order_id} is {status}; it cannot wait for an approval"
            ) from None
        if order.approval_answer is None:  # the condition failed and nothing explains it
            raise DependencyUnavailableError(
                f"order {task.order_id} changed while it was set to wait; retry"
            ) from None
        complete_wait(task.task_token, order.approval_answer, settings.aws_region)
        return AwaitPaymentApprovalOutput(order_id=task.order_id, status="ANSWERED")
    return AwaitPaymentApprovalOutput(order_id=task.order_id, status="WAITING")

"""The payment provider's webhook: the payment service checks and applies it, the order service
hands the customer's answer to the waiting saga. The API only carries it between them."""

from __future__ import annotations

from orchestration import aws
from orchestration.api.settings import CheckoutApiSettings
from shared.contracts import (
    AnswerPaymentApprovalInput,
    AnswerPaymentApprovalOutput,
    ReceivePaymentWebhookInput,
    ReceivePaymentWebhookOutput,
)


def receive_webhook(
    settings: CheckoutApiSettings, request: ReceivePaymentWebhookInput
) -> ReceivePaymentWebhookOutput:
    return ReceivePaymentWebhookOutput.model_validate(
        aws.invoke_function(settings.receive_payment_webhook_function_arn, request.model_dump())
    )


def answer_approval(
    settings: CheckoutApiSettings, received: ReceivePaymentWebhookOutput
) -> AnswerPaymentApprovalOutput | None:
    """Tell the saga what the customer answered; None when the webhook told nothing to pass on."""
    if received.outcome not in ("approved", "declined") or received.order_id is None:
        return None
    answer = AnswerPaymentApprovalInput(
        order_id=received.order_id,
        approved=received.outcome == "approved",
        payment=received.payment,
        reason=received.reason,
    )
    return AnswerPaymentApprovalOutput.model_validate(
        aws.invoke_function(
            settings.answer_payment_approval_function_arn, answer.model_dump(mode="json")
        )
    )

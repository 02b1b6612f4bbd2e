"""Lambda: the customer's answer to a payment approval (invoked by the checkout API when the
provider's webhook arrives); completes the saga's waiting task."""

from services.order.bootstrap import start
from services.order.logic.answer_payment_approval import answer_payment_approval
from services.order.settings import OrderSettings
from shared.contracts import AnswerPaymentApprovalInput, AnswerPaymentApprovalOutput
from shared.direct_function import direct_function


@direct_function(
    name="answer_payment_approval", input_model=AnswerPaymentApprovalInput, settings=start
)
def lambda_handler(
    request: AnswerPaymentApprovalInput, settings: OrderSettings
) -> AnswerPaymentApprovalOutput:
    return answer_payment_approval(request, settings)

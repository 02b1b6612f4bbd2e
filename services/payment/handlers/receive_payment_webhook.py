"""Lambda: apply the payment provider's signed webhook (invoked by the checkout API's
`POST /payments/webhook`, which then hands the answer to the waiting saga)."""

from services.payment.bootstrap import start
from services.payment.logic.receive_payment_webhook import receive_payment_webhook
from services.payment.settings import PaymentSettings
from shared.contracts import ReceivePaymentWebhookInput, ReceivePaymentWebhookOutput
from shared.direct_function import direct_function


@direct_function(
    name="receive_payment_webhook", input_model=ReceivePaymentWebhookInput, settings=start
)
def lambda_handler(
    request: ReceivePaymentWebhookInput, settings: PaymentSettings
) -> ReceivePaymentWebhookOutput:
    return receive_payment_webhook(request, settings)

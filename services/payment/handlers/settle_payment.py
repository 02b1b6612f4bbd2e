"""Lambda: record a hold an operator settled at the provider (invoked by `checkout resolve`)."""

from services.payment.bootstrap import start
from services.payment.logic.settle_payment import settle_payment
from services.payment.settings import PaymentSettings
from shared.contracts import SettlePaymentInput, SettlePaymentOutput
from shared.direct_function import direct_function


@direct_function(name="settle_payment", input_model=SettlePaymentInput, settings=start)
def lambda_handler(request: SettlePaymentInput, settings: PaymentSettings) -> SettlePaymentOutput:
    return settle_payment(request)

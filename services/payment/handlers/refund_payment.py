"""Lambda: refund an order's charge (saga step 3, compensation)."""

from services.payment.bootstrap import start
from services.payment.logic.refund_payment import refund_payment
from services.payment.settings import PaymentSettings
from shared.contracts import RefundPaymentInput, RefundPaymentOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="refund_payment",
    phase=Phase.COMPENSATION,
    fault_name="payment.refund",
    input_model=RefundPaymentInput,
    settings=start,
)
def lambda_handler(task: RefundPaymentInput, settings: PaymentSettings) -> RefundPaymentOutput:
    return refund_payment(task, settings)

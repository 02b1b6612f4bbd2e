"""Lambda: take the authorized amount once the order is confirmed (saga step 5, retriable)."""

from services.payment.bootstrap import start
from services.payment.logic.capture_payment import capture_payment
from services.payment.settings import PaymentSettings
from shared.contracts import CapturePaymentInput, CapturePaymentOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="capture_payment",
    phase=Phase.ACTION,
    fault_name="payment.capture",
    input_model=CapturePaymentInput,
    settings=start,
)
def lambda_handler(task: CapturePaymentInput, settings: PaymentSettings) -> CapturePaymentOutput:
    return capture_payment(task, settings)

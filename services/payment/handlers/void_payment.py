"""Lambda: release the order's authorization (saga step 3, compensation)."""

from services.payment.bootstrap import start
from services.payment.logic.void_payment import void_payment
from services.payment.settings import PaymentSettings
from shared.contracts import VoidPaymentInput, VoidPaymentOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="void_payment",
    phase=Phase.COMPENSATION,
    fault_name="payment.void",
    input_model=VoidPaymentInput,
    settings=start,
)
def lambda_handler(task: VoidPaymentInput, settings: PaymentSettings) -> VoidPaymentOutput:
    return void_payment(task, settings)

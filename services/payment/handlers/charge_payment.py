"""Lambda: charge the customer for an order (saga step 3, action)."""

from services.payment.bootstrap import start
from services.payment.logic.charge_payment import charge_payment
from services.payment.settings import PaymentSettings
from shared.contracts import ChargePaymentInput, ChargePaymentOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="charge_payment",
    phase=Phase.ACTION,
    fault_name="payment.charge",
    input_model=ChargePaymentInput,
    settings=start,
)
def lambda_handler(task: ChargePaymentInput, settings: PaymentSettings) -> ChargePaymentOutput:
    return charge_payment(task, settings)

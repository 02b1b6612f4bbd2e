"""Lambda: hold the order's total on the customer's card (saga step 3, action)."""

from services.payment.bootstrap import start
from services.payment.logic.authorize_payment import authorize_payment
from services.payment.settings import PaymentSettings
from shared.contracts import AuthorizePaymentInput, AuthorizePaymentOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="authorize_payment",
    phase=Phase.ACTION,
    fault_name="payment.authorize",
    input_model=AuthorizePaymentInput,
    settings=start,
)
def lambda_handler(
    task: AuthorizePaymentInput, settings: PaymentSettings
) -> AuthorizePaymentOutput:
    return authorize_payment(task, settings)

"""Lambda: show the customer's next action and keep the saga's task token (saga step 3's
approval; invoked with `.waitForTaskToken`, so the saga resumes when the answer comes)."""

from services.order.bootstrap import start
from services.order.logic.await_payment_approval import await_payment_approval
from services.order.settings import OrderSettings
from shared.contracts import AwaitPaymentApprovalInput, AwaitPaymentApprovalOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="await_payment_approval",
    phase=Phase.ACTION,
    fault_name="order.await_approval",
    input_model=AwaitPaymentApprovalInput,
    settings=start,
)
def lambda_handler(
    task: AwaitPaymentApprovalInput, settings: OrderSettings
) -> AwaitPaymentApprovalOutput:
    return await_payment_approval(task, settings)

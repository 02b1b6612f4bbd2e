"""Lambda: cancel an order with the reason of the failure (saga step 1, compensation)."""

from services.order.bootstrap import start
from services.order.logic.cancel_order import cancel_order
from services.order.settings import OrderSettings
from shared.contracts import CancelOrderInput, CancelOrderOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="cancel_order",
    phase=Phase.COMPENSATION,
    fault_name="order.cancel",
    input_model=CancelOrderInput,
    settings=start,
)
def lambda_handler(task: CancelOrderInput, settings: OrderSettings) -> CancelOrderOutput:
    return cancel_order(task)

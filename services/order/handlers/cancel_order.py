"""Lambda: cancel an order with the reason of the failure (saga step 1, compensation)."""

from services.order.logic.cancel_order import cancel_order
from services.order.settings import OrderSettings, get_settings
from shared.contracts import CancelOrderInput, CancelOrderOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="cancel_order",
    phase=Phase.COMPENSATION,
    fault_name="order.cancel",
    input_model=CancelOrderInput,
    settings=get_settings,
)
def lambda_handler(task: CancelOrderInput, settings: OrderSettings) -> CancelOrderOutput:
    return cancel_order(task, settings)

"""Lambda: confirm an order (saga step 4, the pivot; it has no compensation)."""

from services.order.bootstrap import start
from services.order.logic.confirm_order import confirm_order
from services.order.settings import OrderSettings
from shared.contracts import ConfirmOrderInput, ConfirmOrderOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="confirm_order",
    phase=Phase.ACTION,
    fault_name="order.confirm",
    input_model=ConfirmOrderInput,
    settings=start,
)
def lambda_handler(task: ConfirmOrderInput, settings: OrderSettings) -> ConfirmOrderOutput:
    return confirm_order(task)

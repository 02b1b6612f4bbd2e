"""Lambda: create an order as PENDING (saga step 1, action)."""

from services.order.bootstrap import start
from services.order.logic.create_order import create_order
from services.order.settings import OrderSettings
from shared.contracts import CreateOrderInput, CreateOrderOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="create_order",
    phase=Phase.ACTION,
    fault_name="order.create",
    input_model=CreateOrderInput,
    settings=start,
)
def lambda_handler(task: CreateOrderInput, settings: OrderSettings) -> CreateOrderOutput:
    return create_order(task)

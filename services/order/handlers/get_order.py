"""Lambda: read one order (invoked directly by the checkout API's status read, not by the saga)."""

from services.order.bootstrap import start
from services.order.logic.get_order import get_order
from services.order.settings import OrderSettings
from shared.contracts import GetOrderInput, GetOrderOutput
from shared.direct_function import direct_function


@direct_function(name="get_order", input_model=GetOrderInput, settings=start)
def lambda_handler(request: GetOrderInput, settings: OrderSettings) -> GetOrderOutput:
    return get_order(request)

"""Lambda: reserve stock for every line of an order (saga step 2, action)."""

from services.inventory.bootstrap import start
from services.inventory.logic.reserve_stock import reserve_stock
from services.inventory.settings import InventorySettings
from shared.contracts import ReserveStockInput, ReserveStockOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="reserve_stock",
    phase=Phase.ACTION,
    fault_name="inventory.reserve",
    input_model=ReserveStockInput,
    settings=start,
)
def lambda_handler(task: ReserveStockInput, settings: InventorySettings) -> ReserveStockOutput:
    return reserve_stock(task)

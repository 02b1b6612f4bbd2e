"""Lambda: release an order's reservation (saga step 2, compensation)."""

from services.inventory.bootstrap import start
from services.inventory.logic.release_stock import release_stock
from services.inventory.settings import InventorySettings
from shared.contracts import ReleaseStockInput, ReleaseStockOutput
from shared.observability import Phase
from shared.saga_task import saga_task


@saga_task(
    step="release_stock",
    phase=Phase.COMPENSATION,
    fault_name="inventory.release",
    input_model=ReleaseStockInput,
    settings=start,
)
def lambda_handler(task: ReleaseStockInput, settings: InventorySettings) -> ReleaseStockOutput:
    return release_stock(task)

"""Lambda: read the catalog (invoked directly by the checkout API, not by the saga)."""

from services.inventory.bootstrap import start
from services.inventory.logic.get_products import get_products
from services.inventory.settings import InventorySettings
from shared.contracts import GetProductsInput, GetProductsOutput
from shared.direct_function import direct_function


@direct_function(name="get_products", input_model=GetProductsInput, settings=start)
def lambda_handler(request: GetProductsInput, settings: InventorySettings) -> GetProductsOutput:
    return get_products(request)

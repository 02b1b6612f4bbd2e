"""Read the catalog for the checkout API: every product, or the requested skus and the missing."""

from __future__ import annotations

from services.inventory.dal import stock
from services.inventory.models import Product
from shared.contracts import GetProductsInput, GetProductsOutput, ProductView


def get_products(request: GetProductsInput) -> GetProductsOutput:
    if request.skus is None:
        return GetProductsOutput(products=[_view(p) for p in stock.list_products()], missing=[])
    found = stock.get_products(request.skus)
    return GetProductsOutput(
        products=[_view(found[sku]) for sku in sorted(found)],
        missing=[sku for sku in request.skus if sku not in found],
    )


def _view(product: Product) -> ProductView:
    return ProductView(
        sku=product.sku,
        name=product.name,
        price=product.unit_price,
        currency=product.currency,
        available=product.available,
    )

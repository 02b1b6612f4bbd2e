"""The demo catalog the local cloud seeds (prices in minor units)."""

from __future__ import annotations

from services.inventory.models import Product

DEMO_CATALOG = [
    Product(sku="SKU-TSHIRT", name="Saga T-shirt", unit_price=1_999, currency="EUR", available=100),
    Product(sku="SKU-MUG", name="Compensation mug", unit_price=1_250, currency="EUR", available=50),
    Product(sku="SKU-POSTER", name="State machine poster", unit_price=899, currency="EUR",
            available=25),
    Product(sku="SKU-RARE", name="Signed first edition", unit_price=9_900, currency="EUR",
            available=1),
    # a limited drop: many buyers race for few units (the e2e race test and the benchmark)
    Product(sku="SKU-DROP", name="Limited drop sneaker", unit_price=14_900, currency="EUR",
            available=20),
]  # fmt: skip


def seed(products: list[Product] = DEMO_CATALOG) -> int:
    """Write the catalog through the inventory service's own dal (bound by the caller)."""
    from services.inventory.dal import stock

    for product in products:
        stock.put_product(product)
    return len(products)

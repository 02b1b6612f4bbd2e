"""The checkout API: a backend for the storefront in front of the saga and the catalog.

POST /checkouts starts a saga (one per Idempotency-Key), GET /checkouts/{order_id} reads its
status from the order service's get_order function (and the parked record; `?view=steps` adds the
executions' step timeline), GET /products[/{sku}] reads the catalog through the inventory
service's get_products function. The API owns no table.
"""

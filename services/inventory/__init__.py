"""Inventory service: the catalog (sku, name, price, available stock) and stock reservations.

Lambdas: `reserve_stock` (action, all lines or none) and `release_stock` (its compensation),
and `get_products`, the catalog read the checkout API invokes directly (not a saga step).
"""

"""What the inventory functions do to their tables, declared beside the code that does it.

`TABLES`: the stored record of each table of the template; `ACTIONS`: per function, the DynamoDB
actions its code calls on each table (PynamoDB calls, transactions included). The infrastructure
tests hold the template to both: key schemas match the records, and every function's policy
grants exactly these actions on exactly its own tables.
"""

from __future__ import annotations

from pynamodb.models import Model

from services.inventory.dal.records import ProductRecord, ReservationRecord

TABLES: dict[str, type[Model]] = {
    "ProductsTable": ProductRecord,
    "ReservationsTable": ReservationRecord,
}
ACTIONS: dict[str, dict[str, set[str]]] = {
    "ReserveStockFunction": {
        "ProductsTable": {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        "ReservationsTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
    },
    "ReleaseStockFunction": {
        "ProductsTable": {"dynamodb:UpdateItem"},
        "ReservationsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    },
    "GetProductsFunction": {"ProductsTable": {"dynamodb:BatchGetItem", "dynamodb:Scan"}},
}

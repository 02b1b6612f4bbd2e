"""What the order functions do to their tables, declared beside the code that does it.

`TABLES`: the stored record of each table of the template; `ACTIONS`: per function, the DynamoDB
actions its code calls on each table (PynamoDB calls, transactions included). The infrastructure
tests hold the template to both: key schemas match the records, and every function's policy
grants exactly these actions on exactly its own tables.
"""

from __future__ import annotations

from pynamodb.models import Model

from services.order.dal.records import OrderRecord

TABLES: dict[str, type[Model]] = {"OrdersTable": OrderRecord}
ACTIONS: dict[str, dict[str, set[str]]] = {
    "CreateOrderFunction": {"OrdersTable": {"dynamodb:GetItem", "dynamodb:PutItem"}},
    "ConfirmOrderFunction": {"OrdersTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    "CancelOrderFunction": {
        "OrdersTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    },
    "GetOrderFunction": {"OrdersTable": {"dynamodb:GetItem"}},
    "AwaitPaymentApprovalFunction": {"OrdersTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    "AnswerPaymentApprovalFunction": {"OrdersTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
}
# Beyond the table: completing the waiting saga's task (gateway.saga).
_RESUME = {"states:SendTaskSuccess", "states:SendTaskFailure"}
OTHER_ACTIONS: dict[str, set[str]] = {
    "AwaitPaymentApprovalFunction": _RESUME,
    "AnswerPaymentApprovalFunction": _RESUME,
}

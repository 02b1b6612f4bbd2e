"""What the payment functions do to their tables, declared beside the code that does it.

`TABLES`: the stored record of each table of the template; `ACTIONS`: per function, the DynamoDB
actions its code calls on each table (PynamoDB calls, transactions included). The infrastructure
tests hold the template to both: key schemas match the records, and every function's policy
grants exactly these actions on exactly its own tables.
"""

from __future__ import annotations

from pynamodb.models import Model

from services.payment.dal.records import PaymentRecord, SimulatedLedgerRecord

TABLES: dict[str, type[Model]] = {
    "PaymentsTable": PaymentRecord,
    "SimulatedProviderLedgerTable": SimulatedLedgerRecord,
}
ACTIONS: dict[str, dict[str, set[str]]] = {
    "ChargePaymentFunction": {
        "PaymentsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "SimulatedProviderLedgerTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
    },
    "RefundPaymentFunction": {
        "PaymentsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "SimulatedProviderLedgerTable": {"dynamodb:GetItem", "dynamodb:PutItem"},
    },
}

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
_RECORDS_AND_LEDGER = {
    "PaymentsTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    "SimulatedProviderLedgerTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
}
ACTIONS: dict[str, dict[str, set[str]]] = {
    "AuthorizePaymentFunction": _RECORDS_AND_LEDGER,
    "VoidPaymentFunction": _RECORDS_AND_LEDGER,
    "CapturePaymentFunction": {  # never creates a payment record, only moves one on
        **_RECORDS_AND_LEDGER,
        "PaymentsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    },
    # the webhook moves a REQUIRES_ACTION payment on; the approval page answers in the ledger
    "ReceivePaymentWebhookFunction": {"PaymentsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
    "SimulatedProviderFunction": {
        "SimulatedProviderLedgerTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    },
    # an operator's settlement moves a held payment on; it never calls the provider
    "SettlePaymentFunction": {"PaymentsTable": {"dynamodb:GetItem", "dynamodb:UpdateItem"}},
}
# Beyond the tables: the webhook signing secret (dal.secrets), read by who verifies or signs.
OTHER_ACTIONS: dict[str, set[str]] = {
    # the Stripe API key (services/payment/gateway/__init__.py), when the provider is stripe
    "AuthorizePaymentFunction": {"ssm:GetParameter"},
    "VoidPaymentFunction": {"ssm:GetParameter"},
    "CapturePaymentFunction": {"ssm:GetParameter"},
    "ReceivePaymentWebhookFunction": {"ssm:GetParameter"},
    "SimulatedProviderFunction": {"ssm:GetParameter"},
}

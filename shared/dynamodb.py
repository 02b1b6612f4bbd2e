"""DynamoDB plumbing every service's dal uses: binding models to tables, and error translation.

Only dal modules call into this; logic never sees PynamoDB. Table names come from the function's
settings at cold start (`bind_models`), not from import-time environment reads, so tests and the
local cloud bind the same models to whatever tables they created.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from shared.errors import DependencyUnavailableError

ModelT = TypeVar("ModelT", bound=Model)

# Codes worth a retry: capacity, throttling, service faults, and transactions that met another one.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
CONDITION_FAILED = "ConditionalCheckFailedException"


def bind_models(models: dict[type[Model], str], region: str) -> None:
    """Point each PynamoDB model at its table; resets the cached connection if anything changed."""
    for model, table_name in models.items():
        if model.Meta.table_name != table_name or model.Meta.region != region:
            model.Meta.table_name = table_name
            model.Meta.region = region
            model._connection = None  # PynamoDB caches the connection on the class


@cache
def transaction_connection(region: str) -> Connection:
    # host None: botocore honours AWS_ENDPOINT_URL (the local cloud, moto server) on its own.
    return Connection(region=region)


def is_condition_failure(error: PynamoDBException) -> bool:
    return error.cause_response_code == CONDITION_FAILED


def cancellation_codes(error: PynamoDBException) -> list[str | None]:
    """Per-item reasons of a cancelled transaction, in the order the items were added."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return [reason.code if reason is not None else None for reason in reasons]


@contextmanager
def dynamodb_errors(operation: str) -> Iterator[None]:
    """Turn throttling and service faults into DependencyUnavailableError; re-raise the rest."""
    try:
        yield
    except PynamoDBException as error:
        code = error.cause_response_code
        codes = set(cancellation_codes(error))
        if code in TRANSIENT_ERROR_CODES or codes & TRANSIENT_ERROR_CODES or code is None:
            raise DependencyUnavailableError(
                f"DynamoDB {operation} failed ({code or type(error.cause).__name__}); retry"
            ) from error
        raise


def get_or_none(model: type[ModelT], hash_key: str) -> ModelT | None:
    """A strongly consistent read; None when the item does not exist."""
    with dynamodb_errors(f"GetItem {model.__name__}"):
        try:
            return model.get(hash_key, consistent_read=True)
        except model.DoesNotExist:
            return None


def model_region(model: type[Model]) -> str:
    region = model.Meta.region
    if region is None:
        raise RuntimeError(f"{model.__name__} is not bound to a table: call the settings loader")
    return region

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
from pynamodb.exceptions import PutError, PynamoDBException, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
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
# Per-item reasons of a cancelled transaction use other names than the exceptions above.
TRANSIENT_CANCELLATION_CODES = frozenset(
    {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"}
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
        if code in TRANSIENT_ERROR_CODES or codes & TRANSIENT_CANCELLATION_CODES or code is None:
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


def save_if_new(record: Model, operation: str) -> bool:
    """Put `record` only if no item has its key yet; False when one exists already."""
    key = type(record)._hash_key_attribute()  # type: ignore[no-untyped-call]
    try:
        with dynamodb_errors(f"PutItem {operation}"):
            record.save(condition=key.does_not_exist())
    except PutError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def update_if(record: Model, condition: Condition, actions: list[Action], operation: str) -> bool:
    """Apply `actions` only if `condition` holds; False when it does not (or the item is missing,
    since a condition on an attribute of a missing item fails: an update never creates an item)."""
    try:
        with dynamodb_errors(f"UpdateItem {operation}"):
            record.update(actions=actions, condition=condition)
    except UpdateError as error:
        if is_condition_failure(error):
            return False
        raise
    return True

"""DynamoDB error translation: what is retried and what is not."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from shared.dynamodb import dynamodb_errors
from shared.errors import DependencyUnavailableError


def _cancelled(*codes: str | None) -> TransactWriteError:
    reasons = [CancellationReason(code=code) if code else None for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("transaction cancelled", cause=cause)


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError"])
def test_a_transaction_cancelled_by_a_conflict_or_throttle_is_transient(code):
    with pytest.raises(DependencyUnavailableError), dynamodb_errors("TransactWriteItems"):
        raise _cancelled(None, code)


@pytest.mark.parametrize("code", ["ConditionalCheckFailed", "ValidationError"])
def test_a_transaction_cancelled_by_a_condition_or_bad_request_is_not_transient(code):
    with pytest.raises(TransactWriteError), dynamodb_errors("TransactWriteItems"):
        raise _cancelled(code, None)


def test_throttling_is_transient_and_a_failed_condition_is_not():
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "PutItem",
    )
    with pytest.raises(DependencyUnavailableError), dynamodb_errors("PutItem"):
        raise PutError("put failed", cause=throttled)

    condition = ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, "PutItem"
    )
    with pytest.raises(PutError), dynamodb_errors("PutItem"):
        raise PutError("put failed", cause=condition)

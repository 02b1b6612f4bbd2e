"""Complete the saga task that waits for the customer's approval (Step Functions task tokens).

SendTaskSuccess with the approved payment (the wait state's result), or SendTaskFailure with the
decline as `PaymentDeclinedError`, the business error the rollback catches. A token the saga no
longer waits on (it timed out, was stopped, or was completed already) is not an error: the answer
simply came too late, and the caller says so.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.contracts import AnswerPaymentApprovalInput
from shared.errors import DependencyUnavailableError, PaymentDeclinedError

# What Step Functions answers for a token nobody waits on any more.
NOT_WAITING = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
MAX_CAUSE = 32_768


@cache
def _client(region: str) -> Any:
    import boto3  # only the two approval functions pay for the client

    return boto3.client("stepfunctions", region_name=region)


def complete_wait(task_token: str, answer: AnswerPaymentApprovalInput, region: str) -> bool:
    """Hand the answer to the waiting task; False when no task waits on this token."""
    client = _client(region)
    try:
        if answer.approved and answer.payment is not None:
            client.send_task_success(taskToken=task_token, output=answer.payment.model_dump_json())
        else:
            client.send_task_failure(
                taskToken=task_token,
                error=PaymentDeclinedError.__name__,
                cause=(answer.reason or "the customer declined the payment")[:MAX_CAUSE],
            )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in NOT_WAITING:
            return False
        raise DependencyUnavailableError(f"Step Functions refused the answer: {error}") from error
    except BotoCoreError as error:
        raise DependencyUnavailableError(f"Step Functions unreachable: {error}") from error
    return True

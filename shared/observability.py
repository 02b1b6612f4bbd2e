"""One way to set up logging, tracing and metrics, used by every function.

Powertools reads POWERTOOLS_SERVICE_NAME (set per function by its template) when these objects are
built; that is the library's norm and the only environment read at import time besides PynamoDB's
Meta. The tracer is off outside Lambda (no LAMBDA_TASK_ROOT), so tests need no X-Ray daemon.
"""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "CheckoutSaga"

logger = Logger()
# Only botocore is traced (DynamoDB, Lambda, Step Functions, EventBridge calls); the default
# patches every library X-Ray knows, importing requests, httpx, psycopg... at every cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=METRICS_NAMESPACE)


class Phase(StrEnum):
    """What a step of the saga is for: the trace annotation, and what the status API shows."""

    ACTION = "action"
    COMPENSATION = "compensation"
    EVENT = "event"  # publishing a domain event (a state machine integration, no function)
    OPERATOR = "operator"  # parking a checkout for a person


class Outcome(StrEnum):
    OK = "ok"
    BUSINESS_ERROR = "business_error"
    TRANSIENT_ERROR = "transient_error"
    INVALID_INPUT = "invalid_input"

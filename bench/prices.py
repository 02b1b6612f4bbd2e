"""The price table and default quotas `make cost` uses (bench/cost.py). Pinned: change them here.

List prices of US East (N. Virginia), on-demand, no free tier, as read on the pages named beside
each figure (AWS pages carry no date; a third-party page is marked and dated). This machine has
no internet access, so they were taken from stored copies of those pages in 2026-12; check them
against https://aws.amazon.com/pricing/ or the AWS Price List API before quoting a bill.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-12 (stored copies of the pages below)"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float  # per `per` units
    per: int
    label: str  # what is priced, as the cost table names it
    source: str


PRICES = {
    # https://aws.amazon.com/step-functions/pricing/ (retries count as transitions)
    "state_transitions": Price(
        0.025, 1_000, "state transitions", "aws.amazon.com/step-functions/pricing"
    ),
    # https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html
    "lambda_requests": Price(0.20, 1_000_000, "Lambda requests", "how-aws-pricing-works/lambda"),
    # Arm, first 7.5 billion GB-s a month; third-party (cloudchipr.com, 2024), tiers confirmed by
    # aws.amazon.com/blogs/compute/introducing-tiered-pricing-for-aws-lambda
    "lambda_gb_seconds": Price(0.0000133334, 1, "Lambda GB-seconds (arm64)", "cloudchipr.com 2024"),
    # after the 50 % on-demand cut of 2024-11-01; third-party (airbyte.com, 2025-07-21)
    "dynamodb_read_units": Price(0.125, 1_000_000, "DynamoDB read units", "airbyte.com 2025-07"),
    "dynamodb_write_units": Price(0.625, 1_000_000, "DynamoDB write units", "airbyte.com 2025-07"),
    # custom events, each 64 KB chunk one event; third-party (cloudburn.io, 2026-03-13)
    "events_published": Price(1.00, 1_000_000, "EventBridge events", "cloudburn.io 2026-03"),
    # REST API, first 333 million a month (AWS whitepaper on API Gateway cost optimization)
    "api_requests": Price(3.50, 1_000_000, "API Gateway requests", "API Gateway whitepaper"),
    # https://aws.amazon.com/xray/pricing/ (traces recorded; every request traced: an upper
    # bound, the default sampling rule records 1 a second plus 5 %)
    "traces": Price(5.00, 1_000_000, "X-Ray traces", "aws.amazon.com/xray/pricing"),
    # CloudWatch Logs standard ingestion; third-party (c3x.dev, 2026-06)
    "log_bytes": Price(0.50, 1024**3, "CloudWatch Logs ingestion", "c3x.dev 2026-06"),
}


@dataclass(frozen=True)
class Quota:
    per_second: float
    what: str
    source: str


# Default quotas of an account in us-east-1 (us-west-2, eu-west-1 alike; other regions lower).
QUOTAS = {
    # awsdocs/aws-step-functions-developer-guide limits-overview.md (2022-06; refill rates)
    "start_execution": Quota(300, "StartExecution refill (bucket 1,300)", "Step Functions quotas"),
    "state_transitions": Quota(
        1_500, "state transitions refill (bucket 5,000)", "Step Functions quotas"
    ),
    "describe_execution": Quota(
        15, "DescribeExecution refill (bucket 300)", "Step Functions quotas"
    ),
    # docs.aws.amazon.com/lambda/latest/dg/limits.html
    "lambda_concurrency": Quota(1_000, "concurrent executions per region", "Lambda quotas"),
    # docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    "api_requests": Quota(10_000, "requests per second per account", "API Gateway quotas"),
    # docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    "put_events": Quota(10_000, "PutEvents transactions per second", "EventBridge quotas"),
    # on-demand table default maximum throughput (docs: on-demand-capacity-mode-max-throughput)
    "table_write_units": Quota(40_000, "write units per second per table", "DynamoDB quotas"),
}

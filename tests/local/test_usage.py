"""The usage meter `make cost` reads: DynamoDB request units by the on-demand rules, and the
endpoint's snapshot at GET /_local/usage."""

from __future__ import annotations

import json
import urllib.request

import pytest

from deploy.local.usage import UsageMeter, dynamodb_units
from tests.local.test_endpoint import endpoint as endpoint  # the endpoint fixture, reused

SMALL = {"order_id": {"S": "ord-1"}, "status": {"S": "PENDING"}}
BIG = {"blob": {"S": "x" * 5_000}}  # over 4 KB and over 1 KB


@pytest.mark.parametrize(("operation", "request_body", "answer", "units"), [
    ("GetItem", {}, {"Item": SMALL}, (0.5, 0.0)),  # eventually consistent, PynamoDB's default
    ("GetItem", {"ConsistentRead": True}, {"Item": SMALL}, (1.0, 0.0)),
    ("GetItem", {}, {}, (0.5, 0.0)),  # a missing item still costs its read
    ("GetItem", {}, {"Item": BIG}, (1.0, 0.0)),  # two 4 KB units, halved
    ("BatchGetItem", {}, {"Responses": {"t": [SMALL, SMALL, SMALL]}}, (1.5, 0.0)),
    ("PutItem", {"Item": SMALL}, {}, (0.0, 1.0)),
    ("PutItem", {"Item": BIG}, {}, (0.0, 5.0)),
    ("UpdateItem", {"Key": SMALL}, {"__type": "ConditionalCheckFailedException"}, (0.0, 1.0)),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"Item": SMALL}},
                                              {"Update": {"Key": SMALL}}]}, {}, (0.0, 4.0)),
    ("TransactGetItems", {"TransactItems": [{"Get": {}}, {"Get": {}}]}, {}, (4.0, 0.0)),
    ("Scan", {}, {"Items": [SMALL] * 10}, (0.5, 0.0)),
    ("DescribeTable", {}, {}, (0.0, 0.0)),
])  # fmt: skip
def test_dynamodb_request_units_follow_the_on_demand_rules(operation, request_body, answer, units):
    assert dynamodb_units(operation, request_body, answer) == units


def test_the_meter_sums_what_it_is_told():
    meter = UsageMeter()
    meter.lambda_invoked("fn", 10.2, 512)
    meter.lambda_invoked("fn", 3.0, 512)
    meter.dynamodb("PutItem", {"Item": SMALL}, {})
    meter.events_published(2)
    meter.trace("1-a")
    meter.trace("1-a")
    meter.api_request()

    snapshot = meter.snapshot()

    assert snapshot["lambda"] == {"fn": {"invocations": 2, "billed_ms": 14, "memory_mb": 512}}
    assert snapshot["requests"] == {"dynamodb.PutItem": 1}
    assert snapshot["dynamodb_write_units"] == 1.0
    assert (snapshot["events_published"], snapshot["traces"], snapshot["api_requests"]) == (2, 1, 1)


def test_the_endpoint_serves_the_snapshot(endpoint):
    runtime, client = endpoint
    runtime.usage.api_request()
    url = client.meta.endpoint_url + "/_local/usage"

    with urllib.request.urlopen(url, timeout=5) as answer:
        served = json.loads(answer.read())

    assert served["api_requests"] == 1

"""What the local cloud was asked to do, counted as AWS bills it: for `make cost` (bench/cost.py).

The endpoint counts every AWS request it serves (by service and operation) and the DynamoDB
request units each one would consume on an on-demand table; the runtime counts Lambda
invocations with their billed duration and configured memory; the gateway counts API requests;
the trace roots of the invocations count X-Ray traces. `GET /_local/usage` on the AWS endpoint
answers a snapshot, so a benchmark reads the difference a scenario made.

DynamoDB units follow the on-demand rules: a read is 0.5 unit per 4 KB (eventually consistent,
PynamoDB's default; 1 when strongly consistent, 2 in a transaction), a write 1 unit per 1 KB (2 in a
transaction), a read of a missing item or a refused conditional write still costs its unit. Item
sizes are taken as their JSON length, slightly above DynamoDB's own measure; the items of this
suite are far below 1 KB, so nearly every request is one unit.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


def _size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":")))


def _reads(size: int, consistent: bool = False, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return units * (2.0 if transactional else 1.0 if consistent else 0.5)


def _writes(size: int, transactional: bool = False) -> float:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES)) * (2.0 if transactional else 1.0)


def dynamodb_units(
    operation: str, request: dict[str, Any], answer: dict[str, Any]
) -> tuple[float, float]:
    """(read units, write units) one DynamoDB request consumes on an on-demand table."""
    consistent = bool(request.get("ConsistentRead"))
    if operation == "GetItem":
        return _reads(_size(answer.get("Item") or {}), consistent), 0.0
    if operation == "BatchGetItem":
        items = [item for found in (answer.get("Responses") or {}).values() for item in found]
        return sum(_reads(_size(item)) for item in items), 0.0
    if operation in ("Query", "Scan"):
        return _reads(sum(_size(item) for item in answer.get("Items") or []), consistent), 0.0
    if operation == "TransactGetItems":
        return 2.0 * len(request.get("TransactItems") or []), 0.0
    if operation == "PutItem":
        return 0.0, _writes(_size(request.get("Item") or {}))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, _writes(_size(request.get("Key") or {}))  # the item's size is not sent
    if operation == "TransactWriteItems":
        actions = [next(iter(a.values())) for a in request.get("TransactItems") or []]
        return 0.0, sum(_writes(_size(a.get("Item") or a.get("Key") or {}), True) for a in actions)
    if operation == "BatchWriteItem":
        requests = [r for table in (request.get("RequestItems") or {}).values() for r in table]
        return 0.0, float(len(requests))
    return 0.0, 0.0  # control plane: CreateTable, DescribeTable... (not billed per request)


class UsageMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._invocations: Counter[str] = Counter()
        self._billed_ms: Counter[str] = Counter()
        self._memory_mb: dict[str, int] = {}
        self._read_units = 0.0
        self._write_units = 0.0
        self._events = 0
        self._api_requests = 0
        self._traces: set[str] = set()

    def aws_request(self, operation: str) -> None:
        """One request to an AWS API, e.g. `stepfunctions.StartExecution`."""
        with self._lock:
            self._requests[operation] += 1

    def dynamodb(self, operation: str, request: dict[str, Any], answer: dict[str, Any]) -> None:
        reads, writes = dynamodb_units(operation, request, answer)
        with self._lock:
            self._requests[f"dynamodb.{operation}"] += 1
            self._read_units += reads
            self._write_units += writes

    def events_published(self, entries: int) -> None:
        with self._lock:
            self._events += entries

    def lambda_invoked(self, function: str, duration_ms: float, memory_mb: int) -> None:
        with self._lock:
            self._invocations[function] += 1
            self._billed_ms[function] += math.ceil(duration_ms)  # Lambda bills each 1 ms
            self._memory_mb[function] = memory_mb

    def trace(self, root: str) -> None:
        with self._lock:
            self._traces.add(root)

    def api_request(self) -> None:
        with self._lock:
            self._api_requests += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "lambda": {
                    name: {
                        "invocations": count,
                        "billed_ms": self._billed_ms[name],
                        "memory_mb": self._memory_mb[name],
                    }
                    for name, count in self._invocations.items()
                },
                "dynamodb_read_units": self._read_units,
                "dynamodb_write_units": self._write_units,
                "events_published": self._events,
                "api_requests": self._api_requests,
                "traces": len(self._traces),
            }

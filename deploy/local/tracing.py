"""X-Ray trace context for the local cloud: what the Lambda service and API Gateway do on AWS.

On AWS, API Gateway starts a trace and records its own segment; Step Functions passes the trace
on to every task; the Lambda service records a segment per invocation and hands the function a
`_X_AMZN_TRACE_ID` whose Parent is that segment, under which the X-Ray SDK adds its subsegments.
moto propagates no trace headers, so the local gateway, endpoint and runtime do it: one checkout,
from its API call through every step and compensation, is one trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

_HEADER = b'{"format": "json", "version": 1}\n'


@dataclass(frozen=True)
class TraceContext:
    root: str
    parent: str | None = None

    @classmethod
    def new(cls) -> TraceContext:
        return cls(f"1-{int(time.time()):08x}-{secrets.token_hex(12)}")

    @classmethod
    def parse(cls, header: str | None) -> TraceContext | None:
        """Read `Root=...;Parent=...;Sampled=1` (the X-Amzn-Trace-Id format)."""
        if not header:
            return None
        fields = dict(
            part.split("=", 1) for part in header.replace(" ", "").split(";") if "=" in part
        )
        root = fields.get("Root")
        return cls(root, fields.get("Parent")) if root else None

    def header(self, parent: str) -> str:
        return f"Root={self.root};Parent={parent};Sampled=1"


def new_segment_id() -> str:
    return secrets.token_hex(8)


class SegmentEmitter:
    """Sends finished segments to the local X-Ray daemon, as the SDK and AWS services do."""

    def __init__(self, daemon: tuple[str, int]) -> None:
        self._daemon = daemon
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._lock = threading.Lock()

    def emit(self, segment: dict[str, Any]) -> None:
        data = _HEADER + json.dumps(segment).encode()
        with self._lock, contextlib.suppress(OSError):  # tracing never fails a request
            self._socket.sendto(data, self._daemon)

    def close(self) -> None:
        self._socket.close()


def segment(
    *,
    name: str,
    segment_id: str,
    context: TraceContext,
    start: float,
    end: float,
    origin: str,
    error: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": name,
        "id": segment_id,
        "trace_id": context.root,
        "start_time": start,
        "end_time": end,
        "origin": origin,
        "aws": {"xray": {"sdk": "checkout-local-cloud"}, "pid": os.getpid()},
        **(extra or {}),
    }
    if context.parent:
        document["parent_id"] = context.parent
    if error is not None:
        document["fault"] = True
        document["cause"] = {"exceptions": [{"type": error["type"], "message": error["message"]}]}
    return document

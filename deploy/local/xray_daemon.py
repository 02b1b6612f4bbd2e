"""A local X-Ray daemon: receives segments over UDP, as the SDK sends them, and stores them.

The SDK sends `{"format": "json", "version": 1}` + newline + one segment document per datagram to
AWS_XRAY_DAEMON_ADDRESS. We batch them into PutTraceSegments on the local endpoint (moto), where
BatchGetTraces can read them back.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import boto3

from deploy.local.config import REGION

_HEADER = b'{"format": "json", "version": 1}'


class LocalXRayDaemon:
    def __init__(self, host: str, port: int, endpoint: str) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.2)
        self._xray = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
        ).client("xray", endpoint_url=endpoint)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.received = 0
        self.rejected = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            batch: list[str] = []
            while len(batch) < 50:
                try:
                    datagram, _ = self._socket.recvfrom(65_535)
                except TimeoutError:
                    break
                except OSError:
                    return
                document = self._document(datagram)
                if document is not None:
                    batch.append(document)
            if batch:
                self._store(batch)

    def _document(self, datagram: bytes) -> str | None:
        header, _, body = datagram.partition(b"\n")
        try:
            if json.loads(header) != json.loads(_HEADER):
                raise ValueError("unknown header")
            segment: dict[str, Any] = json.loads(body)
        except ValueError:
            self.rejected += 1
            return None
        self.received += 1
        return json.dumps(segment)

    def _store(self, documents: list[str]) -> None:
        try:
            self._xray.put_trace_segments(TraceSegmentDocuments=documents)
        except Exception:  # a daemon never dies of one bad batch; the SDK never waits on us
            self.rejected += len(documents)

"""Frames between the runtime and its workers: a 4-byte big-endian length, then UTF-8 JSON."""

from __future__ import annotations

import json
import os
import struct
from typing import Any


class WorkerGoneError(Exception):
    """The other end closed the pipe (the worker died, or the runtime went away)."""


def send(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            raise WorkerGoneError("pipe closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> dict[str, Any]:
    (size,) = struct.unpack(">I", _read_exactly(fd, 4))
    message: dict[str, Any] = json.loads(_read_exactly(fd, size))
    return message

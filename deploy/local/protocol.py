"""Messages between the runtime and its workers: JSON frames on a pipe, one owner per end.

`multiprocessing.connection.Connection` does the framing, the polling and a close that is safe to
call twice (it forgets its descriptor), so a pipe end is closed exactly once, by whoever owns it.
"""

from __future__ import annotations

import json
from multiprocessing.connection import Connection
from typing import Any


class WorkerGoneError(Exception):
    """The other end closed the pipe (the worker died, or the runtime went away)."""


def reader(fd: int) -> Connection:
    return Connection(fd, readable=True, writable=False)


def writer(fd: int) -> Connection:
    return Connection(fd, readable=False, writable=True)


def send(connection: Connection, message: dict[str, Any]) -> None:
    """Send one message; TypeError/ValueError if it is not JSON, WorkerGoneError if nobody reads."""
    data = json.dumps(message).encode()
    try:
        connection.send_bytes(data)
    except OSError as error:  # EPIPE, or the connection was closed
        raise WorkerGoneError(str(error)) from error


def arrives_within(connection: Connection, timeout: float) -> bool:
    """True when a message (or the writer's death) is waiting to be received."""
    try:
        return connection.poll(timeout)
    except (EOFError, OSError):
        return True  # receive() reports it


def receive(connection: Connection) -> dict[str, Any]:
    """The next message, waiting for it; WorkerGoneError if the writer died or the pipe closed."""
    try:
        data = connection.recv_bytes()
    except (EOFError, OSError) as error:
        raise WorkerGoneError(str(error) or "pipe closed") from error
    message: dict[str, Any] = json.loads(data)
    return message

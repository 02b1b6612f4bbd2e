"""The local Lambda runtime: warm worker processes per function, scaled to concurrent invokes.

Each function gets its own workers (`python -m deploy.local.worker`), started with exactly the
environment its template gives it. A worker serves one invocation at a time, like a Lambda
execution environment; a second concurrent invocation starts another worker, up to a limit, and
waits beyond it. An invocation that outlives the function's `Timeout` kills its worker and fails
as Lambda does (`Sandbox.Timedout`); the next invocation gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.config import ROOT
from deploy.local.protocol import WorkerGoneError, receive, send
from deploy.local.tracing import SegmentEmitter, TraceContext, new_segment_id, segment


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int


@dataclass
class InvocationResult:
    payload: Any  # the handler's result, or {"errorType", "errorMessage"} when `failed`
    failed: bool
    duration_ms: float  # time spent in the handler (or until the timeout)
    cold_start: bool


class FunctionInitError(RuntimeError):
    """A function's worker could not start: its handler, settings or tables disagree."""


class _Worker:
    def __init__(self, function: FunctionConfig, log_path: Path) -> None:
        self.function = function
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-m", "deploy.local.worker", str(to_child_r), str(from_child_w)],
                cwd=ROOT,
                env=function.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(to_child_r, from_child_w),
            )
        os.close(to_child_r)
        os.close(from_child_w)
        self.init_ms = 0
        self.used = False
        self._stopped = False
        self._stop_lock = threading.Lock()

    def wait_ready(self, timeout: float) -> None:
        try:
            message = self._receive(timeout)
        except WorkerGoneError:
            message = None
        if message is None or message["kind"] != "ready":
            error = (message or {}).get("error", {})
            self.stop()
            raise FunctionInitError(
                f"function {self.function.name} ({self.function.handler}) failed to start: "
                f"{error.get('errorType', 'timeout')}: {error.get('errorMessage', 'no answer')}"
            )
        self.init_ms = message["init_ms"]

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next message; None on timeout; WorkerGoneError if it died."""
        ready, _, _ = select.select([self._from_child], [], [], timeout)
        if not ready:
            return None
        return receive(self._from_child)

    def invoke(self, event: Any, trace_header: str | None) -> InvocationResult:
        timeout = self.function.timeout_seconds
        request_id = str(uuid.uuid4())
        cold, self.used = not self.used, True
        started = time.perf_counter()
        try:
            send(self._to_child, {
                "request_id": request_id, "event": event, "trace_header": trace_header,
                "timeout_ms": timeout * 1000,
            })  # fmt: skip
        except OSError:
            return self._died(started, cold)
        try:
            reply = self._receive(timeout)
        except (WorkerGoneError, OSError):  # it crashed (os._exit, a signal, a broken result)
            return self._died(started, cold)
        if reply is None:
            self.stop()
            return InvocationResult(
                payload={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                    f"{timeout:.2f} seconds",
                },
                failed=True,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold_start=cold,
            )
        if reply["kind"] == "error":
            return InvocationResult(reply["error"], True, reply["duration_ms"], cold)
        return InvocationResult(reply["payload"], False, reply["duration_ms"], cold)

    def _died(self, started: float, cold: bool) -> InvocationResult:
        self.stop()
        return InvocationResult(
            payload={"errorType": "Runtime.ExitError", "errorMessage": "the worker process died"},
            failed=True,
            duration_ms=(time.perf_counter() - started) * 1000,
            cold_start=cold,
        )

    @property
    def alive(self) -> bool:
        return not self._stopped and self.process.poll() is None

    def stop(self) -> None:
        # Idempotent: closing a pipe fd twice could close a socket that reused the number.
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class _Pool:
    function: FunctionConfig
    idle: list[_Worker] = field(default_factory=list)
    busy: int = 0
    cold_starts: int = 0
    invocations: int = 0


class LambdaRuntime:
    def __init__(
        self,
        log_dir: Path,
        max_workers_per_function: int,
        emitter: SegmentEmitter | None = None,
    ) -> None:
        self._log_dir = log_dir
        self._emitter = emitter
        self._max_workers = max_workers_per_function
        self._pools: dict[str, _Pool] = {}
        self._arn_to_name: dict[str, str] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._all_workers: list[_Worker] = []  # busy ones too, so stop() leaves no orphan
        log_dir.mkdir(parents=True, exist_ok=True)

    def register(self, function: FunctionConfig) -> None:
        with self._changed:
            self._pools[function.name] = _Pool(function)
            self._arn_to_name[function.arn] = function.name

    def function_names(self) -> list[str]:
        return sorted(self._pools)

    def resolve(self, name_or_arn: str) -> str | None:
        name = self._arn_to_name.get(name_or_arn, name_or_arn)
        if name not in self._pools and ":function:" in name:
            name = name.split(":function:", 1)[1].split(":", 1)[0]  # drop a qualifier
        return name if name in self._pools else None

    def _start_worker(self, pool: _Pool) -> _Worker:
        worker = _Worker(pool.function, self._log_dir / f"{pool.function.name}.log")
        with self._changed:
            self._all_workers.append(worker)
        worker.wait_ready(timeout=60)
        with self._changed:
            pool.cold_starts += 1
        return worker

    def warm_up(self, name: str) -> int:
        """Start one worker now (cold start at deploy time); return its init time in ms."""
        pool = self._pools[name]
        worker = self._start_worker(pool)
        with self._changed:
            pool.idle.append(worker)
            self._changed.notify_all()
        return worker.init_ms

    def _acquire(self, pool: _Pool) -> _Worker:
        with self._changed:
            while True:
                if self._stopped:
                    raise RuntimeError("the runtime is stopping")
                while pool.idle:
                    worker = pool.idle.pop()
                    if worker.alive:
                        pool.busy += 1
                        return worker
                    worker.stop()  # died while idle: close its pipes
                    self._all_workers.remove(worker)
                if pool.busy < self._max_workers:
                    pool.busy += 1
                    break
                self._changed.wait()
        try:
            return self._start_worker(pool)
        except BaseException:
            with self._changed:
                pool.busy -= 1
                self._changed.notify_all()
            raise

    def _release(self, pool: _Pool, worker: _Worker) -> None:
        with self._changed:
            pool.busy -= 1
            if worker.alive and not self._stopped:
                pool.idle.append(worker)
            else:
                worker.stop()
                if worker in self._all_workers:
                    self._all_workers.remove(worker)
            self._changed.notify_all()

    def invoke(self, name: str, event: Any, trace_header: str | None = None) -> InvocationResult:
        """Run one invocation, recording it as the function's X-Ray segment, as Lambda does."""
        pool = self._pools[name]
        context = TraceContext.parse(trace_header) or TraceContext.new()
        segment_id = new_segment_id()
        started = time.time()
        worker = self._acquire(pool)
        try:
            result = worker.invoke(event, context.header(segment_id))
        finally:
            self._release(pool, worker)
        with self._changed:
            pool.invocations += 1
        if self._emitter is not None:
            error = None
            if result.failed:
                error = {
                    "type": str(result.payload.get("errorType")),
                    "message": str(result.payload.get("errorMessage")),
                }
            self._emitter.emit(
                segment(
                    name=name,
                    segment_id=segment_id,
                    context=context,
                    start=started,
                    end=time.time(),
                    origin="AWS::Lambda::Function",
                    error=error,
                )
            )
        return result

    def stats(self) -> dict[str, dict[str, int]]:
        with self._changed:
            return {
                name: {
                    "workers": len(pool.idle) + pool.busy,
                    "cold_starts": pool.cold_starts,
                    "invocations": pool.invocations,
                }
                for name, pool in self._pools.items()
            }

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            workers, self._all_workers = self._all_workers, []
            for pool in self._pools.values():
                pool.idle.clear()
            self._changed.notify_all()
        for worker in workers:
            worker.stop()

"""The local Lambda runtime: warm worker processes per function, scaled to concurrent invokes.

Each function gets its own workers (`python -m deploy.local.worker`), started with exactly the
environment its template gives it. A worker serves one invocation at a time, like a Lambda
execution environment; a second concurrent invocation starts another worker, up to a limit (a
machine's few cores, not an account's thousand), unless one of the busy workers frees within
`cold_start_after_seconds` (Lambda would start one at once; here a cold start costs a second of
the machine's CPU, which every other checkout would pay for). At the limit a synchronous invoke
from the state machine waits for a worker for at most `throttle_after_seconds` and is then
throttled as Lambda throttles (`TooManyRequestsException`, which the saga retries): the wait plus
the function's Timeout stays under the task's TimeoutSeconds, so queueing alone never times a
task out. Callers that Lambda itself would queue (asynchronous event deliveries) and the local
API Gateway wait.

Failures are reported as Lambda reports them, never as an exception of the runtime: a worker that
outlives the function's `Timeout` is killed (`Sandbox.Timedout`); one that dies at any moment —
while starting, mid-invocation, or after its handler wrote and before it answered — is
`Runtime.ExitError`; an exception raised while the handler module loads is the function's init
error. The next invocation gets a fresh worker.

Ownership keeps the pipes safe: an idle worker belongs to its pool, a busy one to the thread that
invokes it, and only the owner closes its pipes. `stop()` kills busy workers' processes but leaves
their pipes to their invoking threads, which see the death, answer `Runtime.ExitError`, and close.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from deploy.local.config import ROOT
from deploy.local.protocol import WorkerGoneError, arrives_within, reader, receive, send, writer
from deploy.local.tracing import SegmentEmitter, TraceContext, new_segment_id, segment
from deploy.local.usage import UsageMeter

INIT_TIMEOUT_SECONDS = 60  # generous: two cores may be cold-starting many workers at once
# How long an invocation waits for a busy worker of its function to free before it starts another
# (a cold start: about a second of CPU on this machine, against a few ms for a warm invoke).
SPARE_A_COLD_START_SECONDS = 0.5
WhenBusy = Literal["wait", "throttle"]


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
    throttled: bool = False  # refused before any worker ran it (TooManyRequestsException)


class FunctionInitError(RuntimeError):
    """A function's worker could not start: its handler, settings or tables disagree."""


class _InitFailed(Exception):
    """A worker did not become ready; `error` is what Lambda would report for the invocation."""

    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(f"{error['errorType']}: {error['errorMessage']}")
        self.error = error


def _function_error(error_type: str, message: str) -> dict[str, str]:
    return {"errorType": error_type, "errorMessage": message}


class _Worker:
    def __init__(self, function: FunctionConfig, log_path: Path) -> None:
        self.function = function
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
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
        os.close(to_child_r)  # the child's ends now belong to the child
        os.close(from_child_w)
        self._requests = writer(to_child_w)
        self._replies = reader(from_child_r)
        self.init_ms = 0
        self.used = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return not self._requests.closed and self.process.poll() is None

    def wait_ready(self) -> None:
        """Wait for the cold start; raise _InitFailed with Lambda's error if it does not finish."""
        try:
            message = self._next(INIT_TIMEOUT_SECONDS)
        except WorkerGoneError:
            raise _InitFailed(self._exit_error("while starting")) from None
        if message is None:
            raise _InitFailed(
                _function_error(
                    "Sandbox.Timedout",
                    f"init did not finish within {INIT_TIMEOUT_SECONDS} seconds",
                )
            )
        if message["kind"] != "ready":
            raise _InitFailed(message["error"])
        self.init_ms = message["init_ms"]

    def _next(self, timeout: float) -> dict[str, Any] | None:
        if not arrives_within(self._replies, timeout):
            return None
        return receive(self._replies)

    def _exit_error(self, when: str) -> dict[str, str]:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # the pipe broke but the process lingers: end it
            self.process.kill()
            code = self.process.wait()
        status = f"signal {-code}" if code < 0 else f"exit status {code}"
        return _function_error(
            "Runtime.ExitError", f"Error: Runtime exited {when} with error: {status}"
        )

    def invoke(self, event: Any, trace_header: str | None) -> InvocationResult:
        timeout = self.function.timeout_seconds
        request_id = str(uuid.uuid4())
        cold, self.used = not self.used, True
        started = time.perf_counter()

        def failed(error: dict[str, str]) -> InvocationResult:
            self.close()
            elapsed = (time.perf_counter() - started) * 1000
            return InvocationResult(error, True, elapsed, cold)

        request = {"request_id": request_id, "event": event, "trace_header": trace_header,
                   "timeout_ms": timeout * 1000}  # fmt: skip
        try:
            send(self._requests, request)
            reply = self._next(timeout)
        except WorkerGoneError:  # it died: os._exit, a signal, a kill by an operator or stop()
            return failed(self._exit_error("mid-invocation"))
        if reply is None:
            return failed(
                _function_error(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
                )
            )
        if reply["kind"] == "error":
            return InvocationResult(reply["error"], True, reply["duration_ms"], cold)
        return InvocationResult(reply["payload"], False, reply["duration_ms"], cold)

    def kill(self) -> None:
        """End the process only; whoever owns the worker sees it die and closes the pipes."""
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        """Owner only: close both pipe ends (safe twice) and reap the process."""
        self._requests.close()
        self._replies.close()
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
    throttles: int = 0


class _Throttled(Exception):
    pass


class LambdaRuntime:
    def __init__(
        self,
        log_dir: Path,
        max_workers_per_function: int,
        emitter: SegmentEmitter | None = None,
        throttle_after_seconds: float = 3.0,
        cold_start_after_seconds: float = SPARE_A_COLD_START_SECONDS,
    ) -> None:
        self._log_dir = log_dir
        self._emitter = emitter
        self._max_workers = max_workers_per_function
        self._throttle_after = throttle_after_seconds
        self._cold_start_after = cold_start_after_seconds
        self._pools: dict[str, _Pool] = {}
        self._arn_to_name: dict[str, str] = {}
        self._changed = threading.Condition()
        self._stopped = False
        self._running: set[_Worker] = set()  # busy or starting: killed by stop()
        self.usage = UsageMeter()  # what AWS would bill (bench/cost.py reads it)
        log_dir.mkdir(parents=True, exist_ok=True)

    def register(self, function: FunctionConfig) -> None:
        with self._changed:
            self._pools[function.name] = _Pool(function)
            self._arn_to_name[function.arn] = function.name

    def function_names(self) -> list[str]:
        return sorted(self._pools)

    def function(self, name: str) -> FunctionConfig:
        return self._pools[name].function

    def resolve(self, name_or_arn: str) -> str | None:
        name = self._arn_to_name.get(name_or_arn, name_or_arn)
        if name not in self._pools and ":function:" in name:
            name = name.split(":function:", 1)[1].split(":", 1)[0]  # drop a qualifier
        return name if name in self._pools else None

    def _new_worker(self, pool: _Pool) -> _Worker:
        """Start a worker owned by the caller and wait for its cold start (raises _InitFailed)."""
        worker = _Worker(pool.function, self._log_dir / f"{pool.function.name}.log")
        with self._changed:
            self._running.add(worker)
            stopping = self._stopped
        if stopping:
            worker.kill()
        try:
            worker.wait_ready()
        except _InitFailed:
            self._forget(worker)
            raise
        with self._changed:
            pool.cold_starts += 1
        return worker

    def _forget(self, worker: _Worker) -> None:
        worker.close()
        with self._changed:
            self._running.discard(worker)

    def warm_up(self, name: str) -> int:
        """Start one worker now (cold start at deploy time); return its init time in ms."""
        pool = self._pools[name]
        try:
            worker = self._new_worker(pool)
        except _InitFailed as failure:
            raise FunctionInitError(
                f"function {name} ({pool.function.handler}) failed to start: {failure}"
            ) from None
        with self._changed:
            self._running.discard(worker)
            pool.idle.append(worker)
            self._changed.notify_all()
        return worker.init_ms

    def _acquire(self, pool: _Pool, when_busy: WhenBusy) -> _Worker | None:
        """A warm worker now owned by the caller, or None: the caller starts a new one."""
        started = time.monotonic()
        deadline = started + self._throttle_after
        cold_start_from = started + self._cold_start_after
        with self._changed:
            while True:
                if self._stopped:
                    raise _InitFailed(_function_error("Runtime.ExitError", "the runtime stopped"))
                while pool.idle:
                    worker = pool.idle.pop()
                    pool.busy += 1
                    if worker.alive:
                        self._running.add(worker)
                        return worker
                    pool.busy -= 1
                    worker.close()  # died while idle; the pool owned it, so the pool closes it
                if pool.busy < self._max_workers:
                    now = time.monotonic()
                    if pool.busy == 0 or now >= cold_start_from:
                        pool.busy += 1
                        return None
                    # A busy worker usually frees within milliseconds; a new one costs a second
                    # of CPU: wait a little for the warm one first.
                    self._changed.wait(cold_start_from - now)
                    continue
                if when_busy == "wait":
                    self._changed.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pool.throttles += 1
                    raise _Throttled()
                self._changed.wait(remaining)

    def _release(self, pool: _Pool, worker: _Worker | None) -> None:
        with self._changed:
            pool.busy -= 1
            if worker is not None:
                self._running.discard(worker)
                if worker.alive and not self._stopped:
                    pool.idle.append(worker)
                    worker = None
            self._changed.notify_all()
        if worker is not None:
            worker.close()

    def invoke(
        self,
        name: str,
        event: Any,
        trace_header: str | None = None,
        *,
        when_busy: WhenBusy = "wait",
    ) -> InvocationResult:
        """Run one invocation, recording it as the function's X-Ray segment, as Lambda does."""
        pool = self._pools[name]
        context = TraceContext.parse(trace_header) or TraceContext.new()
        segment_id = new_segment_id()
        started = time.time()
        try:
            result = self._run(pool, event, context.header(segment_id), when_busy)
        except _Throttled:
            return InvocationResult(
                _function_error("TooManyRequestsException", "Rate Exceeded."),
                failed=True,
                duration_ms=0.0,
                cold_start=False,
                throttled=True,
            )
        with self._changed:
            pool.invocations += 1
        self.usage.lambda_invoked(name, result.duration_ms, pool.function.memory_mb)
        self.usage.trace(context.root)
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

    def _run(
        self, pool: _Pool, event: Any, trace_header: str, when_busy: WhenBusy
    ) -> InvocationResult:
        began = time.perf_counter()
        try:
            worker = self._acquire(pool, when_busy)  # _Throttled propagates: no slot was taken
        except _InitFailed as failure:  # stopping
            return InvocationResult(failure.error, True, 0.0, cold_start=False)
        try:
            if worker is None:
                worker = self._new_worker(pool)
            return worker.invoke(event, trace_header)
        except _InitFailed as failure:
            worker = None  # _new_worker closed it
            return InvocationResult(
                failure.error, True, (time.perf_counter() - began) * 1000, cold_start=True
            )
        finally:
            self._release(pool, worker)

    def busy(self, name: str) -> int:
        with self._changed:
            return self._pools[name].busy

    def worker_pids(self) -> list[int]:
        with self._changed:
            workers = [*self._running, *(w for pool in self._pools.values() for w in pool.idle)]
        return sorted(worker.pid for worker in workers)

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

    def throttles(self) -> dict[str, int]:
        with self._changed:
            return {name: pool.throttles for name, pool in self._pools.items()}

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            idle = [worker for pool in self._pools.values() for worker in pool.idle]
            for pool in self._pools.values():
                pool.idle.clear()
            running = list(self._running)
            self._changed.notify_all()
        for worker in running:
            worker.kill()  # their invoking threads answer Runtime.ExitError and close them
        for worker in idle:
            worker.close()
        deadline = time.monotonic() + 10
        with self._changed:  # let the invoking threads close what they own
            while self._running and time.monotonic() < deadline:
                self._changed.wait(0.1)

"""Start the local cloud as a subprocess on free ports, and stop it leaving nothing behind.

The one launcher the e2e tests, the benchmark and the chaos run share: the same command as
`make run` (`python -m deploy.local`), a state directory of its own, ports nobody else uses, and a
stop that checks every worker process it started has gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from deploy.local.config import ROOT

WORKER_MODULE = "deploy.local.worker"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def worker_pids(cloud_pid: int) -> list[int]:
    """The Lambda worker processes a local cloud runs (its children running the worker)."""
    try:
        children = psutil.Process(cloud_pid).children()
    except psutil.NoSuchProcess:
        return []
    pids = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            if WORKER_MODULE in " ".join(child.cmdline()) and child.status() != "zombie":
                pids.append(child.pid)
    return pids


def _alive(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and WORKER_MODULE in " ".join(
            process.cmdline()
        )
    except psutil.Error:
        return False


@dataclass
class StopReport:
    seconds: float
    exit_code: int | None
    workers_before: int
    workers_left: list[int]


class LocalCloudProcess:
    def __init__(
        self, state_dir: Path, python: str = sys.executable, env: dict[str, str] | None = None
    ) -> None:
        self.python = python
        self.state_dir = state_dir
        self.api_port = free_port()
        self.aws_port = free_port()
        while self.aws_port == self.api_port:
            self.aws_port = free_port()
        self.xray_port = free_port(socket.SOCK_DGRAM)
        self.console_port = free_port()
        while self.console_port in (self.api_port, self.aws_port):
            self.console_port = free_port()
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.state: dict[str, Any] = {}
        self.ready_wall_s = 0.0
        self.first_answer_wall_s = 0.0
        self.output = state_dir / "cloud.out"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def console(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self, timeout: float = 180.0) -> None:
        env = {
            **os.environ,
            "CHECKOUT_API_PORT": str(self.api_port),
            "CHECKOUT_AWS_PORT": str(self.aws_port),
            "CHECKOUT_XRAY_PORT": str(self.xray_port),
            "CHECKOUT_CONSOLE_PORT": str(self.console_port),
            "CHECKOUT_STATE_DIR": str(self.state_dir),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        state_file = self.state_dir / "state.json"
        started = time.perf_counter()
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(  # the same command `make run` runs
                [self.python, "-m", "deploy.local"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while not state_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the local cloud exited early:\n{self.tail()}")
            if time.perf_counter() - started > timeout:
                self.stop()
                raise RuntimeError(f"the local cloud was not ready after {timeout:.0f} s")
            time.sleep(0.02)
        self.ready_wall_s = time.perf_counter() - started
        for _ in range(50):  # written last, but read it whole
            with contextlib.suppress(ValueError):
                self.state = json.loads(state_file.read_text())
                break
            time.sleep(0.02)
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.api}/products", timeout=10) as answer,
            ):
                if answer.status == 200:
                    break
            if time.perf_counter() - started > timeout:
                self.stop()
                raise RuntimeError("the API did not answer GET /products")
            time.sleep(0.02)
        self.first_answer_wall_s = time.perf_counter() - started

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.output.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def stop(self) -> StopReport:
        process = self.process
        if process is None:
            return StopReport(0.0, None, 0, [])
        workers = worker_pids(process.pid)
        started = time.perf_counter()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"  the local cloud (pid {process.pid}) ignored SIGTERM for 30 s: SIGKILL")
                process.kill()
                process.wait()
        seconds = time.perf_counter() - started
        deadline = time.monotonic() + 5  # workers exit when their pipe closes: give them a moment
        left = [pid for pid in workers if _alive(pid)]
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [pid for pid in left if _alive(pid)]
        for pid in left:  # ours (started by our cloud): end them one by one, by id
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self.process = None
        return StopReport(seconds, process.returncode, len(workers), left)

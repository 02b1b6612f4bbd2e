"""Start the real local cloud (`python -m deploy.local`) once for the e2e tests; talk HTTP only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FINAL = {"CONFIRMED", "CANCELLED", "FAILED"}


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Response:
    status: int
    body: Any


@dataclass
class Shop:
    """The storefront's view: the checkout API over HTTP (and, for traces, the AWS endpoint)."""

    url: str
    aws_endpoint: str = ""

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:  # fmt: skip
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return Response(answer.status, json.loads(answer.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Response(error.code, json.loads(error.read() or b"null"))

    def checkout(
        self, items: list[dict[str, Any]], token: str = "tok_visa", key: str | None = None,
        fault: str | None = None,
    ) -> Response:  # fmt: skip
        headers = {"Idempotency-Key": key or f"e2e-{uuid.uuid4()}"}
        if fault:
            headers["X-Checkout-Fault"] = fault
        body = {"customer_id": "cust-e2e", "items": items, "payment_token": token}
        return self.request("POST", "/checkouts", body, headers)

    def wait_final(self, order_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("GET", f"/checkouts/{order_id}")
            assert answer.status == 200, answer.body
            if answer.body["status"] in FINAL:
                view: dict[str, Any] = answer.body
                return view
            assert time.monotonic() < deadline, f"{order_id} still {answer.body['status']}"
            time.sleep(0.3)

    def available(self, sku: str) -> int:
        answer = self.request("GET", f"/products/{sku}")
        assert answer.status == 200, answer.body
        units: int = answer.body["available"]
        return units


def _worker_pids(parent: int) -> list[int]:
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    state_dir = tmp_path_factory.mktemp("local-cloud")
    env = {
        **os.environ,
        "CHECKOUT_API_PORT": str(_free_port()),
        "CHECKOUT_AWS_PORT": str(_free_port()),
        "CHECKOUT_XRAY_PORT": str(_free_port(socket.SOCK_DGRAM)),
        "CHECKOUT_STATE_DIR": str(state_dir),
    }
    log = (state_dir / "cloud.log").open("w")
    process = subprocess.Popen(  # the same command `make run` runs
        [sys.executable, "-m", "deploy.local"], cwd=ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    state_file = state_dir / "state.json"
    deadline = time.monotonic() + 120
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the local cloud did not start:\n{(state_dir / 'cloud.log').read_text()}")
        time.sleep(0.2)
    state = json.loads(state_file.read_text())
    yield Shop(state["api_url"], state["aws_endpoint"])
    workers = _worker_pids(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=30) == 0, (state_dir / "cloud.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    time.sleep(0.5)
    orphans = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert orphans == [], f"worker processes left behind: {orphans}"


@pytest.fixture
def shop(local_cloud: Shop) -> Shop:
    return local_cloud

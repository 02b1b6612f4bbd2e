"""The local Lambda runtime: real worker processes, warm reuse, scaling, timeouts, bad templates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy.local.runtime import FunctionConfig, FunctionInitError, LambdaRuntime

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def function(name: str, handler: str, timeout: int = 3, **env: str) -> FunctionConfig:
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "CHECKOUT_FUNCTION_ARN": ARN + name,
        "_HANDLER": handler,
        **env,
    }
    return FunctionConfig(name, ARN + name, handler, environment, timeout, 128)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime(tmp_path / "logs", max_workers_per_function=2)
    yield runtime
    runtime.stop()


def test_a_function_runs_with_its_template_environment_and_stays_warm(runtime):
    runtime.register(function("echo", "tests.local.handlers.echo", STAGE="local"))

    first = runtime.invoke("echo", {"n": 1})
    second = runtime.invoke("echo", {"n": 2}, trace_header="Root=1-abc-def;Parent=1234")

    assert first.failed is False
    assert first.payload["event"] == {"n": 1}
    assert first.payload["stage"] == "local"
    assert first.payload["pid"] == second.payload["pid"], "the warm worker is reused"
    assert first.cold_start is True
    assert second.cold_start is False
    assert second.payload["trace"].startswith("Root=1-abc-def;Parent=")
    assert runtime.stats()["echo"] == {"workers": 1, "cold_starts": 1, "invocations": 2}


def test_an_unhandled_exception_is_reported_as_lambda_does(runtime):
    runtime.register(function("boom", "tests.local.handlers.boom"))

    result = runtime.invoke("boom", {})

    assert result.failed is True
    assert result.payload["errorType"] == "OutOfCoffeeError"
    assert result.payload["errorMessage"] == "no coffee left"


def test_the_timeout_kills_the_worker_and_fails_like_lambda(runtime):
    runtime.register(function("sleepy", "tests.local.handlers.sleepy", timeout=1))

    result = runtime.invoke("sleepy", {"seconds": 5})
    after = runtime.invoke("sleepy", {"seconds": 0})

    assert result.failed is True
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1.00 seconds" in result.payload["errorMessage"]
    assert after.failed is False, "the next invocation gets a fresh worker"
    assert after.cold_start is True


def test_concurrent_invocations_get_more_workers_up_to_the_limit(runtime):
    runtime.register(function("sleepy", "tests.local.handlers.sleepy"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: runtime.invoke("sleepy", {"seconds": 0.5}), range(4)))

    assert all(not result.failed for result in results)
    assert len({result.payload["pid"] for result in results}) == 2  # the limit
    assert runtime.stats()["sleepy"]["cold_starts"] == 2


def test_a_template_that_disagrees_with_the_code_fails_at_start_naming_the_problem(runtime):
    # the order service's settings need ORDERS_TABLE_NAME; this "template" forgot it
    runtime.register(
        function(
            "create-order",
            "services.order.handlers.create_order.lambda_handler",
            STAGE="local",
            AWS_REGION="us-east-1",
        )
    )

    with pytest.raises(FunctionInitError, match="ORDERS_TABLE_NAME is not set"):
        runtime.warm_up("create-order")


def test_stop_leaves_no_worker_behind(tmp_path):
    runtime = LambdaRuntime(tmp_path / "logs", max_workers_per_function=2)
    runtime.register(function("echo", "tests.local.handlers.echo"))
    pid = runtime.invoke("echo", {}).payload["pid"]

    runtime.stop()

    assert not Path(f"/proc/{pid}").exists(), "stop() terminates and reaps every worker"


def test_a_worker_that_dies_is_a_crash_not_a_timeout(runtime):
    runtime.register(function("crash", "tests.local.handlers.crash", timeout=30))

    result = runtime.invoke("crash", {})

    assert result.failed is True
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert result.duration_ms < 10_000, "reported at once, not after the timeout"


def test_a_result_json_cannot_carry_is_a_marshal_error(runtime):
    runtime.register(function("odd", "tests.local.handlers.unserialisable"))

    result = runtime.invoke("odd", {})

    assert result.failed is True
    assert result.payload["errorType"] == "Runtime.MarshalError"


def test_a_worker_that_dies_while_starting_is_a_function_error_not_an_exception(runtime):
    # Killed during its cold start (the chaos experiment's KeyError('RequestId') came from here):
    # Lambda answers the invocation with Runtime.ExitError; it never fails the caller's request.
    runtime.register(function("dies", "tests.local.dies_at_start.lambda_handler"))

    result = runtime.invoke("dies", {})

    assert result.failed is True
    assert result.payload["errorType"] == "Runtime.ExitError"
    assert "exit status 9" in result.payload["errorMessage"]


def test_a_busy_function_throttles_as_lambda_does_after_a_short_wait(tmp_path):
    runtime = LambdaRuntime(
        tmp_path / "logs", max_workers_per_function=2, throttle_after_seconds=0.2
    )
    runtime.register(function("slow", "tests.local.handlers.slow"))

    with ThreadPoolExecutor(max_workers=3) as pool:
        busy = [pool.submit(runtime.invoke, "slow", {"seconds": 1.5}) for _ in range(2)]
        while runtime.stats()["slow"]["workers"] < 2 or runtime.busy("slow") < 2:
            pass
        throttled = runtime.invoke("slow", {"seconds": 0}, when_busy="throttle")
        assert all(not future.result().failed for future in busy)

    assert throttled.throttled is True
    assert throttled.failed is True
    assert runtime.invoke("slow", {"seconds": 0}, when_busy="throttle").failed is False
    runtime.stop()


def test_a_throttled_call_takes_a_worker_that_frees_up_within_the_wait(runtime):
    runtime.register(function("slow", "tests.local.handlers.slow"))  # waits up to 3 s

    with ThreadPoolExecutor(max_workers=3) as pool:
        busy = [pool.submit(runtime.invoke, "slow", {"seconds": 0.5}) for _ in range(2)]
        while runtime.busy("slow") < 2:
            pass
        queued = runtime.invoke("slow", {"seconds": 0}, when_busy="throttle")
        assert all(not future.result().failed for future in busy)

    assert queued.failed is False


def test_an_invocation_that_may_wait_queues_for_a_free_worker(runtime):
    runtime.register(function("slow", "tests.local.handlers.slow"))

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: runtime.invoke("slow", {"seconds": 0.5}), range(3)))

    assert [result.failed for result in results] == [False, False, False]
    assert len({result.payload["pid"] for result in results}) == 2


def test_stop_while_invocations_run_answers_them_and_leaves_no_worker(tmp_path):
    runtime = LambdaRuntime(tmp_path / "logs", max_workers_per_function=2)
    runtime.register(function("slow", "tests.local.handlers.slow"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = [pool.submit(runtime.invoke, "slow", {"seconds": 5}) for _ in range(2)]
        while runtime.busy("slow") < 2 or runtime.stats()["slow"]["cold_starts"] < 2:
            pass
        pids = runtime.worker_pids()
        runtime.stop()
        results = [future.result(timeout=10) for future in running]

    assert [result.payload["errorType"] for result in results] == ["Runtime.ExitError"] * 2
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)


def test_an_invocation_takes_a_busy_worker_that_frees_soon_rather_than_start_another(tmp_path):
    runtime = LambdaRuntime(
        tmp_path / "logs", max_workers_per_function=2, cold_start_after_seconds=1.0
    )
    runtime.register(function("slow", "tests.local.handlers.slow"))
    assert runtime.invoke("slow", {"seconds": 0}).failed is False  # one warm worker

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(runtime.invoke, "slow", {"seconds": 0.3})
        while runtime.busy("slow") < 1:
            pass
        second = runtime.invoke("slow", {"seconds": 0})

    assert not first.result().failed
    assert not second.failed
    assert first.result().payload["pid"] == second.payload["pid"]
    assert runtime.stats()["slow"]["cold_starts"] == 1
    runtime.stop()

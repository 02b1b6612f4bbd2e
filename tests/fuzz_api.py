"""Fuzz the checkout API against its OpenAPI document: schemathesis, every check, a local cloud.

    python -m tests.fuzz_api                         # make fuzz-api: 100 examples per operation
    python -m tests.fuzz_api --max-examples 10 --seed 1

Starts its own local cloud (`python -m deploy.local`, the command `make run` runs) on free ports,
runs `schemathesis run docs/openapi.yaml --checks all` against it, stops the cloud and exits with
schemathesis's exit code: 0 when no check failed. Every generated request is sent over HTTP, as a
storefront would send it; POSTs start real checkouts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.local.launcher import LocalCloudProcess  # noqa: E402

SCHEMA = ROOT / "docs" / "openapi.yaml"


def fuzz(api_url: str, max_examples: int, seed: int | None, workers: int) -> int:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(SCHEMA),
        "--url", api_url, "--checks", "all", "--max-examples", str(max_examples),
        "--workers", str(workers), "--request-timeout", "60",
        "--generation-database", "none",  # every run starts from the seed alone
    ]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation")
    parser.add_argument("--seed", type=int, default=None)
    # One worker: with two, Hypothesis's lambda-source lookup trips CPython 3.11's AST
    # recursion check in the coverage phase ("AST constructor recursion depth mismatch").
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="checkout-fuzz-") as state_dir:
        cloud = LocalCloudProcess(Path(state_dir))
        print(f"starting a local cloud for the fuzzer ({state_dir}) ...", flush=True)
        cloud.start()
        try:
            return fuzz(cloud.api, args.max_examples, args.seed, args.workers)
        finally:
            cloud.stop()


if __name__ == "__main__":
    sys.exit(main())

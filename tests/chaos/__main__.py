"""`make chaos`: the fault-schedule checker at scale, then chaos on a real local cloud.

    python -m tests.chaos [--schedules 1000] [--checkouts 240] [--concurrency 8] [--seed 7]

1. The Hypothesis checker (tests/saga/test_fault_schedules.py) over `--schedules` random fault
   schedules, in process, on the real ASL file and handlers.
2. A local cloud on free ports: `--checkouts` checkouts at `--concurrency` while Lambda workers are
   killed at random and running executions are stopped, then the invariants from the stores.

Its last line is exactly
`chaos: <S> fault schedules, <C> local checkouts, <K> worker kills, <X> executions stopped,
<V> invariant violations` (one line), and it exits 1 when V > 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def say(line: str) -> None:
    print(line, flush=True)


def checker(schedules: int) -> tuple[int, list[str]]:
    """Run the property test with `schedules` examples; (examples run, violations found)."""
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        report = Path(scratch) / "schedules.jsonl"
        env = {**os.environ, "CHECKOUT_FAULT_SCHEDULES": str(schedules),
               "CHECKOUT_CHAOS_REPORT": str(report)}  # fmt: skip
        say(f"running the fault-schedule checker over {schedules} schedules ...")
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/saga/test_fault_schedules.py", "--hypothesis-show-statistics"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        lines = report.read_text().splitlines() if report.exists() else []
    runs = [json.loads(line) for line in lines]
    say(f"  {len(runs)} schedules in {time.monotonic() - started:.0f} s")
    found: list[str] = []
    if done.returncode != 0:
        failing = [run["violations"] for run in runs if run["violations"]]
        found = failing[-1] if failing else ["the checker failed: " + done.stdout[-2000:]]
        say(done.stdout[-4000:])
    return len(runs), found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--checkouts", type=int, default=240)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    schedules, found = checker(args.schedules)
    for violation in found:
        say(f"  violation (in process): {violation}")
    from tests.chaos.local import run_local

    with tempfile.TemporaryDirectory(prefix="chaos-cloud-") as state_dir:
        local = run_local(Path(state_dir), args.checkouts, args.concurrency, args.seed, say)
    for violation in local.violations:
        say(f"  violation (local cloud): {violation}")
    total = len(found) + len(local.violations)
    say(
        f"chaos: {schedules} fault schedules, {local.checkouts} local checkouts, "
        f"{local.kills} worker kills, {local.stopped} executions stopped, "
        f"{total} invariant violations"
    )
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())

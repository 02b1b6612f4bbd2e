"""docs/extending.md, followed in a temporary copy of the repository.

The guide's "add a step": `checkout new-step shipping schedule_shipment cancel_shipment --after
reserve_stock`, and nothing else by hand. Then the copy must hold only the new service, its
template, its tests and the specification entry (plus what `make generate` derives), pass
`make lint` and its tests, and run on the local cloud `make run` starts: a checkout that applies
the new step and one whose rollback compensates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NEW_STEP = ["shipping", "schedule_shipment", "cancel_shipment", "--after", "reserve_stock"]
GENERATED = {
    "orchestration/checkout_saga.asl.json",
    "deploy/orchestration/template.yaml",  # the wiring between its markers
    "docs/saga-diagram.md",
    "README.md",  # the diagram between its markers
    "docs/openapi.yaml",  # the fault header's pattern: the new step's operations
}

pytestmark = pytest.mark.scaffold


def _repository_files(root: Path) -> dict[str, str]:
    """Path -> digest of every file git tracks or would track (committed or not)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout  # fmt: skip
    found = {}
    for name in filter(None, os.fsdecode(listed).split("\0")):
        path = root / name
        if path.is_file():  # a file deleted but not yet committed is still listed
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and ".mypy_cache" not in path.parts
        and ".ruff_cache" not in path.parts
    }  # fmt: skip


def run_in(copy: Path, *command: str, timeout: float = 900) -> str:
    """Run a command in the copy, its code first on the path (the venv is the project's)."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PATH": f"{BIN}:{os.environ['PATH']}"}
    done = subprocess.run(
        list(command), cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(command)}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def before() -> dict[str, str]:
    return _repository_files(ROOT)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory, before: dict[str, str]) -> Path:
    root = tmp_path_factory.mktemp("extended") / "checkout"
    for name in before:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    run_in(root, sys.executable, "-m", "orchestration.cli", "new-step", *NEW_STEP)
    return root


def test_adding_a_step_is_the_service_its_template_its_tests_and_one_spec_entry(copy, before):
    after = _tree(copy)
    added = sorted(set(after) - set(before))
    changed = sorted(name for name in before if after.get(name) != before[name])

    assert {name.split("/")[0] + "/" + name.split("/")[1] for name in added} == {
        "services/shipping", "deploy/shipping", "tests/integration", "tests/saga",
    }  # fmt: skip
    assert {name for name in added if name.startswith("tests/")} == {
        "tests/integration/shipping/__init__.py",
        "tests/integration/shipping/conftest.py",
        "tests/integration/shipping/test_idempotency.py",
        "tests/saga/test_shipping_step.py",
    }
    assert set(changed) == {"orchestration/spec.py"} | GENERATED
    spec = (copy / "orchestration/spec.py").read_text()
    assert "STEPS = (CREATE_ORDER, RESERVE_STOCK, SCHEDULE_SHIPMENT, AUTHORIZE_PAYMENT, " in (
        re.sub(r"\(\s+", "(", re.sub(r",\s+", ", ", spec))
    )
    states = json.loads((copy / "orchestration/checkout_saga.asl.json").read_text())["States"]
    assert {"ScheduleShipment", "CancelShipment"} <= set(states)


def test_the_scaffold_refuses_a_step_it_cannot_place_and_writes_nothing(copy):
    env = {**os.environ, "PYTHONPATH": str(copy)}
    files = _tree(copy)
    for arguments, reason in [
        (["shipping", "ship", "unship", "--after", "reserve_stock"], "exists already"),
        (["gift", "wrap_gift", "unwrap_gift", "--after", "confirm_order"], "before the pivot"),
        (["gift", "wrap_gift", "unwrap_gift", "--after", "nothing"], "no such step"),
        (["Gift", "wrap_gift", "unwrap_gift", "--after", "create_order"], "snake_case"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "new-step", *arguments],
            cwd=copy, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert reason in done.stderr
    assert _tree(copy) == files


def test_the_extended_repository_passes_make_lint_and_its_tests(copy):
    run_in(copy, "make", "lint", "STAMP=", f"BIN={BIN}")
    generated = _tree(copy)
    run_in(copy, "make", "generate", "STAMP=", f"BIN={BIN}")
    assert _tree(copy) == generated  # the scaffold left nothing for `make generate` to do
    tests = [
        "tests/integration/shipping",
        "tests/saga/test_shipping_step.py",
        "tests/saga/test_checkout_saga.py",
        "tests/orchestration/test_spec.py",
        "tests/orchestration/test_definition.py",
        "tests/infrastructure/test_template_contracts.py",
    ]
    output = run_in(copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests)
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [\d.]+s( \(.*\))?", summary), summary  # none skipped


# The same command `make run` runs, in the copy; a happy checkout and a failed confirmation.
LOCAL_CLOUD_SCRIPT = """
import json, pathlib, tempfile
from deploy.local.launcher import LocalCloudProcess
from tests.e2e.conftest import Shop

cloud = LocalCloudProcess(pathlib.Path(tempfile.mkdtemp()))
cloud.start()
try:
    shop = Shop(cloud.api)
    views = {}
    for name, fault in (("happy", None), ("rollback", "order.confirm")):
        answer = shop.checkout([{"sku": "SKU-MUG", "quantity": 1}], fault=fault)
        assert answer.status == 202, answer.body
        views[name] = shop.wait_final(answer.body["order_id"])
    print(json.dumps(views))
finally:
    cloud.stop()
"""


def test_the_extended_saga_runs_on_the_local_cloud(copy):
    views = json.loads(run_in(copy, sys.executable, "-c", LOCAL_CLOUD_SCRIPT).splitlines()[-1])

    def operations(view: dict[str, Any], phase: str) -> list[str]:
        return [step["operation"] for step in view["steps"] if step["phase"] == phase]

    assert views["happy"]["status"] == "CONFIRMED"
    assert "shipping.schedule_shipment" in operations(views["happy"], "action")
    assert views["rollback"]["status"] == "CANCELLED"
    assert operations(views["rollback"], "compensation") == [
        "payment.void_payment", "shipping.cancel_shipment", "inventory.release_stock",
        "order.cancel_order",
    ]  # fmt: skip

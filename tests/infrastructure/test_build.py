"""`sam build` succeeds for every template, and each bundle holds only what it should.

Slow-ish (the dependency layers are installed for python3.12/arm64 from PyPI), marked `build`;
`make test` runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.templates import UNITS, functions, template_path

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def built(tmp_path_factory, run_tool) -> dict[str, Path]:
    out = {}
    for unit in UNITS:
        build_dir = tmp_path_factory.mktemp(f"build-{unit}")
        result = run_tool(
            "sam", "build", "--build-in-source", "--region", "us-east-1",
            "-t", str(template_path(unit)), "--build-dir", str(build_dir),
        )  # fmt: skip
        assert result.returncode == 0, f"sam build {unit} failed:\n{result.stdout}{result.stderr}"
        out[unit] = build_dir
    return out


@pytest.mark.parametrize("unit", UNITS)
def test_sam_build_writes_a_built_template(built, unit):
    assert (built[unit] / "template.yaml").is_file()


@pytest.mark.parametrize("unit", UNITS)
def test_each_function_bundle_holds_its_service_and_shared_only(built, unit):
    for function in functions(unit):
        bundle = built[unit] / function.logical_id
        if unit == "orchestration":
            assert sorted(p.name for p in bundle.iterdir()) == ["orchestration", "shared"]
        else:
            assert sorted(p.name for p in bundle.iterdir()) == ["services", "shared"]
            assert sorted(p.name for p in (bundle / "services").iterdir()) == ["__init__.py", unit]
        handler_file = bundle / (function.handler_module.replace(".", "/") + ".py")
        assert handler_file.is_file(), handler_file


@pytest.mark.parametrize("unit", UNITS)
def test_the_dependency_layer_is_built_for_the_lambda_target(built, unit):
    site = built[unit] / "DependenciesLayer" / "python"
    for package in ("aws_lambda_powertools", "pynamodb", "pydantic", "aws_xray_sdk"):
        assert (site / package).is_dir(), package
    # pydantic's compiled core must be the python3.12 arm64 build, whatever machine built it
    [core] = list((site / "pydantic_core").glob("_pydantic_core.*.so"))
    assert "cpython-312-aarch64-linux-gnu" in core.name

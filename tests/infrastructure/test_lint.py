"""Every template passes cfn-lint and `sam validate --lint`, offline."""

from __future__ import annotations

import pytest

from deploy.templates import UNITS, template_path


@pytest.mark.parametrize("unit", UNITS)
def test_cfn_lint_passes(unit, run_tool):
    result = run_tool("cfn-lint", str(template_path(unit)))

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_sam_validate_lint_passes(unit, run_tool):
    result = run_tool(
        "sam", "validate", "--lint", "-t", str(template_path(unit)), "--region", "us-east-1"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr

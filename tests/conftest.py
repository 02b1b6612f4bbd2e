"""Test-wide environment.

moto is imported before any handler, so every boto3 client the code makes is intercepted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import moto  # must come before boto3 sessions are made by the code under test
import pytest

# Fake credentials and a fixed region: nothing here may ever reach a real AWS account.
_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "checkout-tests",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "STAGE": "test",
}
os.environ.update(_TEST_ENV)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the test environment, whatever an earlier one left in os.environ
    (an endpoint left set would send a later test's calls past moto to a real server)."""
    for name, value in _TEST_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh in-process moto account for one test."""
    with moto.mock_aws():
        yield

"""A bounded run of `make fuzz-api` in every `make test`: schemathesis, every check, a fixed seed.

The full run (100 examples per operation) is `make fuzz-api`; this one sends a few examples per
operation against the e2e local cloud, so a change that breaks the contract of docs/openapi.yaml
(an undeclared status, a response that does not match its schema, a 5xx) fails the tests.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Shop
from tests.fuzz_api import fuzz

pytestmark = pytest.mark.e2e


def test_schemathesis_finds_no_failure_in_a_bounded_run(shop: Shop):
    assert fuzz(shop.url, max_examples=5, seed=1, workers=1) == 0

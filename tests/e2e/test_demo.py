"""`checkout demo` against the local cloud: every scenario ends as it says, its steps included."""

from __future__ import annotations

import pytest

from orchestration.cli import main
from tests.e2e.conftest import Shop


def test_the_demo_plays_every_scenario_and_each_ends_as_expected(
    shop: Shop, capsys: pytest.CaptureFixture[str]
):
    code = main(["demo", "--api", shop.url, "--timeout", "60"])

    printed = capsys.readouterr().out
    assert code == 0, printed
    # the happy checkout's capture runs after the order reads CONFIRMED: the demo waits for it
    for meaning in (
        "payment authorized", "order confirmed", "payment captured", "nothing authorized",
        "authorization voided", "stock released",
    ):  # fmt: skip
        assert meaning in printed, meaning
    assert "payment.capture_payment" in printed

"""The console in-process (werkzeug's test client) over the real saga on moto (tests/saga)."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from werkzeug.test import Client

from orchestration.console.server import Console, ConsoleSource
from tests.api.conftest import api as api  # the API in front of the rig, by name
from tests.saga.conftest import SagaRig
from tests.saga.conftest import saga as saga  # the saga rig fixture, reused here


@pytest.fixture
def console(saga: SagaRig) -> Client:
    described = saga.sfn.describe_state_machine(stateMachineArn=saga.state_machine_arn)
    source = ConsoleSource(
        label="test",
        sfn=saga.sfn,
        xray=None,
        state_machine_arn=saga.state_machine_arn,
        definition=json.loads(described["definition"]),
    )
    return Client(Console(source))


def text(response: Any) -> str:
    """The page's HTML with entities decoded, as a browser's DOM holds attribute values."""
    body: str = response.get_data(as_text=True)
    return html.unescape(body)

"""Load the one ASL file and fill its `${Placeholder}`s.

The file is generated from `orchestration/spec.py` (`make generate`). The same file is deployed
(SAM `DefinitionSubstitutions`) and executed locally and in tests, so a placeholder left unfilled
or a substitution nobody asked for is an error here, not a surprise later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestration.spec import SAGA, function_placeholder

DEFINITION_PATH = Path(__file__).with_name("checkout_saga.asl.json")

# What a deployment must provide: one ARN per saga function, the event bus, the parked table, stage.
REQUIRED_SUBSTITUTIONS = frozenset(
    {function_placeholder(operation.name) for _, operation in SAGA.operations()}
    | {"CheckoutEventBusName", "ParkedCheckoutsTableName", "Stage"}
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


class DefinitionError(ValueError):
    """The substitutions do not match the definition's placeholders."""


def definition_text(path: Path = DEFINITION_PATH) -> str:
    return path.read_text(encoding="utf-8")


def placeholders(text: str | None = None) -> set[str]:
    return set(_PLACEHOLDER.findall(definition_text() if text is None else text))


def render_definition(substitutions: Mapping[str, str], path: Path = DEFINITION_PATH) -> str:
    """The definition with every placeholder filled; raises DefinitionError on any mismatch."""
    text = definition_text(path)
    wanted = placeholders(text)
    missing = sorted(wanted - substitutions.keys())
    unused = sorted(substitutions.keys() - wanted)
    if missing or unused:
        raise DefinitionError(
            f"{path.name}: missing substitutions {missing or '[]'}, unused {unused or '[]'}"
        )
    rendered = _PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], text)
    json.loads(rendered)  # a substitution must never break the JSON
    return rendered


def load_definition(path: Path = DEFINITION_PATH) -> dict[str, Any]:
    """The raw definition as data (placeholders kept), for static checks and the diagram."""
    loaded: dict[str, Any] = json.loads(definition_text(path))
    return loaded

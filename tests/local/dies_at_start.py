"""A handler module whose import kills its process: a worker that dies while it starts."""

from __future__ import annotations

import os
from typing import Any

os._exit(9)


def lambda_handler(event: Any, context: Any) -> None:  # never reached
    return None

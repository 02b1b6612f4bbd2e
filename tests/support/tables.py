"""Create a service's tables in moto from its own PynamoDB models (the models are the schema)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from pynamodb.models import Model


def bind_service(
    monkeypatch: pytest.MonkeyPatch,
    get_settings: Callable[[], Any],  # the service's cached start-up (bootstrap.start)
    env: dict[str, str],
    models: Iterable[type[Model]],
) -> Any:
    """Set the service's environment, load its settings (which binds its models), create tables."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()  # type: ignore[attr-defined]
    settings = get_settings()
    for model in models:
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    return settings


def table_items(model: type[Model]) -> list[dict[str, Any]]:
    """Every stored item of a model's table, as plain data (for asserting stored state)."""
    return [item.to_simple_dict() for item in model.scan()]

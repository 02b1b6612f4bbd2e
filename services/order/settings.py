from __future__ import annotations

from shared.settings import BaseSettings, load_settings


class OrderSettings(BaseSettings):
    orders_table_name: str


def read_settings() -> OrderSettings:
    """The settings from the environment; ConfigurationError names every bad variable."""
    return load_settings(OrderSettings)

from __future__ import annotations

from shared.settings import BaseSettings, load_settings


class InventorySettings(BaseSettings):
    products_table_name: str
    reservations_table_name: str


def read_settings() -> InventorySettings:
    """The settings from the environment; ConfigurationError names every bad variable."""
    return load_settings(InventorySettings)

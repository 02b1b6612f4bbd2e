from __future__ import annotations

from functools import cache

from shared.settings import BaseSettings, load_settings


class InventorySettings(BaseSettings):
    products_table_name: str
    reservations_table_name: str


@cache
def get_settings() -> InventorySettings:
    """Read and validate the environment once per cold start, and bind the models to the tables."""
    from services.inventory.dal.records import bind_tables  # dal owns PynamoDB

    settings = load_settings(InventorySettings)
    bind_tables(settings)
    return settings

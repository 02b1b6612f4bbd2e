from __future__ import annotations

from functools import cache

from shared.settings import BaseSettings, load_settings


class OrderSettings(BaseSettings):
    orders_table_name: str


@cache
def get_settings() -> OrderSettings:
    """Read and validate the environment once per cold start, and bind the models to the tables."""
    from services.order.dal.records import bind_tables  # dal owns PynamoDB

    settings = load_settings(OrderSettings)
    bind_tables(settings)
    return settings

from __future__ import annotations

from functools import cache
from typing import Literal

from shared.settings import BaseSettings, load_settings


class PaymentSettings(BaseSettings):
    payments_table_name: str
    # Which adapter `gateway.provider_for` builds. Required: a function must never fall back to a
    # provider nobody chose. A real provider is one more Literal value and one branch there.
    payment_provider: Literal["simulated"]


@cache
def get_settings() -> PaymentSettings:
    """Read and validate the environment once per cold start, and bind the models to the tables."""
    from services.payment.dal.records import bind_tables  # dal owns PynamoDB

    settings = load_settings(PaymentSettings)
    bind_tables(settings)
    return settings

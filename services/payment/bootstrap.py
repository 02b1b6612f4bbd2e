"""Start-up of the payment functions: what a cold start does, once, before the first invocation.

Read the settings (a missing or malformed variable fails the start, naming it) and bind the
PynamoDB models to the tables they name. Kept out of `settings.py` so settings know nothing of the
dal, and the dal nothing of settings but their type.
"""

from __future__ import annotations

from functools import cache

from services.payment.dal.records import bind_tables
from services.payment.settings import PaymentSettings, read_settings


@cache
def start() -> PaymentSettings:
    settings = read_settings()
    bind_tables(settings)
    return settings

from __future__ import annotations

from functools import cache

from shared.settings import BaseSettings, load_settings


class CheckoutApiSettings(BaseSettings):
    state_machine_arn: str
    get_products_function_arn: str


@cache
def get_settings() -> CheckoutApiSettings:
    return load_settings(CheckoutApiSettings)

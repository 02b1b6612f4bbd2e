from __future__ import annotations

from functools import cache

from shared.settings import BaseSettings, load_settings


class CheckoutApiSettings(BaseSettings):
    state_machine_arn: str
    get_products_function_arn: str
    get_order_function_arn: str  # a checkout's status is its order's
    parked_checkouts_table_name: str  # a parked checkout reads FAILED
    # The provider's webhook: checked and applied by the payment service, then handed to the
    # order service, which holds the waiting saga's task token.
    receive_payment_webhook_function_arn: str
    answer_payment_approval_function_arn: str


@cache
def get_settings() -> CheckoutApiSettings:
    settings = load_settings(CheckoutApiSettings)
    from orchestration.parked_checkouts import bind_parked_table

    bind_parked_table(settings.parked_checkouts_table_name, settings.aws_region)
    return settings

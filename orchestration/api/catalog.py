"""The catalog, read through the inventory service's get_products function (it owns the data)."""

from __future__ import annotations

from orchestration import aws
from orchestration.api.settings import CheckoutApiSettings
from shared.contracts import GetProductsOutput


def get_products(settings: CheckoutApiSettings, skus: list[str] | None = None) -> GetProductsOutput:
    payload = {} if skus is None else {"skus": skus}
    return GetProductsOutput.model_validate(
        aws.invoke_function(settings.get_products_function_arn, payload)
    )

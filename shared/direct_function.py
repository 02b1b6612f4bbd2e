"""The decorator that turns a logic call into a direct function: a Lambda that another stack or an
operator command invokes directly (Lambda Invoke, not the state machine), such as the checkout API
reading the catalog or `checkout resolve` recording what an operator settled at the provider.

    @direct_function(name="get_products", input_model=GetProductsInput, settings=get_settings)
    def lambda_handler(request: GetProductsInput, settings: InventorySettings) -> GetProductsOutput:
        return get_products(request, settings)

saga_task without the saga: no order id to correlate by, no step or phase, no injected faults and
no step metrics. It parses the event into the contract (bad payload -> InvalidInputError naming the
fields), annotates the trace with `function` and `outcome`, and lets errors propagate so the caller
sees the exception class name as `errorType`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from shared.contracts import summarize
from shared.observability import logger, tracer
from shared.saga_task import (
    ContractT,
    LambdaHandler,
    SettingsT,
    parse_task,
    report_failure,
    report_success,
)


def direct_function(
    *,
    name: str,
    input_model: type[ContractT],
    settings: Callable[[], SettingsT],
) -> Callable[[Callable[[ContractT, SettingsT], BaseModel]], LambdaHandler]:
    """Wrap `logic(request, settings) -> output model` as a directly invoked Lambda."""

    def decorate(logic: Callable[[ContractT, SettingsT], BaseModel]) -> LambdaHandler:
        @logger.inject_lambda_context(clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False)  # a whole catalog overflows a trace
        @functools.wraps(logic)
        def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            tracer.put_annotation("function", name)
            logger.append_keys(function=name)
            try:
                config = settings()
                result = logic(parse_task(event, input_model), config)
            except Exception as error:
                report_failure(error, "call failed")
                raise
            report_success("call done")
            return summarize(result)

        return lambda_handler  # type: ignore[no-any-return]  # powertools decorators are untyped

    return decorate

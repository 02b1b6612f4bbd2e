"""The decorator that turns a logic call into a saga task Lambda.

A handler module is then one line of wiring:

    @saga_task(step="reserve_stock", phase=Phase.ACTION, input_model=ReserveStockInput,
               settings=get_settings)
    def lambda_handler(task: ReserveStockInput, settings: InventorySettings) -> ReserveStockOutput:
        return reserve_stock(task, settings)

It parses the event into the task's contract (bad payload -> InvalidInputError, nothing written),
sets the log correlation id and trace annotations (`order_id`, `step`, `phase`, `outcome`), honours
the checkout's fault schedule outside production (`shared.faults`: refuse, fail transiently, hang,
crash before or after the work, deliver twice), emits one metric set per invocation, and
lets errors propagate so Lambda reports the exception class name as `errorType` — the name the
state machine matches. `shared.direct_function` is its sibling for reads outside the saga.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared import faults
from shared.contracts import Contract, TaskInput, summarize
from shared.errors import (
    CheckoutError,
    DependencyUnavailableError,
    ErrorKind,
    InjectedFaultError,
    InvalidInputError,
    error_kind,
)
from shared.faults import Fault, FaultKind, parse_schedule
from shared.observability import Outcome, Phase, logger, metrics, tracer
from shared.settings import BaseSettings

ContractT = TypeVar("ContractT", bound=Contract)
InputT = TypeVar("InputT", bound=TaskInput)
SettingsT = TypeVar("SettingsT", bound=BaseSettings)

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

_OUTCOME_BY_KIND = {
    ErrorKind.BUSINESS: Outcome.BUSINESS_ERROR,
    ErrorKind.TRANSIENT: Outcome.TRANSIENT_ERROR,
    ErrorKind.INVALID_INPUT: Outcome.INVALID_INPUT,
}


def parse_task(event: Any, model: type[ContractT]) -> ContractT:
    """Validate a task or read payload; every problem is named in one InvalidInputError message."""
    if not isinstance(event, dict):
        raise InvalidInputError(f"{model.__name__}: payload must be a JSON object")
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'payload'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise InvalidInputError(f"{model.__name__}: {problems}") from None


def saga_task(
    *,
    step: str,
    phase: Phase,
    fault_name: str,
    input_model: type[InputT],
    settings: Callable[[], SettingsT],
) -> Callable[[Callable[[InputT, SettingsT], BaseModel]], LambdaHandler]:
    """Wrap `logic(task, settings) -> output model` as a Lambda entry point for one saga step."""

    def decorate(logic: Callable[[InputT, SettingsT], BaseModel]) -> LambdaHandler:
        @logger.inject_lambda_context(correlation_id_path="order_id", clear_state=True)
        @metrics.log_metrics  # one EMF document per invocation, flushed even when it raises
        @tracer.capture_lambda_handler(capture_response=False)  # responses may hold tokens' echoes
        @functools.wraps(logic)
        def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            started = time.perf_counter()
            order_id = event.get("order_id") if isinstance(event, dict) else None
            tracer.put_annotation("order_id", str(order_id))
            tracer.put_annotation("step", step)
            tracer.put_annotation("phase", phase.value)
            logger.append_keys(step=step, phase=phase.value)
            try:
                config = settings()
                task = parse_task(event, input_model)
                fault = _scheduled_fault(task, fault_name, config)
                result = _run_with_fault(fault, fault_name, lambda: logic(task, config), context)
            except Exception as error:
                _record(step, report_failure(error, "step failed"), started)
                raise
            _record(step, report_success("step done"), started)
            return summarize(result)

        return lambda_handler

    return decorate


def _scheduled_fault(task: TaskInput, fault_name: str, config: BaseSettings) -> Fault | None:
    if task.fault is None or not config.fault_injection_enabled:
        return None
    fault = parse_schedule(task.fault).get(fault_name)
    return fault if fault is not None and fault.applies(task.attempt) else None


def _run_with_fault(
    fault: Fault | None, fault_name: str, work: Callable[[], BaseModel], context: Any
) -> BaseModel:
    """Do the work as the fault says. A crash or a hang ends the process: no answer, no metric."""
    if fault is None:
        return work()
    injected = f"fault injected into {fault_name} ({fault}) for this checkout"
    match fault.kind:
        case FaultKind.BUSINESS:
            raise InjectedFaultError(injected)
        case FaultKind.TRANSIENT:
            raise DependencyUnavailableError(injected)
        case FaultKind.CRASH_BEFORE_COMMIT:
            logger.warning("crashing before the work", extra={"fault": str(fault)})
            faults.effects.crash()
        case FaultKind.DUPLICATE:
            work()  # the first delivery; its answer is lost in the duplication
    result = work()
    if fault.kind is FaultKind.CRASH_AFTER_COMMIT:
        logger.warning("crashing after the work", extra={"fault": str(fault)})
        faults.effects.crash()
    elif fault.kind is FaultKind.TIMEOUT:
        logger.warning("hanging past the timeout", extra={"fault": str(fault)})
        faults.effects.hang(context)
    return result


# Shared with direct_function. stacklevel=3: the log line's location is the handler that called.


def report_failure(error: Exception, message: str) -> Outcome:
    """Classify a failure, put it on the trace, log it (with a stack trace only if unexpected)."""
    outcome = _OUTCOME_BY_KIND[error_kind(error)]
    tracer.put_annotation("outcome", outcome.value)
    tracer.put_metadata("error", {"type": type(error).__name__, "message": str(error)})
    log = logger.warning if isinstance(error, CheckoutError) else logger.exception
    log(message, extra={"outcome": outcome.value, "error": type(error).__name__}, stacklevel=3)
    return outcome


def report_success(message: str) -> Outcome:
    tracer.put_annotation("outcome", Outcome.OK.value)
    logger.info(message, extra={"outcome": Outcome.OK.value}, stacklevel=3)
    return Outcome.OK


def _record(step: str, outcome: Outcome, started: float) -> None:
    """One metric set per invocation, keyed by step and outcome (flushed by `log_metrics`)."""
    if is_metrics_disabled():
        return  # Powertools keeps, and never clears, what is added while metrics are disabled
    metrics.add_dimension(name="step", value=step)
    metrics.add_dimension(name="outcome", value=outcome.value)
    metrics.add_metric(name="StepCompleted", unit=MetricUnit.Count, value=1)
    elapsed_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name="StepDuration", unit=MetricUnit.Milliseconds, value=elapsed_ms)

"""The services as the saga specification and their templates describe them, for test rigs.

No list of services, tables or environment variables is written here: the services are the
specification's, each one's environment is what its template gives its functions (tables get a
test name, parameters their default), and its tables are the PynamoDB models of its dal.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from pynamodb.models import Model

from deploy.templates import functions, load_template
from orchestration.spec import SAGA

RUNTIME_SET = {"STAGE", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}


def saga_services() -> list[str]:
    """The services the saga's steps belong to, in the order they first appear."""
    return list(dict.fromkeys(step.service for step in SAGA.steps))


def service_environment(service: str, prefix: str = "saga") -> dict[str, str]:
    """What the service's template sets for its functions, with test table names."""
    template = load_template(service)
    parameters = template.get("Parameters", {})
    tables = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    environment: dict[str, str] = {}
    for spec in functions(service, template):
        for name, value in spec.environment.items():
            if name in RUNTIME_SET:
                continue
            reference = value.get("Ref") if isinstance(value, dict) else None
            sub = value.get("Fn::Sub") if isinstance(value, dict) else None
            if isinstance(sub, str):  # a name made of parameters (an SSM path, say)
                environment[name] = _substitute(sub, parameters)
            elif reference in tables:
                environment[name] = f"{prefix}-{service}-{reference}"
            elif reference in parameters:
                environment[name] = str(parameters[reference].get("Default", ""))
            elif isinstance(value, str):
                environment[name] = value
    return environment


def _substitute(text: str, parameters: dict[str, Any]) -> str:
    for parameter, spec in parameters.items():
        text = text.replace(f"${{{parameter}}}", str(spec.get("Default", "")))
    return text


def service_models(service: str) -> list[type[Model]]:
    """The service's stored records: the PynamoDB models its dal defines."""
    module = importlib.import_module(f"services.{service}.dal.records")
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Model)
        and value is not Model
        and value.__module__ == module.__name__
    ]


def settings_loader(service: str) -> Any:
    return importlib.import_module(f"services.{service}.bootstrap").start

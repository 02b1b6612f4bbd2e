"""Read the SAM templates as data: CloudFormation's short tags become their long forms.

Used by the infrastructure tests (and later by the local deployer), so what is checked and what
runs locally is read from the very files that deploy to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEPLOY_DIR = Path(__file__).resolve().parent
ORCHESTRATION = "orchestration"
# Every folder of deploy/ with a template is a deployable unit: the services (each deploys on its
# own), then the orchestration, which reads their SSM parameters (so this is the deploy order).
SERVICES = tuple(
    sorted(
        folder.name
        for folder in DEPLOY_DIR.iterdir()
        if (folder / "template.yaml").is_file() and folder.name != ORCHESTRATION
    )
)
UNITS = (*SERVICES, ORCHESTRATION)

_SCALAR_FUNCTIONS = {"!Ref": "Ref", "!Condition": "Condition"}
_FUNCTIONS = [
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join",
    "Not", "Or", "Select", "Split", "Sub", "Transform", "ToJsonString", "Length",
]  # fmt: skip


class _TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that knows CloudFormation's short-form intrinsic functions."""


def _construct(name: str) -> Any:
    def construct(loader: _TemplateLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


def _construct_get_att(loader: _TemplateLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        resource, _, attribute = str(loader.construct_scalar(node)).partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": loader.construct_sequence(node, deep=True)}  # type: ignore[arg-type]


for _tag, _name in _SCALAR_FUNCTIONS.items():
    _TemplateLoader.add_constructor(_tag, _construct(_name))
for _function in _FUNCTIONS:
    _TemplateLoader.add_constructor(f"!{_function}", _construct(f"Fn::{_function}"))
_TemplateLoader.add_constructor("!GetAtt", _construct_get_att)


def template_path(unit: str) -> Path:
    return DEPLOY_DIR / unit / "template.yaml"


def load_template(unit: str) -> dict[str, Any]:
    with template_path(unit).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_TemplateLoader)  # a SafeLoader subclass
    return loaded


@dataclass(frozen=True)
class FunctionSpec:
    """A function as deployed: its own properties merged over the template's Globals."""

    unit: str
    logical_id: str
    properties: dict[str, Any]

    @property
    def handler_module(self) -> str:
        return str(self.properties["Handler"]).rsplit(".", 1)[0]

    @property
    def environment(self) -> dict[str, Any]:
        variables: dict[str, Any] = self.properties.get("Environment", {}).get("Variables", {})
        return variables


def functions(unit: str, template: dict[str, Any] | None = None) -> list[FunctionSpec]:
    template = load_template(unit) if template is None else template
    defaults = template.get("Globals", {}).get("Function", {})
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = resource["Properties"]
        merged = {**defaults, **own}
        merged["Environment"] = {
            "Variables": {
                **defaults.get("Environment", {}).get("Variables", {}),
                **own.get("Environment", {}).get("Variables", {}),
            }
        }
        specs.append(FunctionSpec(unit, logical_id, merged))
    return specs

"""Resolve the CloudFormation intrinsic functions our templates use, for the local deployer.

Supported: Ref, Fn::GetAtt, Fn::Sub (with ${Param}, ${Resource}, ${Resource.Attr}, ${AWS::...})
and SSM dynamic references `{{resolve:ssm:/path}}`. Anything else fails loudly, naming the
template and the expression, so a template that uses something new cannot half-deploy locally.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_SSM_REFERENCE = re.compile(r"\{\{resolve:ssm:([^}]+)\}\}")


class TemplateError(ValueError):
    """The template asks for something the local cloud cannot resolve."""


class Resolver:
    def __init__(
        self,
        unit: str,
        parameters: Mapping[str, Any],
        physical_ids: Mapping[str, str],
        attributes: Mapping[tuple[str, str], str],
        pseudo: Mapping[str, str],
        read_ssm: Callable[[str], str],
    ) -> None:
        self.unit = unit
        self.parameters = parameters
        self.physical_ids = physical_ids
        self.attributes = attributes
        self.pseudo = pseudo
        self._read_ssm = read_ssm

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, str):
            return self._dynamic_references(value)
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                return self._get_att(*argument)
            if key == "Fn::Sub":
                return self._dynamic_references(self._sub(argument))
            if key.startswith("Fn::"):
                raise TemplateError(f"{self.unit}: {key} is not supported by the local cloud")
        return {key: self.resolve(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name])
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        raise TemplateError(f"{self.unit}: Ref {name} names nothing deployed yet")

    def _get_att(self, resource: str, attribute: str) -> str:
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise TemplateError(f"{self.unit}: GetAtt {resource}.{attribute} is unknown") from None

    def _sub(self, argument: str | list[Any]) -> str:
        template, extra = (argument, {}) if isinstance(argument, str) else argument
        extra = {k: self.resolve(v) for k, v in extra.items()}

        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return _SUB_VARIABLE.sub(variable, template)

    def _dynamic_references(self, text: str) -> str:
        return _SSM_REFERENCE.sub(lambda match: self._read_ssm(match.group(1)), text)

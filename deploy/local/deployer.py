"""Deploy the SAM templates and the ASL file onto the local endpoint and runtime.

Reads `deploy/<unit>/template.yaml` in deploy order and creates what the suite needs to run:
DynamoDB tables, SSM parameters, functions (registered in the local runtime, each warmed once so a
template/code mismatch fails here), the event bus, the state machine (its one ASL file with the
template's DefinitionSubstitutions, SSM references resolved from the local SSM), and the API routes.
Resources with no local behaviour (log groups, alarms, IAM, layers...) are listed as skipped.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from deploy.local.config import ACCOUNT, REGION, ROOT, LocalCloudConfig, fake_credentials
from deploy.local.intrinsics import Resolver, TemplateError
from deploy.local.runtime import FunctionConfig, LambdaRuntime
from deploy.templates import UNITS, load_template, template_path
from orchestration.definition import render_definition

NOT_EMULATED = {
    "AWS::Logs::LogGroup", "AWS::Logs::ResourcePolicy", "AWS::Serverless::LayerVersion",
    "AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::IAM::Role",
    "AWS::ApiGateway::Account", "AWS::Events::Archive", "AWS::Events::Rule", "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
}  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template, e.g. /checkouts/{order_id}
    function: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class EventRule:
    """A function's `EventBridgeRule` event: the pattern (intrinsics resolved) and its target."""

    function: str
    pattern: dict[str, Any]


@dataclass(frozen=True)
class Schedule:
    function: str
    expression: str  # as in the template, e.g. rate(5 minutes); locally every few seconds


@dataclass
class Deployment:
    routes: list[Route] = field(default_factory=list)
    rules: list[EventRule] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    state_machine_arn: str = ""
    event_bus: str = ""
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    skipped: dict[str, int] = field(default_factory=dict)
    init_ms: dict[str, int] = field(default_factory=dict)


def _route_pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}/?$")


# The secrets each stack reads from SSM SecureString parameters (never from its template).
LOCAL_SECRETS: dict[str, tuple[str, ...]] = {"payment": ("webhook-signing-secret",)}


class LocalDeployer:
    def __init__(self, config: LocalCloudConfig, runtime: LambdaRuntime) -> None:
        self.config = config
        self.runtime = runtime
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
        )
        endpoint = config.aws_endpoint
        self._dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self._ssm = session.client("ssm", endpoint_url=endpoint)
        self._events = session.client("events", endpoint_url=endpoint)
        self._sfn = session.client("stepfunctions", endpoint_url=endpoint)
        self.deployment = Deployment()

    def deploy_all(self, progress: Any = print) -> Deployment:
        for unit in UNITS:
            self.deploy_unit(unit, progress)
        return self.deployment

    # --- one template ------------------------------------------------------------------------

    def deploy_unit(self, unit: str, progress: Any = print) -> None:
        template = load_template(unit)
        parameters = {
            name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()
        }
        parameters.update(Project=self.config.project, Stage=self.config.stage)
        parameters.update(self.config.parameter_overrides().get(unit, {}))
        self._ensure_secrets(unit)
        physical: dict[str, str] = {}
        attributes: dict[tuple[str, str], str] = {}
        resolver = Resolver(
            unit, parameters, physical, attributes,
            pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                    "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": f"checkout-{unit}"},
            read_ssm=self._read_ssm,
        )  # fmt: skip
        resources: dict[str, dict[str, Any]] = template["Resources"]
        # Order: tables and buses first, then functions, state machine, then what points at them.
        order = ["AWS::DynamoDB::Table", "AWS::Events::EventBus", "AWS::Serverless::Api",
                 "AWS::Serverless::StateMachine", "AWS::Serverless::Function",
                 "AWS::SSM::Parameter"]  # fmt: skip
        functions: list[str] = []
        for kind in order:
            for logical_id, resource in resources.items():
                if resource["Type"] == kind:
                    props = resource.get("Properties", {})
                    self._resource(unit, template, kind, logical_id, props, resolver, physical,
                                   attributes)  # fmt: skip
                    if kind == "AWS::Serverless::Function":
                        functions.append(physical[logical_id])
        for resource in resources.values():
            if resource["Type"] in NOT_EMULATED:
                self.deployment.skipped[resource["Type"]] = (
                    self.deployment.skipped.get(resource["Type"], 0) + 1
                )
            elif resource["Type"] not in order:
                raise TemplateError(f"{unit}: {resource['Type']} has no local equivalent")
        self._warm(functions)
        progress(
            f"  deployed {unit:<13} {len(functions)} function(s), "
            f"{sum(1 for r in resources.values() if r['Type'] == 'AWS::DynamoDB::Table')} table(s)"
            f"  ({template_path(unit).relative_to(ROOT)})"
        )

    def _resource(self, unit: str, template: dict[str, Any], kind: str, logical_id: str,
                  props: dict[str, Any], resolver: Resolver, physical: dict[str, str],
                  attributes: dict[tuple[str, str], str]) -> None:  # fmt: skip
        if kind == "AWS::DynamoDB::Table":
            self._table(logical_id, props, resolver, physical, attributes)
        elif kind == "AWS::Events::EventBus":
            name = resolver.resolve(props["Name"])
            arn = self._events.create_event_bus(Name=name)["EventBusArn"]
            physical[logical_id], attributes[(logical_id, "Arn")] = name, arn
            self.deployment.event_bus = name
        elif kind == "AWS::Serverless::Api":
            physical[logical_id] = f"local-{logical_id}"
        elif kind == "AWS::Serverless::StateMachine":
            self._state_machine(unit, logical_id, props, resolver, physical, attributes)
        elif kind == "AWS::Serverless::Function":
            self._function(template, logical_id, props, resolver, physical, attributes)
        elif kind == "AWS::SSM::Parameter":
            self._ssm.put_parameter(
                Name=resolver.resolve(props["Name"]),
                Value=resolver.resolve(props["Value"]),
                Type=props.get("Type", "String"),
                Overwrite=True,
            )

    def _ensure_secrets(self, unit: str) -> None:
        """The SecureStrings a stack expects to exist before it is deployed (on AWS an operator
        creates them: docs/saga.md): locally a random value, made once per local cloud."""
        for name in LOCAL_SECRETS.get(unit, ()):
            path = f"/{self.config.project}/{self.config.stage}/{unit}/{name}"
            with contextlib.suppress(self._ssm.exceptions.ParameterAlreadyExists):
                self._ssm.put_parameter(
                    Name=path, Type="SecureString", Value=secrets.token_urlsafe(32),
                    Overwrite=False,
                )  # fmt: skip

    def _read_ssm(self, name: str) -> str:
        try:
            value: str = self._ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except self._ssm.exceptions.ParameterNotFound:
            raise TemplateError(
                f"SSM parameter {name} does not exist: deploy its service first"
            ) from None
        return value

    def _table(
        self,
        logical_id: str,
        props: dict[str, Any],
        resolver: Resolver,
        physical: dict[str, str],
        attributes: dict[tuple[str, str], str],
    ) -> None:
        name = resolver.resolve(props["TableName"])
        self._dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
        )
        physical[logical_id] = name
        attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        self.deployment.tables[logical_id] = name

    def _function(self, template: dict[str, Any], logical_id: str, props: dict[str, Any],
                  resolver: Resolver, physical: dict[str, str],
                  attributes: dict[tuple[str, str], str]) -> None:  # fmt: skip
        defaults = template.get("Globals", {}).get("Function", {})
        merged = {**defaults, **props}
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        name = resolver.resolve(merged["FunctionName"])
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        physical[logical_id] = name
        attributes[(logical_id, "Arn")] = arn
        environment = {k: str(resolver.resolve(v)) for k, v in variables.items()}
        environment.update(self._runtime_environment(name, arn, merged))
        self.runtime.register(
            FunctionConfig(
                name=name,
                arn=arn,
                handler=merged["Handler"],
                environment=environment,
                timeout_seconds=int(merged.get("Timeout", 3)),
                memory_mb=int(merged.get("MemorySize", 128)),
            )
        )
        for event in props.get("Events", {}).values():
            if event["Type"] == "Api":
                method = event["Properties"]["Method"].upper()
                path = event["Properties"]["Path"]
                self.deployment.routes.append(Route(method, path, name, _route_pattern(path)))
            elif event["Type"] == "EventBridgeRule":
                pattern = resolver.resolve(event["Properties"]["Pattern"])
                self.deployment.rules.append(EventRule(name, pattern))
            elif event["Type"] == "Schedule":
                expression = str(resolver.resolve(event["Properties"]["Schedule"]))
                self.deployment.schedules.append(Schedule(name, expression))
            else:
                raise TemplateError(
                    f"{logical_id}: event type {event['Type']} has no local equivalent"
                )

    def _runtime_environment(self, name: str, arn: str, props: dict[str, Any]) -> dict[str, str]:
        """What the Lambda service sets for every function, pointed at the local endpoint."""
        import os
        import sys

        return {
            **fake_credentials(),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
            "AWS_ENDPOINT_URL": self.config.aws_endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "CHECKOUT_FUNCTION_ARN": arn,
            "_HANDLER": props["Handler"],
            "POWERTOOLS_METRICS_NAMESPACE": "CheckoutSaga",
            # X-Ray in Lambda mode: the SDK reads the trace context the runtime hands each
            # invocation (_X_AMZN_TRACE_ID) and sends subsegments to the local daemon.
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_XRAY_DAEMON_ADDRESS": f"{self.config.host}:{self.config.xray_port}",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }

    def _state_machine(self, unit: str, logical_id: str, props: dict[str, Any],
                       resolver: Resolver, physical: dict[str, str],
                       attributes: dict[tuple[str, str], str]) -> None:  # fmt: skip
        definition_path = (template_path(unit).parent / props["DefinitionUri"]).resolve()
        substitutions = {
            key: str(resolver.resolve(value))
            for key, value in props.get("DefinitionSubstitutions", {}).items()
        }
        name = resolver.resolve(props["Name"])
        arn = self._sfn.create_state_machine(
            name=name,
            definition=render_definition(substitutions, path=definition_path),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        physical[logical_id] = arn
        attributes[(logical_id, "Name")] = name
        attributes[(logical_id, "Arn")] = arn
        self.deployment.state_machine_arn = arn

    def _warm(self, names: list[str]) -> None:
        """Cold-start every function once, in parallel: a broken template or handler fails now."""
        if not names:
            return
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            for name, init_ms in zip(names, pool.map(self.runtime.warm_up, names), strict=True):
                self.deployment.init_ms[name] = init_ms

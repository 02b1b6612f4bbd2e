"""The templates agree with the code: tables, environment, handlers, permissions, wiring."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
from typing import Any

import pytest
from pynamodb.models import Model

from deploy.bundle import unit_of_function
from deploy.templates import DEPLOY_DIR, SERVICES, UNITS, functions, load_template
from orchestration.definition import DEFINITION_PATH, placeholders
from orchestration.parked_checkouts import ParkedCheckoutRecord
from shared.settings import BaseSettings, env_var_name

ROOT = DEPLOY_DIR.parent
SERVICE_UNITS = SERVICES


def _access(service: str) -> Any:
    return importlib.import_module(f"services.{service}.dal.access")


# Each service declares its tables and what its functions do to them (services/<s>/dal/access.py).
TABLE_MODELS: dict[tuple[str, str], type[Model]] = {
    **{(svc, table): model for svc in SERVICES for table, model in _access(svc).TABLES.items()},
    ("orchestration", "ParkedCheckoutsTable"): ParkedCheckoutRecord,
}
ALLOWED_ACTIONS: dict[str, dict[str, set[str]]] = {
    function: actions for svc in SERVICES for function, actions in _access(svc).ACTIONS.items()
}
# Beyond their tables: what a few functions may do (a secret to read, a task token to complete).
OTHER_ACTIONS: dict[str, set[str]] = {
    function: actions
    for svc in SERVICES
    for function, actions in getattr(_access(svc), "OTHER_ACTIONS", {}).items()
}
# Set by the Lambda runtime itself, not by templates.
RUNTIME_VARIABLES = {"AWS_REGION"}
SSM_REFERENCE = re.compile(r"\{\{resolve:ssm:(/\$\{Project\}/\$\{Stage\}/[^}]+)\}\}")


def all_functions() -> list[Any]:
    return [spec for unit in UNITS for spec in functions(unit)]


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def settings_model(handler_module: str) -> type[BaseSettings]:
    """The settings model of the package nearest the handler (services.x, orchestration.api)."""
    package = handler_module
    while True:
        package = package.rsplit(".", 1)[0]
        try:
            module = importlib.import_module(f"{package}.settings")
            break
        except ModuleNotFoundError:
            assert "." in package, f"no settings module above {handler_module}"
    [model] = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseSettings)
        and obj is not BaseSettings
        and obj.__module__ == module.__name__
    ]
    return model


@pytest.mark.parametrize(("unit", "logical_id"), list(TABLE_MODELS))
def test_table_key_schema_matches_the_pynamodb_model(unit, logical_id):
    table = load_template(unit)["Resources"][logical_id]["Properties"]
    model = TABLE_MODELS[(unit, logical_id)]
    hash_key = model._hash_key_attribute()  # type: ignore[no-untyped-call]
    range_key = model._range_key_attribute()  # type: ignore[no-untyped-call]
    expected = [{"AttributeName": hash_key.attr_name, "KeyType": "HASH"}]
    if range_key is not None:
        expected.append({"AttributeName": range_key.attr_name, "KeyType": "RANGE"})
    assert table["KeySchema"] == expected
    types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    assert types == {attr.attr_name: attr.attr_type for attr in filter(None, [hash_key, range_key])}


def test_every_table_in_the_templates_has_a_model():
    tables = {
        (unit, logical_id)
        for unit in UNITS
        for logical_id in resources_of_type(load_template(unit), "AWS::DynamoDB::Table")
    }
    assert tables == set(TABLE_MODELS)


@pytest.mark.parametrize("spec", all_functions(), ids=lambda s: s.logical_id)
def test_handler_exists_and_imports(spec):
    module = importlib.import_module(spec.handler_module)
    assert callable(module.lambda_handler)
    assert spec.properties["Handler"] == f"{spec.handler_module}.lambda_handler"


@pytest.mark.parametrize("spec", all_functions(), ids=lambda s: s.logical_id)
def test_every_setting_the_function_requires_is_set_by_its_template(spec):
    model = settings_model(spec.handler_module)
    required = {
        env_var_name(name) for name, field in model.model_fields.items() if field.is_required()
    }
    missing = required - RUNTIME_VARIABLES - set(spec.environment)
    assert missing == set(), f"{spec.logical_id} lacks {sorted(missing)}"
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == spec.unit
    tables = resources_of_type(load_template(spec.unit), "AWS::DynamoDB::Table")
    for name, value in spec.environment.items():
        if name.endswith("_TABLE_NAME"):
            assert value in [{"Ref": logical_id} for logical_id in tables], name


@pytest.mark.parametrize("spec", all_functions(), ids=lambda s: s.logical_id)
def test_functions_follow_the_platform_conventions(spec):
    props = spec.properties
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Tracing"] == "Active"
    if spec.logical_id in ALLOWED_ACTIONS:  # saga steps: Lambda's timeout fires before the task's
        assert props["Timeout"] < min(_task_timeouts())
    elif spec.logical_id == "CheckoutApiFunction":  # before API Gateway's 29 s integration timeout
        assert props["Timeout"] < 29
    template = load_template(spec.unit)
    log_group = template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    function_name = props["FunctionName"]["Fn::Sub"]
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}
    assert template["Resources"][spec.logical_id]["Metadata"] == {"BuildMethod": "makefile"}
    # `sam build` calls `make build-<LogicalId>`: the target must exist.
    dry_run = subprocess.run(
        ["make", "-n", f"build-{spec.logical_id}", "ARTIFACTS_DIR=/tmp/x"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert dry_run.returncode == 0, dry_run.stderr
    assert f"--function {spec.logical_id}" in dry_run.stdout
    assert unit_of_function(spec.logical_id) == spec.unit


@pytest.mark.parametrize("unit", UNITS)
def test_every_template_takes_a_stage(unit):
    assert "Stage" in load_template(unit)["Parameters"]


@pytest.mark.parametrize(
    "spec",
    [s for s in all_functions() if s.logical_id in ALLOWED_ACTIONS],
    ids=lambda s: s.logical_id,
)
def test_functions_touch_only_their_own_tables_with_only_the_actions_they_use(spec):
    template = load_template(spec.unit)
    own_tables = resources_of_type(template, "AWS::DynamoDB::Table")
    granted: dict[str, set[str]] = {}
    other: set[str] = set()
    for policy in spec.properties["Policies"]:
        assert set(policy) == {"Statement"}, "only inline statements: no broad policy templates"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            resource = statement["Resource"]
            assert isinstance(resource, dict), f"{spec.logical_id}: resource must be one thing"
            if "Fn::Sub" in resource:  # not a table: one named ARN of this project and stage
                assert "${Project}-${Stage}" in resource["Fn::Sub"] or (
                    "/${Project}/${Stage}/" in resource["Fn::Sub"]
                ), resource
                other.update(statement["Action"])
                continue
            table, attribute = resource["Fn::GetAtt"]
            assert table in own_tables
            assert attribute == "Arn"
            granted.setdefault(table, set()).update(statement["Action"])
    assert granted == ALLOWED_ACTIONS[spec.logical_id]
    assert other == OTHER_ACTIONS.get(spec.logical_id, set())


def test_every_function_has_its_permissions_checked():
    checked = set(ALLOWED_ACTIONS) | {"CheckoutApiFunction", "ReconcilerFunction"}
    assert {spec.logical_id for spec in all_functions()} == checked


def test_the_checkout_api_may_only_start_and_read_sagas_read_the_catalog_and_pass_on_webhooks():
    [api] = [
        spec for spec in functions("orchestration") if spec.logical_id == "CheckoutApiFunction"
    ]
    statements = [s for policy in api.properties["Policies"] for s in policy["Statement"]]
    granted = {tuple(s["Action"]): s["Resource"] for s in statements if "Sid" in s}
    by_sid = {s["Sid"]: s["Resource"] for s in statements}
    assert granted[("states:StartExecution",)] == {"Ref": "CheckoutStateMachine"}
    read = granted[("states:DescribeExecution", "states:GetExecutionHistory")]["Fn::Sub"]
    assert read.endswith(":execution:${CheckoutStateMachine.Name}:*")
    catalog = by_sid["ReadTheCatalog"]["Fn::Sub"]
    assert "/inventory/get-products-function/arn" in catalog
    assert api.environment["GET_PRODUCTS_FUNCTION_ARN"] == {"Fn::Sub": catalog}
    orders = by_sid["ReadOrders"]["Fn::Sub"]
    assert "/order/get-order-function/arn" in orders
    assert api.environment["GET_ORDER_FUNCTION_ARN"] == {"Fn::Sub": orders}
    assert granted[("dynamodb:GetItem",)] == {"Fn::GetAtt": ["ParkedCheckoutsTable", "Arn"]}
    webhook = [r["Fn::Sub"] for r in by_sid["PassOnPaymentWebhooks"]]
    assert any("/payment/receive-payment-webhook-function/arn" in r for r in webhook)
    assert any("/order/answer-payment-approval-function/arn" in r for r in webhook)
    assert api.environment["RECEIVE_PAYMENT_WEBHOOK_FUNCTION_ARN"] == {"Fn::Sub": webhook[0]}
    assert api.environment["ANSWER_PAYMENT_APPROVAL_FUNCTION_ARN"] == {"Fn::Sub": webhook[1]}
    assert len(statements) == 6


def _function(unit: str, logical_id: str) -> Any:
    [spec] = [spec for spec in functions(unit) if spec.logical_id == logical_id]
    return spec


def test_the_reconciler_may_only_recover_its_own_sagas_and_park():
    reconciler = _function("orchestration", "ReconcilerFunction")
    statements = [s for policy in reconciler.properties["Policies"] for s in policy["Statement"]]
    granted = {tuple(s["Action"]): s["Resource"] for s in statements}
    assert granted == {
        ("states:StartExecution", "states:ListExecutions"): {"Ref": "CheckoutStateMachine"},
        ("states:DescribeExecution", "states:GetExecutionHistory"): {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
            ":execution:${CheckoutStateMachine.Name}:*"
        },
        ("dynamodb:PutItem",): {"Fn::GetAtt": ["ParkedCheckoutsTable", "Arn"]},
        ("events:PutEvents",): {"Fn::GetAtt": ["CheckoutEventBus", "Arn"]},
        ("cloudwatch:PutMetricData",): "*",
        ("sqs:SendMessage",): {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]},
    }
    [metrics] = [s for s in statements if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CheckoutSaga"}}
    assert "lambda:InvokeFunction" not in str(statements), "it recovers through the saga only"


def test_the_reconciler_hears_every_unfinished_ending_of_its_state_machine_and_sweeps():
    from orchestration.recovery import CLOSED_UNFINISHED

    events = _function("orchestration", "ReconcilerFunction").properties["Events"]
    rule = events["ExecutionStatusChange"]
    assert rule["Type"] == "EventBridgeRule"
    assert "EventBusName" not in rule["Properties"], "Step Functions publishes on the default bus"
    pattern = rule["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "CheckoutStateMachine"}]
    assert tuple(pattern["detail"]["status"]) == CLOSED_UNFINISHED
    assert rule["Properties"]["DeadLetterConfig"]["Type"] == "SQS"
    assert events["Sweep"]["Type"] == "Schedule"
    alarms = resources_of_type(load_template("orchestration"), "AWS::CloudWatch::Alarm")
    watched = [a["Properties"]["Dimensions"][0]["Value"] for a in alarms.values()]
    assert {"Ref": "ReconcilerFunction"} in watched
    assert {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "QueueName"]} in watched


def test_the_api_gateway_model_mirrors_the_checkout_request():
    from orchestration.api.models import CheckoutRequest
    from shared.contracts import MAX_LINES_PER_ORDER, MAX_QUANTITY_PER_LINE

    template = load_template("orchestration")
    model = template["Resources"]["CheckoutApi"]["Properties"]["Models"]["CheckoutRequest"]
    assert set(model["required"]) == {
        name for name, field in CheckoutRequest.model_fields.items() if field.is_required()
    }
    assert set(model["properties"]) == set(CheckoutRequest.model_fields)
    assert model["additionalProperties"] is False
    items = model["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, MAX_LINES_PER_ORDER)
    quantity = items["items"]["properties"]["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (1, MAX_QUANTITY_PER_LINE)
    schema = CheckoutRequest.model_json_schema()
    line = schema["$defs"]["OrderLine"]["properties"]
    assert items["items"]["properties"]["sku"]["pattern"] == line["sku"]["pattern"]
    for name in ("customer_id", "payment_token"):
        assert model["properties"][name]["pattern"] == schema["properties"][name]["pattern"]


def _state_machine() -> dict[str, Any]:
    [machine] = resources_of_type(
        load_template("orchestration"), "AWS::Serverless::StateMachine"
    ).values()
    properties: dict[str, Any] = machine["Properties"]
    return properties


def _task_timeouts() -> list[int]:
    from orchestration.definition import load_definition

    states = load_definition()["States"].values()
    # (a wait for the customer takes its timeout from the step's result: it is not a bound on
    # a Lambda invocation's answer, and the wait's own function answers at once)
    return [state["TimeoutSeconds"] for state in states if "TimeoutSeconds" in state]


def _published_parameters() -> set[str]:
    names = set()
    for unit in SERVICE_UNITS:
        for parameter in resources_of_type(load_template(unit), "AWS::SSM::Parameter").values():
            names.add(parameter["Properties"]["Name"]["Fn::Sub"])
    return names


def test_the_state_machine_is_the_one_asl_file_with_every_placeholder_substituted():
    machine = _state_machine()
    definition = (DEPLOY_DIR / "orchestration" / machine["DefinitionUri"]).resolve()
    assert definition == DEFINITION_PATH
    assert set(machine["DefinitionSubstitutions"]) == placeholders()
    assert machine["Tracing"] == {"Enabled": True}
    assert machine["Type"] == "STANDARD"


def test_function_arns_come_from_the_services_ssm_parameters_not_exports():
    machine = _state_machine()
    published = _published_parameters()
    for name, value in machine["DefinitionSubstitutions"].items():
        if not name.endswith("FunctionArn"):
            continue
        [path] = SSM_REFERENCE.findall(value["Fn::Sub"])
        assert path in published, f"{name}: no service template publishes {path}"
    assert "Fn::ImportValue" not in str(load_template("orchestration"))


def test_the_state_machine_may_invoke_only_the_saga_functions():
    machine = _state_machine()
    statements = [s for policy in machine["Policies"] for s in policy["Statement"]]
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert len(invoke) == 1
    assert invoke[0]["Action"] == ["lambda:InvokeFunction"]
    substituted = [
        v for k, v in machine["DefinitionSubstitutions"].items() if k.endswith("FunctionArn")
    ]
    assert sorted(map(str, invoke[0]["Resource"])) == sorted(map(str, substituted))
    for statement in statements:
        if statement["Resource"] == "*":
            # only the APIs without resource-level permissions, and metrics scoped by namespace
            assert set(statement["Action"]) <= {
                "cloudwatch:PutMetricData",
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            }


def test_alarms_watch_parked_checkouts_and_failed_executions():
    alarms = resources_of_type(load_template("orchestration"), "AWS::CloudWatch::Alarm")
    watched = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    }
    assert ("CheckoutSaga", "CheckoutsParked") in watched
    assert ("AWS/States", "ExecutionsFailed") in watched
    definition_text = DEFINITION_PATH.read_text(encoding="utf-8")
    assert '"MetricName": "CheckoutsParked"' in definition_text
    assert '"Namespace": "CheckoutSaga"' in definition_text

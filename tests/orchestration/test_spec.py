"""The saga specification is the one place a step is written; everything else agrees with it."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from typing import Any

import pytest

from deploy.templates import functions, load_template
from orchestration.asl import SpecificationError, build, render
from orchestration.definition import DEFINITION_PATH
from orchestration.spec import (
    AUTHORIZE_PAYMENT,
    CONFIRM_ORDER,
    CREATE_ORDER,
    RESERVE_STOCK,
    SAGA,
    Step,
    StepKind,
    function_placeholder,
    function_slug,
)


def test_the_committed_asl_file_is_generated_from_the_specification():
    assert DEFINITION_PATH.read_text(encoding="utf-8") == render(), (
        "orchestration/checkout_saga.asl.json is stale or was edited by hand: run `make generate`"
    )


def test_the_orchestration_templates_wiring_is_generated_from_the_specification():
    from orchestration.wiring import TEMPLATE_PATH, render_template

    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert text == render_template(text), "the template's saga wiring is stale: run `make generate`"


def test_a_hand_edit_of_the_asl_file_is_caught(tmp_path):
    edited = json.loads(render())
    edited["States"]["ReleaseStock"]["Retry"][0]["MaxAttempts"] = 1  # "just this once"
    assert json.dumps(edited, indent=2) + "\n" != render()


@pytest.mark.parametrize(
    ("service", "operation"), SAGA.operations(), ids=lambda x: getattr(x, "name", "")
)
def test_every_operation_has_a_handler_declaring_its_fault_name(service, operation):
    module = importlib.import_module(f"services.{service}.handlers.{operation.name}")
    text = inspect.getsource(module)
    assert f'fault_name="{operation.fault}"' in text
    assert f'step="{operation.name}"' in text


def test_every_operation_is_a_function_of_its_services_template():
    for service, operation in SAGA.operations():
        handlers = {spec.properties["Handler"] for spec in functions(service)}
        assert f"services.{service}.handlers.{operation.name}.lambda_handler" in handlers


def _state_machine() -> dict[str, Any]:
    template = load_template("orchestration")
    [machine] = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"
    ]
    properties: dict[str, Any] = machine["Properties"]
    return properties


def test_the_orchestration_template_wires_exactly_the_specifications_functions():
    machine = _state_machine()
    expected = {
        function_placeholder(operation.name): "{{resolve:ssm:/${Project}/${Stage}/"
        f"{service}/{function_slug(operation.name)}-function/arn}}}}"
        for service, operation in SAGA.operations()
    }
    wired = {
        name: value["Fn::Sub"]
        for name, value in machine["DefinitionSubstitutions"].items()
        if name.endswith("FunctionArn")
    }
    assert wired == expected
    statements = [s for policy in machine["Policies"] for s in policy["Statement"]]
    [invoke] = [s for s in statements if s["Action"] == ["lambda:InvokeFunction"]]
    assert sorted(r["Fn::Sub"] for r in invoke["Resource"]) == sorted(expected.values())


def test_each_service_publishes_the_arn_the_orchestration_reads():
    for service, operation in SAGA.operations():
        parameters = [
            r["Properties"]["Name"]["Fn::Sub"]
            for r in load_template(service)["Resources"].values()
            if r["Type"] == "AWS::SSM::Parameter"
        ]
        path = f"/${{Project}}/${{Stage}}/{service}/{function_slug(operation.name)}-function/arn"
        assert path in parameters, f"{service} does not publish {path}"


def _with(**changes: object) -> object:
    saga = copy.deepcopy(SAGA)
    object.__setattr__(saga, "steps", changes["steps"])
    return saga


def test_a_specification_that_breaks_the_saga_shape_is_refused():
    create, reserve, charge, confirm = CREATE_ORDER, RESERVE_STOCK, AUTHORIZE_PAYMENT, CONFIRM_ORDER
    two_pivots = _with(steps=(create, confirm, confirm))
    compensatable_after_pivot = _with(steps=(create, confirm, reserve))
    pivot_with_compensation = Step(
        service="order",
        kind=StepKind.PIVOT,
        action=confirm.action,
        compensation=create.compensation,
    )
    for broken, problem in (
        (two_pivots, "exactly one pivot"),
        (compensatable_after_pivot, "after the pivot must be retriable"),
        (_with(steps=(create, reserve, charge, pivot_with_compensation)), "compensations"),
    ):
        with pytest.raises(SpecificationError, match=problem):
            build(broken)  # type: ignore[arg-type]


def test_a_step_without_a_default_for_what_parking_reads_is_refused():
    create, reserve, charge, confirm = CREATE_ORDER, RESERVE_STOCK, AUTHORIZE_PAYMENT, CONFIRM_ORDER
    without_default = Step(
        service=reserve.service, kind=reserve.kind, action=reserve.action,
        compensation=reserve.compensation, default=None,
    )  # fmt: skip
    with pytest.raises(SpecificationError, match="needs a `default`"):
        build(_with(steps=(create, without_default, charge, confirm)))  # type: ignore[arg-type]


def test_a_step_that_reads_what_no_earlier_step_wrote_is_refused():
    """Removing reserve_stock leaves cancel_order and authorize_payment reading $.reservation:
    refused at generation, not a States.Runtime failure of every checkout."""
    create, charge, confirm = CREATE_ORDER, AUTHORIZE_PAYMENT, CONFIRM_ORDER
    with pytest.raises(SpecificationError, match=r"CancelOrder reads \$\.reservation"):
        build(_with(steps=(create, charge, confirm)))  # type: ignore[arg-type]
    reserve_after_charge = (create, charge, RESERVE_STOCK, confirm)
    with pytest.raises(SpecificationError, match=r"AuthorizePayment reads \$\.reservation"):
        build(_with(steps=reserve_after_charge))  # type: ignore[arg-type]


def test_only_the_last_compensation_of_the_rollback_may_record_the_others():
    """release_stock runs before cancel_order: what it recorded would miss the later ones."""
    import dataclasses

    assert RESERVE_STOCK.compensation is not None
    recording_release = dataclasses.replace(
        RESERVE_STOCK,
        compensation=dataclasses.replace(RESERVE_STOCK.compensation, records_compensations=True),
    )
    steps = (CREATE_ORDER, recording_release, AUTHORIZE_PAYMENT, CONFIRM_ORDER)
    with pytest.raises(SpecificationError, match="only the last compensation"):
        build(_with(steps=steps))  # type: ignore[arg-type]


def test_the_last_compensation_receives_every_other_result_newest_first():
    from orchestration.steps import rollback_of

    *others, last = rollback_of(SAGA.pivot.state)  # the whole rollback, newest first
    operations = {
        step.compensation_state: step.compensation
        for step in SAGA.compensatable
        if step.compensation is not None
    }
    payload = build(SAGA)["States"][last]["Parameters"]["Payload"]
    assert list(payload["compensations"].items()) == [
        (f"{operations[state].name}.$", f"$.{operations[state].result_key}") for state in others
    ]


def test_a_recorded_compensation_without_a_status_is_refused():
    """cancel_order's contract requires each recorded result's `status`: without it every
    rollback would park at CancelOrderStuck."""
    import dataclasses

    assert RESERVE_STOCK.compensation is not None
    silent = dataclasses.replace(
        RESERVE_STOCK,
        compensation=dataclasses.replace(RESERVE_STOCK.compensation, result={"n": "$.Payload.n"}),
    )
    with pytest.raises(SpecificationError, match="ReleaseStock must keep `status`"):
        build(_with(steps=(CREATE_ORDER, silent, AUTHORIZE_PAYMENT, CONFIRM_ORDER)))  # type: ignore[arg-type]

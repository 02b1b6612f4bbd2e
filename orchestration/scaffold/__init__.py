"""`checkout new-step`: a new saga step as a working service, and its specification entry.

    checkout new-step shipping schedule_shipment cancel_shipment --after reserve_stock

writes `services/shipping/` (handlers, logic, dal, models, settings, bootstrap, contracts),
`deploy/shipping/template.yaml`, `tests/integration/shipping/` (the idempotency semantics every
step must keep), inserts the step into `orchestration/spec.py` after the named one, and runs
`make generate`'s generators so the ASL file, the orchestration template's wiring and the
diagrams follow. The service records one item per order: APPLIED by the action, COMPENSATED by
the compensation (or left as a tombstone when the compensation comes first, so a late action is
refused). Replace its logic with your own business process; the contract the saga relies on is
in its tests.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from orchestration.spec import SAGA, StepKind, function_slug, state_name

TEMPLATES = Path(__file__).with_name("templates")
_PATH_WORD = re.compile(r"\{([A-Za-z_]+)\}")  # services/{service}/handlers/{action}.py


class _Template(Template):
    """`%%{service}` placeholders: the files are full of `$` (JSONPath, CloudFormation)."""

    delimiter = "%%"


NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SPEC_STEPS = re.compile(r"^STEPS = \((?P<steps>[^)]*)\)$", re.MULTILINE)


class ScaffoldError(ValueError):
    """The step cannot be scaffolded as asked; the message says why."""


@dataclass(frozen=True)
class NewStep:
    service: str
    action: str
    compensation: str
    after: str

    @property
    def words(self) -> dict[str, str]:
        service_class = state_name(self.service)
        return {
            "service": self.service,
            "Service": service_class,
            "SERVICE": self.service.upper(),
            "service_slug": function_slug(self.service),
            "action": self.action,
            "Action": state_name(self.action),
            "action_slug": function_slug(self.action),
            "action_fault": f"{self.service}.{self.action.split('_')[0]}",
            "compensation": self.compensation,
            "Compensation": state_name(self.compensation),
            "compensation_slug": function_slug(self.compensation),
            "compensation_fault": f"{self.service}.{self.compensation.split('_')[0]}",
            "CONSTANT": self.action.upper(),
            "table": f"{service_class}Table",
            "table_env": f"{self.service.upper()}_TABLE_NAME",
            "table_field": f"{self.service}_table_name",
            "Record": f"{service_class}Record",
        }


def check(step: NewStep, root: Path) -> None:
    """Refuse what would not make a working saga, naming the problem; nothing is written."""
    _check_names(step, root)
    _check_place(step)


def _check_names(step: NewStep, root: Path) -> None:
    for what, name in (("service", step.service), ("action", step.action),
                       ("compensation", step.compensation)):  # fmt: skip
        if not NAME.match(name) or keyword.iskeyword(name):
            raise ScaffoldError(f"{what} {name!r} must be snake_case letters and digits")
    if step.action == step.compensation:
        raise ScaffoldError("the action and its compensation need two names")
    if (root / "services" / step.service).exists() or (root / "deploy" / step.service).exists():
        raise ScaffoldError(f"services/{step.service} or deploy/{step.service} exists already")
    names = {operation.name for _, operation in SAGA.operations()}
    faults = {operation.fault for _, operation in SAGA.operations()}
    words = step.words
    for taken in (step.action, step.compensation):
        if taken in names:
            raise ScaffoldError(f"an operation named {taken} exists already")
    if words["action_fault"] in faults or words["compensation_fault"] in faults:
        raise ScaffoldError("the fault names <service>.<first word> are taken: rename an operation")
    if words["action_fault"] == words["compensation_fault"]:
        raise ScaffoldError("the action and the compensation must start with different words")


def _check_place(step: NewStep) -> None:
    after = next((s for s in SAGA.steps if s.action.name == step.after), None)
    if after is None:
        known = ", ".join(s.action.name for s in SAGA.steps)
        raise ScaffoldError(f"--after {step.after}: no such step (the steps: {known})")
    if after.kind is not StepKind.COMPENSATABLE:
        raise ScaffoldError(
            f"--after {step.after}: a step with a compensation goes before the pivot "
            f"({SAGA.pivot.action.name}); after it the saga only moves forward"
        )


def files(step: NewStep) -> dict[str, str]:
    """Every file of the new service, its template and its tests: path -> text."""
    words = step.words
    written = {}
    for source in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = str(source.relative_to(TEMPLATES)).removesuffix(".tmpl")
        path = _PATH_WORD.sub(lambda match: words[match.group(1)], relative)
        written[path] = _Template(source.read_text(encoding="utf-8")).substitute(words)
    return written


def insert_into_spec(step: NewStep, spec_text: str) -> str:
    """The specification with the new step's entry after `step.after`'s."""
    found = SPEC_STEPS.search(spec_text)
    if found is None:
        raise ScaffoldError("orchestration/spec.py has no `STEPS = (...)` line to insert into")
    names = [name.strip() for name in found["steps"].split(",") if name.strip()]
    constant = step.after.upper()
    if constant not in names:
        raise ScaffoldError(f"orchestration/spec.py's STEPS has no {constant}")
    names.insert(names.index(constant) + 1, step.words["CONSTANT"])
    entry = _Template((TEMPLATES / "spec_entry.py.txt").read_text(encoding="utf-8"))
    before = spec_text[: found.start()]
    return (
        before
        + entry.substitute(step.words)
        + "\n\n"
        + f"STEPS = ({', '.join(names)})"
        + spec_text[found.end() :]
    )


def scaffold(step: NewStep, root: Path) -> list[Path]:
    """Write the new step into the repository at `root`; return the paths written."""
    check(step, root)
    written = []
    for relative, text in files(step).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    spec = root / "orchestration" / "spec.py"
    spec.write_text(insert_into_spec(step, spec.read_text(encoding="utf-8")), encoding="utf-8")
    written.append(spec)
    return written

"""The saga graph, laid out from the ASL file: a forward lane, a compensation lane, parking.

Each compensation is drawn under the step it undoes, so a rollback reads right to left beneath
the steps it rolls back, as sagas are drawn on whiteboards. Every other state sits under (or
after) the state that leads to it. The layout reads only the definition and the saga
specification, so a step added with `checkout new-step` appears without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from orchestration.asl import CANCELLED, FAILED
from orchestration.spec import SAGA, Saga
from orchestration.steps import STEPS
from shared.observability import Phase

FORWARD, COMPENSATION, STUCK, PARKING = 0, 1, 2, 3
LANE_NAMES = {
    FORWARD: "forward",
    COMPENSATION: "compensation",
    STUCK: "stuck",
    PARKING: "parking",
}
BOX_W, BOX_H, COL_W, ROW_H, MARGIN = 150, 44, 172, 92, 24


@dataclass(frozen=True)
class Node:
    state: str
    kind: str  # the ASL type: Task, Choice, Pass, Fail, ...
    lane: int
    column: int

    @property
    def x(self) -> int:
        return MARGIN + self.column * COL_W

    @property
    def y(self) -> int:
        return MARGIN + 18 + self.lane * ROW_H


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # next | choice | catch


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]

    @property
    def width(self) -> int:
        return 2 * MARGIN + (max(n.column for n in self.nodes.values()) + 1) * COL_W

    @property
    def height(self) -> int:
        return 2 * MARGIN + 18 + (max(n.lane for n in self.nodes.values()) + 1) * ROW_H


def edges_of(definition: dict[str, Any]) -> list[Edge]:
    edges: list[Edge] = []
    for name, state in definition["States"].items():
        if "Next" in state:
            edges.append(Edge(name, state["Next"], "next"))
        for choice in state.get("Choices", []):
            edges.append(Edge(name, choice["Next"], "choice"))
        if "Default" in state:
            edges.append(Edge(name, state["Default"], "choice"))
        for catch in state.get("Catch", []):
            edges.append(Edge(name, catch["Next"], "catch"))
    return list(dict.fromkeys(edges))  # one edge per pair and kind


def _lane(name: str, state: dict[str, Any]) -> int:
    step = STEPS.get(name)
    if name == CANCELLED or (step is not None and step.phase is Phase.COMPENSATION):
        return COMPENSATION  # the cancelled ending comes after the last compensation
    if state["Type"] == "Fail" or name == f"Publish{FAILED}":
        return PARKING
    if step is not None and step.phase is Phase.OPERATOR:
        return PARKING
    if state["Type"] == "Pass" and _leads_to(state, Phase.OPERATOR):
        return STUCK
    if state["Type"] == "Pass" and _leads_to(state, Phase.COMPENSATION):
        return COMPENSATION
    return FORWARD


def _leads_to(state: dict[str, Any], phase: Phase) -> bool:
    """The state goes on to a step of this phase (a parking, a compensation)."""
    nexts = (state.get("Next"), state.get("Default"))
    return any(str(n) in STEPS and STEPS[str(n)].phase is phase for n in nexts)


def layout(definition: dict[str, Any], saga: Saga = SAGA) -> Graph:
    states: dict[str, dict[str, Any]] = definition["States"]
    lanes = {name: _lane(name, state) for name, state in states.items()}
    columns: dict[str, int] = {}
    forward = [name for name in states if lanes[name] == FORWARD]
    for column, name in enumerate(forward):
        columns[name] = column
    for step in saga.compensatable:  # under the step it undoes
        if step.compensation_state in states:
            columns[step.compensation_state] = columns[step.state]
    edges = edges_of(definition)
    _place_the_rest(list(states), definition["StartAt"], lanes, columns, edges)
    nodes = {
        name: Node(name, state["Type"], lanes[name], columns[name])
        for name, state in states.items()
    }
    return Graph(nodes, edges)


def _place_the_rest(
    states: list[str], start: str, lanes: dict[str, int], columns: dict[str, int], edges: list[Edge]
) -> None:
    """Every state not placed yet goes under (or after) a placed state that leads to it."""
    taken = {(lanes[name], column) for name, column in columns.items()}
    pending = [name for name in states if name not in columns]
    while pending:
        placeable = [
            (name, [e.source for e in edges if e.target == name and e.source in columns])
            for name in pending
        ]
        placeable = [(name, sources) for name, sources in placeable if sources or name == start]
        if not placeable:  # unreachable states: after everything else, in their own order
            for name in pending:
                columns[name] = max(columns.values(), default=-1) + 1
            return
        for name, sources in placeable:
            columns[name] = _free_column(name, sources, lanes, columns, taken)
            taken.add((lanes[name], columns[name]))
            pending.remove(name)


def _free_column(
    name: str,
    sources: list[str],
    lanes: dict[str, int],
    columns: dict[str, int],
    taken: set[tuple[int, int]],
) -> int:
    lane = lanes[name]
    wanted = min((columns[s] for s in sources), default=0)
    if lane == PARKING:  # the parking sequence runs left to right after its entry
        wanted = max((columns[s] + 1 for s in sources if lanes[s] == PARKING), default=0)
    if lane == COMPENSATION and _rollback_source(sources, lanes):
        # after the last compensation: further left, as the rollback runs
        wanted -= 1
        while (lane, wanted) in taken and wanted > 0:
            wanted -= 1
    while (lane, wanted) in taken:
        wanted += 1
    return max(wanted, 0)


def _rollback_source(sources: list[str], lanes: dict[str, int]) -> bool:
    return any(lanes[source] == COMPENSATION for source in sources)


def _edge_path(source: Node, target: Node) -> str:
    """A line between the boxes that crosses no other box: straight between neighbours, over
    the row between states further apart, down the gutter left of a column across lanes."""
    if source.lane == target.lane:
        y = source.y + BOX_H // 2
        if abs(target.column - source.column) == 1:
            if target.column > source.column:
                return f"M{source.x + BOX_W},{y} L{target.x},{y}"
            return f"M{source.x},{y} L{target.x + BOX_W},{y}"
        top = source.y - 9  # over the boxes in between
        sx, tx = source.x + BOX_W * 3 // 4, target.x + BOX_W // 4
        return f"M{sx},{source.y} L{sx},{top} L{tx},{top} L{tx},{target.y}"
    sx, tx = source.x + BOX_W // 2, target.x + BOX_W // 2
    down = target.lane > source.lane
    if abs(target.lane - source.lane) > 1 and source.column == target.column:
        gutter = source.x - (COL_W - BOX_W) // 2
        sy, ty = source.y + BOX_H // 2, target.y + BOX_H // 2
        return f"M{source.x},{sy} L{gutter},{sy} L{gutter},{ty} L{target.x},{ty}"
    sy = source.y + BOX_H if down else source.y
    ty = target.y if down else target.y + BOX_H
    mid = ty - 12 if down else ty + 12  # turn just before the target's lane
    return f"M{sx},{sy} L{sx},{mid} L{tx},{mid} L{tx},{ty}"


def _label(node: Node) -> tuple[str, str]:
    step = STEPS.get(node.state)
    return node.state, (step.label if step is not None else node.kind.lower())


def svg(
    graph: Graph,
    marks: dict[str, str] | None = None,
    taken: set[tuple[str, str]] | None = None,
) -> str:
    """The graph as inline SVG; `marks` gives a state its CSS class (done, failed, ...),
    `taken` the transitions an execution made (drawn bold)."""
    marks, taken = marks or {}, taken or set()
    parts = [
        f'<svg class="saga-graph" viewBox="0 0 {graph.width} {graph.height}" '
        f'width="{graph.width}" height="{graph.height}" role="img" '
        'aria-label="The checkout saga: forward lane, compensation lane, parking">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="arrowhead"/></marker></defs>',
    ]
    for lane, name in LANE_NAMES.items():
        if any(node.lane == lane for node in graph.nodes.values()):
            y = MARGIN + lane * ROW_H + 10
            parts.append(f'<text class="lane-label" x="{MARGIN}" y="{y}">{name}</text>')
    for edge in graph.edges:
        source, target = graph.nodes[edge.source], graph.nodes[edge.target]
        bold = " taken" if (edge.source, edge.target) in taken else ""
        parts.append(
            f'<path class="edge {edge.kind}{bold}" '
            f'data-edge="{escape(edge.source)}&gt;{escape(edge.target)}" '
            f'd="{_edge_path(source, target)}" '
            'marker-end="url(#arrow)"/>'
        )
    for node in graph.nodes.values():
        mark = marks.get(node.state, "")
        title, subtitle = _label(node)
        parts.append(
            f'<g class="node {escape(node.kind.lower())} lane-{LANE_NAMES[node.lane]} '
            f'{escape(mark)}" '
            f'data-state="{escape(node.state)}" data-mark="{escape(mark)}">'
            f"<title>{escape(node.state)}{': ' + escape(mark) if mark else ''}</title>"
            f'<rect x="{node.x}" y="{node.y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{node.x + BOX_W // 2}" y="{node.y + 18}" class="state">'
            f"{escape(_short(title))}</text>"
            f'<text x="{node.x + BOX_W // 2}" y="{node.y + 34}" class="sub">'
            f"{escape(_short(subtitle))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

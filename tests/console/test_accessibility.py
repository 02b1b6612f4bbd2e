"""The console is readable and usable without a mouse: contrast of every text colour on the
backgrounds it is drawn on (WCAG 2 AA, 4.5:1), and a label for every form control."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestration.console import pages
from orchestration.spec import SAGA

CSS = (Path(pages.__file__).parent / "static" / "console.css").read_text(encoding="utf-8")
VARIABLES = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6})", CSS))
# every fill or background behind text: the graph's node fills, panels, the error box
# (the arrowheads' fill has no text on it)
FILLS = sorted(
    {
        colour
        for selector, rule in re.findall(r"([^{}]+)\{([^}]*)\}", CSS)
        if "arrowhead" not in selector
        for colour in re.findall(r"(?:fill|background): (#[0-9a-f]{6})", rule)
    }
    | {VARIABLES["panel"], VARIABLES["bg"]}
)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("text", ["fg", "muted", "accent", "done", "failed", "compensated",
                                  "running", "retried"])  # fmt: skip
def test_every_text_colour_reads_on_the_page_background(text):
    assert contrast(VARIABLES[text], VARIABLES["bg"]) >= 4.5


@pytest.mark.parametrize("fill", FILLS)
def test_graph_labels_read_on_every_node_fill(fill):
    assert contrast(VARIABLES["fg"], fill) >= 4.5
    assert contrast(VARIABLES["muted"], fill) >= 4.5


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))
        if tag in ("input", "select") and found.get("type") != "hidden":
            self.controls.append(found)


def test_every_control_of_the_try_it_form_has_a_label():
    products = [{"sku": "SKU-A", "name": "A", "price": 100, "currency": "EUR", "available": 3}]
    html = pages.try_page(products, list(SAGA.fault_names), ["business"], "t", source="test")
    parser = _Controls()
    parser.feed(html)

    assert parser.controls
    unlabelled = [
        control for control in parser.controls
        if control.get("id") not in parser.labelled and not control.get("aria-label")
    ]  # fmt: skip
    assert unlabelled == []

"""The console's HTML, rendered on the server: every value escaped, no template engine needed.

Each page works without JavaScript; `static/console.js` only refreshes the part marked
`data-live` (the list, a running checkout) by fetching the same URL with `fragment=1`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from orchestration.api.models import CheckoutStep
from orchestration.console.data import FILTERS, CheckoutDetail, CheckoutRow
from orchestration.console.graph import Graph, svg
from orchestration.money import money_text

NAV = (
    ("/", "Checkouts"),
    ("/try", "Try it"),
    ("/parked", "Parked"),
    ("/catalog", "Catalog"),
    ("/graph", "Saga graph"),
)
LEGEND = (
    ("done", "done"),
    ("retried", "done after retries"),
    ("failed", "failed"),
    ("compensated", "compensated"),
    ("running", "running"),
    ("catch", "dashed: on error / a choice or pass state"),
)
FINAL = {"CONFIRMED", "CANCELLED", "FAILED"}


def page(title: str, body: str, *, current: str = "", source: str = "") -> str:
    links = "".join(
        f'<a href="{href}"{_current(href == current, "page")}>{label}</a>' for href, label in NAV
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · saga console</title>"
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/console.css">'
        "</head><body>"
        f'<header><span class="brand">Saga console</span><nav aria-label="main">{links}</nav>'
        f'<span class="muted">{escape(source)}</span></header>'
        f'<main id="main">{body}</main><script src="/static/console.js" defer></script>'
        "</body></html>"
    )


def _current(is_current: bool, value: str = "true") -> str:
    return f' aria-current="{value}"' if is_current else ""


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int | None) -> str:
    if ms is None:
        return "running"
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def rows_fragment(rows: list[CheckoutRow]) -> str:
    if not rows:
        return '<p class="muted" id="no-checkouts">No checkouts yet. Start one from the API.</p>'
    body = "".join(
        f'<tr data-order="{escape(row.order_id)}">'
        f'<td><a href="/checkouts/{quote(row.order_id)}">'
        f"<code>{escape(row.order_id)}</code></a></td>"
        f'<td class="status {escape(row.status)}">{escape(row.status)}</td>'
        f"<td>{escape(row.reason)}</td><td>{escape(row.total)}</td>"
        f"<td>{_when(row.started_at)}</td><td>{_duration(row.duration_ms)}</td></tr>"
        for row in rows
    )
    return (
        '<table id="checkouts"><caption class="muted">newest first</caption><thead><tr>'
        '<th scope="col">order</th><th scope="col">status</th><th scope="col">reason</th>'
        '<th scope="col">total</th><th scope="col">started</th><th scope="col">duration</th>'
        f"</tr></thead><tbody>{body}</tbody></table>"
    )


def checkouts_page(rows: list[CheckoutRow], status_filter: str | None, source: str) -> str:
    filters = "".join(
        f'<a href="/?{urlencode({"status": name})}"{_current(name == status_filter)}>{name}</a>'
        for name in FILTERS
    )
    every = f'<a href="/"{_current(status_filter is None)}>all</a>'
    body = (
        "<h1>Checkouts</h1>"
        f'<p class="filters" aria-label="filter by status">{every}{filters}</p>'
        f'<div data-live="2000">{rows_fragment(rows)}</div>'
    )
    return page("Checkouts", body, current="/", source=source)


def legend() -> str:
    items = "".join(f'<li class="{css}">{escape(text)}</li>' for css, text in LEGEND)
    return f'<ul class="legend" aria-label="legend">{items}</ul>'


def graph_page(graph: Graph, source: str) -> str:
    body = (
        "<h1>The checkout saga</h1>"
        '<p class="muted">Drawn from the deployed state machine\'s definition (locally, '
        "orchestration/checkout_saga.asl.json). Each compensation sits under the step it undoes; "
        "a rollback runs right to left.</p>"
        f'{legend()}<div class="graph-wrap">{svg(graph)}</div>'
    )
    return page("Saga graph", body, current="/graph", source=source)


def _timeline(steps: list[CheckoutStep]) -> str:
    if not steps:
        return '<p class="muted">No step has started yet.</p>'
    starts = [datetime.fromisoformat(step.started_at) for step in steps]
    ends = [
        start.timestamp() * 1000 + (step.duration_ms or 0)
        for start, step in zip(starts, steps, strict=True)
    ]
    t0 = min(starts).timestamp() * 1000
    span = max(max(ends) - t0, 1.0)
    items = []
    for start, step in zip(starts, steps, strict=True):
        left = (start.timestamp() * 1000 - t0) / span * 100
        width = (step.duration_ms or 0) / span * 100
        retried = f", {step.attempts} attempts" if step.attempts > 1 else ""
        css = f"{step.phase} {step.outcome if step.outcome != 'succeeded' else ''}".strip()
        items.append(
            f'<li class="{escape(css)}" data-state="{escape(step.state)}">'
            f"<span><code>{escape(step.operation)}</code>{escape(retried)}</span>"
            f'<span class="track" aria-hidden="true"><span class="bar" '
            f'style="left:{left:.2f}%;width:{width:.2f}%"></span></span>'
            f"<span>{escape(step.outcome)} · {_duration(step.duration_ms)}</span></li>"
        )
    return f'<ol class="timeline" aria-label="timeline">{"".join(items)}</ol>'


def _compensations(done: Iterable[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(operation)}</code></td><td>{escape(result)}</td></tr>"
        for operation, result in done
    )
    if not rows:
        return '<p class="muted">Nothing was compensated.</p>'
    return (
        '<table id="compensations"><thead><tr><th scope="col">compensation</th>'
        f'<th scope="col">what it did</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def detail_fragment(detail: CheckoutDetail, graph: Graph) -> str:
    row = detail.row
    final = " data-final" if row.status in FINAL else ""
    heading = "What started the rollback" if detail.rolled_back else "What failed"
    cause = (
        f'<h2>{heading}</h2><p class="error" id="cause">{escape(detail.cause)}</p>'
        if detail.cause
        else ""
    )
    trace = (
        f'<pre id="trace">{escape(detail.trace)}</pre>'
        if detail.trace
        else '<p class="muted">No X-Ray trace for this checkout (sampled out, or not yet '
        "flushed).</p>"
    )
    return (
        f'<p{final} id="summary"><span class="status {escape(row.status)}">'
        f"{escape(row.status)}</span> {escape(row.reason)} · total {escape(row.total or '-')} · "
        f"started {_when(row.started_at)} · {_duration(row.duration_ms)} · executions "
        f"{escape(', '.join(detail.executions))}</p>"
        f'{legend()}<div class="graph-wrap">{svg(graph, detail.marks, detail.transitions)}</div>'
        f"{cause}<h2>Timeline</h2>{_timeline(detail.steps)}"
        f"<h2>Compensations</h2>{_compensations(detail.compensations)}"
        f"<h2>Trace</h2>{trace}"
    )


def checkout_page(detail: CheckoutDetail, graph: Graph, source: str) -> str:
    body = (
        f"<h1>Checkout <code>{escape(detail.row.order_id)}</code></h1>"
        f'<div data-live="1000">{detail_fragment(detail, graph)}</div>'
    )
    return page(f"Checkout {detail.row.order_id}", body, source=source)


def not_found_page(what: str, source: str) -> str:
    body = (
        f'<h1>Not found</h1><p id="not-found">{escape(what)}</p>'
        '<p><a href="/">Back to the checkouts</a></p>'
    )
    return page("Not found", body, source=source)


CARDS = (
    ("tok_visa", "approves (tok_visa)"),
    ("tok_chargeDeclined", "declines (tok_chargeDeclined)"),
    ("tok_threeDSecureRequired", "asks the customer to approve (tok_threeDSecureRequired)"),
)


def _products_table(products: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(p['sku'])}</code></td><td>{escape(p['name'])}</td>"
        f"<td>{p['price'] / 100:.2f} {escape(p['currency'])}</td>"
        f"<td>{int(p['available'])}</td></tr>"
        for p in products
    )
    return (
        '<table id="catalog"><thead><tr><th scope="col">sku</th><th scope="col">name</th>'
        '<th scope="col">price</th><th scope="col">available</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def catalog_page(products: list[dict[str, Any]] | None, problem: str | None, source: str) -> str:
    body = "<h1>Catalog</h1>" + (
        f'<p class="error">{escape(problem)}</p>' if problem else _products_table(products or [])
    )
    return page("Catalog", body, current="/catalog", source=source)


def try_page(
    products: list[dict[str, Any]],
    operations: list[str],
    kinds: list[str],
    token: str,
    problem: str | None = None,
    *,
    source: str,
) -> str:
    lines = "".join(
        f'<tr><td><label for="qty-{escape(p["sku"])}"><code>{escape(p["sku"])}</code> '
        f"{escape(p['name'])}</label></td><td>{p['price'] / 100:.2f} {escape(p['currency'])}</td>"
        f'<td>{int(p["available"])}</td><td><input id="qty-{escape(p["sku"])}" '
        f'name="qty:{escape(p["sku"])}" type="number" min="0" max="1000" '
        f'value="0" inputmode="numeric"></td></tr>'
        for p in products
    )
    cards = "".join(f'<option value="{value}">{escape(label)}</option>' for value, label in CARDS)
    options = '<option value="">none</option>' + "".join(
        f'<option value="{escape(kind)}">{escape(kind)}</option>' for kind in kinds
    )
    faults = "".join(
        f'<tr><td><label for="fault-{escape(op)}"><code>{escape(op)}</code></label></td>'
        f'<td><select id="fault-{escape(op)}" name="fault:{escape(op)}">{options}</select></td>'
        f'<td><input aria-label="times for {escape(op)}" name="count:{escape(op)}" type="number" '
        'min="1" max="20" value="1" inputmode="numeric"></td></tr>'
        for op in operations
    )
    error = f'<p class="error" id="problem" role="alert">{escape(problem)}</p>' if problem else ""
    body = (
        "<h1>Try it</h1>"
        '<p class="muted">Starts a real checkout through the API (as a storefront would), with '
        "the faults you pick (the X-Checkout-Fault header), then follows it live.</p>"
        f'{error}<form method="post" action="/try" id="try">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        '<h2>Products</h2><table><thead><tr><th scope="col">product</th><th scope="col">'
        'price</th><th scope="col">available</th><th scope="col">quantity</th></tr></thead>'
        f"<tbody>{lines}</tbody></table>"
        f'<h2><label for="card">Card</label></h2><select id="card" name="card">{cards}</select>'
        "<h2>Faults per step</h2>"
        '<table><thead><tr><th scope="col">operation</th><th scope="col">fault</th>'
        f'<th scope="col">times</th></tr></thead><tbody>{faults}</tbody></table>'
        '<p><button type="submit" id="start">Start the checkout</button></p></form>'
    )
    return page("Try it", body, current="/try", source=source)


def parked_page(
    items: list[dict[str, Any]] | None,
    *,
    token: str,
    can_retry: bool,
    message: str | None,
    source: str,
) -> str:
    notice = f'<p role="status" id="notice">{escape(message)}</p>' if message else ""
    if items is None:
        body = '<h1>Parked checkouts</h1><p class="muted">This target has no parked table.</p>'
        return page("Parked", body, current="/parked", source=source)
    cards = []
    for item in items:
        holds = item["holds"]
        stock = ", ".join(f"{line['sku']} x{line['quantity']}" for line in holds["stock"])
        money = money_text(holds["money"]) or "none"
        action = (
            f'<form method="post" action="/parked/{quote(item["order_id"])}/retry">'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            '<button type="submit">Retry its rollback</button></form>'
            if can_retry
            else '<p class="muted">read-only: `checkout retry` from a shell</p>'
        )
        if item.get("resolvable_as"):
            action += _resolve_form(item["order_id"], item["resolvable_as"], token, can_retry)
        original = (item.get("original_failure") or {}).get("Error", "unknown (the pivot)")
        cards.append(
            f'<article class="parked" data-order="{escape(item["order_id"])}">'
            f'<h2><a href="/checkouts/{quote(item["order_id"])}"><code>'
            f"{escape(item['order_id'])}</code></a></h2>"
            f"<p>Stuck at <code>{escape(item['stuck_step'])}</code> ({escape(item['error'])}): "
            f"{escape(str(item.get('cause') or ''))}</p>"
            f"<p>Because: {escape(str(original))}. Parked {escape(item['parked_at'])}.</p>"
            f"<p>Holds: stock {escape(stock or 'none')}; money {escape(money)}; "
            f"order {escape(str(holds['order']))}</p>{action}</article>"
        )
    listed = "".join(cards) or '<p class="muted" id="none-parked">No checkout is parked.</p>'
    body = f"<h1>Parked checkouts</h1>{notice}{listed}"
    return page("Parked", body, current="/parked", source=source)


def _resolve_form(order_id: str, settled_as: str, token: str, can_resolve: bool) -> str:
    """Mark a checkout parked at a payment step resolved: only once the operator has settled the
    hold at the provider, which the form says; `checkout resolve`'s code does the rest."""
    if not can_resolve:
        return '<p class="muted">read-only: `checkout resolve` from a shell</p>'
    slug = escape(order_id)
    verb = "voided (released)" if settled_as == "voided" else "captured"
    return (
        f'<form method="post" action="/parked/{quote(order_id)}/resolve" class="resolve">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f"<p>Or, once you have {verb} the hold in the provider's dashboard, mark it resolved: "
        "the payment records what you did and the saga finishes the checkout.</p>"
        f'<p><label for="reference-{slug}">The provider\'s id for it</label> '
        f'<input id="reference-{slug}" name="reference" required maxlength="255"></p>'
        f'<p><label for="note-{slug}">Note (who, what, why)</label> '
        f'<input id="note-{slug}" name="note" required minlength="3" maxlength="500" size="60"></p>'
        '<button type="submit">Mark resolved</button></form>'
    )

"""The saga console in a real browser: Chromium (Debian's, `make browser`) driven by Playwright.

Against the e2e local cloud, as a person would use it: the list loads, Try it starts a checkout
whose confirmation fails, and its page shows the failed step and the three compensations on the
graph. Any JavaScript error or console error fails the test. Screenshots are saved under
`build/screenshots/` (CONSOLE_SCREENSHOTS moves them).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Shop

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "build" / "screenshots"))
TIMEOUT_MS = 60_000


def _chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found is None:
        pytest.fail("no Chromium: run `make browser` (Debian's chromium package) or set CHROMIUM")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page that records every JavaScript error and console error; none may happen."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    opened.on(
        "console",
        lambda message: (
            errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    yield opened
    context.close()
    assert errors == [], errors


def _shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_try_it_runs_a_failed_confirmation_and_its_page_shows_the_rollback(shop: Shop, page):
    page.goto(shop.console_url)
    assert page.title().startswith("Checkouts")
    _shoot(page, "console-list")

    page.get_by_role("link", name="Try it").click()
    page.wait_for_selector("form#try")
    page.fill("#qty-SKU-TSHIRT", "2")
    page.fill("#qty-SKU-MUG", "1")
    page.select_option("#card", "tok_visa")
    page.select_option("#fault-order\\.confirm", "business")
    _shoot(page, "console-try-it")
    page.click("#start")

    page.wait_for_url(re.compile(r".*/checkouts/ord-[0-9a-f]+$"))
    page.wait_for_selector("#summary[data-final]")  # the page refreshes itself until final
    marks = {
        node.get_attribute("data-state"): node.get_attribute("data-mark")
        for node in page.query_selector_all("svg.saga-graph g.node")
    }
    assert marks["ConfirmOrder"] == "failed"
    assert marks["VoidPayment"] == marks["ReleaseStock"] == marks["CancelOrder"] == "compensated"
    assert marks["CapturePayment"] == ""
    assert page.inner_text("#summary").startswith("CANCELLED")
    assert page.locator("#compensations tbody tr").count() == 3
    assert page.locator("#cause").inner_text()
    _shoot(page, "console-checkout")

    page.get_by_role("link", name="Checkouts").click()
    order_id = page.url  # the list links to it
    assert page.locator("table#checkouts tbody tr").count() >= 1
    assert order_id


def test_every_page_loads_without_errors(shop: Shop, page):
    for path in ("/", "/graph", "/catalog", "/parked", "/try", "/?status=cancelled"):
        answer = page.goto(shop.console_url + path)
        assert answer is not None, path
        assert answer.status == 200, path
    page.goto(shop.console_url + "/graph")
    _shoot(page, "console-graph")


def test_an_unknown_checkout_is_a_not_found_page(shop: Shop, browser):
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    answer = opened.goto(shop.console_url + "/checkouts/ord-000000000000000000000000")

    assert answer is not None
    assert answer.status == 404
    assert "No checkout with order id" in opened.inner_text("#not-found")
    context.close()
    # Chromium reports the page's own 404 as a console error; nothing else may appear.
    assert all("status of 404" in error for error in errors), errors


def test_the_try_it_form_is_usable_from_the_keyboard(shop: Shop, page):
    page.goto(shop.console_url + "/try")
    page.focus("#qty-SKU-TSHIRT")
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    page.focus("#start")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r".*/checkouts/ord-[0-9a-f]+$"))
    page.wait_for_selector("#summary[data-final]")
    assert page.inner_text("#summary").startswith("CONFIRMED")


def test_the_list_updates_live_when_a_checkout_starts(shop: Shop, page):
    page.goto(shop.console_url + "/")
    started = shop.checkout([{"sku": "SKU-POSTER", "quantity": 1}])
    assert started.status == 202
    order_id = started.body["order_id"]

    # no reload: the page's script refreshes the table every 2 s
    page.wait_for_selector(f'tr[data-order="{order_id}"]')
    shop.wait_final(order_id)
    page.wait_for_selector(f'tr[data-order="{order_id}"] td.status.CONFIRMED')

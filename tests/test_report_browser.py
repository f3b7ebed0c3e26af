"""The HTML report in a real headless Chromium: offline from file://, every chart drawn, bill text inert."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.test_report import BREAKOUT, XSS, load_fixture

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through playwright (never a downloaded browser); CI must have it."""
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run installs the Debian `chromium` package")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium) for the browser test")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield browser
        browser.close()


def test_report_opens_offline_draws_every_chart_and_keeps_tags_inert(browser, run, tmp_path):
    load_fixture(run)
    page_path = tmp_path / "report.html"
    assert run("report", "--period", "2025-10", "-o", str(page_path)).exit_code == 0
    url = page_path.as_uri()

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)

    assert requests == [url]  # the page itself, nothing from the network or the disk
    assert problems == [] and dialogs == []

    charts = page.locator("div.chart")
    count = charts.count()
    assert count >= 10
    for i in range(count):
        chart = charts.nth(i)
        assert chart.locator(".plot-container svg.main-svg").count() >= 1, chart.get_attribute("id")
        assert chart.locator("g.trace, g.barlayer g.point").count() >= 1, chart.get_attribute("id")

    # The tag value is shown as text (table cells and chart labels) and never became an element.
    assert page.locator("img").count() == 0
    assert page.get_by_text(XSS, exact=True).count() >= 2
    assert page.locator("#accounts").get_by_text(BREAKOUT, exact=True).count() >= 2  # table cell and bar label
    assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 2

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    page.emulate_media(media="print")  # the print stylesheet hides the navigation
    assert page.locator("nav").is_hidden()
    page.close()

"""The review app as an analyst uses it: a real Chromium (Debian's, through Playwright) driven by
the keyboard. Skips, saying why, only where Chromium or Playwright is missing."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_review_support import (
    LiveServer,
    world_fixture,  # noqa: F401  (registers the "world" fixture)
)

from matrixcoder.labels.coded_units import read_coded_units
from matrixcoder.review.app import create_app
from matrixcoder.review.export import export_jsonl

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def app_server(world, tmp_path):
    session = world.session(tmp_path / "review.db", coder="ana")
    with LiveServer(create_app(session)) as server:
        yield session, server


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}") or dialog.dismiss())
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page, errors


def check_screenshot(page, path: Path, selectors: list[str]) -> None:
    """The page is not blank, and each key element is visible inside the viewport shot."""
    png = page.screenshot(path=str(path))
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert pixels.std() > 10, f"{path.name} looks blank"
    assert len(np.unique(pixels)) > 30, f"{path.name} has almost no detail"
    for selector in selectors:
        element = page.locator(selector).first
        assert element.is_visible(), f"{selector} not visible on {path.name}"
        box = element.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0 and box["y"] < 900, f"{selector} outside the shot of {path.name}"


def go_to_unit(page, index: int) -> None:
    """Move the keyboard focus to unit ``index`` with j/k presses from wherever it is."""
    current = page.evaluate("Array.from(document.querySelectorAll('.unit')).findIndex(u => u.classList.contains('current'))")
    for _ in range(abs(index - current)):
        page.keyboard.press("j" if index > current else "k")
    assert page.evaluate("Array.from(document.querySelectorAll('.unit')).findIndex(u => u.classList.contains('current'))") == index


def chip_states(page) -> dict[str, dict[str, str]]:
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('.unit')).map(u =>
            [u.dataset.unit, Object.fromEntries(Array.from(u.querySelectorAll('.chip')).map(c => [c.dataset.code, c.dataset.status]))]))"""
    )


def test_keyboard_review_persists_and_exports(browser, app_server, tmp_path):
    session, server = app_server
    doc = session.documents[session.doc_row["civis-page"]]
    start, stop = doc["rows"]
    suggested = [row - start for row in range(start, stop) if session.suggestions(row)]

    def unit_at(i):
        return session.units[start + i]["unit_id"]

    page, errors = open_page(browser, f"{server.url}/doc/civis-page")

    # Accept the top suggestion of three units, then reject the next suggestion of the third.
    accepted = {}
    for i in suggested[1:4]:
        go_to_unit(page, i)
        code = session.suggestions(start + i)[0][0]
        page.keyboard.press("a")
        page.wait_for_selector(f"[data-unit='{unit_at(i)}'] .chip[data-code='{code}'][data-status='accepted']")
        accepted[unit_at(i)] = code
    third = suggested[3]
    assert len(session.suggestions(start + third)) >= 2, "the fixture's third unit should have a second suggestion"
    rejected = session.suggestions(start + third)[1][0]
    page.keyboard.press("r")  # focus moved to the next pending chip after the accept
    page.wait_for_selector(f"[data-unit='{unit_at(third)}'] .chip[data-code='{rejected}'][data-status='rejected']")

    # Add a code to a unit without suggestions: "/" opens the searchable list, typing filters, Enter adds.
    plain = next(i for i in range(stop - start) if not session.suggestions(start + i))
    go_to_unit(page, plain)
    page.keyboard.press("/")
    page.wait_for_selector("#add-dialog[open]")
    page.keyboard.type("fund")  # CB4 "Unclear funding" is found by name
    options = page.locator("#add-list .option").all_inner_texts()
    assert options and all("fund" in option.lower() for option in options), options
    assert page.locator("#add-list .group").first.inner_text()  # grouped by dimension
    first = page.locator("#add-list .option").first.get_attribute("data-code")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-unit='{unit_at(plain)}'] .chip[data-code='{first}'][data-status='added']")
    assert page.locator("#doc-counts").inner_text().startswith("4/")

    # Undo, redo: u takes back the latest decision on the current unit.
    page.keyboard.press("u")
    page.wait_for_selector(f"[data-unit='{unit_at(plain)}'] .chip[data-code='{first}']", state="detached")
    page.keyboard.press("/")
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-unit='{unit_at(plain)}'] .chip[data-code='{first}'][data-status='added']")

    # Hover shows the code's definition and its coding rules.
    page.hover(f"[data-unit='{unit_at(third)}'] .chip[data-code='{accepted[unit_at(third)]}'] .cid")
    tip = page.locator("#tip")
    assert tip.is_visible() and accepted[unit_at(third)] in tip.inner_text()
    page.hover(".doc-head h1")

    check_screenshot(page, tmp_path / "document.png", [".doc-head h1", ".keys", ".unit.current", ".chip.accepted"])

    # Reload: everything is still there, read back from the database.
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    states = chip_states(page)
    for unit_id, code in accepted.items():
        assert states[unit_id][code] == "accepted"
    assert states[unit_at(third)][rejected] == "rejected"
    assert states[unit_at(plain)] == {first: "added"}
    assert not page.evaluate("window.pwned || window.__pwned || null") and errors == []
    assert "<script>" in page.locator(".unit", has_text="Registration").inner_text()  # shown as text

    # ] goes to the next document.
    page.keyboard.press("]")
    page.wait_for_url(f"{server.url}/doc/{session.documents[session.doc_row['civis-page'] + 1]['doc_id']}")

    # The export gives exactly these coded units, coder = reviewer.
    export_jsonl(session.store, tmp_path / "coded.jsonl")
    exported = {(u.unit_id, u.coder): list(u.codes) for u in read_coded_units(tmp_path / "coded.jsonl", session.codebook)}
    expected = {(unit_id, "ana"): [code] for unit_id, code in accepted.items()} | {(unit_at(plain), "ana"): [first]}
    assert exported == expected
    page.close()


def test_documents_and_queue_pages(browser, app_server, tmp_path):
    session, server = app_server
    page, errors = open_page(browser, f"{server.url}/")
    assert page.locator("#documents tbody tr").count() == len(session.documents)
    assert page.locator("#alliances tbody tr").count() == len({d["alliance"] for d in session.documents})
    check_screenshot(page, tmp_path / "documents.png", ["h1", "form.filters", "#alliances", "#documents"])
    page.select_option("select[name='alliance']", "ECIU")
    page.click("form.filters button[type='submit']")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#documents tbody tr").count() == sum(d["alliance"] == "ECIU" for d in session.documents)

    page.goto(f"{server.url}/queue")
    page.wait_for_selector("body[data-ready='1']")
    unit = page.locator(".queue-unit .unit")
    assert unit.count() == 1 and unit.locator(".text").inner_text()
    why = page.locator("#why li").all_inner_texts()
    assert len(why) >= 4 and any("unsure" in line for line in why)
    check_screenshot(page, tmp_path / "queue.png", ["h1", ".queue-unit .unit", "#why", ".keys"])
    first = unit.get_attribute("data-unit")
    page.keyboard.press("n")  # no code
    page.wait_for_selector(".queue-unit .nocode-mark")
    page.keyboard.press("Enter")  # next unit in the queue
    page.wait_for_function(f"document.querySelector('.queue-unit .unit').dataset.unit !== {first!r}")
    assert session.store.state("ana", first).no_code
    assert errors == []
    page.close()

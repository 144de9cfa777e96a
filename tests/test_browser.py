"""Headless-Chromium smoke test of the built site.

Needs Debian's ``chromium`` and ``chromium-driver`` (scripts/run-tests.sh installs them where
it can); skipped with a one-line reason elsewhere. The browser resolves no host but 127.0.0.1,
so every page is tested as a reader without internet meets it (equations included). Screenshots,
one per page and one full-length per lesson, are kept in ``_build/test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from local_http import serve

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
INSTALL_DONE_ENV = "HEPML_BROWSER_INSTALL_DONE"  # run-tests.sh installs the browser beside the tests: this file says it ended
INSTALL_WAIT_S = 900


def browser_binaries() -> tuple[str | None, str | None]:
    """Debian's chromium and chromedriver, once an installation that run-tests.sh started has ended."""
    done = os.environ.get(INSTALL_DONE_ENV)
    limit = time.monotonic() + INSTALL_WAIT_S
    while done and not Path(done).exists() and time.monotonic() < limit:
        time.sleep(1)
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(built_book):
    with serve(directory=built_book) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = browser_binaries()
    if not (chromium and chromedriver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/run-tests.sh installs them as root"
                    + ("; its apt-get log: /tmp/hepml-apt.log)" if os.environ.get(INSTALL_DONE_ENV) else ")"))
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 # no internet: every host but the local test server fails to resolve (a CDN included)
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


LESSON = "notebooks/00-getting-started/01-root-to-histogram.html"
LESSONS = sorted(str(p.relative_to(ROOT).with_suffix(".html")) for p in (ROOT / "notebooks").glob("*/*.ipynb"))


def test_home_page_renders(site, browser):
    browser.get(f"{site}/index.html")  # a meta-refresh redirect to book/intro.html: wait for it
    heading = wait_for(browser, lambda d: d.find_elements("css selector", "article h1"))[0]
    assert "Machine learning for particle physics" in browser.title
    assert heading.text.startswith("Machine learning for particle physics")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "home.png"))


def test_lesson_renders_with_its_figures(site, browser):
    browser.get(f"{site}/{LESSON}")
    assert "Getting started" in browser.title
    images = browser.find_elements("css selector", "article img")
    assert len(images) >= 3
    wait_for(browser, lambda d: all(d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                                    for img in images))
    # hidden solutions: present, behind a toggle
    assert browser.find_elements("css selector", "article details.hide")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "lesson.png"))


def test_navigation_from_home_to_lesson_and_on(site, browser):
    browser.get(f"{site}/index.html")
    wait_for(browser, lambda d: d.find_elements("css selector", "a.right-next"))[0].click()
    wait_for(browser, lambda d: d.current_url.endswith("book/chapters/00-getting-started.html"))  # the chapter's intro
    assert "Lessons" in browser.find_element("css selector", "article").text
    wait_for(browser, lambda d: d.find_elements("css selector", "a.right-next"))[0].click()
    wait_for(browser, lambda d: d.current_url.endswith(LESSON))
    sidebar_link = browser.find_element("css selector", "nav.bd-links a[href$='book/data.html']")
    sidebar_link.click()
    wait_for(browser, lambda d: d.current_url.endswith("book/data.html"))
    assert "cms-dimuon-2012" in browser.find_element("css selector", "article").text


def test_search_finds_the_lesson(site, browser):
    browser.get(f"{site}/search.html?q=uproot")
    results = wait_for(browser, lambda d: d.find_elements("css selector", "#search-results ul.search li"))
    assert any("Getting started" in r.text for r in results)
    browser.save_screenshot(str(ARTIFACTS / "search.png"))


def test_catalogue_filters_hide_and_show_entries(site, browser):
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site}/book/resources.html")
    entries = wait_for(browser, lambda d: d.find_elements("css selector", ".hepml-resource"))
    total = len(entries)
    visible = lambda: [e for e in browser.find_elements("css selector", ".hepml-resource") if e.is_displayed()]
    assert total >= 80 and len(visible()) == total

    Select(browser.find_element("id", "filter-topic")).select_by_value("fast ML/FPGA")
    shown = visible()
    assert 0 < len(shown) < total
    assert all("fast ML/FPGA" in e.get_attribute("data-topics").split("|") for e in shown)
    hidden_groups = [g for g in browser.find_elements("css selector", ".hepml-group") if not g.is_displayed()]
    assert hidden_groups, "groups with no matching entry are hidden"
    assert browser.find_element("id", "hepml-count").text == f"{len(shown)} of {total} resources"

    Select(browser.find_element("id", "filter-kind")).select_by_value("library/tool")
    narrower = visible()
    assert 0 < len(narrower) < len(shown) and all(e.get_attribute("data-kind") == "library/tool" for e in narrower)

    search = browser.find_element("id", "filter-search")
    search.send_keys("hls4ml")
    assert 0 < len(visible()) <= len(narrower)
    search.clear()
    search.send_keys("x")  # clear() fires no input event: type and erase to trigger the filter
    search.send_keys("\b")
    Select(browser.find_element("id", "filter-topic")).select_by_value("")
    Select(browser.find_element("id", "filter-kind")).select_by_value("")
    assert len(visible()) == total

    Select(browser.find_element("id", "filter-hep")).select_by_value("no")
    assert all(e.get_attribute("data-hep") == "no" for e in visible()) and len(visible()) < total

    # filters preset from the address, as the lessons' further-reading links use them
    browser.get(f"{site}/book/resources.html?topic=tabular/BDT")
    wait_for(browser, lambda d: "of" in d.find_element("id", "hepml-count").text)
    preset = visible()
    assert 0 < len(preset) < total and all("tabular/BDT" in e.get_attribute("data-topics") for e in preset)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "catalogue.png"))


@pytest.mark.parametrize("page", LESSONS, ids=[Path(p).stem for p in LESSONS])
def test_equations_render_offline_and_each_lesson_is_photographed(site, browser, page):
    """Every equation of every lesson is typeset, with the network off: MathJax comes from the
    built site (sphinx-mathjax-offline), not a CDN. A full-length screenshot of the lesson is kept."""
    browser.get(f"{site}/{page}")
    scripts = [s.get_attribute("src") for s in browser.find_elements("css selector", "script[src*='mathjax']")]
    assert scripts and all(s.startswith(site) for s in scripts), f"MathJax is not served by the site: {scripts}"
    count = lambda sel: browser.execute_script(f"return document.querySelectorAll({sel!r}).length")
    math = count("article span.math, article div.math")
    assert math > 0, f"{page} has no equation to check"
    wait_for(browser, lambda d: count("article mjx-container") >= math, timeout=30)
    assert browser.execute_script("return window.MathJax && MathJax.version").startswith("3.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(height, 30_000))  # the whole lesson in one picture
    try:
        browser.save_screenshot(str(ARTIFACTS / f"lesson-{Path(page).stem}.png"))
    finally:
        browser.set_window_size(1400, 1000)

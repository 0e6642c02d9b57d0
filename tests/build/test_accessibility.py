"""Every HTML briefing (every briefing x every scenario), the index and the comparison pages pass axe-core in
Chromium, and every chart exposes an accessible name and description.

Selenium drives Debian's chromium through chromium-driver with every network request refused; the
axe-core engine (npm package, installed by .ci/run into .tools/) is injected into each page after its
charts became interactive. Any violation of any impact fails. axe does not judge whether a chart's text
alternative is there (vega-embed draws an SVG with no role), so the same session asks the browser for each
chart container's computed role, name and description.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import EVERY_BRIEFING, EVERY_SCENARIO, ROOT

# One xdist worker runs the module (--dist loadgroup): its tests share one Chromium (the module's ``browser``).
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("accessibility")]

AXE_JS = Path(os.environ.get("AXE_CORE_JS", ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_tools() -> None:
    missing = [
        what
        for what, ok in [
            ("chromium (apt-get install chromium)", CHROMIUM),
            ("chromium-driver (apt-get install chromium-driver)", CHROMEDRIVER),
            (f"axe-core at {AXE_JS} (npm install --prefix .tools axe-core)", AXE_JS.is_file()),
        ]
        if not ok
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"required in CI (.ci/run installs them): {', '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")


@pytest.fixture(scope="module")
def site(real_build) -> Path:
    """The session's shared real build (tests/conftest.py ``real_build``) once every briefing of every scenario is
    built there as HTML: its ``reports/`` folder, with the index and the comparison pages the builds wrote. Read only."""
    require_tools()
    return real_build(EVERY_SCENARIO, EVERY_BRIEFING)


@pytest.fixture(scope="module")
def browser():
    require_tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(120)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def pages(site: Path) -> list[Path]:
    """The index, every briefing's page in every scenario (``<scenario>/<briefing>.html``; not the build tests' tiny
    briefing, which the shared build also holds) and every comparison page."""
    briefings = sorted(site / scenario / f"{b}.html" for scenario in EVERY_SCENARIO for b in EVERY_BRIEFING)
    return [site / "index.html", *briefings, *sorted(site.glob("compare/*.html"))]


def open_page(driver, page: Path) -> int:
    """Load ``page`` and wait until every interactive chart was drawn (comparison pages draw static ones); the number of charts."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.as_uri())
    interactive = driver.execute_script("return document.querySelectorAll('.chart:not(.static)').length")
    WebDriverWait(driver, 120).until(
        lambda d: d.execute_script("return document.querySelectorAll('.chart .vega-embed svg.marks').length") == interactive,
        message=f"{page.name}: not every chart became interactive",
    )
    return driver.execute_script("return document.querySelectorAll('.chart').length")


def run_axe(driver) -> list[dict]:
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
        " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})), passes: r.passes.length}))"
        ".catch(e => done({error: String(e)}));"
    )
    assert "error" not in result, result
    return result["violations"]


def test_every_briefing_and_the_index_pass_axe_and_every_chart_has_a_text_alternative(site, browser):
    from selenium.webdriver.common.by import By

    report = {}
    problems = []
    for page in pages(site):
        name = page.relative_to(site).as_posix()
        charts = open_page(browser, page)
        violations = run_axe(browser)
        report[name] = {"charts": charts, "violations": violations}
        problems += [f"{name}: {v['id']} ({v['impact']}) x{v['nodes']} at {v['targets']}" for v in violations]
        for element in browser.find_elements(By.CSS_SELECTOR, ".chart"):
            label = element.accessible_name.strip()
            role = element.aria_role
            described = element.get_attribute("aria-describedby") or ""
            description = browser.execute_script(
                "return arguments[0].split(/\\s+/).map(id => document.getElementById(id)).filter(Boolean)"
                ".map(e => e.textContent).join(' ').trim();",
                described,
            )
            if role not in ("img", "image") or not label.startswith("Figure ") or len(description) < 20:
                problems.append(
                    f"{name}: chart {element.get_attribute('aria-label')!r}: role {role!r}, name {label!r}, description {description!r}"
                )
    print("axe-core results:", json.dumps(report, indent=1))
    scenarios = len(EVERY_SCENARIO)
    assert len(report) >= 1 + 3 * scenarios + (scenarios - 1), sorted(report)
    assert sum(r["charts"] for r in report.values()) > 0
    assert all(r["charts"] > 0 for name, r in report.items() if name.startswith("compare/")), "comparison pages overlay charts"
    assert not problems, "\n".join(problems)


def test_axe_finds_a_planted_violation(site, browser, tmp_path):
    """The engine really runs: an image without alt text is caught."""
    page = site / "base" / "tiny.html"
    broken = tmp_path / "broken.html"
    broken.write_text(
        page.read_text(encoding="utf-8").replace("<main", '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><main', 1),
        encoding="utf-8",
    )
    open_page(browser, broken)
    assert "image-alt" in {v["id"] for v in run_axe(browser)}

"""Open a built briefing in headless Chromium with no network: charts render, the console stays silent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium)")
    pytest.skip("chromium not installed (apt-get install chromium)")


def render_dom(page: Path) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and Chromium's log, with every network request refused."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                require_chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--proxy-server=127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=15000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return result.stdout, result.stderr


def test_charts_render_offline_without_console_errors(real_build, tmp_path):
    require_chromium()
    page = real_build("base") / "base" / "tiny.html"  # the tiny briefing of the session's shared build, read only
    probe = tmp_path / "probe.html"
    # Record script errors into the DOM so that the dump shows them.
    hook = (
        "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message));});"
        "var __ce=console.error;console.error=function(){window.__errors.push(Array.prototype.join.call(arguments,' '));__ce.apply(console,arguments);};"
        "setTimeout(function(){document.body.setAttribute('data-errors',JSON.stringify(window.__errors));},2000);</script>"
    )
    probe.write_text(page.read_text().replace("<head>", "<head>" + hook, 1))
    dom, log = render_dom(probe)
    assert 'data-errors="[]"' in dom, re.findall(r'data-errors="[^"]*"', dom)
    assert ":CONSOLE" not in log, [line for line in log.splitlines() if ":CONSOLE" in line]
    embedded = re.findall(r'<div id="fig-\d+" class="vega-embed[^"]*"', dom)
    assert len(embedded) == page.read_text().count('class="chart"') >= 1, "every chart became interactive"
    assert dom.count('class="marks"') >= len(embedded), "vega drew each chart"

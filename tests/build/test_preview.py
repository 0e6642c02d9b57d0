"""preview: a prose edit re-renders without a kernel, a code edit executes again, the watch loop and the server follow."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import nbformat as nbf
import pytest

from rare_earth_lib.build import pipeline as build
from rare_earth_lib.build import preview

pytestmark = pytest.mark.slow


def _edit(project: Path, prose: str | None = None, code: str | None = None) -> Path:
    path = project / "notebooks" / "tiny.ipynb"
    nb = nbf.read(path, as_version=4)
    if prose is not None:
        nb.cells[0].source = prose
    if code is not None:
        nb.cells[-1].source += "\n" + code
    nbf.write(nb, path)
    return path


@pytest.fixture
def tiny_here(project, monkeypatch):
    """The tiny briefing's model importable in this process too (the kernel imports the project's copy)."""
    from rare_earth_lib import parameters

    monkeypatch.setattr(parameters, "__path__", [*parameters.__path__, str(project / "rare_earth_lib" / "parameters")])
    monkeypatch.setenv("PYTHONPATH", str(project))
    monkeypatch.setenv("RARE_EARTH_BUILD_DATE", "2026-11-29")
    return project


def test_preview_renders_prose_edits_without_a_kernel_and_reruns_code_edits(tiny_here):
    project = tiny_here
    lines: list[str] = []
    session = preview.Preview(build.Layout(project), "tiny", "base", log=lines.append)
    assert session.refresh() == "executed"
    assert "Exercises the build" in session.html
    executed_with = session.executed

    path = _edit(project, prose="# Tiny test briefing\nThe largest share is {eval}`f'{shares.share_scaled.max():.2f}'` (edited prose).")
    assert session.refresh({path}) == "executed", "a new expression needs the kernel"
    assert "(edited prose)" in session.html and "{eval}" not in session.html
    path = _edit(project, prose="# Tiny test briefing\nThe largest share is {eval}`f'{shares.share_scaled.max():.2f}'` (edited again).")
    executed_with = session.executed
    assert session.refresh({path}) == "rendered"
    assert "(edited again)" in session.html and "(edited prose)" not in session.html
    assert session.executed.cells[-1].outputs == executed_with.cells[-1].outputs, "outputs reused, not recomputed"
    assert session.page_path.read_text() == session.html
    assert not (project / "reports" / "base").exists(), "a preview never touches a published briefing"

    path = _edit(project, code="print('code changed')")
    assert session.refresh({path}) == "executed"

    server = preview.serve(session, port=0)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        page = urllib.request.urlopen(f"{url}/").read().decode()
        assert "(edited again)" in page and "/__version" in page
        version = int(urllib.request.urlopen(f"{url}/__version").read())
        stop = threading.Event()
        watcher = threading.Thread(target=preview.watch, args=(session, stop), daemon=True)
        watcher.start()
        time.sleep(1.0)
        _edit(
            project, prose="# Tiny test briefing\nThe largest share is {eval}`f'{shares.share_scaled.max():.2f}'` (saved while watching)."
        )
        deadline = time.monotonic() + 60
        while int(urllib.request.urlopen(f"{url}/__version").read()) == version and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        watcher.join(timeout=10)
        assert int(urllib.request.urlopen(f"{url}/__version").read()) > version, "the watch loop did not refresh the page"
        assert "(saved while watching)" in urllib.request.urlopen(f"{url}/").read().decode()
        assert any(line.startswith("preview: rendered tiny × base") for line in lines)
    finally:
        server.shutdown()


def test_preview_shows_a_failure_and_recovers(tiny_here):
    project = tiny_here
    session = preview.Preview(build.Layout(project), "tiny", "base", log=lambda line: None)
    path = _edit(project, prose="# Tiny\nValue {eval}`no_such_name`.")
    assert session.refresh({path}) == "failed"
    assert "no_such_name" in session.html and session.error
    path = _edit(project, prose="# Tiny\nNo expressions.")
    assert session.refresh({path}) == "executed"
    assert session.error is None and "No expressions." in session.html

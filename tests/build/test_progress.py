"""Progress: a live table in a terminal (queued, running, done with elapsed times), plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import io

from rich.console import Console

from rare_earth_lib.build.progress import LiveProgress


def test_live_table_follows_the_jobs(tmp_path):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    live = LiveProgress([("tiny", "base"), ("tiny", "controls_reimposed"), ("other", "base")], tmp_path, console=console)
    assert live.counts()["queued"] == 3
    (tmp_path / ".tmp" / "base__tiny").mkdir(parents=True)
    live.poll()
    assert [j.state for j in live.jobs] == ["running", "queued", "queued"]
    live.log("up to date  other × base")
    live.log("built       tiny × base in 12.5 s")
    live.log("FAILED      tiny × controls_reimposed: cell 3 of notebooks/tiny.ipynb raised RuntimeError: asked to fail")
    assert [j.state for j in live.jobs] == ["built", "FAILED", "up to date"]
    assert live.jobs[0].seconds == 12.5
    console.print(live.render())
    text = out.getvalue()
    assert "3/3 done" in text and "12.5 s" in text and "FAILED" in text
    assert "asked to fail" in text, "a failure is printed above the table"
    assert "built       tiny × base" not in text, "routine lines are not repeated above the table"


def test_live_display_runs_as_a_context_manager(tmp_path):
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    with LiveProgress([("tiny", "base")], tmp_path, console=console, refresh_per_second=20) as live:
        live.log("up to date  tiny × base")
    assert "1/1 done" in console.file.getvalue()

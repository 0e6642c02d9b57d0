"""Benchmark ``rare-earth-report preview``: notebook saved -> HTML refreshed, against a bare papermill run.

Run from the project folder: ``.venv/bin/python benchmarks/bench_preview.py [BRIEFING] [SCENARIO]``
(default: refining_timeline base). Works on a throwaway copy of notebooks/ and params/.

Prints:
- papermill: a bare ``papermill.execute_notebook`` of the notebook with the scenario's parameters;
- save: a code cell edited and saved while the preview watches -> the served page version changes
  (goal: at most 1.2x papermill);
- prose: a markdown cell edited and saved -> page refreshed without a kernel (goal: at most 2 s).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from rare_earth_lib.build import pipeline as b
from rare_earth_lib.build import preview

ROOT = Path(__file__).resolve().parents[1]


def wait_for_new_version(session: preview.Preview, version: int, timeout: float = 900) -> float:
    started = time.perf_counter()
    while session.version == version:
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the preview did not refresh")
        time.sleep(0.02)
    return time.perf_counter() - started


def edit(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def main(briefing: str = "refining_timeline", scenario: str = "base") -> dict:
    import papermill as pm

    os.environ.setdefault("RARE_EARTH_BUILD_DATE", time.strftime("%Y-%m-%d"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
        shutil.copytree(ROOT / "params", root / "params")
        layout = b.Layout(root)
        notebook = layout.briefings()[briefing]
        (params,) = b.validate_all(layout, [scenario], [briefing]).values()

        t0 = time.perf_counter()
        pm.execute_notebook(
            str(notebook), str(root / "bare.ipynb"), parameters=params, kernel_name="python3", cwd=str(notebook.parent), progress_bar=False
        )
        bare = time.perf_counter() - t0

        lines: list[str] = []
        session = preview.Preview(layout, briefing, scenario, log=lines.append)
        session.refresh()
        stop = threading.Event()
        watcher = threading.Thread(target=preview.watch, args=(session, stop), daemon=True)
        watcher.start()
        time.sleep(1.0)

        version = session.version
        edit(notebook, lambda nb: setattr(nb.cells[-1], "source", nb.cells[-1].source + "\n# benchmark edit"))
        save = wait_for_new_version(session, version)

        def prose(nb):
            cell = next(c for c in nb.cells if c.cell_type == "markdown")
            cell.source += " (benchmark prose edit)"

        version = session.version
        edit(notebook, prose)
        prose_s = wait_for_new_version(session, version)
        rendered = "(benchmark prose edit)" in session.html and session.last.get("outcome") == "rendered"
        stop.set()
        watcher.join(timeout=10)
    result = {
        "briefing": briefing,
        "scenario": scenario,
        "papermill_s": round(bare, 2),
        "save_to_html_s": round(save, 2),
        "save_ratio": round(save / bare, 2),
        "prose_edit_s": round(prose_s, 2),
        "prose_edit_rendered_without_kernel": rendered,
        "goals": {"save_ratio_max": 1.2, "prose_edit_max_s": 2.0},
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(*sys.argv[1:3])

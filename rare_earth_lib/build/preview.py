"""``rare-earth-report preview``: rebuild one briefing's HTML while it is being edited, and reload the open tab.

- The briefing is executed once with the scenario's validated parameters (papermill, like the build) and
  rendered to HTML under ``reports/.preview/`` (never over a published briefing).
- **watchfiles** watches the notebook, the library and the params file. A change to the library or the params,
  or to any code cell, executes the notebook again. An edit to markdown alone re-renders from the outputs of
  the last execution, without a kernel, as long as every ``{eval}`` expression it uses was already evaluated.
- A small HTTP server on localhost serves the page with a script that asks ``/__version`` once a second and
  reloads the tab when the page changed. A failed run shows its error instead (and the tab recovers on the
  next good run).
"""

from __future__ import annotations

import copy
import html
import http.server
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib.build import pipeline as b
from rare_earth_lib.report import inline

RELOAD_SCRIPT = """<script>(function(){var v=%s;setInterval(function(){fetch('/__version',{cache:'no-store'})
.then(function(r){return r.text();}).then(function(t){if(t!==String(v)){location.reload();}}).catch(function(){});},1000);})();</script>"""


def merge_prose(executed: Any, source: Any) -> Any | None:
    """The executed notebook with the markdown of ``source``; None when ``source``'s code differs or it needs new values.

    Code cells (with their outputs), papermill's injected cell and the hidden ``{eval}`` cell come from
    ``executed``; markdown cells come from ``source``, in its order.
    """
    run_code = [
        c
        for c in executed.cells
        if c.cell_type == "code" and not ({"injected-parameters", inline.EVAL_TAG} & set(c.metadata.get("tags", [])))
    ]
    new_code = [c for c in source.cells if c.cell_type == "code"]
    if [c.source for c in run_code] != [c.source for c in new_code]:
        return None
    values = inline.recorded_values(executed) or {}
    if any(expr not in values for _, expr in inline.markdown_expressions(source.cells)):
        return None
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    hidden = [c for c in executed.cells if inline.EVAL_TAG in c.metadata.get("tags", [])]
    merged = copy.copy(executed)  # shallow: the executed cells are reused as they are, never changed
    cells, code = [], iter(run_code)
    for cell in source.cells:
        if cell.cell_type == "code":
            cells.append(next(code))
            if "parameters" in cell.metadata.get("tags", []):
                cells += injected
        else:
            cells.append(cell)
    merged["cells"] = cells + hidden
    return merged


class Preview:
    """One briefing under one scenario, kept rendered while its inputs change."""

    def __init__(
        self, layout: b.Layout, briefing: str, scenario: str = "base", overrides: dict | None = None, log: Callable[[str], None] = print
    ):
        self.layout, self.briefing, self.scenario = layout, briefing, scenario
        self.overrides = dict(overrides or {})
        self.log = log
        b.select(layout, [scenario], [briefing])  # unknown names are bad input (exit 2)
        self.notebook = layout.briefings()[briefing]
        self.params_file = layout.params / f"{scenario}.yaml"
        self.folder = layout.reports / ".preview" / f"{briefing}--{scenario}"
        self.executed: Any = None
        self.html = ""
        self.error: str | None = None
        self.version = 0
        self.last: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def page_path(self) -> Path:
        return self.folder / f"{self.briefing}.html"

    def watched(self) -> list[Path]:
        return [self.notebook, self.layout.library, self.params_file]

    def refresh(self, changed: set[Path] | None = None) -> str:
        """Bring the page up to date after ``changed`` (None: everything). Returns "rendered", "executed" or "failed"."""
        import nbformat

        started = time.perf_counter()
        changed = {Path(p).resolve() for p in changed} if changed is not None else None
        only_notebook = changed is not None and changed <= {self.notebook.resolve()}
        try:
            source = nbformat.read(self.notebook, as_version=4)
            merged = merge_prose(self.executed, source) if (self.executed is not None and only_notebook and not self.error) else None
            if merged is not None:
                outcome = "rendered"
                nb = merged
            else:
                outcome = "executed"
                nb = self._execute(source)
            page = self._render(nb)
        except Exception as exc:
            self._publish(_error_page(self.briefing, self.scenario, f"{type(exc).__name__}: {exc}"), error=str(exc))
            self.last = {"seconds": time.perf_counter() - started}
            self.log(f"preview: FAILED {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
            return "failed"
        self.executed = nb
        self.last = {"seconds": time.perf_counter() - started, "outcome": outcome}
        self._publish(page)
        self.log(f"preview: {outcome} {self.briefing} × {self.scenario} in {self.last['seconds']:.1f} s (page version {self.version})")
        return outcome

    def _execute(self, source: Any) -> Any:
        import papermill as pm

        validated = b.validate_all(self.layout, [self.scenario], [self.briefing], self.overrides)
        (params,) = validated.values()
        self.folder.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault(env.BUILD_DATE, time.strftime("%Y-%m-%d"))
        return pm.execute_notebook(
            inline.with_evaluation_cell(source, f"notebooks/{self.notebook.name}"),
            str(self.folder / f"{self.briefing}.ipynb"),
            parameters=params,
            kernel_name="python3",
            cwd=str(self.notebook.parent),
            progress_bar=False,
            log_output=False,
        )

    def _render(self, nb: Any) -> str:
        from rare_earth_lib.build import render

        return render.to_html(nb, render.notebook_title(nb) or self.briefing, interactive=True)

    def _publish(self, page: str, error: str | None = None) -> None:
        with self._lock:
            self.html, self.error = page, error
            self.version += 1
            self.folder.mkdir(parents=True, exist_ok=True)
            b.write_atomic(self.page_path, page, self.folder)

    def served_page(self) -> tuple[int, str]:
        """(version, the page with the reload script) as the server sends it."""
        with self._lock:
            version, page = self.version, self.html
        script = RELOAD_SCRIPT % version
        at = page.rfind("</body>")
        return version, (page[:at] + script + page[at:]) if at >= 0 else page + script


def _error_page(briefing: str, scenario: str, message: str) -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(briefing)}: preview failed</title></head>"
        f"<body><h1>{html.escape(briefing)} × {html.escape(scenario)}: the last run failed</h1><pre>{html.escape(message)}</pre>"
        "<p>Fix the notebook, the library or the params file; this page reloads by itself.</p></body></html>"
    )


def serve(preview: Preview, port: int = 8765, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """Start serving the preview in a background thread; returns the server (``server_address`` has the port)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            if self.path.startswith("/__version"):
                body, kind = str(preview.served_page()[0]).encode(), "text/plain"
            elif self.path in ("/", "/index.html", f"/{preview.briefing}.html"):
                body, kind = preview.served_page()[1].encode("utf-8"), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the terminal for the preview's own lines
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="preview-server").start()
    return server


def _interesting(change, path: str) -> bool:
    parts = Path(path).parts
    return not any(p in ("__pycache__", ".ipynb_checkpoints") or p.startswith(".~") for p in parts) and not path.endswith((".pyc", "~"))


def watch(preview: Preview, stop: threading.Event | None = None, debounce_ms: int = 150) -> None:
    """Refresh the preview whenever a watched file changes, until ``stop`` is set (or Ctrl-C)."""
    import watchfiles

    for changes in watchfiles.watch(*preview.watched(), watch_filter=_interesting, debounce=debounce_ms, step=50, stop_event=stop):
        preview.refresh({Path(path) for _, path in changes})

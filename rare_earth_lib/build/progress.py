"""Build progress for a person at a terminal: a live table of jobs (queued, running, done) with elapsed times.

The build reports through two callbacks: ``log(line)`` for each event ("up to date  <job>", "built       <job>
in 12.3 s", "FAILED      <job>: ...") and ``progress(n)``. :class:`LiveProgress` turns those into a rich Live
display on stderr; a job counts as running from the moment its staging folder (``reports/.tmp/<scenario>__<briefing>``)
appears, so the display needs nothing more from the executor. Lines the build logs are printed above the table.
Not a terminal: plain lines (the ``log`` lines as they come); ``--quiet``: nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

STATES = ("queued", "running", "up to date", "built", "FAILED")


@dataclass
class JobState:
    briefing: str
    scenario: str
    state: str = "queued"
    started: float | None = None
    seconds: float | None = None

    @property
    def name(self) -> str:
        return f"{self.briefing} × {self.scenario}"


class LiveProgress:
    """A live table of the build's jobs; use as a context manager and pass :meth:`log` and :meth:`progress` to the build."""

    def __init__(self, jobs: list[tuple[str, str]], reports: Path, console=None, refresh_per_second: float = 4):
        from rich.console import Console

        self.jobs = [JobState(b, s) for b, s in jobs]
        self.reports = reports
        self.console = console or Console(stderr=True)
        self.started = time.monotonic()
        self.refresh_per_second = refresh_per_second
        self._live = None

    # --- the build's callbacks ---------------------------------------------------------------------

    def log(self, line: str) -> None:
        """Record an event line from the build and print it above the table."""
        now = time.monotonic()
        for prefix, state in (("up to date", "up to date"), ("built", "built"), ("FAILED", "FAILED")):
            if not line.startswith(prefix):
                continue
            rest = line[len(prefix) :].lstrip()
            for job in self.jobs:
                if rest.startswith(job.name):
                    job.state = state
                    if state == "built" and " in " in rest and rest.endswith(" s"):
                        try:
                            job.seconds = float(rest.rsplit(" in ", 1)[1][:-2])
                        except ValueError:
                            job.seconds = None
                    if job.seconds is None and job.started is not None:
                        job.seconds = now - job.started
                    break
        if not state_line(line) or line.startswith("FAILED"):  # the table shows the rest
            self.console.print(
                line, style="bold red" if line.startswith("FAILED") else "dim", highlight=False, markup=False, soft_wrap=True
            )

    def progress(self, n: int = 1) -> None:
        """Counted from the log lines; kept so the build's progress callback has a target."""

    # --- the display -------------------------------------------------------------------------------

    def poll(self) -> None:
        """Mark queued jobs whose staging folder exists as running (from now)."""
        tmp = self.reports / ".tmp"
        for job in self.jobs:
            if job.state == "queued" and (tmp / f"{job.scenario}__{job.briefing}").exists():
                job.state, job.started = "running", time.monotonic()

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for j in self.jobs if j.state == s) for s in STATES}

    def render(self):
        from rich.table import Table

        self.poll()
        now = time.monotonic()
        c = self.counts()
        done = c["up to date"] + c["built"] + c["FAILED"]
        table = Table(
            title=f"{done}/{len(self.jobs)} done · {c['running']} running · {c['queued']} queued · {now - self.started:.0f} s",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("briefing × scenario")
        table.add_column("state")
        table.add_column("elapsed", justify="right")
        style = {"queued": "dim", "running": "yellow", "up to date": "green", "built": "green", "FAILED": "bold red"}
        for job in self.jobs:
            if job.state == "running" and job.started is not None:
                elapsed = f"{now - job.started:.0f} s"
            elif job.seconds is not None:
                elapsed = f"{job.seconds:.1f} s"
            else:
                elapsed = ""
            table.add_row(job.name, f"[{style[job.state]}]{job.state}[/]", elapsed)
        return table

    def __enter__(self) -> LiveProgress:
        from rich.live import Live

        class _Renderable:
            def __init__(self, owner: LiveProgress):
                self.owner = owner

            def __rich__(self):
                return self.owner.render()

        self._live = Live(_Renderable(self), console=self.console, refresh_per_second=self.refresh_per_second, transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None


def state_line(line: str) -> bool:
    """True for the build's per-job event lines (the rest are notes such as removed leftovers)."""
    return line.startswith(("up to date", "built", "FAILED"))

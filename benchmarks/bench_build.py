"""Benchmark the build against the naive loop a user would write, and time a no-op rebuild.

Run from the project folder: ``.venv/bin/python benchmarks/bench_build.py`` (or ``make bench``).
Works on a throwaway copy of the project so ``reports/`` is left alone.

Prints, for every briefing × scenario with HTML and PDF:
- naive: for each job in turn, ``papermill`` CLI, then ``jupyter nbconvert --to html --no-input``,
  then ``weasyprint`` on that HTML (goal: the build takes at most 0.5× this);
- build: ``rare-earth-report build`` from cold (empty reports/);
- no-op: the same build again with nothing changed (goal: at most 1 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        for name in ("rare_earth_lib", "notebooks", "params"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "PYTHONPATH": str(project)}
        briefings = sorted(p.stem for p in (project / "notebooks").glob("*.ipynb"))
        scenarios = sorted(p.stem for p in (project / "params").glob("*.yaml"))

        naive_dir = Path(tmp) / "naive"
        naive_dir.mkdir()
        started = time.perf_counter()
        for scenario in scenarios:
            for briefing in briefings:
                out = naive_dir / f"{scenario}__{briefing}.ipynb"
                run(
                    [
                        str(BIN / "papermill"),
                        f"notebooks/{briefing}.ipynb",
                        str(out),
                        "-f",
                        f"params/{scenario}.yaml",
                        "-p",
                        "scenario",
                        scenario,
                        "--no-progress-bar",
                    ],
                    project,
                    env,
                )
                run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], project, env)
                run(
                    [str(BIN / "weasyprint"), "-q", "-e", "utf-8", str(out.with_suffix(".html")), str(out.with_suffix(".pdf"))],
                    project,
                    env,
                )
        naive = time.perf_counter() - started

        build = [str(BIN / "rare-earth-report"), "--root", str(project), "build", "--quiet"]
        cold = run(build, project, env)
        noop = min(run(build, project, env) for _ in range(3))

    jobs = len(briefings) * len(scenarios)
    print(f"jobs: {jobs} ({len(briefings)} briefings × {len(scenarios)} scenarios, HTML + PDF), cores: {os.cpu_count()}")
    print(f"naive loop (papermill → nbconvert → weasyprint): {naive:.1f} s")
    print(f"rare-earth-report build, cold:                  {cold:.1f} s  ({cold / naive:.2f}× naive; goal ≤ 0.5×)")
    print(f"rare-earth-report build, nothing changed:       {noop:.2f} s  (goal ≤ 1 s)")


if __name__ == "__main__":
    main()

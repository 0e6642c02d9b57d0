"""Benchmark the build against the naive loop a user would write, break one job's time down, time a no-op.

Run from the project folder: ``.venv/bin/python benchmarks/bench_build.py`` (or ``make bench``).
Works on a throwaway copy of the project so ``reports/`` is left alone. Everything is measured in one run
on this machine, so the ratios compare like with like.

Prints:
- naive: for each briefing × scenario in turn, ``papermill`` CLI, then ``jupyter nbconvert --to html
  --no-input``, then ``weasyprint`` on that HTML, each step timed;
- build: ``rare-earth-report build`` from cold (empty reports/), HTML and PDF;
- every job's time in its worker (total, kernel start, first cell, cells, HTML, PDF), longest first;
- the breakdown of one job (the first briefing × base): kernel start, first code cell (imports,
  parameter validation and, in a thin notebook, the one call that runs the model), all cells, HTML render, PDF render, publish, from the build's manifest and summary,
  beside the naive loop's steps for the same job;
- edit → HTML: one edited briefing rebuilt as HTML, against bare ``papermill`` for the same job;
- no-op: the same build again with nothing changed.
The naive loop and the build each get a fresh cache folder of their own, so the cold build also builds the offline
chart bundle, validates the data package, evaluates scenario discovery and draws every chart (the naive loop's runs
fill only their own folder); the machine's load average is printed before and after (the ratios only mean something on an idle
machine: run it more than once when others are working).
And the three ratios with their goals: full build ≤ 0.3× naive; edit → HTML ≤ 1.2× papermill; no-op ≤ 1 s. The full
build's ratio is also given in CPU seconds of all processes (both sides' children, as the kernel accounts them),
which other work on the machine disturbs less than wall time. The benchmark makes itself the subreaper of every
process it starts, so a kernel that outlives its parent (the build's kernels die by a parent-death signal, unwaited)
is reaped here and its CPU counted too.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Have orphaned descendants re-parented to this process (Linux), so that :func:`reap` counts their CPU."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap(timeout: float = 30.0) -> None:
    """Wait for every descendant left behind (re-parented here), so that its CPU reaches RUSAGE_CHILDREN."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished and reaped descendant so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    reap()
    return elapsed


def naive_job(project: Path, out: Path, briefing: str, scenario: str, env: dict) -> dict[str, float]:
    papermill = [str(BIN / "papermill"), f"notebooks/{briefing}.ipynb", str(out), "-f", f"params/{scenario}.yaml"]
    return {
        "papermill": run([*papermill, "-p", "scenario", scenario, "--no-progress-bar"], project, env),
        "nbconvert": run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], project, env),
        "weasyprint": run(
            [str(BIN / "weasyprint"), "-q", "-e", "utf-8", str(out.with_suffix(".html")), str(out.with_suffix(".pdf"))], project, env
        ),
    }


def main() -> None:
    become_subreaper()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        for name in ("rare_earth_lib", "notebooks", "params"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        load_before = os.getloadavg()
        # Each side starts from an empty cache folder of its own: the naive loop's notebook runs would otherwise leave
        # the build the scenario-discovery results and the chart SVGs they computed.
        naive_env = {**os.environ, "PYTHONPATH": str(project), "RARE_EARTH_CACHE_DIR": str(Path(tmp) / "cache-naive")}
        env = {**naive_env, "RARE_EARTH_CACHE_DIR": str(Path(tmp) / "cache")}
        briefings = sorted(p.stem for p in (project / "notebooks").glob("*.ipynb"))
        scenarios = sorted(p.stem for p in (project / "params").glob("*.yaml"))
        first = briefings[0]

        naive_dir = Path(tmp) / "naive"
        naive_dir.mkdir()
        steps: dict[tuple[str, str], dict[str, float]] = {}
        started, cpu = time.perf_counter(), children_cpu()
        for scenario in scenarios:
            for briefing in briefings:
                steps[(briefing, scenario)] = naive_job(project, naive_dir / f"{scenario}__{briefing}.ipynb", briefing, scenario, naive_env)
        naive, naive_cpu = time.perf_counter() - started, children_cpu() - cpu

        build = [str(BIN / "rare-earth-report"), "--root", str(project), "build", "--quiet"]
        cpu = children_cpu()
        cold = run(build, project, env)
        cold_cpu = children_cpu() - cpu
        jobs_timings = {
            (m["briefing"], m["scenario"]): m["timings"]
            for m in (json.loads(p.read_text()) for p in sorted((project / "reports").glob("*/*.manifest.json")))
        }
        manifest = json.loads((project / "reports" / "base" / f"{first}.manifest.json").read_text())
        summary = json.loads((project / "reports" / "build-summary.json").read_text())
        publish_s = next(j.get("publish_s") for j in summary["jobs"] if (j["briefing"], j["scenario"]) == (first, "base"))
        noop = min(run(build, project, env) for _ in range(3))

        # One edited briefing → HTML, against bare papermill for the same job.
        nb = project / "notebooks" / f"{first}.ipynb"
        data = json.loads(nb.read_text(encoding="utf-8"))
        data["metadata"]["bench_edit"] = time.time()
        nb.write_text(json.dumps(data, indent=1), encoding="utf-8")
        edit = run([*build, "--briefing", first, "--scenario", "base", "--format", "html"], project, env)
        bare = naive_job(project, naive_dir / "again.ipynb", first, "base", env)["papermill"]

    t = manifest["timings"]
    n = steps[(first, "base")]
    jobs = len(briefings) * len(scenarios)
    load_after = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}; after: {' '.join(f'{x:.2f}' for x in load_after)}")
    print(f"jobs: {jobs} ({len(briefings)} briefings × {len(scenarios)} scenarios, HTML + PDF), cores: {os.cpu_count()}")
    print(f"naive loop (papermill → nbconvert → weasyprint): {naive:.1f} s  ({naive_cpu:.0f} CPU s, all processes)")
    print(f"rare-earth-report build, cold:                  {cold:.1f} s  ({cold_cpu:.0f} CPU s, all processes)")
    print()
    print("every job of the cold build (seconds, in its worker)      total  kernel  first cell  cells    HTML     PDF  kernel's job")
    for (briefing, scenario), jt in sorted(jobs_timings.items(), key=lambda kv: -kv[1].get("total_s", 0)):
        print(
            f"  {briefing + ' × ' + scenario:<54} {jt.get('total_s', 0):6.1f}  {jt.get('kernel_start_s', 0):6.2f}"
            f"  {jt.get('first_cell_s', 0):10.2f}  {jt.get('cells_s', 0):5.2f}  {jt.get('html_s', 0):6.2f}  {jt.get('pdf_s', 0):6.2f}"
            f"  {jt.get('kernel_earlier_jobs', 0) + 1:>12}"
        )
    print()
    print(f"one job, {first} × base (seconds)            build    naive")
    print(f"  kernel start (until the first cell runs)   {t.get('kernel_start_s', 0):6.2f}")
    print(f"  first code cell (imports, validation, and  {t.get('first_cell_s', 0):6.2f}")
    print("    the model run in a thin notebook)")
    print(f"  warm kernel                                {'yes' if t.get('warm_kernel') else 'no':>6}")
    print(f"  all cells                                  {t.get('cells_s', 0):6.2f}")
    print(f"  execution (kernel start + cells + writes)  {t.get('execute_s', 0):6.2f}   {n['papermill']:6.2f}  papermill CLI")
    print(f"  HTML render                                {t.get('html_s', 0):6.2f}   {n['nbconvert']:6.2f}  nbconvert CLI")
    print(f"  PDF render                                 {t.get('pdf_s', 0):6.2f}   {n['weasyprint']:6.2f}  weasyprint CLI")
    print(f"  publish (main process)                     {publish_s or 0:6.2f}")
    print(f"  job total (in its worker)                  {t.get('total_s', 0):6.2f}   {sum(n.values()):6.2f}")
    print()
    print(f"full build / naive loop:          {cold / naive:.2f}×  ({cold:.1f} s / {naive:.1f} s; goal ≤ 0.3×)")
    print(f"  in CPU time (less sensitive to other load): {cold_cpu / naive_cpu:.2f}×  ({cold_cpu:.0f} / {naive_cpu:.0f} CPU s)")
    print(f"edit → HTML / bare papermill:     {edit / bare:.2f}×  ({edit:.1f} s / {bare:.1f} s; goal ≤ 1.2×)")
    print(f"no-op build:                      {noop:.2f} s  (goal ≤ 1 s)")


if __name__ == "__main__":
    main()

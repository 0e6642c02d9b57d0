"""Benchmark ``make test``: its wall time and the CPU of every process of the run, optionally against a reference.

Run from the project folder: ``.venv/bin/python benchmarks/bench_tests.py [--against REV] [--workers N]``.

The suite keeps every core busy (builds, kernels, Chromium and the xdist workers run side by side), so its wall time
follows the CPU it spends, and that CPU follows the machine's speed of the moment, which drifts on a shared machine
by tens of percent within an hour. So each process of the run is sampled (``psutil``, every 0.25 s: a process that
lives less than that is missed) and its CPU reported by kind, and with ``--against REV`` the suite of that revision
(checked out in a throwaway git worktree) runs first, back to back with the current tree's, and the ratio of the two
is the measure. Each tree runs its own ``make test`` command (read from its Makefile), with its own number of xdist
workers unless ``--workers`` sets one for both.

Prints, per run: wall time, the CPU of all processes (user + system, seconds), the share of the cores it kept busy,
the CPU by kind of process, and the test outcome line; then current / reference for wall time and CPU.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

#: What each sampled process is, by its command line: the first pattern that matches.
KINDS = (
    ("kernel", "ipykernel"),
    ("browser", "chrom"),
    ("spawned worker", "multiprocessing"),  # a build's pool workers, and a local Dask cluster's
    ("dask", "distributed|dask"),
    ("build CLI", r"rare_earth_lib\.build\.cli|rare-earth-report"),
    ("pytest", "pytest|execnet|sys.stdin.readline"),
)


def kind_of(command: str) -> str:
    return next((kind for kind, pattern in KINDS if re.search(pattern, command)), "other")


def suite_command(tree: Path, workers: int | None) -> list[str]:
    """The tree's ``make test`` command as its own Makefile spells it (``make -n``, the venv's set-up step taken as done),
    with this interpreter and ``workers`` xdist workers if given (else the tree's own default)."""
    settings = [f"BIN={Path(sys.executable).parent}", "ARGS="] + ([f"TEST_WORKERS={workers}"] if workers else [])
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "test", "-o", ".venv/.installed", *settings], cwd=tree, capture_output=True, text=True
    )
    lines = [line for line in printed.stdout.splitlines() if any(word.rsplit("/", 1)[-1] == "pytest" for word in line.split())]
    if printed.returncode != 0 or len(lines) != 1:
        raise SystemExit(f"{tree / 'Makefile'}: cannot read the 'make test' command: {printed.stderr.strip() or printed.stdout.strip()}")
    return lines[0].split() + ["-q", "-p", "no:cacheprovider"]


def run_suite(tree: Path, workers: int) -> dict:
    """Run the tree's suite once and sample the CPU of every process that appeared on the machine meanwhile."""
    before = {}
    for proc in psutil.process_iter():
        try:
            times = proc.cpu_times()
            before[(proc.pid, proc.create_time())] = times.user + times.system
        except psutil.Error:
            continue
    env = {**os.environ, "PYTHONPATH": str(tree)}
    busy0, started = psutil.cpu_times(), time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        suite = subprocess.Popen(suite_command(tree, workers), cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        seen: dict[tuple[int, float], float] = {}
        names: dict[tuple[int, float], str] = {}
        while suite.poll() is None:
            for proc in psutil.process_iter():
                try:
                    key = (proc.pid, proc.create_time())
                    if not names.get(key):
                        names[key] = " ".join(proc.cmdline())
                    times = proc.cpu_times()
                    seen[key] = times.user + times.system - before.get(key, 0.0)
                except psutil.Error:
                    continue
            time.sleep(0.25)
        wall, busy1 = time.perf_counter() - started, psutil.cpu_times()
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.strip()]
    by_kind: collections.Counter[str] = collections.Counter()
    for key, cpu in seen.items():
        by_kind[kind_of(names.get(key, ""))] += cpu
    busy = sum(getattr(busy1, f) - getattr(busy0, f) for f in ("user", "system", "nice", "irq", "softirq"))
    return {
        "wall": wall,
        "cpu": busy,
        "cores_busy": busy / wall / (psutil.cpu_count() or 1),
        "by_kind": dict(by_kind.most_common()),
        "outcome": lines[-1] if lines else "(no output)",
        "code": suite.returncode,
    }


def show(label: str, result: dict) -> None:
    kinds = ", ".join(f"{kind} {cpu:.0f}" for kind, cpu in result["by_kind"].items() if cpu >= 0.5)
    print(f"{label}: {result['wall']:.1f} s wall, {result['cpu']:.0f} CPU s ({result['cores_busy']:.0%} of the cores busy)")
    print(f"  CPU s by process: {kinds}")
    print(f"  {result['outcome']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", metavar="REV", help="a git revision whose suite runs first, as the reference")
    p.add_argument("--workers", type=int, help="xdist workers for both runs (default: each tree's own make test default)")
    args = p.parse_args(argv)
    reference = None
    if args.against:
        folder = Path(tempfile.mkdtemp(prefix="bench-tests-"))
        tree = folder / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), args.against], check=True)
        try:
            if (ROOT / ".tools").exists():  # the browser tests' axe-core (installed by .ci/run), not in git
                (tree / ".tools").symlink_to(ROOT / ".tools")
            reference = run_suite(tree, args.workers)
            show(f"reference {args.against}", reference)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
            shutil.rmtree(folder, ignore_errors=True)
    current = run_suite(ROOT, args.workers)
    show("current tree", current)
    if reference:
        print(f"current / reference: wall {current['wall'] / reference['wall']:.2f}x, CPU {current['cpu'] / reference['cpu']:.2f}x")
    return 0 if current["code"] == 0 and (reference is None or reference["code"] == 0) else 1


if __name__ == "__main__":
    sys.exit(main())

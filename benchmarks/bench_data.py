"""Benchmark loading the data package: a cold full validation, cached loads, and a validated-once load.

Run from the project folder: ``.venv/bin/python benchmarks/bench_data.py`` (also part of ``make bench``).
Goals: validating the whole package cold under 1 s; every table from the cache under 0.2 s in all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import frictionless  # noqa: F401  (import cost is not part of what is measured)

from rare_earth_lib.data import package as dp


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pkg"
        shutil.copytree(dp.DEFAULT_DATA_DIR, copy)
        names = dp.table_names(copy)
        dp.load("sources", copy)  # warm the Frictionless code paths

        def cold_validate() -> None:
            dp.clear_cache()
            dp.validate_package(copy)

        def cold_load_all_validated_once() -> None:
            dp.clear_cache()
            for name in names:
                dp.load(name, copy, trace=False)

        cold = best_of(3, cold_validate)
        cached = best_of(3, lambda: [dp.load(name, copy, trace=False) for name in names])
        os.environ[dp.RARE_EARTH_DATA_VALIDATED] = dp.package_digest(copy)
        skipped = best_of(3, cold_load_all_validated_once)
        del os.environ[dp.RARE_EARTH_DATA_VALIDATED]

    print(f"tables: {len(names)}")
    print(f"cold, full validation (Frictionless + rules): {cold:.3f} s  (goal < 1 s)")
    print(f"cold, package already validated by the build:  {skipped:.3f} s")
    print(f"cached loads of every table:                   {cached:.4f} s  (goal < 0.2 s)")
    print("goals:", "met" if cold < 1.0 and cached < 0.2 else "NOT met")


if __name__ == "__main__":
    main()

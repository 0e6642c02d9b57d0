"""Benchmark: the refining-timeline Monte Carlo with 100,000 trials over the full pipeline to 2045.

Prints trials per second and peak memory. Goal (issue 4): under 1 s and under 1 GB on 2 cores.

Usage::

    python benchmarks/bench_timeline.py [--trials 100000] [--repeat 3]

Timed: the simulation step (per-project draws, capacity for both products over every year, coverage
years), i.e. ``rare_earth_lib.models.timeline.simulate_trials``, best of ``--repeat`` runs; and once end to end
(``rare_earth_lib.models.timeline.simulate``, the entry point, which adds the pipeline, the slip fit and the demand
estimate). Loading the tables is timed separately (once per process). Peak memory is
the process's maximum resident set size (``resource.getrusage``), which includes the Python interpreter,
pandas and numpy, and the peak of Python allocations during one simulation (``tracemalloc``).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
import tracemalloc

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000, help="Monte Carlo trials (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions; the best is reported")
    parser.add_argument("--horizon", type=int, default=2045, help="last simulated year (default 2045)")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be positive")

    t0 = time.perf_counter()
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import demand as demand_mod
    from rare_earth_lib.models import timeline as tl
    from rare_earth_lib.parameters.refining_timeline import Params

    projects, analogs, demand = dp.load("projects"), dp.load("build_analogs"), dp.load("demand")
    as_of = dp.as_of()
    t_load = time.perf_counter() - t0

    params = Params(n_trials=args.trials, horizon_year=args.horizon)
    t1 = time.perf_counter()
    as_of_year = tl.decimal_as_of(as_of)
    pipeline = tl.prepare_pipeline(projects, params)
    slips = tl.analog_slips(analogs, as_of=as_of, scope=params.analog_scope)
    fit = tl.fit_slip_distribution(slips, offset_years=params.slip_offset_years)
    totals = demand_mod.sum_regions(demand_mod.scenario_demand(demand, tl.simulated_years(params), params))
    t_prepare = time.perf_counter() - t1

    times = []
    result = None
    for _ in range(max(args.repeat, 1)):
        start = time.perf_counter()
        result = tl.simulate_trials(pipeline, fit, totals, params, as_of_year)
        times.append(time.perf_counter() - start)
        del result
    start = time.perf_counter()
    tl.simulate(params, {"projects": projects, "build_analogs": analogs, "demand": demand}, as_of=as_of)
    t_end_to_end = time.perf_counter() - start
    tracemalloc.start()
    result = tl.simulate_trials(pipeline, fit, totals, params, as_of_year)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary = {prod: tl.coverage_summary(result, prod, params.probability_by_year) for prod in tl.PRODUCTS}

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024
    best = min(times)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"projects simulated: {len(pipeline)}; years {params.start_year}-{params.horizon_year}; trials {args.trials:,}")
    print(f"load tables: {t_load:.3f} s (incl. imports); prepare (pipeline, slip fit, demand): {t_prepare:.3f} s")
    print(f"simulate: best {best:.3f} s of {len(times)} (all: {', '.join(f'{t:.3f}' for t in times)})")
    print(f"trials per second: {args.trials / best:,.0f}")
    print(f"end to end (simulate: pipeline, slip fit, demand, simulation): {t_end_to_end:.3f} s")
    print(f"peak traced Python allocations during one simulation: {traced_peak / 1e6:.1f} MB")
    print(f"peak resident memory of the process: {rss_mb:.1f} MB")
    for prod, s in summary.items():
        print(f"{prod}: P10/P50/P90 = {s['p10']}/{s['p50']}/{s['p90']}, never by {s['horizon_year']}: {s['share_never']:.1%}")
    goal = best < 1.0 and rss_mb < 1024
    print(f"goal (< 1 s and < 1 GB): {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

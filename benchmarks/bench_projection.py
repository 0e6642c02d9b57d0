"""Benchmark: the cost of the world separation projection at the briefing's default trial count.

Times the timeline run the projection reuses (for reference), then the projection itself (the alliance split by
location plus the other plants' Monte Carlo), its tables, the benchmark and the gap decomposition. Prints seconds,
trials, (country, group) columns and peak memory.

Usage::

    python benchmarks/bench_projection.py [--trials 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import projection as pj
    from rare_earth_lib.models import timeline as tl
    from rare_earth_lib.parameters.refining_timeline import Params

    default = Params.model_fields["n_trials"].default
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=default, help=f"Monte Carlo trials (default {default:,}, the briefing's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of the projection (best is reported)")
    args = parser.parse_args(argv)
    tables = {name: dp.load(name) for name in pj.TABLES}
    as_of = dp.as_of()
    params = Params(n_trials=args.trials)
    start = time.perf_counter()
    run = tl.simulate(params, tables, as_of=as_of)
    run_s = time.perf_counter() - start
    project_s, rest_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        proj = pj.project(run, tables, as_of=as_of)
        project_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        pj.projection_table(proj)
        pj.benchmark_table(proj, tables["projections"])
        pj.projection_metrics(proj, tables["projections"])
        pj.decompose_gap(proj, tables["projections"], tables["demand"])
        rest_s.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024
    print(f"trials: {args.trials:,}; years {proj.years[0]}-{proj.years[-1]}; columns (country, group): {len(proj.segments)}")
    print(f"timeline run (reused, not part of the projection): {run_s:.2f} s")
    print(f"projection (alliance split + others' Monte Carlo): best {min(project_s):.2f} s of {args.repeat}")
    print(f"tables, benchmark, metrics and decomposition: best {min(rest_s):.2f} s of {args.repeat}")
    print(f"peak resident memory: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

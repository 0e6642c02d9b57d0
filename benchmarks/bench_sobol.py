"""Benchmark: the cost of the timeline's Sobol indices (SALib) at the briefing's default sample size.

Prints model evaluations, seconds, evaluations per second and peak memory, at the default base sample
(:func:`rare_earth_lib.models.timeline.sobol_indices`' defaults) or at the size given.

Usage::

    python benchmarks/bench_sobol.py [--base 16] [--trials 200] [--second-order]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from rare_earth_lib.data import package as dp
    from rare_earth_lib.models import timeline as tl
    from rare_earth_lib.parameters.refining_timeline import Params

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=tl.sobol.DEFAULT_BASE, help="SALib base sample N (power of 2; default: the briefing's)")
    parser.add_argument(
        "--trials", type=int, default=tl.sobol.DEFAULT_TRIALS, help="Monte Carlo trials per model run (default: the briefing's)"
    )
    parser.add_argument("--second-order", action="store_true", help="also estimate the pairwise indices (N x (2D + 2) runs)")
    args = parser.parse_args(argv)
    tables = {name: dp.load(name) for name in tl.TABLES}
    params = Params()
    tl.slip_model(params, tables["build_analogs"], dp.as_of())  # the calibration, shared with the briefing's own run, is not Sobol's cost
    start = time.perf_counter()
    res = tl.sobol_indices(params, tables, as_of=dp.as_of(), n_base=args.base, n_trials=args.trials, second_order=args.second_order)
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024
    print(f"inputs: {len(tl.uncertain_inputs())}; base sample N = {res.n_base}; trials per run = {res.n_trials:,}")
    print(f"model evaluations: {res.n_evaluations:,} (N x ({'2D' if args.second_order else 'D'} + 2))")
    print(f"evaluation time: {res.seconds:.1f} s ({res.n_evaluations / res.seconds:,.1f} runs/s); with set-up and analysis: {total:.1f} s")
    print(f"peak resident memory: {rss_mb:.0f} MB")
    for output in tl.SOBOL_OUTPUTS:
        top = tl.top_input(res.indices, output)
        print(f"{output}: largest total index {top['label']} ({top['ST']:.2f})" if top else f"{output}: no input moves it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

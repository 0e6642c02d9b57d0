"""Benchmark: scenario-discovery evaluation on Dask — scenarios per second on 1 and 2 workers, overhead, memory.

Prints, for the default briefing settings (``discovery_trials`` Monte Carlo trials per sampled future):

- the cost of one scenario in this process (no Dask), and peak memory of that evaluation;
- scenarios per second on a ``LocalCluster`` of 1 worker and of 2 workers (one thread each, warm workers),
  and the parallel efficiency ``rate(2) / (2 x rate(1))`` (goal in the issue: >= 80% on a 2-core machine);
- Dask's overhead per task: the round trip of a task that does nothing, and the extra time per task when
  the same scenarios are sent one per task instead of in chunks;
- peak resident memory of each worker;
- the cluster size that 100,000 scenarios in 10 minutes would need, from the measured per-worker rate.

Usage::

    python benchmarks/bench_discovery.py [--scenarios 200] [--trials 500] [--chunk 25]

The figures depend on what else runs on the machine: on a shared machine, run it when the load is low
(``uptime`` is printed) and treat the efficiency as a lower bound.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import sys
import time


def _worker_peak_rss_mb() -> float:
    import resource as res

    return res.getrusage(res.RUSAGE_SELF).ru_maxrss / 1024


def _noop(x: int) -> int:
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200, help="sampled scenarios timed per configuration (default 200)")
    parser.add_argument("--trials", type=int, default=0, help="Monte Carlo trials per scenario (default: the briefing's default)")
    parser.add_argument("--chunk", type=int, default=25, help="scenarios per Dask task (default 25)")
    parser.add_argument("--target", type=int, default=100_000, help="scenarios of the cluster-size estimate (default 100,000)")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall time of the cluster-size estimate (default 10)")
    args = parser.parse_args(argv)

    from rare_earth_lib.models import discovery as d
    from rare_earth_lib.parameters.scenario_discovery import Params

    params = Params() if not args.trials else Params(discovery_trials=args.trials)
    trials = params.discovery_trials
    tables = d.Tables.load()
    sample = d.sample_space(args.scenarios, params.sampling_seed)
    fixed = d.fixed_inputs(params)

    def run(client=None, chunk=args.chunk, frame=sample):
        return d.evaluate_scenarios(
            frame, fixed, tables, n_trials=trials, probability_by_year=params.probability_by_year, client=client, chunk_size=chunk
        )

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{args.scenarios} scenarios x {trials} trials, {len(sample.columns) - 1} explored inputs, chunks of {args.chunk}")

    run(frame=sample.head(2))  # imports and first-call costs out of the timing
    t0 = time.perf_counter()
    inline = run()
    t_inline = time.perf_counter() - t0
    rss_inline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"in process (no Dask): {t_inline:.2f} s, {1000 * t_inline / args.scenarios:.1f} ms per scenario, peak RSS {rss_inline:.0f} MB")

    rates = {}
    for n_workers in (1, 2):
        with d.connect(None, n_workers=n_workers) as client:
            run(client, frame=sample.head(n_workers * 2), chunk=1)  # warm the workers
            t0 = time.perf_counter()
            result = run(client)
            seconds = time.perf_counter() - t0
            assert result.equals(inline), "Dask results differ from the in-process results"
            rates[n_workers] = args.scenarios / seconds
            peaks = client.run(_worker_peak_rss_mb)
            print(
                f"LocalCluster {n_workers} worker(s): {seconds:.2f} s, {rates[n_workers]:.1f} scenarios/s, "
                f"worker peak RSS {max(peaks.values()):.0f} MB (results identical to in-process)"
            )
            if n_workers == 2:
                n_tasks = 200
                client.gather(client.map(_noop, range(10), pure=False))
                t0 = time.perf_counter()
                client.gather(client.map(_noop, range(n_tasks), pure=False))
                noop_ms = 1000 * (time.perf_counter() - t0) / n_tasks
                small = sample.head(min(args.scenarios, 40))
                t0 = time.perf_counter()
                run(client, chunk=len(small) // 2, frame=small)
                t_two_tasks = time.perf_counter() - t0
                t0 = time.perf_counter()
                run(client, chunk=1, frame=small)
                t_many = time.perf_counter() - t0
                # same scenarios on the same 2 workers, as 2 tasks or one task each: the difference is the per-task cost
                per_task_ms = 1000 * 2 * (t_many - t_two_tasks) / (len(small) - 2)
                print(
                    f"Dask overhead: {noop_ms:.2f} ms per no-op task (round trip); {per_task_ms:.1f} ms of worker time per "
                    f"extra task with one scenario per task (chunks of {args.chunk} amortise it)"
                )

    efficiency = rates[2] / (2 * rates[1])
    per_worker = rates[1]
    needed = math.ceil(args.target / (args.minutes * 60 * per_worker * min(efficiency, 1.0)))
    print(f"parallel efficiency on 2 workers: {efficiency:.0%} (goal >= 80%)")
    print(
        f"estimate: {args.target:,} scenarios x {trials} trials in {args.minutes:g} min need about {needed} workers "
        f"(single-threaded worker processes at {per_worker:.1f} scenarios/s each, scaled by the measured efficiency {min(efficiency, 1.0):.0%})"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

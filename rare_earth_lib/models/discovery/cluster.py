"""Dask: connect to a scheduler or a local cluster, refuse workers with another library, map chunks."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from rare_earth_lib import env
from rare_earth_lib.models.discovery.evaluate import Tables, chunks, evaluate_chunk
from rare_earth_lib.models.fingerprint import library_hash

DASK_SCHEDULER_ENV = env.DASK_SCHEDULER


class LibraryMismatchError(RuntimeError):
    """A Dask worker runs a different ``rare_earth_lib`` than the client."""


def scheduler_address(parameter: str = "") -> str | None:
    """The scheduler to use: the parameter if set, else ``DASK_SCHEDULER_ADDRESS``, else ``None`` (local cluster)."""
    address = (parameter or os.environ.get(DASK_SCHEDULER_ENV, "")).strip()
    return address or None


def quiet_dask() -> None:
    """Keep the distributed library's log chatter (nanny restarts, closed connections) out of notebooks and builds."""
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def connect(address: str | None = None, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client on the scheduler at ``address``, or on a new ``LocalCluster`` of ``n_workers`` processes.

    The local cluster uses one thread per worker (the Monte Carlo is numpy-bound) and a dashboard on a free port; it is
    closed on exit. A remote scheduler is only disconnected from; reaching it may take ``RARE_EARTH_DASK_TIMEOUT``
    seconds (:func:`rare_earth_lib.env.dask_timeout_s`, default 30).
    """
    from distributed import Client, LocalCluster

    quiet_dask()
    if address:
        client = Client(address, timeout=env.dask_timeout_s())
        try:
            yield client
        finally:
            client.close()
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def check_workers(client: Any, expected: str | None = None) -> dict[str, str]:
    """Refuse workers whose installed ``rare_earth_lib`` differs from the client's.

    Args:
        client: a connected Dask client.
        expected: the client's library hash (default: :func:`library_hash` here).

    Returns:
        Worker address -> library hash (all equal to ``expected``).

    Raises:
        LibraryMismatchError: naming the workers that differ, and both hashes.
        RuntimeError: the cluster has no workers.
    """
    expected = expected or library_hash()
    client.wait_for_workers(1, timeout=60)
    # The fingerprint function itself travels (by reference): a worker imports only that light module to answer,
    # not this package with the timeline model and scipy (about a second of CPU per worker process).
    hashes = client.run(library_hash)
    if not hashes:
        raise RuntimeError("the Dask cluster has no workers")
    wrong = {worker: h for worker, h in hashes.items() if h != expected}
    if wrong:
        listed = ", ".join(f"{worker} ({h[:12]})" for worker, h in sorted(wrong.items()))
        raise LibraryMismatchError(
            f"{len(wrong)} of {len(hashes)} Dask worker(s) run a different rare_earth_lib than this client "
            f"(library hash {expected[:12]}): {listed}. Install the same project version on every worker."
        )
    return hashes


def evaluate_scenarios(
    sample: pd.DataFrame,
    fixed: Mapping[str, Any],
    tables: Tables,
    *,
    n_trials: int,
    probability_by_year: int,
    client: Any = None,
    chunk_size: int = 50,
) -> pd.DataFrame:
    """Evaluate every sampled scenario, on a Dask client when given, else in this process.

    Chunks are Dask tasks with deterministic keys; a task lost with its worker is re-run by Dask. The
    result is sorted by ``scenario_id`` and does not depend on ``chunk_size`` or on the workers.
    """
    parts = chunks(sample, chunk_size)
    if client is None:
        reuse: dict[str, Any] = {}  # one pipeline and slip model for every chunk of this process
        results = [evaluate_chunk(part, fixed, tables, n_trials, probability_by_year, reuse) for part in parts]
    else:
        check_workers(client)
        [tables_future] = client.scatter([tables], broadcast=True, hash=False)
        futures = [
            client.submit(evaluate_chunk, part, dict(fixed), tables_future, n_trials, probability_by_year, pure=False, retries=2)
            for part in parts
        ]
        results = client.gather(futures)
    out = pd.concat(results, ignore_index=True).sort_values("scenario_id", kind="stable").reset_index(drop=True)
    return out

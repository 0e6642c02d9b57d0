"""Dask: connect to a scheduler or a local cluster, refuse workers with another library (``models/dask_workers``), map chunks."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from rare_earth_lib import env
from rare_earth_lib.models.dask_workers import check_workers, quiet_dask
from rare_earth_lib.models.discovery.evaluate import Tables, chunks, evaluate_chunk

DASK_SCHEDULER_ENV = env.DASK_SCHEDULER


def scheduler_address(parameter: str = "") -> str | None:
    """The scheduler to use: the parameter if set, else ``DASK_SCHEDULER_ADDRESS``, else ``None`` (local cluster)."""
    address = (parameter or os.environ.get(DASK_SCHEDULER_ENV, "")).strip()
    return address or None


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

"""Evaluation results cached as Parquet under the content hash of everything they depend on."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib import env
from rare_earth_lib.models.discovery.cluster import connect, evaluate_scenarios, scheduler_address
from rare_earth_lib.models.discovery.evaluate import Tables, _DemandEstimate, evaluate_chunk
from rare_earth_lib.models.discovery.space import fixed_inputs, sample_space
from rare_earth_lib.models.fingerprint import library_hash
from rare_earth_lib.parameters.scenario_discovery import EXPLORATION_SPACE, Explore

CACHE_ENV = env.CACHE_DIR


_CACHE_CODE = ("models", "parameters", "data", "domain.py")
"""Parts of the library whose content keys the results cache (code and data, not charts or build); of the
discovery package only the functions the evaluation runs count (:func:`evaluation_code_hash`), so changing the analysis
or the wording does not recompute the futures."""


def cache_dir() -> Path:
    """Where evaluation results are cached: ``$RARE_EARTH_CACHE_DIR/discovery``, else the user's cache folder."""
    return env.cache_root() / "discovery"


def evaluation_key(params: Any, tables: Tables, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> str:
    """Content hash of everything an evaluation's results depend on."""
    payload = {
        "space": {name: spec.model_dump(mode="json", include={"low", "high", "distribution"}) for name, spec in space.items()},
        "fixed": fixed_inputs(params, space),
        "n_scenarios": params.n_scenarios,
        "discovery_trials": params.discovery_trials,
        "sampling_seed": params.sampling_seed,
        "probability_by_year": params.probability_by_year,
        "tables": tables.content_hash(),
        "code": evaluation_code_hash(),
        "numpy": np.__version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def evaluation_code_hash() -> str:
    """Hash of the code the evaluation runs: the timeline, demand and parameter models, the data package, and
    this module's sampling and evaluation functions (not its analysis)."""
    import inspect

    digest = hashlib.sha256(library_hash(_CACHE_CODE, exclude=("models/discovery",)).encode())
    for obj in (sample_space, fixed_inputs, Tables, _DemandEstimate, evaluate_chunk, evaluate_scenarios):
        digest.update(inspect.getsource(obj).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Evaluation:
    """Results of one evaluation and how they were obtained.

    Attributes:
        results: one row per sampled scenario: ``scenario_id``, the explored inputs, :data:`OUTCOME_COLUMNS`.
        key: the content hash the results are cached under.
        cached: True when read from the cache, False when computed now.
        seconds: wall time of the computation (0 when cached).
        n_workers: Dask workers used (0 when cached).
        scheduler: ``"local cluster"``, the scheduler address, or ``"cache"``.
    """

    results: pd.DataFrame
    key: str
    cached: bool
    seconds: float
    n_workers: int
    scheduler: str


def cached_evaluation(
    params: Any, tables: Tables | None = None, *, directory: Path | None = None, client: Any = None, in_process: bool = False
) -> Evaluation:
    """Sample and evaluate the scenario's space on Dask, or read the results cached under the same inputs.

    Args:
        params: the briefing's validated :class:`~rare_earth_lib.parameters.scenario_discovery.Params`.
        tables: the data tables (default: loaded from the data package).
        directory: cache folder (default: :func:`cache_dir`).
        client: a Dask client to use; by default one is connected (:func:`connect`) from the ``dask_scheduler``
            parameter, ``DASK_SCHEDULER_ADDRESS`` or a local cluster of ``dask_workers`` processes; without a scheduler
            and with ``RARE_EARTH_EVALUATE_IN_KERNEL=1`` (set by a local build that keeps every core busy), in this process.
        in_process: evaluate in this process, without Dask (tests and benchmarks).

    Returns:
        An :class:`Evaluation`.
    """
    import time

    tables = tables or Tables.load()
    key = evaluation_key(params, tables)
    directory = directory or cache_dir()
    path = directory / f"{key}.parquet"
    if path.is_file():
        try:
            return Evaluation(pd.read_parquet(path), key, True, 0.0, 0, "cache")
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    sample = sample_space(params.n_scenarios, params.sampling_seed)
    fixed = fixed_inputs(params)
    start = time.perf_counter()
    address = scheduler_address(params.dask_scheduler)
    if client is None and address is None and os.environ.get(env.EVALUATE_IN_KERNEL) == "1":
        in_process = True  # a build whose workers already use every core: no local cluster on top
    with contextlib.ExitStack() as stack:
        if client is None and not in_process:
            client = stack.enter_context(connect(address, params.dask_workers))
        n_workers = len(client.scheduler_info()["workers"]) if client is not None else 1
        results = evaluate_scenarios(
            sample,
            fixed,
            tables,
            n_trials=params.discovery_trials,
            probability_by_year=params.probability_by_year,
            client=client,
            chunk_size=params.scenario_chunk_size,
        )
    seconds = time.perf_counter() - start
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{key}.{os.getpid()}.tmp"
    results.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    where = "this process" if client is None else (address or "local cluster")
    return Evaluation(results, key, False, seconds, n_workers, where)

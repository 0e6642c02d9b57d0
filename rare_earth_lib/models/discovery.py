"""Scenario discovery: sample the declared scenario space, evaluate every scenario on Dask, find where the goal holds.

Method (each step a function below):

1. **Sampling** (:func:`sample_space`). A scrambled Latin hypercube (``scipy.stats.qmc``) over the inputs
   declared in :data:`rare_earth_lib.parameters.scenario_discovery.EXPLORATION_SPACE`, mapped to each
   input's range and distribution; inputs not explored keep the scenario's value.
2. **Evaluation** (:func:`evaluate_scenarios`, :func:`evaluate_chunk`). Each sampled scenario runs the
   timeline Monte Carlo with ``discovery_trials`` trials and the scenario file's ``seed``. Every scenario uses
   the same seed (common random numbers): two scenarios differ only through their inputs, and a scenario's
   result depends on nothing but its inputs, so the results are the same bit for bit however the scenarios
   are split into chunks and whichever worker runs a chunk. Per scenario: coverage year P10/P50/P90,
   P(covered by the probability year) and the share never covered, for NdPr and Dy+Tb.
3. **Dask** (:func:`connect`, :func:`check_workers`). Chunks of scenarios are mapped over a Dask
   ``distributed`` cluster: the scheduler named by the ``dask_scheduler`` parameter or the
   ``DASK_SCHEDULER_ADDRESS`` environment variable, else a ``LocalCluster``. Workers whose installed
   ``rare_earth_lib`` differs from the client's (:func:`library_hash`) are refused before anything runs. A worker
   lost mid-run is replaced by Dask, which re-runs its chunks; the results do not change.
4. **Cache** (:func:`cached_evaluation`). Results are stored as Parquet under a name that is the content
   hash of everything they depend on (explored space, fixed inputs, sizes, seeds, data tables, model code),
   so re-running the briefing for its text does not recompute them.
5. **Analysis** (:func:`prim_boxes`, :func:`feature_scores`). PRIM from the EMA Workbench finds boxes of the
   input space where the goal holds; extra-trees feature scoring (EMA Workbench) ranks the inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rare_earth_lib.models import demand as demand_mod
from rare_earth_lib.models import timeline as tl
from rare_earth_lib.parameters import refining_timeline
from rare_earth_lib.parameters.scenario_discovery import ANALYSIS_ONLY_FIELDS, EXPLORATION_SPACE, Explore

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed ``rare_earth_lib`` package."""

DASK_SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
CACHE_ENV = "RARE_EARTH_CACHE_DIR"
TABLES: tuple[str, ...] = ("projects", "build_analogs", "demand")
"""Data tables the evaluation reads."""

OUTCOME_COLUMNS: tuple[str, ...] = tuple(
    f"{key}_{name}"
    for key in ("ndpr", "dytb")
    for name in ("coverage_year_p10", "coverage_year_p50", "coverage_year_p90", "prob_by_year", "share_never")
)
"""Outcome columns of an evaluation, besides ``scenario_id`` and the inputs."""

_CACHE_CODE = ("models", "parameters", "data", "domain.py")
"""Parts of the library whose content keys the results cache (code and data, not charts or build); of this
module only the functions the evaluation runs count (:func:`evaluation_code_hash`), so changing the analysis
or the wording does not recompute the futures."""


class LibraryMismatchError(RuntimeError):
    """A Dask worker runs a different ``rare_earth_lib`` than the client."""


# --------------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------------
def library_hash(parts: Sequence[str] | None = None, root: Path = PACKAGE_DIR, exclude: Sequence[str] = ()) -> str:
    """SHA-256 of the installed library's files (code, templates, data), or of the named ``parts`` of it.

    Args:
        parts: sub-paths of the package to hash (default: all of it).
        root: the package directory.
        exclude: sub-paths left out.
    """
    digest = hashlib.sha256()
    paths = [root] if parts is None else [root / part for part in parts]
    files: list[Path] = []
    for base in paths:
        files.extend([base] if base.is_file() else sorted(base.rglob("*")))
    for path in sorted(files):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if path.relative_to(root).as_posix() in exclude:
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash of a table (values, index and column names)."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.astype("string"), index=True).to_numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# The space and the sample
# --------------------------------------------------------------------------------------------------
def space_table(space: Mapping[str, Explore] = EXPLORATION_SPACE, base: Any = None) -> pd.DataFrame:
    """The explored inputs as a table: ``input``, ``label``, ``kind``, ``low``, ``high``, ``distribution``,
    ``scenario_value`` (the scenario's own value, when ``base`` is given), ``reason``, ``source_ids``."""
    rows = []
    for name, spec in space.items():
        rows.append(
            {
                "input": name,
                "label": spec.label,
                "kind": spec.kind,
                "low": spec.low,
                "high": spec.high,
                "distribution": spec.distribution,
                "scenario_value": float(getattr(base, name)) if base is not None else np.nan,
                "reason": spec.reason,
                "source_ids": "; ".join(spec.source_ids),
            }
        )
    out = pd.DataFrame(rows)
    for column in ("input", "label", "kind", "distribution", "reason", "source_ids"):
        out[column] = out[column].astype("string")
    return out


def sample_space(n: int, seed: int, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """Latin hypercube sample of ``n`` scenarios over ``space`` (scrambled, seeded: same seed, same sample).

    Returns:
        DataFrame with ``scenario_id`` (0..n-1) and one float column per explored input.

    Raises:
        ValueError: n < 1 or an empty space.
    """
    from scipy.stats import qmc

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n!r}")
    if not space:
        raise ValueError("the exploration space is empty")
    names = list(space)
    unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(n)
    out = {"scenario_id": np.arange(n, dtype="int64")}
    for j, name in enumerate(names):
        spec = space[name]
        u = unit[:, j]
        if spec.distribution == "loguniform":
            values = np.exp(np.log(spec.low) + u * (np.log(spec.high) - np.log(spec.low)))
        else:
            values = spec.low + u * (spec.high - spec.low)
        out[name] = np.clip(values, spec.low, spec.high)
    return pd.DataFrame(out)


def fixed_inputs(params: Any, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> dict[str, Any]:
    """The timeline inputs every sampled scenario shares: the scenario's values of the fields not explored."""
    names = refining_timeline.Params.model_fields
    values = params.model_dump(mode="json")
    return {k: v for k, v in values.items() if k in names and k not in space and k not in ANALYSIS_ONLY_FIELDS}


# --------------------------------------------------------------------------------------------------
# Evaluation of one chunk (runs on a Dask worker)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tables:
    """The data package tables the evaluation reads, and the data's as-of date."""

    projects: pd.DataFrame
    build_analogs: pd.DataFrame
    demand: pd.DataFrame
    as_of: Any

    @classmethod
    def load(cls) -> Tables:
        from rare_earth_lib.data import package as data_package

        return cls(*(data_package.load(name) for name in TABLES), data_package.as_of())

    def content_hash(self) -> str:
        digest = hashlib.sha256(str(self.as_of).encode())
        for frame in (self.projects, self.build_analogs, self.demand):
            digest.update(frame_hash(frame).encode())
        return digest.hexdigest()


class _DemandEstimate:
    """The alliance demand model's estimate, with its anchors read once (they depend only on the anchor rule).

    :func:`rare_earth_lib.models.demand.alliance_demand` grows each region's anchor with
    :func:`~rare_earth_lib.models.demand.growth_index` and multiplies it by the scale; this applies the same
    formula to anchors found once, instead of re-reading the demand table for every sampled scenario
    (a test checks that the two agree).
    """

    def __init__(self, demand: pd.DataFrame):
        self.demand = demand
        self._anchors: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def totals(self, params: Any, years: np.ndarray) -> pd.DataFrame:
        frames = []
        for product in demand_mod.DEMAND_PRODUCTS:
            key = (product, params.demand_anchor_rule)
            if key not in self._anchors:
                anchors = demand_mod.demand_anchors(self.demand, product, anchor_rule=params.demand_anchor_rule)
                self._anchors[key] = [
                    (float(years[0]) if pd.isna(year) else float(int(year)), float(tonnes))
                    for year, tonnes in zip(anchors["anchor_year"], anchors["anchor_tonnes"], strict=True)
                ]
            rate = params.ndpr_demand_growth_rate if product == "ndpr_oxide" else params.dytb_demand_growth_rate
            tonnes = np.zeros(years.size)
            for base_year, anchor_tonnes in self._anchors[key]:
                index = demand_mod.growth_index(
                    np.append(years, base_year), rate, params.long_run_demand_growth_rate, params.demand_growth_break_year
                )
                tonnes = tonnes + anchor_tonnes * index[:-1] / index[-1] * params.demand_scale
            frames.append(pd.DataFrame({"year": years, "product": product, "tonnes": tonnes}))
        return pd.concat(frames, ignore_index=True)


def evaluate_chunk(
    rows: pd.DataFrame,
    fixed: Mapping[str, Any],
    tables: Tables,
    n_trials: int,
    probability_by_year: int,
) -> pd.DataFrame:
    """Run the timeline Monte Carlo for each sampled scenario in ``rows`` (a pure function: same rows, same result).

    Args:
        rows: ``scenario_id`` and one column per explored input (a slice of :func:`sample_space`).
        fixed: the inputs all scenarios share (:func:`fixed_inputs`), including ``seed``.
        tables: the data tables and as-of date.
        n_trials: Monte Carlo trials per scenario.
        probability_by_year: year of the "covered by" probability.

    Returns:
        ``rows`` with the columns of :data:`OUTCOME_COLUMNS` added (coverage years as floats, NaN = not by the
        horizon).
    """
    inputs = [c for c in rows.columns if c != "scenario_id"]
    pipeline: pd.DataFrame | None = None
    fit: tl.SlipFit | None = None
    demand = _DemandEstimate(tables.demand)
    as_of_year = tl.decimal_as_of(tables.as_of)
    out = {c: np.full(len(rows), np.nan) for c in OUTCOME_COLUMNS}
    for i, values in enumerate(rows[inputs].itertuples(index=False, name=None)):
        params = refining_timeline.Params.model_validate(
            {**fixed, **{k: float(v) for k, v in zip(inputs, values, strict=True)}, "n_trials": int(n_trials)}
        )
        if pipeline is None:
            # The pipeline and the slip fit depend only on inputs every scenario shares (a test checks that no
            # explored input moves them), so they are built once per chunk.
            pipeline = tl.prepare_pipeline(tables.projects, params)
            slips = tl.analog_slips(tables.build_analogs, as_of=tables.as_of, scope=params.analog_scope)
            fit = tl.fit_slip_distribution(slips, offset_years=params.slip_offset_years)
        result = tl.simulate_trials(pipeline, fit, demand.totals(params, tl.simulated_years(params)), params, as_of_year)
        for product, key in tl.PRODUCT_KEYS.items():
            summary = tl.coverage_summary(result, product, probability_by_year)
            for q in (10, 50, 90):
                value = summary[f"p{q}"]
                out[f"{key}_coverage_year_p{q}"][i] = np.nan if value is None else float(value)
            out[f"{key}_prob_by_year"][i] = summary["prob_by_year"]
            out[f"{key}_share_never"][i] = summary["share_never"]
    result_frame = rows.reset_index(drop=True).copy()
    for column in OUTCOME_COLUMNS:
        result_frame[column] = out[column]
    return result_frame


# --------------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------------
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
    closed on exit. A remote scheduler is only disconnected from.
    """
    from distributed import Client, LocalCluster

    quiet_dask()
    if address:
        client = Client(address, timeout="30s")
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


def _worker_library_hash() -> str:
    from rare_earth_lib.models import discovery

    return discovery.library_hash()


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
    hashes = client.run(_worker_library_hash)
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


def chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """Split ``frame`` into consecutive slices of at most ``size`` rows."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1; got {size!r}")
    return [frame.iloc[start : start + size] for start in range(0, len(frame), size)]


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
        results = [evaluate_chunk(part, fixed, tables, n_trials, probability_by_year) for part in parts]
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


# --------------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """Where evaluation results are cached: ``$RARE_EARTH_CACHE_DIR/discovery``, else the user's cache folder."""
    base = os.environ.get(CACHE_ENV)
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rare-earth-briefings"
    return root / "discovery"


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

    digest = hashlib.sha256(library_hash(_CACHE_CODE, exclude=("models/discovery.py",)).encode())
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
            parameter, ``DASK_SCHEDULER_ADDRESS`` or a local cluster of ``dask_workers`` processes.
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


# --------------------------------------------------------------------------------------------------
# Goal and analysis
# --------------------------------------------------------------------------------------------------
def goal_met(results: pd.DataFrame, goal_probability: float, products: str = "both") -> pd.Series:
    """Whether each scenario meets the goal: P(covered by the probability year) >= ``goal_probability``.

    Args:
        results: output of :func:`evaluate_scenarios`.
        goal_probability: in (0, 1).
        products: ``"both"`` (NdPr and Dy+Tb), ``"ndpr"`` or ``"dytb"``.
    """
    if products not in ("both", "ndpr", "dytb"):
        raise ValueError(f"products must be 'both', 'ndpr' or 'dytb'; got {products!r}")
    keys = ("ndpr", "dytb") if products == "both" else (products,)
    ok = np.ones(len(results), dtype=bool)
    for key in keys:
        ok &= results[f"{key}_prob_by_year"].to_numpy() >= goal_probability - 1e-12
    return pd.Series(ok, index=results.index, name="goal_met")


def _ema() -> tuple[Any, Any]:
    """The EMA Workbench's PRIM and feature-scoring modules, imported without their optional-backend warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ipyparallel.*")
        from ema_workbench.analysis import feature_scoring, prim
    logging.getLogger("EMA").setLevel(logging.ERROR)
    return prim, feature_scoring


@dataclass(frozen=True)
class PrimResult:
    """PRIM boxes and the first box's peeling trajectory.

    Attributes:
        boxes: one row per restricted input of each box: ``box`` (1, 2, ...), ``input``, ``low``, ``high``
            (the box's limits on it), ``space_low``, ``space_high`` (the explored range), ``coverage``,
            ``density``, ``mass`` (share of all scenarios in the box), ``n_scenarios``.
        summary: one row per box: ``box``, ``coverage``, ``density``, ``mass``, ``n_restricted``.
        trajectory: the first box's peeling trajectory: ``step``, ``coverage``, ``density``, ``mass``,
            ``n_restricted``, ``chosen`` (the step the box stopped at).
        base_rate: share of all scenarios meeting the goal.
    """

    boxes: pd.DataFrame
    summary: pd.DataFrame
    trajectory: pd.DataFrame
    base_rate: float


def _choose_step(trajectory: pd.DataFrame, threshold: float) -> int:
    """The step of a peeling trajectory with the highest coverage among those whose density reaches ``threshold``
    (ties: fewer restricted inputs, then the earlier step); the densest step when none reaches it."""
    meets = trajectory.loc[trajectory["density"] >= threshold - 1e-12]
    if meets.empty:
        return int(trajectory["density"].to_numpy().argmax())
    order = meets.assign(_step=np.arange(len(trajectory))[trajectory["density"].to_numpy() >= threshold - 1e-12])
    order = order.sort_values(["coverage", "res_dim", "_step"], ascending=[False, True, True], kind="stable")
    return int(order["_step"].iloc[0])


def prim_boxes(x: pd.DataFrame, y: np.ndarray, threshold: float = 0.8, max_boxes: int = 3, significance: float = 0.05) -> PrimResult:
    """Scenario discovery with the EMA Workbench's PRIM: boxes of the input space where the goal holds.

    For each box, PRIM (``ema_workbench.analysis.prim``) peels and pastes; the step kept is the one with the
    highest coverage among the steps whose density reaches ``threshold``. Restrictions that are not
    significant (quasi-p-value above ``significance`` on every restricted side, Bryant and Lempert 2010) are
    then dropped with PRIM's own ``drop_restriction``, so a box names only the inputs that matter. PRIM then
    looks for the next box among the scenarios left, up to ``max_boxes``; a box whose density falls short of
    the threshold ends the search.

    Args:
        x: explored inputs, one column per input (the sample).
        y: goal met per scenario (bool).
        threshold: density a box must reach.
        max_boxes: at most this many boxes.
        significance: quasi-p-value above which a restriction is dropped.
    """
    prim, _ = _ema()
    y = np.asarray(y, dtype=bool)
    base_rate = float(y.mean()) if y.size else 0.0
    empty = PrimResult(
        pd.DataFrame(), pd.DataFrame(columns=["box", "coverage", "density", "mass", "n_restricted"]), pd.DataFrame(), base_rate
    )
    if y.sum() == 0 or y.all():
        return empty
    x = x.reset_index(drop=True).astype("float64")
    rows, summary, trajectory = [], [], pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, y, threshold=threshold)
        for number in range(1, max_boxes + 1):
            box = finder.find_box()
            if box is None or box.mean < threshold:
                break
            box.select(_choose_step(box.peeling_trajectory, threshold))
            qp = box.qp[box._cur_box]
            for name, values in qp.items():
                sides = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)) and v >= 0]
                if sides and min(sides) > significance:
                    box.drop_restriction(name)
            traj = box.peeling_trajectory.reset_index(drop=True)
            stats = traj.iloc[box._cur_box]
            if number == 1:
                trajectory = pd.DataFrame(
                    {
                        "step": np.arange(len(traj), dtype="int64"),
                        "coverage": traj["coverage"].to_numpy(dtype="float64"),
                        "density": traj["density"].to_numpy(dtype="float64"),
                        "mass": traj["mass"].to_numpy(dtype="float64"),
                        "n_restricted": traj["res_dim"].to_numpy(dtype="int64"),
                        "chosen": np.arange(len(traj)) == int(box._cur_box),
                    }
                )
            elif stats["density"] < threshold:
                break
            limits = box.box_lims[box._cur_box]
            initial = box.box_lims[0]
            restricted = 0
            for name in x.columns:
                low, high = float(limits.loc[0, name]), float(limits.loc[1, name])
                lo_all, hi_all = float(initial.loc[0, name]), float(initial.loc[1, name])
                if low > lo_all or high < hi_all:
                    restricted += 1
                    rows.append(
                        {
                            "box": number,
                            "input": name,
                            "low": low,
                            "high": high,
                            "space_low": lo_all,
                            "space_high": hi_all,
                            "coverage": float(stats["coverage"]),
                            "density": float(stats["density"]),
                            "mass": float(stats["mass"]),
                            "n_scenarios": int(stats["n"]),
                        }
                    )
            summary.append(
                {
                    "box": number,
                    "coverage": float(stats["coverage"]),
                    "density": float(stats["density"]),
                    "mass": float(stats["mass"]),
                    "n_restricted": restricted,
                }
            )
    boxes = pd.DataFrame(rows)
    if not boxes.empty:
        boxes["input"] = boxes["input"].astype("string")
    return PrimResult(boxes, pd.DataFrame(summary), trajectory, base_rate)


def feature_scores(x: pd.DataFrame, outcomes: Mapping[str, np.ndarray], seed: int) -> pd.DataFrame:
    """Which inputs matter: extra-trees feature scores (EMA Workbench) of each outcome on the explored inputs.

    Args:
        x: explored inputs.
        outcomes: outcome name -> values (bool outcomes are scored as classification, others as regression).
        seed: random state of the trees (fixed: the same inputs give the same scores).

    Returns:
        Long DataFrame: ``input``, ``outcome``, ``score`` (each outcome's scores sum to 1), ``rank`` (1 = most).
    """
    _, fs = _ema()
    from ema_workbench.analysis.scenario_discovery_util import RuleInductionType

    frames = []
    x = x.reset_index(drop=True).astype("float64")
    for name, values in outcomes.items():
        values = np.asarray(values)
        is_bool = values.dtype == bool
        if is_bool and (values.all() or not values.any()):
            continue
        mode = RuleInductionType.CLASSIFICATION if is_bool else RuleInductionType.REGRESSION
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores, _ = fs.get_ex_feature_scores(x, values.astype(int) if is_bool else values.astype(float), mode=mode, random_state=seed)
        series = scores.iloc[:, 0]
        frames.append(
            pd.DataFrame(
                {
                    "input": [str(name) for name in series.index],
                    "outcome": name,
                    "score": series.to_numpy(dtype="float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["input", "outcome", "score", "rank"])
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out.groupby("outcome")["score"].rank(ascending=False, method="first").astype("int64")
    for column in ("input", "outcome"):
        out[column] = out[column].astype("string")
    return out.sort_values(["outcome", "rank"]).reset_index(drop=True)


def strongest_inputs(scores: pd.DataFrame, outcome: str, n: int = 2) -> list[str]:
    """The ``n`` inputs with the highest score for ``outcome`` (falls back to the first outcome scored)."""
    sub = scores.loc[scores["outcome"] == outcome]
    if sub.empty:
        sub = scores.loc[scores["outcome"] == scores["outcome"].iloc[0]] if len(scores) else sub
    return sub.sort_values("rank")["input"].head(n).astype(str).tolist()


def in_box(x: pd.DataFrame, boxes: pd.DataFrame, box: int) -> np.ndarray:
    """Whether each row of ``x`` lies in PRIM box number ``box``."""
    mask = np.ones(len(x), dtype=bool)
    for row in boxes.loc[boxes["box"] == box].itertuples(index=False):
        values = x[str(row.input)].to_numpy()
        mask &= (values >= row.low - 1e-12) & (values <= row.high + 1e-12)
    return mask


def _fmt(value: float, name: str) -> str:
    if "rate" in name:
        return f"{value:.1%}"
    if "prob" in name:
        return f"{value:.2f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:,.0f}"


def box_conditions(boxes: pd.DataFrame, box: int, labels: Mapping[str, str]) -> list[str]:
    """Each restricted input of a box as text: ``"slip multiplier <= 1.2"``, ``"0.4 <= demand scale <= 0.9"``."""
    parts = []
    for row in boxes.loc[boxes["box"] == box].itertuples(index=False):
        name = str(row.input)
        label = labels.get(name, name)
        lower = row.low > row.space_low + 1e-12
        upper = row.high < row.space_high - 1e-12
        if lower and upper:
            parts.append(f"{_fmt(row.low, name)} <= {label} <= {_fmt(row.high, name)}")
        elif lower:
            parts.append(f"{label} >= {_fmt(row.low, name)}")
        elif upper:
            parts.append(f"{label} <= {_fmt(row.high, name)}")
    return parts


GOAL_PRODUCTS: dict[str, str] = {"both": "NdPr and Dy+Tb oxide", "ndpr": "NdPr oxide", "dytb": "Dy+Tb oxide"}
"""Goal -> the products it asks about, in words."""


def analyse_goals(results: pd.DataFrame, goal_probability: float, configured: str, threshold: float) -> dict[str, PrimResult]:
    """PRIM for the configured goal and, when it asks for both products, for each product alone.

    The joint goal can fail everywhere because one product never gets there; the single-product analyses
    then still show where the other does. Keys are in order: the configured goal first.
    """
    names = [configured, "ndpr", "dytb"] if configured == "both" else [configured]
    x = results[list(EXPLORATION_SPACE)]
    return {name: prim_boxes(x, goal_met(results, goal_probability, name).to_numpy(), threshold=threshold) for name in names}


def primary_goal(analyses: Mapping[str, PrimResult]) -> str:
    """The goal whose boxes the briefing charts: the configured goal if PRIM found a box for it, else the first
    single-product goal that has one, else the configured goal."""
    for name, result in analyses.items():
        if not result.summary.empty:
            return name
    return next(iter(analyses))


def _box_sentences(result: PrimResult, labels: Mapping[str, str], refs: Mapping[str, str], goal_words: str) -> list[str]:
    out = []
    for row in result.summary.itertuples(index=False):
        conditions = box_conditions(result.boxes, int(row.box), labels)
        where = " and ".join(conditions) if conditions else "anywhere"
        lead = "In the box where" if int(row.box) == 1 else f"A further box (number {int(row.box)}):"
        out.append(
            f"{lead} {where}, {goal_words} holds in {row.density:.0%} of futures (against {result.base_rate:.0%} overall); the box "
            f"holds {row.mass:.0%} of the sampled futures and {row.coverage:.0%} of all successes ({refs['boxes']}, {refs['trajectory']})."
        )
    return out


def key_judgments(
    analyses: Mapping[str, PrimResult],
    scores: pd.DataFrame,
    results: pd.DataFrame,
    *,
    goal_probability: float,
    labels: Mapping[str, str],
    goal_text: str,
    refs: Mapping[str, str],
    scenario_in_box: bool | None = None,
    scenario_met: bool | None = None,
) -> list[str]:
    """Key-judgment sentences generated from the PRIM boxes and the feature scores (no number typed by hand).

    Args:
        analyses: output of :func:`analyse_goals` (the configured goal first).
        scores: output of :func:`feature_scores` (its ``goal`` outcome, the charted goal, is used).
        results: the evaluated futures (for each product's share of futures meeting its part).
        goal_probability: the goal's probability.
        labels: input name -> label.
        goal_text: the configured goal in words.
        refs: labels -> "Figure N"/"Table N" for ``boxes``, ``trajectory``, ``scores`` and ``scatter``.
        scenario_in_box: whether the scenario's own inputs lie in the charted goal's first box (None: no box).
        scenario_met: whether the scenario's own point meets the configured goal (None: not known).
    """
    configured = next(iter(analyses))
    main = analyses[configured]
    n = len(results)
    sentences = [f"Of {n:,} sampled futures, the goal ({goal_text}) holds in {main.base_rate:.0%} ({refs['boxes']})."]
    if configured == "both":
        parts = []
        for key in ("ndpr", "dytb"):
            probs = results[f"{key}_prob_by_year"]
            share = float((probs >= goal_probability - 1e-12).mean())
            parts.append(f"{GOAL_PRODUCTS[key]} meets its part in {share:.0%} (highest probability in any future {probs.max():.0%})")
        sentences.append("Product by product: " + "; ".join(parts) + ".")
    if not main.summary.empty:
        sentences.extend(_box_sentences(main, labels, refs, "the goal"))
    else:
        why = "nowhere" if main.base_rate == 0 else "everywhere"
        sentences.append(f"PRIM finds no box for this goal: it holds {why} in the explored space.")
        primary = primary_goal(analyses)
        if primary != configured:
            sentences.extend(_box_sentences(analyses[primary], labels, refs, f"the goal for {GOAL_PRODUCTS[primary]} alone"))
    goal_scores = scores.loc[scores["outcome"] == "goal"].sort_values("rank") if len(scores) else scores
    if len(goal_scores) >= 2:
        first, second = goal_scores.iloc[0], goal_scores.iloc[1]
        sentences.append(
            f"The inputs that best separate success from failure are {labels.get(first['input'], first['input']).lower()} "
            f"(feature score {first['score']:.2f}) and {labels.get(second['input'], second['input']).lower()} ({second['score']:.2f}) "
            f"({refs['scores']}, {refs['scatter']})."
        )
    if scenario_met is not None:
        where = (
            "" if scenario_in_box is None else (" and lie inside the first box" if scenario_in_box else " and lie outside the first box")
        )
        sentences.append(f"This scenario's own settings {'meet' if scenario_met else 'do not meet'} the goal{where} ({refs['boxes']}).")
    return sentences


def headline(
    evaluation: Evaluation, params: Any, goal: pd.Series, analyses: Mapping[str, PrimResult], scores: pd.DataFrame
) -> dict[str, Any]:
    """The briefing's headline figures (manifest metrics), as JSON scalars with self-explaining keys.

    ``prim_goal`` names the goal whose first box the ``prim_box1_*`` keys describe (:func:`primary_goal`).
    """
    results = evaluation.results
    out: dict[str, Any] = {
        "discovery_n_scenarios": int(len(results)),
        "discovery_trials_per_scenario": int(params.discovery_trials),
        "discovery_goal_probability": float(params.goal_probability),
        "discovery_goal_share": round(float(goal.mean()), 4),
        "coverage_threshold": float(params.coverage_threshold),
        "probability_by_year": int(params.probability_by_year),
        "discovery_results_key": evaluation.key[:16],
    }
    by = params.probability_by_year
    for key in ("ndpr", "dytb"):
        probs = results[f"{key}_prob_by_year"]
        out[f"{key}_prob_by_{by}_median_over_scenarios"] = round(float(probs.median()), 4)
        out[f"{key}_share_scenarios_prob_by_{by}_at_least_goal"] = round(float((probs >= params.goal_probability - 1e-12).mean()), 4)
    primary = primary_goal(analyses)
    prim_result = analyses[primary]
    summary = prim_result.summary
    out["prim_goal"] = primary
    out["prim_n_boxes"] = int(len(summary))
    if len(summary):
        first = summary.iloc[0]
        out["prim_box1_coverage"] = round(float(first["coverage"]), 4)
        out["prim_box1_density"] = round(float(first["density"]), 4)
        out["prim_box1_mass"] = round(float(first["mass"]), 4)
        out["prim_box1_inputs"] = ";".join(prim_result.boxes.loc[prim_result.boxes["box"] == 1, "input"].astype(str))
    else:
        out["prim_box1_coverage"] = out["prim_box1_density"] = out["prim_box1_mass"] = None
        out["prim_box1_inputs"] = None
    goal_scores = scores.loc[scores["outcome"] == "goal"].sort_values("rank") if len(scores) else scores
    out["strongest_input"] = str(goal_scores.iloc[0]["input"]) if len(goal_scores) else None
    return out


def box_table_all(analyses: Mapping[str, PrimResult], labels: Mapping[str, str]) -> pd.DataFrame:
    """The boxes of every goal analysed, as one display table with a ``Goal`` column."""
    frames = [box_table(result, labels).assign(Goal=GOAL_PRODUCTS[name]) for name, result in analyses.items() if not result.boxes.empty]
    if not frames:
        return box_table(next(iter(analyses.values())), labels).assign(Goal=pd.Series(dtype="string"))
    out = pd.concat(frames, ignore_index=True)
    return out[["Goal", *[c for c in out.columns if c != "Goal"]]]


def scenario_point(params: Any, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """The scenario's own values of the explored inputs, as a one-row frame (``scenario_id`` = -1)."""
    row = {"scenario_id": -1, **{name: float(getattr(params, name)) for name in space}}
    return pd.DataFrame([row])


def within_space(point: pd.DataFrame, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> bool:
    """Whether every explored input of ``point`` (one row) lies in its explored range."""
    return all(space[name].low <= float(point[name].iloc[0]) <= space[name].high for name in space)


def box_rectangle(box: pd.DataFrame, x: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """A PRIM box's limits on two inputs as one rectangle (``x_low``, ``x_high``, ``y_low``, ``y_high``); an input the
    box does not restrict spans the sampled range. Empty when there is no box."""
    if box is None or box.empty:
        return pd.DataFrame(columns=["x_low", "x_high", "y_low", "y_high"])
    limits = {}
    for axis, name in (("x", first), ("y", second)):
        rows = box.loc[box["input"] == name]
        low, high = (float(rows["low"].iloc[0]), float(rows["high"].iloc[0])) if len(rows) else (float(x[name].min()), float(x[name].max()))
        limits[f"{axis}_low"], limits[f"{axis}_high"] = [low], [high]
    return pd.DataFrame(limits)


def box_table(prim_result: PrimResult, labels: Mapping[str, str]) -> pd.DataFrame:
    """The PRIM boxes as a display table (one row per restricted input of each box); empty when no box was found."""
    boxes = prim_result.boxes
    columns = ["Box", "Input", "Box range", "Explored range", "Coverage", "Density", "Futures in box"]
    if boxes.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        {
            "Box": boxes["box"].astype("int64"),
            "Input": [labels.get(str(n), str(n)) for n in boxes["input"]],
            "Box range": [f"{lo:.3g} to {hi:.3g}" for lo, hi in zip(boxes["low"], boxes["high"], strict=True)],
            "Explored range": [f"{lo:.3g} to {hi:.3g}" for lo, hi in zip(boxes["space_low"], boxes["space_high"], strict=True)],
            "Coverage": [f"{v:.0%}" for v in boxes["coverage"]],
            "Density": [f"{v:.0%}" for v in boxes["density"]],
            "Futures in box": boxes["n_scenarios"].astype("int64"),
        }
    )


def boxes_for_chart(prim_result: PrimResult, space: Mapping[str, Explore] = EXPLORATION_SPACE) -> pd.DataFrame:
    """Rows for the boxes chart: the boxes found, or, when there is none, every input unrestricted (box 0)."""
    if not prim_result.boxes.empty:
        return prim_result.boxes
    return pd.DataFrame(
        {
            "box": 0,
            "input": list(space),
            "low": [spec.low for spec in space.values()],
            "high": [spec.high for spec in space.values()],
            "space_low": [spec.low for spec in space.values()],
            "space_high": [spec.high for spec in space.values()],
            "coverage": 1.0,
            "density": prim_result.base_rate,
        }
    )


def trajectory_for_chart(prim_result: PrimResult) -> pd.DataFrame:
    """The first box's peeling trajectory, or, when PRIM found no box, its starting point: the whole space
    (coverage 100%, density = the share of futures meeting the goal)."""
    if not prim_result.trajectory.empty:
        return prim_result.trajectory
    return pd.DataFrame(
        {"step": [0], "coverage": [1.0], "density": [prim_result.base_rate], "mass": [1.0], "n_restricted": [0], "chosen": [True]}
    )

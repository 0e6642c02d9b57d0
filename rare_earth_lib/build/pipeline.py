"""Build briefings: validate, plan with a content-hash cache, execute in parallel, render, publish safely.

A job is one briefing (``notebooks/<briefing>.ipynb``) under one scenario (``params/<scenario>.yaml``).
Its outputs are ``reports/<scenario>/<briefing>.{ipynb,html,pdf,manifest.json}``.

Safety rules:
- parameters are validated for every selected job before any kernel starts (bad input: exit 2);
- one build at a time holds ``reports/.build.lock`` (a second build exits 3, or waits with ``--wait``);
- every output is written under ``reports/.tmp/`` and moved into place with ``os.replace`` only when the
  whole job succeeded, the manifest last; a killed build leaves the previous outputs and the next build
  deletes the leftovers and, since the manifest's cache key no longer matches, rebuilds;
- a failed job keeps its executed notebook at ``reports/<scenario>/<briefing>.failed.ipynb``.

Cache: a job is skipped when its cache key equals the key in its manifest and its outputs exist. The key
hashes the notebook, the library's code (``rare_earth_lib`` without ``data/*.csv``), the validated
parameters, key package versions and each data table the briefing read in its last build (the loader
records the tables it reads), so changing one row rebuilds exactly the briefings that read its table.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf  # tests patch cf.ProcessPoolExecutor to prove no pool starts
import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib.build.executor import JobOrder, SpareKernel
from rare_earth_lib.build.jobs import (  # noqa: F401 - the build's names, re-exported for the CLI and tests
    Job,
    JobContext,
    Result,
    Staged,
    _cell_label,
    _cell_timings,
    _execute_notebook,
    _format_tb,
    _keep_failed,
    _os_error,
    _place,
    _run_in_worker,
    _source_cell_number,
    _with_inline_expressions,
    _write_log,
    check_parameters_used,
    execute_job,
    plan,
    prewarm,
    publish,
)
from rare_earth_lib.build.layout import (  # noqa: F401 - the build's names, re-exported for the CLI and tests
    Layout,
    check_notebooks,
    select,
    validate_all,
)
from rare_earth_lib.build.scenarios import scenario_label
from rare_earth_lib.build.state import (  # noqa: F401 - the build's names, re-exported for the CLI and tests
    DEFAULT_CELL_TIMEOUT_S,
    EXIT_BAD_INPUT,
    EXIT_ENVIRONMENT,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    FORMATS,
    KEY_PACKAGES,
    MANIFEST_REQUIRED,
    MANIFEST_SCHEMA,
    PACKAGE_DIR,
    BuildInputError,
    LockedError,
    _rel,
    _unusable,
    _warn,
    cache_key,
    data_dir,
    ensure_dir,
    git_state,
    job_inputs,
    package_versions,
    read_manifest,
    reset_staging,
    sha256_bytes,
    sha256_file,
    table_hashes,
    write_atomic,
)
from rare_earth_lib.models.fingerprint import library_hash
from rare_earth_lib.parameters import clip

# --- hashing ---------------------------------------------------------------------------------


# --- notebooks ---------------------------------------------------------------------------------


# --- publishing (main process only) ----------------------------------------------------------


# --- the build -------------------------------------------------------------------------------


class Interrupted(BaseException):  # noqa: N818 - a signal, not an error
    """SIGTERM or SIGINT arrived; the build stops its jobs, removes staging and exits 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}.get(self.signum, 128 + self.signum)


_signal_state: dict[str, Any] = {"fired": False, "deferring": 0, "pending": None}


@contextlib.contextmanager
def _signals_interrupt():
    """While building, SIGTERM and SIGINT raise :class:`Interrupted` in the main thread (once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _signal_state.update(fired=False, deferring=0, pending=None)

    def handler(signum, frame):
        if _signal_state["fired"]:
            return
        if _signal_state["deferring"]:
            _signal_state["pending"] = signum
            return
        _signal_state["fired"] = True
        raise Interrupted(signum)

    saved = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_deferred():
    """Hold an arriving SIGTERM/SIGINT until the block is done, then raise :class:`Interrupted`."""
    _signal_state["deferring"] += 1
    try:
        yield
    finally:
        _signal_state["deferring"] -= 1
        pending = _signal_state["pending"]
        if pending and not _signal_state["deferring"] and not _signal_state["fired"]:
            _signal_state.update(fired=True, pending=None)
            raise Interrupted(pending)


@dataclass
class BuildOptions:
    scenarios: list[str] | None = None
    briefings: list[str] | None = None
    formats: tuple[str, ...] = FORMATS
    jobs: int = 0
    force: bool = False
    keep_going: bool = True
    cell_timeout: int = DEFAULT_CELL_TIMEOUT_S
    wait_s: float = 0.0
    overrides: dict = field(default_factory=dict)
    executor: str = "local"
    scheduler: str | None = None  # a Dask scheduler address: jobs run on that cluster (build/dask_executor.py)
    dry_run: bool = False  # say what would be built and why; run and write nothing


def build(
    layout: Layout, options: BuildOptions, log: Callable[[str], None] = print, progress: Callable[[int], None] | None = None
) -> tuple[int, dict]:
    """Run a build. Returns (exit code, summary).

    Raises:
        BuildInputError: bad input, before anything ran (exit 2).
        LockedError: another build holds the lock (exit 3).
        OSError: the reports folder cannot be written (exit 4).
        Interrupted: SIGTERM/SIGINT; running jobs were stopped and staging removed (exit 128 + signal).
    """
    from filelock import FileLock, Timeout

    scenarios, briefings = select(layout, options.scenarios, options.briefings)
    validated = validate_all(layout, scenarios, briefings, options.overrides)
    scenarios = [scenario_label(s, options.overrides) for s in scenarios]  # published names
    check_notebooks(layout, briefings)
    if options.dry_run:
        return _dry_run(layout, options, scenarios, briefings, validated, log)
    ensure_dir(layout.reports, log)
    lock_path = layout.reports / ".build.lock"
    with open(lock_path, "a"):  # a read-only or full reports/ is an environment fault, not "locked"
        pass
    lock = FileLock(str(lock_path))
    with _signals_interrupt():
        try:
            lock.acquire(timeout=options.wait_s if options.wait_s > 0 else 0)
        except Timeout:
            raise LockedError("another build holds reports/.build.lock; try again later or pass --wait SECONDS") from None
        try:
            return _build_locked(layout, options, scenarios, briefings, validated, log, progress)
        finally:
            lock.release()


def _validate_data_once(data_package, stamp: str) -> str:
    """Validate the whole data package here, once, instead of in every kernel; bad data is bad input (exit 2).

    Sets ``RARE_EARTH_DATA_VALIDATED`` to the package digest for the workers and their kernels, which skip
    the Frictionless pass only while the files still have exactly that digest. A package whose digest was
    validated before by the same library code and package versions (``stamp``) is not validated again: a
    file under the cache folder records each such validation.
    """
    try:
        before = data_package.package_digest()
        done = _validated_stamp(before, stamp)
        if done is not None and done.is_file():
            os.environ[data_package.RARE_EARTH_DATA_VALIDATED] = before
            return before
        data_package.validate_package()
    except data_package.DataPackageError as exc:
        raise BuildInputError(f"data package: {exc}") from None
    if data_package.package_digest() == before:
        os.environ[data_package.RARE_EARTH_DATA_VALIDATED] = before
        if done is not None:
            with contextlib.suppress(OSError):
                done.parent.mkdir(parents=True, exist_ok=True)
                done.touch()
    return before


def _validated_stamp(digest: str, stamp: str) -> Path | None:
    """The file that records a validation of the package with ``digest`` under ``stamp`` (code and versions)."""
    try:
        return env.cache_root() / "validated" / sha256_bytes(f"{digest}\0{stamp}".encode())
    except (OSError, RuntimeError):  # no home folder to hold a cache
        return None


def _vega_bundle_env(formats: tuple[str, ...]) -> dict[str, str]:
    """Make sure the offline Vega bundle is cached on disk (once per vl-convert version) and tell the workers where."""
    if "html" not in formats:
        return {}
    from rare_earth_lib.build import render

    try:
        return {render.VEGA_BUNDLE_ENV: str(render.cached_vega_bundle())}
    except OSError:
        return {}  # no writable cache: each worker builds the bundle itself, as before


def _planned(layout, options, scenarios, briefings, validated, log) -> tuple[list[Job], list[Job], list[Job], str, dict]:
    """Every job of the build, then those to run and those up to date (:func:`plan`), the library hash and package versions."""
    lib_hash, versions = library_hash(tables=False), package_versions()
    jobs = [
        Job(b, s, layout.briefings()[b], validated[(b, s)], tuple(options.formats), layout.reports, overrides=dict(options.overrides))
        for s in scenarios
        for b in briefings
    ]
    todo, cached = plan(jobs, options.force, lib_hash, versions, warn=log)
    return jobs, todo, cached, lib_hash, versions


def _dry_run(layout, options, scenarios, briefings, validated, log) -> tuple[int, dict]:
    """``build --dry-run``: the same plan as a build, as a summary whose jobs say whether each would run and why (the
    inputs that changed since its manifest, named as a build's summary names them). Takes no lock, starts no kernel
    and writes nothing; the data package is not validated (a build does so before its first kernel)."""
    from rare_earth_lib.build import index

    jobs, todo, _, _, _ = _planned(layout, options, scenarios, briefings, validated, log)
    would = {id(job) for job in todo}
    entries = []
    for job in jobs:
        entry = {"briefing": job.briefing, "scenario": job.scenario, "status": "would build" if id(job) in would else "cached"}
        if id(job) in would:
            current = {"inputs": job.inputs, "parameters": job.params, "formats": list(job.formats)}
            entry["changes"] = {"inputs": index.changes(job.previous, current)["inputs"]}
        entries.append(entry)
    counts = {status: sum(1 for e in entries if e["status"] == status) for status in ("would build", "cached")}
    return EXIT_OK, {"dry_run": True, "forced": options.force, "counts": counts, "jobs": entries}


def _build_locked(layout, options, scenarios, briefings, validated, log, progress) -> tuple[int, dict]:
    started = time.perf_counter()
    staging = reset_staging(layout.reports, log)
    jobs, todo, cached, lib_hash, versions = _planned(layout, options, scenarios, briefings, validated, log)
    todo.sort(key=lambda job: -LongestFirst().expected(job))  # the order a cluster gets them in (a local pool re-orders)
    results = [_up_to_date(Result(job, "cached", manifest=job.previous), log, progress) for job in cached]
    if todo:
        results += _run_jobs(layout, options, todo, lib_hash, versions, staging, log, progress)
    return _finish(layout, jobs, results, staging, started)


def _up_to_date(result: Result, log, progress) -> Result:
    if result.job.failed_path.exists():  # an earlier failure, since fixed: the published briefing is current
        result.job.failed_path.unlink()
        log(f"removed {_rel(result.job.failed_path)}: the briefing is up to date again")
    log(f"up to date  {result.job.name}")
    if progress:
        progress(1)
    return result


def _run_jobs(layout, options, todo, lib_hash, versions, staging, log, progress) -> list[Result]:
    """Validate the data (bad data: exit 2 before any kernel starts) and run the jobs, publishing each result as it
    comes back. Each local worker starts its first job's kernel, and readies its renderers while the kernel
    imports, before it takes a job."""
    from rare_earth_lib.build.executor import make_executor, warm_up_code
    from rare_earth_lib.data import package as data_package

    with cf.ThreadPoolExecutor(max_workers=1) as side:  # the chart bundle (vl-convert, outside the interpreter lock) meanwhile
        bundle = side.submit(_vega_bundle_env, tuple(options.formats))
        digest = _validate_data_once(data_package, json.dumps([lib_hash, versions], sort_keys=True))
        vega_env = bundle.result()
    try:
        workers = max(1, min(options.jobs or os.cpu_count() or 1, len(todo)))
        local = options.executor == "local" and not options.scheduler
        # Model results several briefings need are computed once per build, in a folder removed with the staging area.
        shared = {env.SHARED_RESULTS: str(staging / "shared"), **evaluation_env(workers)} if local else {}
        validated = {data_package.RARE_EARTH_DATA_VALIDATED: digest} if os.environ.get(data_package.RARE_EARTH_DATA_VALIDATED) else {}
        ctx = JobContext(
            options.cell_timeout,
            os.environ.get(env.BUILD_DATE) or dt.date.today().isoformat(),
            lib_hash,
            versions,
            git_state(layout.root),
            data_package.as_of().isoformat(),
            env={**validated, **vega_env, **shared},
            warm_kernels=local,
            warm_up=warm_up_code(sorted({job.notebook for job in todo})) if local else "",
        )
        executor = make_executor(options.executor, workers, scheduler=options.scheduler)
        executor.order = LongestFirst()
        try:
            if ctx.warm_kernels and SpareKernel.enabled():
                executor.prestart(prewarm, todo[0].notebook.parent, layout.reports, ctx, tuple(options.formats))
            results = list(_collect(executor, todo, ctx, staging, options, log, progress))
        except BaseException:
            executor.abort()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        executor.close()
    finally:
        os.environ.pop(data_package.RARE_EARTH_DATA_VALIDATED, None)
    return results


def evaluation_env(workers: int, cores: int | None = None) -> dict[str, str]:
    """What a local build's kernels are told about their own parallel work: with workers enough to fill the cores, a
    notebook's local Dask cluster would only add processes to start, so scenario discovery evaluates in its kernel."""
    return {env.EVALUATE_IN_KERNEL: "1"} if workers >= (cores or os.cpu_count() or 1) else {}


class LongestFirst(JobOrder):
    """Start the longest job next, so that no long job starts last while the other workers run out of work.

    A job's expected time is its last build's, else the mean of its briefing's jobs finished in this build; a job
    with neither counts as the longest (in the given order), so a cold build runs one job of each briefing early
    and learns what each costs.
    """

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}

    def expected(self, job: Job) -> float:
        previous = float(((job.previous or {}).get("timings") or {}).get("total_s") or 0.0)
        if previous > 0:
            return previous
        seen = self.seen.get(job.briefing)
        return sum(seen) / len(seen) if seen else float("inf")

    def choose(self, pending: list) -> int:
        return max(range(len(pending)), key=lambda i: (self.expected(pending[i]), -i))

    def learn(self, job: Job, outcome: Any) -> None:
        if isinstance(outcome, Staged) and outcome.status == "built":
            self.seen.setdefault(job.briefing, []).append(outcome.seconds)

    def starting(self, job: Job, remaining: int) -> Job:
        """With no job left to start, the worker starts no spare kernel for a next one (it would only take CPU from the
        last renders)."""
        return job if remaining else dataclasses.replace(job, warm_next=False)


class EarlyComparisons:
    """Draw a scenario's comparison with the base scenario as soon as this build has published both, while the last
    jobs still run (the page's charts then use a core the jobs leave idle, instead of waiting for the index).

    Only when every job of both scenarios in this build was built; anything else is left to the index's update at
    the end, which redraws any page older than a manifest and names what failed. Best effort: no error escapes.
    """

    def __init__(self, reports: Path, todo: list) -> None:
        from rare_earth_lib.build.scenarios import BASE

        self.reports, self.base = reports, BASE
        self.left = collections.Counter(job.scenario for job in todo)  # jobs of each scenario not yet back
        self.spoilt: set[str] = set()
        self.pool = cf.ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="compare")
        self.started: set[str] = set()

    def done(self, result: Result) -> None:
        scenario = result.job.scenario
        self.left[scenario] -= 1
        if result.status != "built":
            self.spoilt.add(scenario)
        base_ready = self.left[self.base] == 0 and self.base not in self.spoilt
        if not base_ready or not (self.reports / self.base).is_dir():
            return
        for other, left in self.left.items():
            if other != self.base and left == 0 and other not in self.spoilt and other not in self.started:
                self.started.add(other)
                self.pool.submit(_update_comparison, self.reports, other)

    def close(self, cancel: bool = False) -> None:
        """Wait for the pages being drawn (the index reads them); ``cancel``: draw none not yet begun (the build stops)."""
        self.pool.shutdown(wait=True, cancel_futures=cancel)


def _update_comparison(reports: Path, scenario: str) -> None:
    from rare_earth_lib.build import index

    index.update_comparison(reports, scenario)


def _collect(executor, todo, ctx, staging, options, log, progress):
    """Yield each job's published (or failed) result as its worker hands it back; stop starting jobs after a failure
    unless ``options.keep_going``."""
    early = EarlyComparisons(todo[0].reports, todo)
    try:
        yield from _publish_each(executor, todo, ctx, staging, options, log, progress, early)
    except BaseException:
        early.close(cancel=True)
        raise
    early.close()


def _publish_each(executor, todo, ctx, staging, options, log, progress, early):
    stop = False
    for job, outcome in executor.run(_run_in_worker, todo, ctx):
        if isinstance(outcome, BaseException):
            result = Result(job, "failed", error=f"{job.name}: worker failed: {type(outcome).__name__}: {clip(str(outcome), 200)}")
        else:
            t0 = time.perf_counter()
            with _signals_deferred():  # a publish is never cut in half by Ctrl-C or SIGTERM
                result = publish(job, outcome, staging)
            result.publish_s = round(time.perf_counter() - t0, 3)
        if progress:
            progress(1)
        if result.status == "built":
            log(f"built       {job.name} in {result.seconds:.1f} s")
        else:
            log(f"FAILED      {result.error}")
            if not options.keep_going and not stop:
                stop = True
                executor.cancel_pending()
        early.done(result)
        yield result


def _finish(layout, jobs, results, staging, started) -> tuple[int, dict]:
    """Record what changed, write the build summary and index, remove staging; the build's exit code and summary."""
    from rare_earth_lib.build import index

    for result in results:
        result.changes = index.changes(result.job.previous, result.manifest if result.status != "failed" else None)
    order = {(b, s): i for i, (b, s) in enumerate((j.briefing, j.scenario) for j in jobs)}
    results.sort(key=lambda r: order[(r.job.briefing, r.job.scenario)])
    summary = index.summary(results, seconds=time.perf_counter() - started)
    failed = [r for r in results if r.status == "failed"]
    ran = {(r.job.briefing, r.job.scenario) for r in results}
    not_run = [j.name for j in jobs if (j.briefing, j.scenario) not in ran]
    if not_run:
        summary["not_run"] = not_run
    index.write(layout.reports, summary)
    shutil.rmtree(staging, ignore_errors=True)
    if any(r.fault == "environment" for r in failed):
        return EXIT_ENVIRONMENT, summary
    return (EXIT_FAILED if failed or not_run else EXIT_OK), summary

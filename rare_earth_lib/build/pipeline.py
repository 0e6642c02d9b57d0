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

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rare_earth_lib import parameters as params_mod
from rare_earth_lib.build.scenarios import scenario_label
from rare_earth_lib.parameters import ParamsError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3

FORMATS = ("html", "pdf")
DEFAULT_CELL_TIMEOUT_S = 300
KEY_PACKAGES = (
    "papermill",
    "nbconvert",
    "nbclient",
    "nbformat",
    "ipykernel",
    "pandas",
    "numpy",
    "altair",
    "vl-convert-python",
    "weasyprint",
    "pydantic",
    "frictionless",
    "pyyaml",
)
PACKAGE_DIR = Path(__file__).resolve().parents[1]
MANIFEST_SCHEMA = 1


class BuildInputError(Exception):
    """Bad input found before anything ran (exit code 2)."""


class LockedError(Exception):
    """Another build holds the lock (exit code 3)."""


# --- project layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where a project's notebooks, scenarios and reports are."""

    root: Path

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def params(self) -> Path:
        return self.root / "params"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def library(self) -> Path:
        return PACKAGE_DIR

    @classmethod
    def find(cls, root: str | Path | None = None) -> Layout:
        """The project at ``root``, else the current directory, else the checkout holding this package."""
        candidates = [Path(root)] if root else [Path.cwd(), PACKAGE_DIR.parent]
        for candidate in candidates:
            if (candidate / "notebooks").is_dir() and (candidate / "params").is_dir():
                return cls(candidate.resolve())
        where = root or "the current directory"
        raise BuildInputError(f"{where}: no notebooks/ and params/ folders here (run from the project folder or pass --root)")

    def briefings(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.notebooks.glob("*.ipynb"))}

    def scenarios(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted(self.params.glob("*.yaml"))}


def describe_scenario(path: Path) -> str:
    """The first comment line of a scenario file (its one-line description)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def describe_briefing(path: Path) -> str:
    """A briefing's title and one-line description, as its parameter model declares them."""
    model = params_mod.briefing_model(path.stem)
    return f"{model.briefing_title} — {model.briefing_description}" if model.briefing_description else model.briefing_title


def select(layout: Layout, scenarios: list[str] | None, briefings: list[str] | None) -> tuple[list[str], list[str]]:
    """Resolve the selected scenario and briefing names; unknown names are bad input."""
    known_s, known_b = layout.scenarios(), layout.briefings()
    for kind, wanted, known, folder in (("scenario", scenarios, known_s, "params"), ("briefing", briefings, known_b, "notebooks")):
        for name in wanted or []:
            if name not in known:
                raise BuildInputError(
                    f"unknown {kind} '{name}': no {folder}/{name}.{'yaml' if kind == 'scenario' else 'ipynb'} (known: {', '.join(known) or 'none'})"
                )
    if not known_b:
        raise BuildInputError("notebooks/: no briefing notebooks found")
    if not known_s:
        raise BuildInputError("params/: no scenario files found")
    return list(dict.fromkeys(scenarios or known_s)), list(dict.fromkeys(briefings or known_b))


def validate_all(layout: Layout, scenarios: list[str], briefings: list[str], overrides: dict | None = None) -> dict[tuple[str, str], dict]:
    """Validate every selected scenario for every selected briefing.

    Args:
        overrides: ``build --set`` values applied over every scenario file (validated like the file's);
            the results are then keyed by the published name, ``<scenario>+key=value``.

    Returns:
        (briefing, scenario) -> the validated parameters as JSON-ready values.

    Raises:
        BuildInputError: one line per problem, naming file and parameter.
    """
    for name in briefings:
        try:
            params_mod.briefing_model(name)
        except ParamsError as exc:
            raise BuildInputError(str(exc)) from None
    out, problems = {}, []
    for scenario in scenarios:
        try:
            models = params_mod.validate_scenario(layout.params / f"{scenario}.yaml", briefings, overrides)
        except ParamsError as exc:
            problems.append(str(exc))
            continue
        for name, model in models.items():
            out[(name, scenario_label(scenario, overrides or {}))] = model.model_dump(mode="json")
    if problems:
        raise BuildInputError("\n".join(problems))
    return out


# --- hashing ---------------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def library_hash(library: Path = PACKAGE_DIR) -> str:
    """Hash of the library's code, templates and data descriptor (not the data tables)."""
    digest = hashlib.sha256()
    for path in sorted(library.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".pyc", ".csv"}:
            continue
        digest.update(path.relative_to(library).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def data_dir() -> Path:
    return Path(os.environ.get("RARE_EARTH_DATA_DIR") or PACKAGE_DIR / "data")


def table_hashes(tables: list[str]) -> dict[str, str]:
    """Hash of each named data table's CSV file (``missing`` when it no longer exists)."""
    out = {}
    for name in sorted(set(tables)):
        path = data_dir() / f"{name}.csv"
        out[name] = sha256_file(path) if path.is_file() else "missing"
    return out


def cache_key(inputs: dict[str, Any]) -> str:
    return sha256_bytes(json.dumps(inputs, sort_keys=True).encode())


def job_inputs(notebook: Path, params: dict, tables: list[str], lib_hash: str, versions: dict) -> dict[str, Any]:
    return {
        "notebook": sha256_file(notebook),
        "library": lib_hash,
        "parameters": sha256_bytes(json.dumps(params, sort_keys=True).encode()),
        "tables": table_hashes(tables),
        "versions": versions,
    }


def git_state(root: Path) -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes (None outside git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


# --- atomic files ----------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes | str, tmp_dir: Path) -> None:
    """Write ``path`` via a temporary file in ``tmp_dir`` (same file system) and ``os.replace``."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}"
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, path)


def read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("schema") == MANIFEST_SCHEMA else None


# --- jobs ------------------------------------------------------------------------------------


@dataclass
class Job:
    briefing: str
    scenario: str
    notebook: Path
    params: dict
    formats: tuple[str, ...]
    reports: Path
    previous: dict | None = None
    inputs: dict | None = None
    key: str | None = None
    overrides: dict = field(default_factory=dict)  # build --set values (the scenario is then <file>+key=value)

    @property
    def name(self) -> str:
        return f"{self.briefing} × {self.scenario}"

    @property
    def out_dir(self) -> Path:
        return self.reports / self.scenario

    def output(self, suffix: str) -> Path:
        return self.out_dir / f"{self.briefing}.{suffix}"

    @property
    def manifest_path(self) -> Path:
        return self.output("manifest.json")

    @property
    def failed_path(self) -> Path:
        return self.output("failed.ipynb")

    @property
    def tmp_dir(self) -> Path:
        return self.reports / ".tmp" / f"{self.scenario}__{self.briefing}"


@dataclass
class Result:
    job: Job
    status: str  # built | cached | failed
    manifest: dict | None = None
    error: str | None = None
    seconds: float = 0.0
    changes: dict = field(default_factory=dict)


def plan(jobs: list[Job], force: bool, lib_hash: str, versions: dict) -> tuple[list[Job], list[Job]]:
    """Split jobs into (to run, up to date) by comparing cache keys with the previous manifests."""
    todo, cached = [], []
    for job in jobs:
        job.previous = read_manifest(job.manifest_path)
        tables = list((job.previous or {}).get("inputs", {}).get("tables", {}))
        job.inputs = job_inputs(job.notebook, job.params, tables, lib_hash, versions)
        job.key = cache_key(job.inputs)
        prev = job.previous
        fresh = (
            prev is not None
            and prev.get("status") == "ok"
            and prev.get("cache_key") == job.key
            and set(job.formats) <= set(prev.get("formats", []))
            and all(job.output(s).is_file() for s in ("ipynb", *job.formats))
        )
        (cached if fresh and not force else todo).append(job)
    return todo, cached


def execute_job(job: Job, cell_timeout: int, build_date: str, lib_hash: str, versions: dict, git: dict, data_as_of: str | None) -> Result:
    """Run one job in this process: execute, render, publish atomically. Never raises for notebook errors."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from rare_earth_lib.build import render

    started = time.perf_counter()
    shutil.rmtree(job.tmp_dir, ignore_errors=True)
    job.tmp_dir.mkdir(parents=True)
    trace = job.tmp_dir / "tables.txt"
    trace.touch()
    executed = job.tmp_dir / f"{job.briefing}.ipynb"
    os.environ["RARE_EARTH_TRACE"] = str(trace)
    os.environ["RARE_EARTH_BUILD_DATE"] = build_date
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        pm.execute_notebook(
            _with_inline_expressions(job.notebook),
            str(executed),
            parameters=job.params,
            kernel_name="python3",
            cwd=str(job.notebook.parent),
            execution_timeout=cell_timeout,
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
        timings["execute_s"] = round(time.perf_counter() - t0, 3)
    except PapermillExecutionError as exc:
        cell = _source_cell_number(executed, exc.cell_index)
        kept = _keep_failed(job, executed)
        message = (
            f"{job.name}: cell {cell} of notebooks/{job.notebook.name} (execution count {exc.exec_count}) "
            f"raised {exc.ename}: {exc.evalue}; executed notebook kept at {kept}"
        )
        return Result(job, "failed", error=message, seconds=time.perf_counter() - started)
    except Exception as exc:  # kernel died, timeout, bad notebook JSON ...
        kept = _keep_failed(job, executed)
        where = f"; executed notebook kept at {kept}" if kept else ""
        return Result(
            job,
            "failed",
            error=f"{job.name}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}{where}",
            seconds=time.perf_counter() - started,
        )
    finally:
        os.environ.pop("RARE_EARTH_TRACE", None)

    try:
        import nbformat

        nb = nbformat.read(executed, as_version=4)
        title = render.notebook_title(nb) or job.briefing
        staged: dict[str, Path] = {"ipynb": executed}
        if "html" in job.formats:
            t0 = time.perf_counter()
            page = render.to_html(nb, title, interactive=True)
            staged["html"] = job.tmp_dir / f"{job.briefing}.html"
            staged["html"].write_text(page, encoding="utf-8")
            timings["html_s"] = round(time.perf_counter() - t0, 3)
        if "pdf" in job.formats:
            t0 = time.perf_counter()
            staged["pdf"] = job.tmp_dir / f"{job.briefing}.pdf"
            render.to_pdf(render.to_html(nb, title, interactive=False), staged["pdf"])
            timings["pdf_s"] = round(time.perf_counter() - t0, 3)
        tables = sorted({t for t in trace.read_text(encoding="utf-8").split() if t})
        inputs = job_inputs(job.notebook, job.params, tables, lib_hash, versions)
        timings["total_s"] = round(time.perf_counter() - started, 3)
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "briefing": job.briefing,
            "scenario": job.scenario,
            "status": "ok",
            "exit_status": EXIT_OK,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "build_date": build_date,
            "data_as_of": data_as_of,
            "parameters": job.params,
            "overrides": job.overrides,
            "git": git,
            "versions": versions,
            "inputs": inputs,
            "cache_key": cache_key(inputs),
            "formats": list(job.formats),
            "outputs": {
                fmt: {"file": job.output(fmt).name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
                for fmt, path in staged.items()
            },
            "timings": timings,
            "metrics": render.notebook_metrics(nb),
        }
    except Exception as exc:
        kept = _keep_failed(job, executed)
        return Result(
            job,
            "failed",
            error=f"{job.name}: rendering failed: {type(exc).__name__}: {exc}; executed notebook kept at {kept}",
            seconds=time.perf_counter() - started,
        )

    # Publish: outputs first, the manifest last, each by an atomic rename.
    job.out_dir.mkdir(parents=True, exist_ok=True)
    for fmt, path in staged.items():
        os.replace(path, job.output(fmt))
    write_atomic(job.manifest_path, json.dumps(manifest, indent=2, sort_keys=True), job.tmp_dir)
    job.failed_path.unlink(missing_ok=True)
    shutil.rmtree(job.tmp_dir, ignore_errors=True)
    return Result(job, "built", manifest=manifest, seconds=time.perf_counter() - started)


def _with_inline_expressions(notebook: Path):
    """The notebook with the hidden cell that evaluates its markdown's ``{eval}`` expressions (see report.inline)."""
    import nbformat

    from rare_earth_lib.report import inline

    return inline.with_evaluation_cell(nbformat.read(notebook, as_version=4), f"notebooks/{notebook.name}")


def _source_cell_number(executed: Path, cell_index: int) -> int:
    """1-based position of a cell of the executed notebook in the source notebook (without papermill's injected cell)."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return cell_index + 1
    injected = sum(1 for c in cells[:cell_index] if "injected-parameters" in c.get("metadata", {}).get("tags", []))
    return cell_index + 1 - injected


def _keep_failed(job: Job, executed: Path) -> str | None:
    if not executed.is_file():
        return None
    job.out_dir.mkdir(parents=True, exist_ok=True)
    os.replace(executed, job.failed_path)
    shutil.rmtree(job.tmp_dir, ignore_errors=True)
    return job.failed_path.relative_to(job.reports.parent).as_posix()


def _run_in_worker(job: Job, *args: Any) -> Result:
    """Run a job in a pool worker, with the kernel's chatter on stderr kept out of the build log.

    The kernel inherits the worker's stderr, so it is pointed at ``reports/.logs/<job>.stderr.log``
    for the duration of the job (overwritten by the job's next run; read it when a kernel dies).
    """
    log_dir = job.reports / ".logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with open(log_dir / f"{job.scenario}__{job.briefing}.stderr.log", "wb") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            return execute_job(job, *args)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# --- the build -------------------------------------------------------------------------------


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


def build(
    layout: Layout, options: BuildOptions, log: Callable[[str], None] = print, progress: Callable[[int], None] | None = None
) -> tuple[int, dict]:
    """Run a build. Returns (exit code, summary). Raises BuildInputError / LockedError before running anything."""
    from filelock import FileLock, Timeout

    scenarios, briefings = select(layout, options.scenarios, options.briefings)
    validated = validate_all(layout, scenarios, briefings, options.overrides)
    scenarios = [scenario_label(s, options.overrides) for s in scenarios]  # published names
    layout.reports.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(layout.reports / ".build.lock"))
    try:
        lock.acquire(timeout=options.wait_s if options.wait_s > 0 else 0)
    except Timeout:
        raise LockedError("another build holds reports/.build.lock; try again later or pass --wait SECONDS") from None
    try:
        return _build_locked(layout, options, scenarios, briefings, validated, log, progress)
    finally:
        lock.release()


def _validate_data_once(data_package) -> str:
    """Validate the whole data package here, once, instead of in every kernel; bad data is bad input (exit 2).

    Sets ``RARE_EARTH_DATA_VALIDATED`` to the package digest for the workers and their kernels, which skip
    the Frictionless pass only while the files still have exactly that digest.
    """
    before = data_package.package_digest()
    try:
        data_package.validate_package()
    except data_package.DataPackageError as exc:
        raise BuildInputError(f"data package: {exc}") from None
    if data_package.package_digest() == before:
        os.environ[data_package.RARE_EARTH_DATA_VALIDATED] = before
    return before


def _build_locked(layout, options, scenarios, briefings, validated, log, progress) -> tuple[int, dict]:
    from rare_earth_lib.build import index

    started = time.perf_counter()
    shutil.rmtree(layout.reports / ".tmp", ignore_errors=True)  # leftovers of a killed build
    lib_hash, versions = library_hash(), package_versions()
    jobs = [
        Job(b, s, layout.briefings()[b], validated[(b, s)], tuple(options.formats), layout.reports, overrides=dict(options.overrides))
        for s in scenarios
        for b in briefings
    ]
    todo, cached = plan(jobs, options.force, lib_hash, versions)
    # Longest first (by the last build's time), so no long briefing starts last on an otherwise idle machine.
    todo.sort(key=lambda job: -float(((job.previous or {}).get("timings") or {}).get("total_s") or 0.0))
    results = [Result(job, "cached", manifest=job.previous) for job in cached]
    for result in results:
        log(f"up to date  {result.job.name}")
        if progress:
            progress(1)
    build_date = os.environ.get("RARE_EARTH_BUILD_DATE") or dt.date.today().isoformat()
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(todo) or 1))
    stop = False
    if todo:
        from rare_earth_lib.data import package as data_package

        _validate_data_once(data_package)
        try:
            args = (options.cell_timeout, build_date, lib_hash, versions, git_state(layout.root), data_package.as_of().isoformat())
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {pool.submit(_run_in_worker, job, *args): job for job in todo}
                for future in cf.as_completed(futures):
                    job = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # a worker died
                        result = Result(job, "failed", error=f"{job.name}: worker failed: {type(exc).__name__}: {exc}")
                    results.append(result)
                    if progress:
                        progress(1)
                    if result.status == "built":
                        log(f"built       {job.name} in {result.seconds:.1f} s")
                    else:
                        log(f"FAILED      {result.error}")
                        if not options.keep_going and not stop:
                            stop = True
                            for other in futures:
                                other.cancel()
        finally:
            os.environ.pop(data_package.RARE_EARTH_DATA_VALIDATED, None)
    for result in results:
        result.changes = index.changes(result.job.previous, result.manifest if result.status != "failed" else None)
    order = {(b, s): i for i, (b, s) in enumerate((j.briefing, j.scenario) for j in jobs)}
    results.sort(key=lambda r: order[(r.job.briefing, r.job.scenario)])
    summary = index.summary(results, seconds=time.perf_counter() - started)
    index.write(layout.reports, summary)
    failed = [r for r in results if r.status == "failed"]
    ran = {(r.job.briefing, r.job.scenario) for r in results}
    not_run = [j.name for j in jobs if (j.briefing, j.scenario) not in ran]
    if not_run:
        summary["not_run"] = not_run
    return (EXIT_FAILED if failed or not_run else EXIT_OK), summary

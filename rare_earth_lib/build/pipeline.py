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

import concurrent.futures as cf  # noqa: F401 - tests patch cf.ProcessPoolExecutor to prove no pool starts
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib import parameters as params_mod
from rare_earth_lib.build.executor import SpareKernel
from rare_earth_lib.build.scenarios import scenario_label
from rare_earth_lib.parameters import ParamsError, clip

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3
EXIT_ENVIRONMENT = 4  # a disk or permission fault the build cannot work around (read-only, full, no access)
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParamsError(f"params/{path.name}", "not UTF-8 text") from None
    for line in text.splitlines():
        if line.startswith("#"):
            return clip(line.lstrip("# ").strip(), 200)
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
    return Path(os.environ.get(env.DATA_DIR) or PACKAGE_DIR / "data")


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


# --- atomic files and self-healing state -------------------------------------------------------


def write_atomic(path: Path, data: bytes | str, tmp_dir: Path) -> None:
    """Write ``path`` via a temporary file in ``tmp_dir`` (same file system) and ``os.replace``.

    On any error (a full disk, say) the temporary file is removed and ``path`` keeps its old content.
    """
    ensure_dir(tmp_dir)
    tmp = tmp_dir / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        ensure_dir(path.parent)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_dir(path: Path, warn: Callable[[str], None] | None = None) -> Path:
    """Make ``path`` a folder; a file (or broken link) squatting there is moved aside with a warning."""
    if path.is_symlink() and not path.exists() or path.exists() and not path.is_dir():
        aside = path.with_name(f"{path.name}.moved-aside-{int(time.time())}")
        os.replace(path, aside)
        (warn or _warn)(f"warning: {_rel(path)} was not a folder; moved it aside to {aside.name}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def reset_staging(reports: Path, warn: Callable[[str], None] | None = None) -> Path:
    """Empty ``reports/.tmp`` (a killed build's leftovers, or anything else found there) and return it."""
    staging = reports / ".tmp"
    if staging.is_dir() and not staging.is_symlink():
        leftovers = sorted(p.name for p in staging.iterdir())
        try:
            shutil.rmtree(staging)
        except OSError:
            aside = staging.with_name(f".tmp.stale-{int(time.time())}")
            os.replace(staging, aside)
            (warn or _warn)(f"warning: could not empty reports/.tmp; moved it aside to reports/{aside.name}")
        else:
            if leftovers:
                (warn or _warn)(f"removed leftovers in reports/.tmp: {clip(', '.join(leftovers), 120)}")
    return ensure_dir(staging, warn)


def _warn(line: str) -> None:
    print(f"rare-earth-report: {line}", file=sys.stderr, flush=True)


def _rel(path: Path) -> str:
    """``reports/...`` rather than a machine path, where possible."""
    parts = path.parts
    return "/".join(parts[parts.index("reports") :]) if "reports" in parts else path.name


MANIFEST_REQUIRED = {"briefing": str, "scenario": str, "status": str, "built_at": str, "outputs": dict, "cache_key": str}


def read_manifest(path: Path, warn: Callable[[str], None] | None = None) -> dict | None:
    """A manifest, or None when it is missing or unusable (corrupt, partial, old schema: warned about by name)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return _unusable(path, f"unreadable ({exc.__class__.__name__})", warn)
    try:
        manifest = json.loads(text)
    except ValueError:
        return _unusable(path, "not valid JSON (partial or corrupt)", warn)
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        return _unusable(path, f"not a schema {MANIFEST_SCHEMA} manifest", warn)
    bad = [k for k, kind in MANIFEST_REQUIRED.items() if not isinstance(manifest.get(k), kind)]
    outputs = manifest.get("outputs")
    if not bad and not all(isinstance(o, dict) and isinstance(o.get("file"), str) for o in outputs.values()):
        bad = ["outputs"]
    if bad:
        return _unusable(path, f"missing or malformed {', '.join(bad)}", warn)
    return manifest


def _unusable(path: Path, why: str, warn: Callable[[str], None] | None) -> None:
    if warn:
        warn(f"warning: {_rel(path)}: {why}; treated as missing, the briefing will be rebuilt")
    return None


# --- notebooks ---------------------------------------------------------------------------------


def check_notebooks(layout: Layout, briefings: list[str]) -> None:
    """Each selected notebook is a readable notebook with exactly one cell tagged ``parameters`` (else exit 2)."""
    problems = []
    for name in briefings:
        label = f"notebooks/{name}.ipynb"
        try:  # plain JSON: nbformat's schema validation would cost every no-op build a noticeable delay
            cells = json.loads(layout.briefings()[name].read_text(encoding="utf-8"))["cells"]
            tagged = [i + 1 for i, c in enumerate(cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])]
        except (OSError, ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError) as exc:
            problems.append(f"{label}: not a readable notebook ({clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)})")
            continue
        if len(tagged) != 1:
            where = f"cells {', '.join(map(str, tagged))} are" if tagged else "no cell is"
            problems.append(
                f"{label}: needs exactly one cell tagged 'parameters' ({where} tagged); without it the scenario's values "
                "would be overwritten by the notebook's defaults"
            )
    if problems:
        raise BuildInputError("\n".join(problems))


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

    @property
    def log_path(self) -> Path:
        return self.reports / ".logs" / f"{self.scenario}__{self.briefing}.log"


@dataclass
class Result:
    job: Job
    status: str  # built | cached | failed
    manifest: dict | None = None
    error: str | None = None
    seconds: float = 0.0
    changes: dict = field(default_factory=dict)
    fault: str | None = None  # "environment" when the job failed for a disk or permission fault
    publish_s: float | None = None


@dataclass
class JobContext:
    """Everything a job needs besides the job itself; plain data, so it travels to any worker."""

    cell_timeout: int
    build_date: str
    lib_hash: str
    versions: dict
    git: dict
    data_as_of: str | None
    env: dict[str, str] = field(default_factory=dict)  # set in the worker for the job (and its kernel)
    warm_kernels: bool = False  # start the next job's kernel while rendering (local pool workers only)


@dataclass
class Staged:
    """What a job hands back to the main process, which alone publishes.

    ``files`` maps an output suffix (``ipynb``, ``html``, ``pdf``) to a staged file under ``reports/.tmp``
    or, after :meth:`as_bytes`, to its bytes; ``failed_notebook`` likewise. ``used_parameters`` holds every
    parameter set the executed notebook recorded (``report.Briefing`` records its validated parameters).
    """

    briefing: str
    scenario: str
    status: str  # built | failed
    files: dict[str, Path | bytes] = field(default_factory=dict)
    manifest: dict | None = None
    used_parameters: list[dict] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    failed_notebook: Path | bytes | None = None
    fault: str | None = None
    seconds: float = 0.0

    def as_bytes(self) -> Staged:
        """The same result with every staged file read into memory (for workers on another machine)."""
        files = {k: v.read_bytes() if isinstance(v, Path) else v for k, v in self.files.items()}
        failed = self.failed_notebook.read_bytes() if isinstance(self.failed_notebook, Path) else self.failed_notebook
        return dataclasses.replace(self, files=files, failed_notebook=failed)


def plan(
    jobs: list[Job], force: bool, lib_hash: str, versions: dict, warn: Callable[[str], None] | None = None
) -> tuple[list[Job], list[Job]]:
    """Split jobs into (to run, up to date) by comparing cache keys with the previous manifests."""
    todo, cached = [], []
    for job in jobs:
        job.previous = read_manifest(job.manifest_path, warn)
        if job.previous and (job.previous["briefing"], job.previous["scenario"]) != (job.briefing, job.scenario):
            _unusable(job.manifest_path, "belongs to another briefing or scenario", warn)
            job.previous = None
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


def execute_job(job: Job, ctx: JobContext) -> Staged:
    """Execute and render one job into its staging folder; never publishes, never raises for notebook errors.

    This is the unit of work every executor runs (see :mod:`rare_earth_lib.build.executor`).
    """
    started = time.perf_counter()

    def failed(error: str, executed: Path | None, fault: str | None = None, tb: str | None = None) -> Staged:
        kept = executed if executed is not None and executed.is_file() else None
        return Staged(
            job.briefing,
            job.scenario,
            "failed",
            error=error,
            failed_notebook=kept,
            fault=fault,
            traceback=tb,
            seconds=time.perf_counter() - started,
        )

    try:
        shutil.rmtree(job.tmp_dir, ignore_errors=True)
        job.tmp_dir.mkdir(parents=True)
        trace = job.tmp_dir / "tables.txt"
        trace.touch()
    except OSError as exc:
        return failed(f"{job.name}: cannot stage in {_rel(job.tmp_dir)}: {exc.strerror or exc}", None, "environment", _format_tb())
    executed = job.tmp_dir / f"{job.briefing}.ipynb"
    saved_env = {k: os.environ.get(k) for k in (env.TRACE, env.BUILD_DATE, env.JUPYTER_RUNTIME_DIR, "TMPDIR", *ctx.env)}
    os.environ.update(ctx.env)
    os.environ[env.TRACE] = str(trace)
    os.environ[env.BUILD_DATE] = ctx.build_date
    # Kernel connection files and the kernel's temporary files live in the staging folder, so a killed
    # build leaves nothing behind that the next build does not remove.
    runtime = job.tmp_dir / "runtime"
    runtime.mkdir()
    os.environ[env.JUPYTER_RUNTIME_DIR] = os.environ["TMPDIR"] = str(runtime)
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(runtime)
    timings: dict[str, float] = {}
    # A kernel this worker started while it rendered its previous job (see executor.SpareKernel).
    kernel_key = json.dumps([str(job.notebook.parent), ctx.build_date, sorted(ctx.env.items())])
    spare = SpareKernel.take(kernel_key)
    if spare is not None:
        trace = Path(spare[1])
    next_env = {k: v for k, v in os.environ.items() if k not in (env.TRACE, env.JUPYTER_RUNTIME_DIR, "TMPDIR")}
    try:
        outcome = _execute_notebook(job, ctx, executed, failed, timings, km=spare[0] if spare else None)
        if outcome is not None:
            return outcome
        timings["execute_s"] = round(time.perf_counter() - started, 3)
        timings["warm_kernel"] = spare is not None
    finally:
        if spare is not None:
            SpareKernel.shutdown(spare[0])
        tempfile.tempdir = saved_tempdir
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if ctx.warm_kernels:
            SpareKernel.start(kernel_key, str(job.notebook.parent), next_env, str(job.reports / ".tmp" / f"worker-{os.getpid()}"))

    try:
        import nbformat

        from rare_earth_lib.build import render

        nb = nbformat.read(executed, as_version=4)
        timings.update(_cell_timings(nb))
        title = render.notebook_title(nb) or job.briefing
        files: dict[str, Path | bytes] = {"ipynb": executed}
        if "html" in job.formats:
            t0 = time.perf_counter()
            files["html"] = job.tmp_dir / f"{job.briefing}.html"
            files["html"].write_text(render.to_html(nb, title, interactive=True), encoding="utf-8")
            timings["html_s"] = round(time.perf_counter() - t0, 3)
        if "pdf" in job.formats:
            t0 = time.perf_counter()
            files["pdf"] = job.tmp_dir / f"{job.briefing}.pdf"
            render.to_pdf(render.to_html(nb, title, interactive=False), files["pdf"])
            timings["pdf_s"] = round(time.perf_counter() - t0, 3)
        tables = sorted({t for t in trace.read_text(encoding="utf-8").split() if t})
        inputs = job_inputs(job.notebook, job.params, tables, ctx.lib_hash, ctx.versions)
        timings["total_s"] = round(time.perf_counter() - started, 3)
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "briefing": job.briefing,
            "scenario": job.scenario,
            "status": "ok",
            "exit_status": EXIT_OK,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "build_date": ctx.build_date,
            "data_as_of": ctx.data_as_of,
            "parameters": job.params,
            "overrides": job.overrides,
            "git": ctx.git,
            "versions": ctx.versions,
            "inputs": inputs,
            "cache_key": cache_key(inputs),
            "formats": list(job.formats),
            "outputs": {
                fmt: {"file": job.output(fmt).name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
                for fmt, path in files.items()
            },
            "timings": timings,
            "metrics": render.notebook_metrics(nb),
        }
        used = render.notebook_parameters(nb)
    except OSError as exc:
        return failed(f"{job.name}: rendering failed: {_os_error(exc)}", executed, "environment", _format_tb())
    except Exception as exc:
        return failed(f"{job.name}: rendering failed: {type(exc).__name__}: {clip(str(exc), 300)}", executed, tb=_format_tb())
    return Staged(
        job.briefing, job.scenario, "built", files=files, manifest=manifest, used_parameters=used, seconds=time.perf_counter() - started
    )


def _execute_notebook(
    job: Job, ctx: JobContext, executed: Path, failed: Callable[..., Staged], timings: dict[str, float], km: Any = None
) -> Staged | None:
    """Run papermill; None on success (``timings`` gets ``kernel_start_s``), else the failed result naming the cell."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    from rare_earth_lib.build.executor import kernel_manager_class

    running: dict[str, Any] = {}
    started = time.perf_counter()

    def on_cell_execute(cell: Any, cell_index: int) -> None:
        running.update(index=cell_index, source=cell.get("source", ""))
        running.setdefault("kernel_ready", time.perf_counter() - started)  # the kernel is up when the first cell runs

    try:
        pm.execute_notebook(
            _with_inline_expressions(job.notebook),
            str(executed),
            parameters=job.params,
            kernel_name="python3",
            cwd=str(job.notebook.parent),
            execution_timeout=ctx.cell_timeout,
            progress_bar=False,
            log_output=False,
            report_mode=False,
            kernel_manager_class=kernel_manager_class(),
            on_cell_execute=on_cell_execute,
            **({"km": km} if km is not None else {}),
        )
        timings["kernel_start_s"] = round(running.get("kernel_ready", 0.0), 3)
    except PapermillExecutionError as exc:
        cell = _source_cell_number(executed, exc.cell_index)
        return failed(
            f"{job.name}: cell {cell} of notebooks/{job.notebook.name} (execution count {exc.exec_count}) "
            f"raised {exc.ename}: {clip(exc.evalue, 300)}; {{kept}}",
            executed,
            tb=_format_tb(),
        )
    except CellTimeoutError:
        where = _cell_label(job, executed, running)
        return failed(f"{job.name}: {where} timed out after {ctx.cell_timeout} s (--cell-timeout); {{kept}}", executed, tb=_format_tb())
    except OSError as exc:
        return failed(f"{job.name}: {_os_error(exc)}; {{kept}}", executed, "environment", _format_tb())
    except Exception as exc:  # kernel died, bad notebook JSON ...
        text = str(exc).strip()
        first = clip(text.splitlines()[0], 300) if text else ""
        where = f" while running {_cell_label(job, executed, running)}" if running else ""
        return failed(f"{job.name}: {type(exc).__name__}{where}: {first}; {{kept}}", executed, tb=_format_tb())
    return None


def _cell_timings(nb: Any) -> dict[str, float]:
    """Seconds in the notebook's cells as papermill recorded them: the first code cell after the parameters
    (imports and parameter validation) as ``imports_s``, all cells as ``cells_s``."""
    durations, first = [], None
    for cell in nb.cells:
        duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        tags = cell.get("metadata", {}).get("tags") or []
        if cell.cell_type != "code" or not isinstance(duration, (int, float)):
            continue
        durations.append(duration)
        if first is None and not {"parameters", "injected-parameters"} & set(tags):
            first = duration
    return {"imports_s": round(first or 0.0, 3), "cells_s": round(sum(durations), 3)}


def _cell_label(job: Job, executed: Path, running: dict) -> str:
    """``cell N of notebooks/X.ipynb ("first source line")`` for the cell that was running."""
    if "index" not in running:
        return f"notebooks/{job.notebook.name}"
    first = next((line.strip() for line in str(running.get("source", "")).splitlines() if line.strip()), "")
    return f'cell {_source_cell_number(executed, running["index"])} of notebooks/{job.notebook.name} ("{clip(first, 80)}")'


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


def _format_tb() -> str:
    import traceback

    return traceback.format_exc()


def _os_error(exc: OSError) -> str:
    where = f"{_rel(Path(exc.filename))}: " if getattr(exc, "filename", None) else ""
    return f"{where}{exc.strerror or exc}" + (f" (OS error {exc.errno})" if exc.errno is not None else "")


def _run_in_worker(job: Job, ctx: JobContext) -> Staged:
    """Run a job in a pool worker, with the kernel's chatter on stderr kept out of the build log.

    The kernel inherits the worker's stderr, so it is pointed at ``reports/.logs/<job>.stderr.log``
    for the duration of the job (overwritten by the job's next run; read it when a kernel dies).
    """
    log_dir = job.reports / ".logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        sink = open(log_dir / f"{job.scenario}__{job.briefing}.stderr.log", "wb")  # noqa: SIM115 - closed below
    except OSError:
        return execute_job(job, ctx)
    saved = os.dup(2)
    with sink:
        os.dup2(sink.fileno(), 2)
        try:
            return execute_job(job, ctx)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# --- publishing (main process only) ----------------------------------------------------------


def check_parameters_used(job: Job, staged: Staged) -> str | None:
    """Why the executed notebook's recorded parameters are not the scenario's, or None when they are."""
    if not staged.used_parameters:
        return (
            f"notebooks/{job.notebook.name} recorded no parameters (it must build report.Briefing from its validated Params), "
            "so the build cannot prove it used the scenario's"
        )
    for used in staged.used_parameters:
        if used != job.params:
            diff = sorted(k for k in set(used) | set(job.params) if used.get(k) != job.params.get(k))
            key = diff[0]
            return (
                f"the notebook ran with {key}={clip(repr(used.get(key)), 80)} but params/{job.scenario}.yaml gives "
                f"{clip(repr(job.params.get(key)), 80)}"
                + (f" (and {len(diff) - 1} more)" if len(diff) > 1 else "")
                + "; is the notebook's 'parameters' tag on its defaults cell?"
            )
    return None


def publish(job: Job, staged: Staged, staging_root: Path) -> Result:
    """Move a job's staged outputs into ``reports/<scenario>/`` (the manifest last), or keep its failed notebook.

    Only the process that holds the build lock calls this. A result whose notebook did not run with the
    scenario's validated parameters is not published.
    """
    if staged.status == "built":
        mismatch = check_parameters_used(job, staged)
        if mismatch:
            staged = dataclasses.replace(
                staged, status="failed", error=f"{job.name}: {mismatch}; {{kept}}", failed_notebook=staged.files.get("ipynb")
            )
    if staged.status != "built":
        kept = _keep_failed(job, staged.failed_notebook, staging_root)
        error = (staged.error or f"{job.name}: failed").replace(
            "{kept}", f"executed notebook kept at {kept}" if kept else "no executed notebook"
        )
        error = error.removesuffix("; no executed notebook")
        _write_log(job, error, staged.traceback)
        return Result(job, "failed", error=error, seconds=staged.seconds, fault=staged.fault)
    ensure_dir(job.out_dir)
    for fmt in ("ipynb", *FORMATS):
        if fmt in staged.files:
            _place(staged.files[fmt], job.output(fmt), staging_root)
    write_atomic(job.manifest_path, json.dumps(staged.manifest, indent=2, sort_keys=True), staging_root)
    job.failed_path.unlink(missing_ok=True)
    job.log_path.unlink(missing_ok=True)
    return Result(job, "built", manifest=staged.manifest, seconds=staged.seconds)


def _place(source: Path | bytes, dest: Path, staging_root: Path) -> None:
    if isinstance(source, bytes):
        write_atomic(dest, source, staging_root)
        return
    if staging_root.resolve() not in source.resolve().parents:
        raise ValueError(f"refusing to publish {source.name}: not staged under reports/.tmp")
    os.replace(source, dest)


def _keep_failed(job: Job, notebook: Path | bytes | None, staging_root: Path) -> str | None:
    """Keep a failed job's executed notebook at ``<briefing>.failed.ipynb``, atomically (never a truncated file)."""
    if notebook is None or isinstance(notebook, Path) and not notebook.is_file():
        return None
    try:
        ensure_dir(job.out_dir)
        _place(notebook, job.failed_path, staging_root)
    except OSError as exc:
        _write_log(job, f"could not keep the executed notebook: {_os_error(exc)}", None)
        return None
    return job.failed_path.relative_to(job.reports.parent).as_posix()


def _write_log(job: Job, error: str, tb: str | None) -> None:
    """The job's log under ``reports/.logs/``: the failure line and the full traceback (best effort: the disk may be full)."""
    try:
        ensure_dir(job.log_path.parent)
        with open(job.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {error}\n{tb or ''}\n")
    except OSError:
        pass


# --- the build -------------------------------------------------------------------------------


class Interrupted(BaseException):  # noqa: N818 - a signal, not an error
    """SIGTERM or SIGINT arrived; the build stops its jobs, removes staging and exits 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


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


def _validate_data_once(data_package) -> str:
    """Validate the whole data package here, once, instead of in every kernel; bad data is bad input (exit 2).

    Sets ``RARE_EARTH_DATA_VALIDATED`` to the package digest for the workers and their kernels, which skip
    the Frictionless pass only while the files still have exactly that digest.
    """
    try:
        before = data_package.package_digest()
        data_package.validate_package()
    except data_package.DataPackageError as exc:
        raise BuildInputError(f"data package: {exc}") from None
    if data_package.package_digest() == before:
        os.environ[data_package.RARE_EARTH_DATA_VALIDATED] = before
    return before


def _vega_bundle_env(formats: tuple[str, ...]) -> dict[str, str]:
    """Make sure the offline Vega bundle is cached on disk (once per vl-convert version) and tell the workers where."""
    if "html" not in formats:
        return {}
    from rare_earth_lib.build import render

    try:
        return {render.VEGA_BUNDLE_ENV: str(render.cached_vega_bundle())}
    except OSError:
        return {}  # no writable cache: each worker builds the bundle itself, as before


def _build_locked(layout, options, scenarios, briefings, validated, log, progress) -> tuple[int, dict]:
    from rare_earth_lib.build import index
    from rare_earth_lib.build.executor import make_executor

    started = time.perf_counter()
    staging = reset_staging(layout.reports, log)
    lib_hash, versions = library_hash(), package_versions()
    jobs = [
        Job(b, s, layout.briefings()[b], validated[(b, s)], tuple(options.formats), layout.reports, overrides=dict(options.overrides))
        for s in scenarios
        for b in briefings
    ]
    todo, cached = plan(jobs, options.force, lib_hash, versions, warn=log)
    # Longest first (by the last build's time), so no long briefing starts last on an otherwise idle machine.
    todo.sort(key=lambda job: -float(((job.previous or {}).get("timings") or {}).get("total_s") or 0.0))
    results = [Result(job, "cached", manifest=job.previous) for job in cached]
    for result in results:
        if result.job.failed_path.exists():  # an earlier failure, since fixed: the published briefing is current
            result.job.failed_path.unlink()
            log(f"removed {_rel(result.job.failed_path)}: the briefing is up to date again")
        log(f"up to date  {result.job.name}")
        if progress:
            progress(1)
    build_date = os.environ.get(env.BUILD_DATE) or dt.date.today().isoformat()
    workers = max(1, min(options.jobs or os.cpu_count() or 1, len(todo) or 1))
    stop = False
    if todo:
        from rare_earth_lib.data import package as data_package

        digest = _validate_data_once(data_package)
        try:
            ctx = JobContext(
                options.cell_timeout,
                build_date,
                lib_hash,
                versions,
                git_state(layout.root),
                data_package.as_of().isoformat(),
                env={
                    **({data_package.RARE_EARTH_DATA_VALIDATED: digest} if data_package.RARE_EARTH_DATA_VALIDATED in os.environ else {}),
                    **_vega_bundle_env(options.formats),
                },
                warm_kernels=options.executor == "local" and not options.scheduler,
            )
            executor = make_executor(options.executor, workers, scheduler=options.scheduler)
            try:
                for job, outcome in executor.run(_run_in_worker, todo, ctx):
                    if isinstance(outcome, BaseException):
                        result = Result(
                            job, "failed", error=f"{job.name}: worker failed: {type(outcome).__name__}: {clip(str(outcome), 200)}"
                        )
                    else:
                        t0 = time.perf_counter()
                        with _signals_deferred():  # a publish is never cut in half by Ctrl-C or SIGTERM
                            result = publish(job, outcome, staging)
                        result.publish_s = round(time.perf_counter() - t0, 3)
                    results.append(result)
                    if progress:
                        progress(1)
                    if result.status == "built":
                        log(f"built       {job.name} in {result.seconds:.1f} s")
                    else:
                        log(f"FAILED      {result.error}")
                        if not options.keep_going and not stop:
                            stop = True
                            executor.cancel_pending()
            except BaseException:
                executor.abort()
                shutil.rmtree(staging, ignore_errors=True)
                raise
            executor.close()
        finally:
            os.environ.pop(data_package.RARE_EARTH_DATA_VALIDATED, None)
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

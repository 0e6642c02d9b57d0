"""One briefing x scenario: plan, execute and render in a worker (returning staged files), publish in the lock holder."""

from __future__ import annotations

import concurrent.futures as cf  # noqa: F401 - tests patch cf.ProcessPoolExecutor to prove no pool starts
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib.build.executor import SpareKernel
from rare_earth_lib.build.state import (
    EXIT_OK,
    FORMATS,
    MANIFEST_SCHEMA,
    _rel,
    _unusable,
    cache_key,
    ensure_dir,
    job_inputs,
    read_manifest,
    sha256_file,
    write_atomic,
)
from rare_earth_lib.parameters import clip


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
    warm_next: bool = True  # start the next job's kernel while rendering this one (False: no job is left to start)

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
    warm_up: str = ""  # what a spare kernel runs first: the build's notebooks' imports (executor.warm_up_code)


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
    failed = functools.partial(_failed, job, started)
    try:
        trace = _stage(job)
    except OSError as exc:
        return failed(f"{job.name}: cannot stage in {_rel(job.tmp_dir)}: {exc.strerror or exc}", None, "environment", _format_tb())
    executed = job.tmp_dir / f"{job.briefing}.ipynb"
    timings: dict[str, float] = {}
    outcome, trace = _execute_on_kernel(job, ctx, executed, trace, failed, timings)
    if outcome is not None:
        return outcome
    timings["execute_s"] = round(time.perf_counter() - started, 3)
    try:
        import nbformat

        from rare_earth_lib.build import render

        nb = nbformat.read(executed, as_version=4)
        timings.update(_cell_timings(nb))
        files = _render(job, nb, render.notebook_title(nb) or job.briefing, executed, timings)
        tables = sorted({t for t in trace.read_text(encoding="utf-8").split() if t})
        timings["total_s"] = round(time.perf_counter() - started, 3)
        manifest = _manifest(job, ctx, job_inputs(job.notebook, job.params, tables, ctx.lib_hash, ctx.versions), files, timings)
        manifest["metrics"] = render.notebook_metrics(nb)
        used = render.notebook_parameters(nb)
    except OSError as exc:
        return failed(f"{job.name}: rendering failed: {_os_error(exc)}", executed, "environment", _format_tb())
    except Exception as exc:
        return failed(f"{job.name}: rendering failed: {type(exc).__name__}: {clip(str(exc), 300)}", executed, tb=_format_tb())
    return Staged(
        job.briefing, job.scenario, "built", files=files, manifest=manifest, used_parameters=used, seconds=time.perf_counter() - started
    )


def _failed(job: Job, started: float, error: str, executed: Path | None, fault: str | None = None, tb: str | None = None) -> Staged:
    """The failed result of ``job``, keeping its executed notebook if there is one."""
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


def _stage(job: Job) -> Path:
    """A fresh staging folder for the job; returns its (empty) table trace file."""
    shutil.rmtree(job.tmp_dir, ignore_errors=True)
    job.tmp_dir.mkdir(parents=True)
    trace = job.tmp_dir / "tables.txt"
    trace.touch()
    return trace


def kernel_key(notebooks: Path, ctx: JobContext) -> str:
    """What a kernel's start fixes (working folder, build date, environment): a spare serves only jobs with the same key."""
    return json.dumps([str(notebooks), ctx.build_date, sorted(ctx.env.items())])


def kernel_env(ctx: JobContext) -> dict[str, str]:
    """The environment a spare kernel starts with: this process's, the job context's and the build date (no per-job files)."""
    merged = {**os.environ, **ctx.env, env.BUILD_DATE: ctx.build_date}
    return {k: v for k, v in merged.items() if k not in (env.TRACE, env.JUPYTER_RUNTIME_DIR, "TMPDIR")}


def _spare_runtime(reports: Path) -> str:
    return str(reports / ".tmp" / f"worker-{os.getpid()}")


def prewarm(notebooks: Path, reports: Path, ctx: JobContext, formats: tuple[str, ...] = ()) -> None:
    """Start this worker's first kernel ahead of its first job (run by :meth:`Executor.prestart`), then, while
    the kernel starts, ready the renderers the job will use (imports, templates, the chart bundle).

    Its stderr, and the kernel's for good, go to a file in the worker's staging folder, out of the build's output.
    """
    if not ctx.warm_kernels or SpareKernel.waiting():
        return
    runtime = _spare_runtime(reports)
    with _stderr_to(Path(runtime) / "kernel.stderr.log"):
        SpareKernel.start(kernel_key(notebooks, ctx), str(notebooks), kernel_env(ctx), runtime, ctx.warm_up)
        from rare_earth_lib.build import render

        saved = {k: os.environ.get(k) for k in ctx.env}
        os.environ.update(ctx.env)  # where the cached chart bundle is
        try:
            render.warm_up(formats)
        except Exception:  # best effort: the job renders all the same
            pass
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@contextlib.contextmanager
def _job_environment(job: Job, ctx: JobContext, trace: Path):
    """The job's environment for papermill and its kernel, restored afterwards.

    Kernel connection files and the kernel's temporary files live in the staging folder, so a killed
    build leaves nothing behind that the next build does not remove.
    """
    saved_env = {k: os.environ.get(k) for k in (env.TRACE, env.BUILD_DATE, env.JUPYTER_RUNTIME_DIR, "TMPDIR", *ctx.env)}
    runtime = job.tmp_dir / "runtime"
    runtime.mkdir()
    os.environ.update(ctx.env)
    os.environ.update(
        {env.TRACE: str(trace), env.BUILD_DATE: ctx.build_date, env.JUPYTER_RUNTIME_DIR: str(runtime), "TMPDIR": str(runtime)}
    )
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(runtime)
    try:
        yield
    finally:
        tempfile.tempdir = saved_tempdir
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _execute_on_kernel(
    job: Job, ctx: JobContext, executed: Path, trace: Path, failed: Callable[..., Staged], timings: dict[str, float]
) -> tuple[Staged | None, Path]:
    """Run the notebook on this worker's spare kernel if it has one for this job, else on a new one; then start the
    next job's spare. Returns (the failed result or None, the trace file the kernel wrote)."""
    key = kernel_key(job.notebook.parent, ctx)
    spare = SpareKernel.take(key)  # kept from this worker's previous job, or started before its first
    if spare is not None:
        trace = Path(spare[1])
    outcome: Staged | None = None
    finished = False
    try:
        with _job_environment(job, ctx, trace):
            outcome = _execute_notebook(job, ctx, executed, failed, timings, km=spare[0] if spare else None)
        timings["warm_kernel"] = spare is not None
        timings["kernel_earlier_jobs"] = spare[2] if spare is not None else 0
        finished = outcome is None
    finally:
        kept = False
        if spare is not None:
            next_job = ctx.warm_kernels and job.warm_next and finished
            kept = next_job and SpareKernel.keep(spare[0], key, spare[1], spare[2] + 1)
            if not kept:
                SpareKernel.shutdown(spare[0])
        if ctx.warm_kernels and job.warm_next and not kept:
            SpareKernel.start(key, str(job.notebook.parent), kernel_env(ctx), _spare_runtime(job.reports), ctx.warm_up)
    return outcome, trace


def _render(job: Job, nb: Any, title: str, executed: Path, timings: dict[str, float]) -> dict[str, Path | bytes]:
    """The staged files: the executed notebook, and the HTML page and PDF from one export (``html_s``, ``pdf_s``)."""
    from rare_earth_lib.build import render

    files: dict[str, Path | bytes] = {"ipynb": executed}
    t0 = time.perf_counter()
    page, static = render.pages(nb, title, html="html" in job.formats, pdf="pdf" in job.formats)
    if page is not None:
        files["html"] = job.tmp_dir / f"{job.briefing}.html"
        files["html"].write_text(page, encoding="utf-8")
        timings["html_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()  # a PDF-only build counts the export in pdf_s
    if static is not None:
        files["pdf"] = job.tmp_dir / f"{job.briefing}.pdf"
        render.to_pdf(static, files["pdf"])
        timings["pdf_s"] = round(time.perf_counter() - t0, 3)
    return files


def _manifest(job: Job, ctx: JobContext, inputs: dict, files: dict[str, Path | bytes], timings: dict[str, float]) -> dict:
    """The job's manifest (without its metrics): what was built, from what, with which tools, how fast."""
    return {
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
            fmt: {"file": job.output(fmt).name, "bytes": path.stat().st_size, "sha256": sha256_file(path)} for fmt, path in files.items()
        },
        "timings": timings,
    }


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

    def on_notebook_start(notebook: Any, **_: Any) -> None:
        running["notebook"] = notebook  # the notebook as it executes, written out if the run stops without papermill's own write

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
            # papermill would write the whole notebook before and after every cell (a tenth of a second to a third per
            # briefing, while the kernel waits); it is written once at the end, or on failure (papermill's own write
            # of a failing cell, else _keep_partial)
            request_save_on_cell_execute=False,
            on_notebook_start=on_notebook_start,
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
        _keep_partial(running, executed)
        where = _cell_label(job, executed, running)
        return failed(f"{job.name}: {where} timed out after {ctx.cell_timeout} s (--cell-timeout); {{kept}}", executed, tb=_format_tb())
    except OSError as exc:
        return failed(f"{job.name}: {_os_error(exc)}; {{kept}}", executed, "environment", _format_tb())
    except Exception as exc:  # kernel died, bad notebook JSON ...
        _keep_partial(running, executed)
        text = str(exc).strip()
        first = clip(text.splitlines()[0], 300) if text else ""
        where = f" while running {_cell_label(job, executed, running)}" if running else ""
        return failed(f"{job.name}: {type(exc).__name__}{where}: {first}; {{kept}}", executed, tb=_format_tb())
    return None


def _keep_partial(running: dict[str, Any], executed: Path) -> None:
    """Write the notebook as far as it ran (outputs so far, the running cell last) where papermill wrote nothing."""
    if "notebook" not in running or executed.exists():
        return
    import nbformat

    with contextlib.suppress(Exception):  # best effort: the error message names the cell all the same
        nbformat.write(running["notebook"], str(executed))


def _cell_timings(nb: Any) -> dict[str, float]:
    """Seconds in the notebook's cells as papermill recorded them: the first code cell after the parameters as
    ``first_cell_s`` (imports and parameter validation and, in a thin notebook, the one call that runs the model),
    all cells as ``cells_s``."""
    durations, first = [], None
    for cell in nb.cells:
        duration = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        tags = cell.get("metadata", {}).get("tags") or []
        if cell.cell_type != "code" or not isinstance(duration, (int, float)):
            continue
        durations.append(duration)
        if first is None and not {"parameters", "injected-parameters"} & set(tags):
            first = duration
    return {"first_cell_s": round(first or 0.0, 3), "cells_s": round(sum(durations), 3)}


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
    with _stderr_to(job.reports / ".logs" / f"{job.scenario}__{job.briefing}.stderr.log"):
        return execute_job(job, ctx)


@contextlib.contextmanager
def _stderr_to(path: Path):
    """File descriptor 2 (this process's and its new children's stderr) pointed at ``path`` (unchanged if it cannot be opened)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sink = open(path, "wb")  # noqa: SIM115 - closed below
    except OSError:
        yield
        return
    saved = os.dup(2)
    with sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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

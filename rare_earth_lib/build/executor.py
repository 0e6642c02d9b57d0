"""How build jobs run: the executor seam, and processes that cannot outlive the build.

The seam
--------
A build hands each job to an :class:`Executor`. Wherever the job runs, it runs
``jobs.execute_job(job, context)``, which executes the notebook and renders it into a private staging
folder and returns a :class:`jobs.Staged` result: the staged files (paths on a shared file system, or
their bytes after :meth:`jobs.Staged.as_bytes`), the manifest, the parameters the notebook recorded,
or the error. **A job never writes under** ``reports/<scenario>/``. The main process, which alone holds
``reports/.build.lock``, checks each result and publishes it with ``jobs.publish`` (atomic renames,
the manifest last). An executor therefore only has to move jobs out and results back:

- :class:`LocalExecutor` (the default): a pool of local worker processes. Each worker asks the kernel to
  kill it when the main process dies (``prctl(PR_SET_PDEATHSIG)``), and starts its notebook kernels the
  same way, so a ``kill -9`` of the build takes the workers and kernels with it.
- a distributed executor (for example Dask) runs ``execute_job(...).as_bytes()`` on its workers and
  yields the results to the same publishing loop.

:meth:`Executor.abort` stops every running job at once (used on SIGTERM/SIGINT and ``--fail-fast``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rare_earth_lib import env as renv

PR_SET_PDEATHSIG = 1

#: Run in a new kernel process before it becomes the kernel: die with the parent (the worker), then exec.
_GUARD = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``sig`` to this process when its parent exits; exit now if it already has.

    Elsewhere (no ``prctl``) this only checks the parent; kernels then rely on ipykernel's own parent poller.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def guarded_kernel_cmd(cmd: list[str]) -> list[str]:
    """Wrap a kernel's command line so the kernel is killed when the process starting it dies."""
    return [sys.executable, "-c", _GUARD, str(os.getpid()), *cmd]


def kernel_manager_class() -> type:
    """nbclient's (asynchronous) kernel manager, whose kernels die with the process that started them."""
    from jupyter_client.manager import AsyncKernelManager

    class GuardedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return guarded_kernel_cmd(super().format_kernel_cmd(extra_arguments))

    return GuardedKernelManager


def warm_up_code(notebooks: Iterable[Path]) -> str:
    """What a spare kernel runs silently as soon as it starts: the import statements of the build's notebooks.

    Each top-level ``import``/``from ... import`` of a code cell of ``notebooks`` (the briefings this build runs) is
    run once, each on its own so that one failing import leaves the rest warm (the briefing's own cell then fails as
    it would on a cold kernel, naming the module). The imports are what a briefing's start costs (pandas, Altair,
    the library's models: scipy.stats alone takes about a second), and a build of small briefings imports only what
    they use. vl-convert's first conversion (0.35 CPU s) is not warmed: chart SVGs are cached by specification, so
    a rebuild mostly draws none and the kernel would pay it for nothing. Everything runs in a throwaway namespace,
    so the job still starts from a clean user namespace. A cell that is not plain Python (a magic) adds nothing.
    """
    import ast

    import nbformat

    statements: dict[str, None] = {}
    for path in notebooks:
        try:
            cells = nbformat.read(path, as_version=4).cells
        except Exception:  # the job itself reports an unreadable notebook
            continue
        for cell in cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__"):
                    statements[ast.unparse(node)] = None
    body = "".join(f"try:\n    {line}\nexcept Exception:\n    pass\n" for line in statements)
    return "exec(compile(" + repr(body) + ", '<warm-up>', 'exec'), {})"


#: Run in a kept kernel before its next job: a new session of the interactive shell, whose user namespace holds only
#: what a new kernel's does (the imported modules stay loaded), and whose execution count starts again at 1.
RESET = "get_ipython().reset(new_session=True)"

#: Set to 0 to start every job's kernel cold (the benchmark and a test compare both).
WARM_KERNELS_ENV = renv.WARM_KERNELS


class SpareKernel:
    """The kernel this worker's next job runs on: started ahead with the build's :func:`warm_up_code` running in it, or kept from
    the job before.

    A kernel that ran a job to the end is kept for the next one (:meth:`keep`): its user namespace is reset to a
    new session (every name the briefing defined is gone, the execution count starts again at 1) and its trace
    file emptied, while the imported modules stay loaded, so the imports and the kernel's start-up are paid
    once per worker rather than once per job. A job that failed or timed out leaves its kernel to be shut down
    and a fresh one started. The kernel's environment is fixed when it starts, so each kernel has its own trace
    file, and a kernel is used only by a job with the same working folder and environment (``key``).
    """

    _spare: tuple[Any, Any, str, str, int] | None = None  # (manager, client, key, trace path, jobs already run)

    @classmethod
    def enabled(cls) -> bool:
        return os.environ.get(WARM_KERNELS_ENV, "1") != "0"

    @classmethod
    def waiting(cls) -> bool:
        """Whether this worker already holds a spare kernel."""
        return cls._spare is not None

    @classmethod
    def take(cls, key: str) -> tuple[Any, str, int] | None:
        """The spare kernel, its trace file and the number of jobs it ran before, if it is for ``key`` and alive; else None."""
        from jupyter_core.utils import run_sync

        spare, cls._spare = cls._spare, None
        if spare is None:
            return None
        km, kc, spare_key, trace, runs = spare
        with contextlib.suppress(Exception):
            kc.stop_channels()
        if spare_key == key and run_sync(km.is_alive)():
            with contextlib.suppress(OSError):
                open(trace, "w").close()  # the table reads of the job about to run, not of the one before
            return km, trace, runs
        cls.shutdown(km)
        return None

    @classmethod
    def keep(cls, km: Any, key: str, trace: str, runs: int) -> bool:
        """Keep ``km``, which has just run its ``runs``-th job to the end, for this worker's next job, with :data:`RESET`
        queued in it (its trace file is emptied when the next job takes it). False (and nothing kept) when that cannot be done."""
        from jupyter_core.utils import run_sync

        if not cls.enabled():
            return False
        try:
            if not run_sync(km.is_alive)():
                return False
            kc = km.client()
            kc.start_channels()
            kc.execute(RESET, silent=True, store_history=False)  # queued ahead of the next job's cells
        except Exception:
            return False
        cls._spare = (km, kc, key, trace, runs)
        return True

    @classmethod
    def start(cls, key: str, cwd: str, env: dict[str, str], runtime: str, warm_up: str = "") -> None:
        """Start the next job's kernel now (best effort: a failure leaves the next job to start one itself)."""
        from jupyter_core.utils import run_sync

        if not cls.enabled():
            return
        try:
            os.makedirs(runtime, exist_ok=True)
            stamp = f"{os.getpid()}-{time.monotonic_ns()}"
            trace = os.path.join(runtime, f"trace-{stamp}.txt")
            open(trace, "w").close()
            km = kernel_manager_class()(kernel_name="python3", connection_file=os.path.join(runtime, f"kernel-{stamp}.json"))
            kernel_env = {**env, renv.TRACE: trace, renv.JUPYTER_RUNTIME_DIR: runtime, "TMPDIR": runtime}
            run_sync(km.start_kernel)(cwd=cwd, env=kernel_env)
            kc = km.client()
            kc.start_channels()
            if warm_up:
                kc.execute(warm_up, silent=True, store_history=False)  # queued; runs while this worker renders
        except Exception:
            return
        cls._spare = (km, kc, key, trace, 0)

    @staticmethod
    def shutdown(km: Any) -> None:
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            run_sync(km.shutdown_kernel)(now=True)


def _worker_init(parent_pid: int) -> None:
    """Pool worker start-up: die with the main process; leave Ctrl-C to the main process."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class JobOrder:
    """Which pending job a free worker starts next; told each outcome as it comes back. This one keeps the given order."""

    def choose(self, pending: list) -> int:
        """The index in ``pending`` (never empty) of the job to start next."""
        return 0

    def learn(self, job: Any, outcome: Any) -> None:
        """``job`` ended with ``outcome`` (its result, or the exception that stopped it)."""

    def starting(self, job: Any, remaining: int) -> Any:
        """The job as it is handed to a worker, with ``remaining`` jobs still to start after it."""
        return job


class Executor:
    """Runs jobs somewhere and yields ``(job, result or exception)`` as they finish, in any order.

    ``order`` picks the next job to start where the executor hands out jobs one at a time (local pools); a
    cluster's scheduler places jobs itself.
    """

    order: JobOrder = JobOrder()

    def prestart(self, fn: Callable[..., Any], *args: Any) -> None:
        """Start the workers now and run ``fn(*args)`` in them (best effort), before :meth:`run` hands out jobs.

        The build uses it to start each worker's first kernel while the main process still validates the data.
        """

    def run(self, fn: Callable[..., Any], jobs: list, *args: Any) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def cancel_pending(self) -> None:
        """Start no further jobs; running jobs finish."""

    def abort(self) -> None:
        """Stop everything now: running jobs and their kernels are killed."""

    def close(self) -> None:
        """Release the workers (after :meth:`run` is exhausted or :meth:`abort`)."""


class LocalExecutor(Executor):
    """A pool of ``workers`` local processes (spawned, so nothing of the main process is shared).

    A job starts only when a worker is free, so the order can still use what the jobs already finished tell
    it (:class:`JobOrder`): no long job need start last while the other workers run out of work.
    """

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, Any] = {}
        self._pending: list = []

    def _start_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
        return self._pool

    def prestart(self, fn: Callable[..., Any], *args: Any) -> None:
        pool = self._start_pool()
        for _ in range(self.workers):
            pool.submit(fn, *args)

    def _submit(self, pool: cf.ProcessPoolExecutor, fn: Callable[..., Any], args: tuple) -> list[tuple[Any, Exception]]:
        """Start pending jobs on the free workers; a pool that can take no more (a worker died) fails the rest."""
        while self._pending and len(self._futures) < self.workers:
            index = self.order.choose(self._pending)
            job = self.order.starting(self._pending[index], len(self._pending) - 1)
            try:
                future = pool.submit(fn, job, *args)
            except (cf.process.BrokenProcessPool, RuntimeError) as exc:
                failed, self._pending = self._pending, []
                return [(other, exc) for other in failed]
            self._pending.pop(index)
            self._futures[future] = job
        return []

    def run(self, fn: Callable[..., Any], jobs: list, *args: Any) -> Iterator[tuple[Any, Any]]:
        pool = self._pool = self._start_pool()
        self._pending, self._futures = list(jobs), {}
        yield from self._submit(pool, fn, args)
        while self._futures:
            done, _ = cf.wait(self._futures, return_when=cf.FIRST_COMPLETED)
            for future in done:
                job = self._futures.pop(future)
                if future.cancelled():
                    continue
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker died (killed, out of memory) or the result did not come back
                    outcome = exc
                self.order.learn(job, outcome)
                refused = self._submit(pool, fn, args)  # the freed worker starts its next job before this one is published
                yield job, outcome
                yield from refused

    def cancel_pending(self) -> None:
        self._pending = []
        for future in self._futures:
            future.cancel()

    def abort(self) -> None:
        if self._pool is None:
            return
        self.cancel_pending()
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        for process in processes:
            with contextlib.suppress(OSError, ValueError):
                process.kill()  # its kernels get SIGKILL from their parent-death signal
        for process in processes:
            process.join(timeout=5)
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


EXECUTORS: dict[str, Callable[[int], Executor]] = {"local": LocalExecutor}


def make_executor(name: str = "local", workers: int = 1, scheduler: str | None = None) -> Executor:
    """The executor called ``name`` (``local`` by default) with ``workers`` workers; with a Dask ``scheduler``
    address, the jobs run on that cluster instead (:mod:`rare_earth_lib.build.dask_executor`)."""
    if scheduler:
        from rare_earth_lib.build.dask_executor import DaskExecutor

        return DaskExecutor(scheduler)
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
    return EXECUTORS[name](workers)

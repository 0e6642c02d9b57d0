"""Build jobs on a Dask cluster: each worker executes and renders a briefing and hands back the bytes.

``rare-earth-report build --scheduler tcp://host:8786`` (or ``DASK_SCHEDULER_ADDRESS``) runs the same unit of
work as a local build (``jobs._run_in_worker`` -> ``jobs.execute_job``) on the cluster's workers. A
worker shares no disk with the client: the notebook travels as bytes, the job runs in a temporary folder on
the worker, and the staged files come back as bytes (``Staged.as_bytes``). The main process, which alone
holds the build lock, publishes them with the same atomic rules, cache keys, manifests and exit codes as a
local build.
Connecting gives up after ``RARE_EARTH_DASK_TIMEOUT`` seconds (default 30; a bad value is bad input, exit 2).

Before any job is sent, every worker's installed ``rare_earth_lib`` (code, templates and data) must hash to
the client's; otherwise the build stops with one line naming the workers that differ, and nothing is
published.
"""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib.build.executor import Executor
from rare_earth_lib.build.state import BuildInputError
from rare_earth_lib.models import dask_workers


class ClusterError(OSError):
    """The cluster cannot be used: unreachable scheduler, no workers, or workers with another library."""


def run_remote(fn: Callable[..., Any], job: Any, notebook: bytes, *args: Any) -> Any:
    """On a worker: run ``fn(job, *args)`` with the job's notebook and staging in a private temporary folder.

    Returns:
        The job's ``Staged`` result with every file read into memory.
    """
    with tempfile.TemporaryDirectory(prefix="rare-earth-build-") as tmp:
        root = Path(tmp)
        (root / "notebooks").mkdir()
        local_notebook = root / "notebooks" / job.notebook.name
        local_notebook.write_bytes(notebook)
        local = dataclasses.replace(job, notebook=local_notebook, reports=root / "reports", previous=None)
        return fn(local, *args).as_bytes()


class DaskExecutor(Executor):
    """Runs build jobs on the Dask scheduler at ``address``; yields ``(job, Staged or exception)`` as they finish."""

    def __init__(self, address: str):
        self.address = address
        try:
            self.timeout_s = env.dask_timeout_s()  # how long connecting may take (RARE_EARTH_DASK_TIMEOUT, default 30 s)
        except ValueError as exc:
            raise BuildInputError(str(exc)) from None
        self._client: Any = None
        self._futures: dict[Any, Any] = {}

    def connect(self) -> Any:
        """Connect to the scheduler and check the workers' library (raises :class:`ClusterError`)."""
        from distributed import Client

        dask_workers.quiet_dask()
        try:
            self._client = Client(self.address, timeout=self.timeout_s)
        except (OSError, ValueError) as exc:
            raise ClusterError(f"Dask scheduler {self.address}: cannot connect ({type(exc).__name__}: {exc})") from None
        try:
            dask_workers.check_workers(self._client)
        except (dask_workers.LibraryMismatchError, RuntimeError, TimeoutError) as exc:
            self.close()
            raise ClusterError(f"Dask scheduler {self.address}: {exc}") from None
        return self._client

    def run(self, fn: Callable[..., Any], jobs: list, *args: Any) -> Iterator[tuple[Any, Any]]:
        from distributed import as_completed

        client = self._client or self.connect()
        run_id = uuid.uuid4().hex[:8]
        self._futures = {}
        for job in jobs:
            future = client.submit(
                run_remote, fn, job, job.notebook.read_bytes(), *args, key=f"build-{job.scenario}-{job.briefing}-{run_id}", retries=1
            )
            self._futures[future] = job
        for future in as_completed(list(self._futures)):
            job = self._futures[future]
            if future.cancelled():
                continue
            try:
                yield job, future.result()
            except Exception as exc:  # the task raised, or its worker died more often than the retries allow
                yield job, exc

    def cancel_pending(self) -> None:
        pending = [f for f in self._futures if f.status == "pending"]
        if pending and self._client is not None:
            self._client.cancel(pending)

    def abort(self) -> None:
        if self._client is not None and self._futures:
            self._client.cancel(list(self._futures), force=True)
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

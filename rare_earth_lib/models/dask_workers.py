"""Dask workers: refuse those whose installed library differs from the client's, and keep Dask's log chatter quiet.

Used by scenario discovery's client and by the build's cluster executor. Kept apart from ``models/discovery`` and
free of pandas, so that a build on a cluster does not import the discovery and timeline models (about a second of
CPU) only to check its workers.
"""

from __future__ import annotations

import logging
from typing import Any

from rare_earth_lib.models.fingerprint import library_hash


class LibraryMismatchError(RuntimeError):
    """A Dask worker runs a different ``rare_earth_lib`` than the client."""


def quiet_dask() -> None:
    """Keep the distributed library's log chatter (nanny restarts, closed connections) out of notebooks and builds."""
    for name in ("distributed", "distributed.worker", "distributed.nanny", "distributed.scheduler", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)


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
    # not scenario discovery with the timeline model and scipy (about a second of CPU per worker process).
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

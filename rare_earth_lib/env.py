"""Every environment variable the project reads or sets, named once.

The build sets some of them for its kernels; an operator may set the others. Modules import the
names from here instead of spelling the strings.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

DATA_DIR = "RARE_EARTH_DATA_DIR"
"""An alternative data-package folder (tests and forks of the data); default: the shipped package."""

TRACE = "RARE_EARTH_TRACE"
"""A file to which every table load appends the table's name (the build records what a briefing read)."""

DATA_VALIDATED = "RARE_EARTH_DATA_VALIDATED"
"""The digest of a package the build validated in full; kernels skip the Frictionless pass while it matches."""

BUILD_DATE = "RARE_EARTH_BUILD_DATE"
"""The build date (ISO) every briefing of one build shows; default: today."""

CACHE_DIR = "RARE_EARTH_CACHE_DIR"
"""Where computed results are cached across builds (discovery evaluations, the offline chart bundle)."""

VEGA_BUNDLE = "RARE_EARTH_VEGA_BUNDLE"
"""A ready offline Vega bundle to use instead of building or reading the cached one."""

SHARED_RESULTS = "RARE_EARTH_SHARED_RESULTS"
"""A folder where the kernels of one build share model results they all need (set by the build; see models/shared.py)."""

WARM_KERNELS = "RARE_EARTH_WARM_KERNELS"
"""``0`` turns off pre-started kernels in local builds."""

EVALUATE_IN_KERNEL = "RARE_EARTH_EVALUATE_IN_KERNEL"
"""``1``: scenario discovery evaluates its futures in the kernel instead of starting a local Dask cluster. A local
build sets it when its workers already keep every core busy (a cluster's start-up would only add work); a Dask
scheduler address, when given, still wins. The results do not depend on where the futures run."""

DASK_SCHEDULER = "DASK_SCHEDULER_ADDRESS"
"""Address of a Dask scheduler (``tcp://host:8786``): builds and scenario discovery run there."""

DASK_TIMEOUT = "RARE_EARTH_DASK_TIMEOUT"
"""Seconds a Dask client waits to reach its scheduler before giving up (``build --scheduler`` and scenario discovery);
default: 30 (:data:`DEFAULT_DASK_TIMEOUT_S`). Read by :func:`dask_timeout_s`."""

DEFAULT_DASK_TIMEOUT_S = 30.0

JOBS = "RARE_EARTH_JOBS"
"""How many briefings a local build runs at once when ``build --jobs`` is not given; default: the number of cores.
For a machine shared with other work (a CI runner, a container given fewer cores than the host has). Read by
:func:`build_jobs`."""

JUPYTER_RUNTIME_DIR = "JUPYTER_RUNTIME_DIR"
"""Jupyter's folder for kernel connection files; the build points it into the job's staging folder."""


def cache_root() -> Path:
    """The project's cache folder: ``$RARE_EARTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/rare-earth-briefings``."""
    base = os.environ.get(CACHE_DIR)
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rare-earth-briefings"


def dask_timeout_s() -> float:
    """Seconds a Dask client waits for its scheduler: ``$RARE_EARTH_DASK_TIMEOUT``, else 30 (unset or empty).

    Raises:
        ValueError: one line naming the variable when its value is not a finite number of seconds above zero.
    """
    text = os.environ.get(DASK_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_DASK_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(
            f"{DASK_TIMEOUT}={shown!r}: expected the seconds a Dask client waits for its scheduler, a number above 0 "
            f"(default {DEFAULT_DASK_TIMEOUT_S:g})"
        )
    return seconds


def build_jobs() -> int | None:
    """The briefings a local build runs at once by default: ``$RARE_EARTH_JOBS``, else None (unset or empty: one per core).

    Raises:
        ValueError: one line naming the variable when its value is not a whole number of at least 1.
    """
    text = os.environ.get(JOBS, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"{JOBS}={shown!r}: expected how many briefings a build runs at once, a whole number of at least 1")
    return int(text)

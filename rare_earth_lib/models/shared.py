"""Model results that several briefings of one build need, computed once per build and shared through files.

The build points ``RARE_EARTH_SHARED_RESULTS`` at a folder under its staging area (removed when the build
ends); every kernel of the build reads and writes it. A result is stored under the SHA-256 of everything it
depends on: the kind of result, the inputs the caller names (parameters as validated JSON, tables by
content), the library's model, parameter and data code, and the versions of the numerical packages. It is
written to a temporary file and renamed into place, and a file lock per key makes a second kernel that
wants the same result wait for the first instead of computing it again. Without the variable (a notebook
run by hand, papermill, the tests) :func:`cached` just computes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from rare_earth_lib import env

T = TypeVar("T")

_CODE = ("models", "parameters", "data", "domain.py")
"""Parts of the library whose code keys every shared result (the data tables count through the inputs)."""


@lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of the library code a model result depends on and of the numerical packages' versions."""
    from importlib import metadata

    from rare_earth_lib.models.fingerprint import library_hash

    versions = {name: metadata.version(name) for name in ("numpy", "pandas", "scipy", "pydantic")}
    return hashlib.sha256(json.dumps([library_hash(_CODE, tables=False), versions], sort_keys=True).encode()).hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a table: its columns, dtypes, index and values."""
    h = hashlib.sha256(json.dumps([list(map(str, frame.columns)), list(map(str, frame.dtypes))]).encode())
    h.update(pd.util.hash_pandas_object(frame.astype("string"), index=True).to_numpy().tobytes())
    return h.hexdigest()


def key(kind: str, inputs: Any) -> str:
    """The content address of a ``kind`` result computed from ``inputs`` (JSON-serialisable) with this code."""
    return hashlib.sha256(json.dumps([kind, inputs, code_hash()], sort_keys=True, default=str).encode()).hexdigest()


def folder() -> Path | None:
    """The build's shared-results folder, or None outside a build."""
    value = os.environ.get(env.SHARED_RESULTS)
    return Path(value) if value else None


def cached(kind: str, inputs: Any, compute: Callable[[], T]) -> T:
    """``compute()``, or the result a kernel of this build already computed from the same inputs with the same code.

    Args:
        kind: what is computed (a file-name-safe word; results of one kind share a sub-folder).
        inputs: everything the result depends on besides the library code, as JSON-serialisable data.
        compute: computes the result (picklable) when it is not stored yet.
    """
    directory = folder()
    if directory is None:
        return compute()
    from filelock import FileLock

    path = directory / kind / f"{key(kind, inputs)}.pickle"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path.with_suffix(".lock")))
        lock.acquire()
    except OSError:
        return compute()
    try:
        stored = _read(path)
        if stored is not None:
            return stored[0]
        value = compute()
        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, path)
        return value
    finally:
        lock.release()


def _read(path: Path) -> tuple[Any] | None:
    """The stored result as a 1-tuple, or None when there is none or it cannot be read (then it is computed again)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return (pickle.loads(data),)
    except Exception:  # a damaged or foreign file: recompute and overwrite
        return None

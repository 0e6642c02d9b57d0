"""The library's fingerprint: one hash of the installed ``rare_earth_lib`` files, with its scope chosen by the caller.

It lives in ``models`` because that is the lowest layer that needs it (scenario discovery keys its cache on it and
refuses Dask workers whose library differs); the build imports it from here for its cache keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The installed ``rare_earth_lib`` package."""


def library_hash(
    parts: Sequence[str] | None = None,
    root: Path = PACKAGE_DIR,
    exclude: Sequence[str] = (),
    *,
    tables: bool = True,
) -> str:
    """SHA-256 over the relative path and bytes of the package's files.

    Scope: every file under ``root`` (Python code, Jinja templates and CSS, the data package's descriptor and
    README and, unless ``tables=False``, its CSV tables), or only under the sub-paths ``parts``; ``__pycache__``
    and ``.pyc`` files and the sub-paths in ``exclude`` (a folder leaves out everything under it) are left out.
    Nothing outside the package counts: not the notebooks, the params files or the installed dependencies
    (callers record package versions separately).

    The callers' scopes:
        * the build's cache key: ``tables=False``, because the build hashes each table a briefing read on its own
          (a change to a table the briefing never read does not rebuild it);
        * the Dask worker check: the whole package, tables included;
        * the discovery evaluation cache: the ``parts`` the evaluation runs, minus ``models/discovery``.

    Args:
        parts: sub-paths of the package to hash (default: all of it).
        root: the package directory.
        exclude: sub-paths left out.
        tables: include the data tables (``*.csv``).
    """
    digest = hashlib.sha256()
    bases = [root] if parts is None else [root / part for part in parts]
    files: list[Path] = []
    for base in bases:
        files.extend([base] if base.is_file() else sorted(base.rglob("*")))
    for path in sorted(files):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc" or (not tables and path.suffix == ".csv"):
            continue
        relative = path.relative_to(root).as_posix()
        if any(relative == part or relative.startswith(part.rstrip("/") + "/") for part in exclude):
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()

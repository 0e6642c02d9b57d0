"""The build's vocabulary (exit codes, formats, errors) and its state on disk: content hashes, atomic writes, staging, manifests."""

from __future__ import annotations

import concurrent.futures as cf  # noqa: F401 - tests patch cf.ProcessPoolExecutor to prove no pool starts
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from rare_earth_lib import env
from rare_earth_lib.models.fingerprint import PACKAGE_DIR
from rare_earth_lib.parameters import clip

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


MANIFEST_SCHEMA = 1


class BuildInputError(Exception):
    """Bad input found before anything ran (exit code 2)."""


class LockedError(Exception):
    """Another build holds the lock (exit code 3)."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


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

"""Loader for the sourced rare-earth data package (``rare_earth_lib/data``).

``load(name)`` returns a typed, validated pandas DataFrame for one table of the
Frictionless Data Package described by ``datapackage.json``:

1. Schema validation with ``frictionless`` (types, required, enum, minimum and
   maximum, pattern, primary and foreign keys). Measured: about 0.25 s for the
   whole package on a warm interpreter, so it is used on every cold load.
2. Strict typing with pandas: dates -> ``datetime64`` (NaT when empty),
   booleans -> ``bool``, integers -> ``int64`` (``Int64`` when nullable),
   numbers -> ``float64``, text -> string dtype. Nothing is coerced silently:
   a value that does not parse is an error, never NaN.
3. Cross-row rules (:mod:`rare_earth_lib.data.checks`): unknown source ids, one
   default per key where sources conflict, shares of one stage/year/outlook
   summing above 1, world totals that disagree with their countries beyond
   rounding, first output before FID and other date orders, inverted ranges.

Every failure raises :class:`DataPackageError` (a ``ValueError``) whose message
names the file relative to the repository (``rare_earth_lib/data/projects.csv``;
for a package elsewhere, ``<directory name>/<file>``), the row number as in the
CSV (header = row 1, first data row = row 2), the column and the rule.

Validated tables are cached per process, keyed on the modification time and
size of every file in the package, so repeated loads are cheap. The environment
variable ``RARE_EARTH_DATA_DIR`` points the loader at another package
directory; ``RARE_EARTH_TRACE`` names a file to which every ``load(name)`` call
appends ``name``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from rare_earth_lib import env
from rare_earth_lib.data import checks
from rare_earth_lib.data.checks import DataCheckError

__all__ = [
    "DataPackageError",
    "DEFAULT_DATA_DIR",
    "RARE_EARTH_DATA_DIR",
    "RARE_EARTH_TRACE",
    "REE_SYMBOLS",
    "SHARE_SUM_TOLERANCE",
    "load",
    "as_of",
    "sources_for",
    "split_ids",
    "table_names",
    "descriptor",
    "data_dir",
    "validate_package",
    "package_digest",
    "clear_cache",
]

#: Environment variable naming an alternative package directory.
RARE_EARTH_DATA_DIR = env.DATA_DIR
#: Environment variable naming a file to which ``load`` appends table names.
RARE_EARTH_TRACE = env.TRACE
#: Environment variable holding :func:`package_digest` of a package already validated in full (the build
#: validates once and sets it for its kernels, which then skip the Frictionless pass for unchanged files).
RARE_EARTH_DATA_VALIDATED = env.DATA_VALIDATED
#: The package shipped with the library.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent
DESCRIPTOR_NAME = "datapackage.json"

#: The 17 rare-earth element symbols (lanthanides, Sc, Y).
REE_SYMBOLS = frozenset(["La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Sc", "Y"])
#: Allowance for rounding when published shares are summed (fraction).
SHARE_SUM_TOLERANCE = 0.005
try:  # pandas >= 2.3: the string dtype that pandas 3 uses by default
    _STR_DTYPE = pd.StringDtype(na_value=np.nan)
except TypeError:  # pragma: no cover - older pandas
    _STR_DTYPE = object
_ID_RE = re.compile(r"^[SDE]\d+[a-z]?$")
_MAX_REPORTED = 5


class DataPackageError(DataCheckError):
    """A table of the data package breaks its schema or a cross-row rule.

    Attributes (from :class:`~rare_earth_lib.data.checks.DataCheckError`): ``label``
    (file), ``row`` (CSV row number, header = 1), ``column`` and ``rule``.
    """


_lock = threading.RLock()
_cache: dict[tuple, pd.DataFrame] = {}
_desc_cache: dict[tuple, dict] = {}
_digest_cache: dict[tuple, str] = {}
_fl_cache: dict[tuple, object] = {}


# --------------------------------------------------------------------------- paths


def data_dir(directory: str | os.PathLike | None = None) -> Path:
    """Return the package directory: the argument, else ``$RARE_EARTH_DATA_DIR``, else the shipped one."""
    if directory is None:
        directory = os.environ.get(RARE_EARTH_DATA_DIR) or DEFAULT_DATA_DIR
    path = Path(directory).resolve()
    if not (path / DESCRIPTOR_NAME).is_file():
        raise DataPackageError(_label(path, DESCRIPTOR_NAME), "-", "-", "the package descriptor is missing")
    return path


def _label_dir(path: Path) -> str:
    """Directory label without machine-specific parts."""
    if path == DEFAULT_DATA_DIR:
        return "rare_earth_lib/data"
    try:
        rel = path.relative_to(Path.cwd().resolve())
        if str(rel) not in ("", "."):
            return rel.as_posix()
    except ValueError:
        pass
    return path.name


def _label(directory: Path, filename: str) -> str:
    return f"{_label_dir(directory)}/{filename}"


# --------------------------------------------------------------------------- descriptor


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def descriptor(directory: str | os.PathLike | None = None) -> dict:
    """Return the parsed ``datapackage.json`` (cached on modification time)."""
    d = data_dir(directory)
    path = d / DESCRIPTOR_NAME
    key = (str(path), _stamp(path))
    with _lock:
        if key not in _desc_cache:
            try:
                desc = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DataPackageError(
                    _label(d, DESCRIPTOR_NAME), exc.lineno, "(json)", f"descriptor is not valid JSON: {exc.msg}"
                ) from None
            except UnicodeDecodeError:
                raise DataPackageError(_label(d, DESCRIPTOR_NAME), "-", "(json)", "descriptor is not UTF-8 text") from None
            _check_descriptor(desc, _label(d, DESCRIPTOR_NAME))
            _desc_cache[key] = desc
        return _desc_cache[key]


def _check_descriptor(desc: object, label: str) -> None:
    """The descriptor's shape the loader relies on: resources, each with a name, a path and schema fields."""
    resources = desc.get("resources") if isinstance(desc, dict) else None
    if not isinstance(resources, list) or not resources:
        raise DataPackageError(label, "-", "resources", "descriptor must be an object with a non-empty 'resources' list")
    for i, res in enumerate(resources):
        fields = res.get("schema", {}).get("fields") if isinstance(res, dict) and isinstance(res.get("schema"), dict) else None
        if not (isinstance(res.get("name") if isinstance(res, dict) else None, str) and isinstance(res.get("path"), str)):
            raise DataPackageError(label, "-", f"resources[{i}]", "each resource needs a 'name' and a 'path'")
        if not isinstance(fields, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields):
            raise DataPackageError(label, "-", f"resources[{i}].schema", f"resource {res['name']!r} needs schema.fields with names")


def table_names(directory: str | os.PathLike | None = None) -> list[str]:
    """Names of the tables (resources) in the package, in descriptor order."""
    return [r["name"] for r in descriptor(directory)["resources"]]


def as_of(directory: str | os.PathLike | None = None) -> dt.date:
    """The package's as-of date (``as_of`` property of ``datapackage.json``)."""
    d = data_dir(directory)
    value = descriptor(d).get("as_of")
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DataPackageError(
            _label(d, DESCRIPTOR_NAME), "-", "as_of", f"package as_of {value!r} is not an ISO date (YYYY-MM-DD)"
        ) from None


def _resource(desc: dict, name: str) -> dict:
    for res in desc["resources"]:
        if res["name"] == name:
            return res
    names = ", ".join(r["name"] for r in desc["resources"])
    raise ValueError(f"name: unknown table {name!r}; tables are: {names}")


# --------------------------------------------------------------------------- ids


def split_ids(ids: str) -> list[str]:
    """Split a ``source_ids`` cell such as ``"S1;S68"`` into ``["S1", "S68"]``.

    Args:
        ids: Semicolon-separated source ids.

    Returns:
        The ids in order. An empty string gives an empty list.

    Raises:
        ValueError: If ``ids`` is not a string or an id is malformed (empty part,
            spaces, or not of the form S12, S89f, D29a, E37b).
    """
    if not isinstance(ids, str):
        raise ValueError(f"ids: expected a string like 'S1;S4', got {type(ids).__name__}")
    if ids == "":
        return []
    parts = ids.split(";")
    for p in parts:
        if not _ID_RE.match(p):
            raise ValueError(f"ids: malformed source id {p!r} in {ids!r} (expected e.g. S1, S89f, D29a, E6)")
    return parts


def sources_for(frame_or_ids, directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """Sources used by some rows, for a briefing's source line or appendix.

    Args:
        frame_or_ids: A DataFrame with a ``source_ids`` column (e.g. a filtered
            ``load("projects")``), a single ids string (``"S1;S4"``) or an
            iterable of ids / ids strings.
        directory: Package directory (default: see :func:`data_dir`).

    Returns:
        Rows of ``sources`` (source_id, publisher, title, published, url,
        accessed, grade, note and the other source columns) for the ids used,
        each once, in the order of the sources table.

    Raises:
        ValueError: If the argument has no ``source_ids`` column, or an id is
            malformed or not in the sources table.
    """
    if isinstance(frame_or_ids, pd.DataFrame):
        if "source_ids" not in frame_or_ids.columns:
            raise ValueError("frame_or_ids: DataFrame has no source_ids column")
        cells = [c for c in frame_or_ids["source_ids"].tolist() if isinstance(c, str)]
    elif isinstance(frame_or_ids, str):
        cells = [frame_or_ids]
    elif isinstance(frame_or_ids, Iterable):
        cells = list(frame_or_ids)
    else:
        raise ValueError(f"frame_or_ids: expected a DataFrame, str or iterable, got {type(frame_or_ids).__name__}")
    wanted: set[str] = set()
    for cell in cells:
        wanted.update(split_ids(cell))
    # Traced: a briefing that lists sources must be rebuilt when a source's record changes.
    src = load("sources", directory)
    unknown = sorted(wanted - set(src["source_id"]))
    if unknown:
        raise ValueError(f"frame_or_ids: unknown source ids {unknown}")
    return src[src["source_id"].isin(wanted)].reset_index(drop=True)


# --------------------------------------------------------------------------- loading


def clear_cache() -> None:
    """Drop all cached tables and descriptors (tests use this after editing files)."""
    with _lock:
        _cache.clear()
        _desc_cache.clear()
        _digest_cache.clear()
        _fl_cache.clear()


def _package_stamp(d: Path, desc: dict) -> tuple:
    files = [DESCRIPTOR_NAME] + [r["path"] for r in desc["resources"]]
    return tuple((f, *_stamp(d / f)) for f in files if (d / f).exists())


def load(name: str, directory: str | os.PathLike | None = None, *, trace: bool = True) -> pd.DataFrame:
    """Load one table of the data package as a typed, validated DataFrame.

    Args:
        name: Table name (``projects``, ``mine_production``, ...; see :func:`table_names`).
        directory: Package directory; default ``$RARE_EARTH_DATA_DIR`` or the shipped package.
        trace: Append ``name`` to the ``$RARE_EARTH_TRACE`` file (internal loads pass False).

    Returns:
        A new DataFrame (shallow copy of the cached table; pandas copy-on-write
        keeps the cache intact when the caller modifies it). Columns follow the
        descriptor: dates as ``datetime64[ns]`` (NaT when unknown), booleans as
        ``bool``, integers as ``int64``/``Int64``, numbers as ``float64``, text
        as the pandas string dtype.

    Raises:
        ValueError: If ``name`` is not a table of the package.
        DataPackageError: If the file breaks its schema or a cross-row rule.
    """
    if trace:
        _append_trace(name)
    d = data_dir(directory)
    desc = descriptor(d)
    res = _resource(desc, name)
    key = (str(d), name, _package_stamp(d, desc))
    with _lock:
        hit = _cache.get(key)
        if hit is None:
            hit = _load_uncached(d, desc, res)
            _cache[key] = hit
    return hit.copy(deep=False)


def _append_trace(name: str) -> None:
    target = os.environ.get(RARE_EARTH_TRACE)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")


def _load_uncached(d: Path, desc: dict, res: dict) -> pd.DataFrame:
    label = _label(d, res["path"])
    path = d / res["path"]
    if not path.is_file():
        raise DataPackageError(label, "-", "-", "file listed in datapackage.json is missing")
    _check_header(path, res, label)
    validated = os.environ.get(RARE_EARTH_DATA_VALIDATED)
    if not validated or validated != _digest_cached(d, desc):
        _frictionless_validate(d, res, label)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    frame = _typed(raw, res, label)
    rows = list(range(2, len(frame) + 2))
    try:
        if res["name"] != "sources":
            src = load("sources", d, trace=False)
            checks.check_known_ids(frame, "source_ids", src["source_id"].tolist(), split=split_ids, label=label, rows=rows)
        from rare_earth_lib.data.rules import RULES  # the rules import this module

        rule = RULES.get(res["name"])
        if rule:
            rule(frame, label, rows, d)
    except DataPackageError:
        raise
    except DataCheckError as exc:
        raise DataPackageError(exc.label, exc.row, exc.column, exc.rule) from None
    return frame


# --------------------------------------------------------------------------- schema


def _check_text(path: Path, label: str) -> None:
    """Refuse a byte-order mark, bytes that are not UTF-8 (naming row and column) and a table without data rows."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise DataPackageError(label, 1, "-", "file starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        row = before.count("\n") + 1
        line_start = before.rfind("\n") + 1
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", errors="replace")]), [])
        fields = next(csv.reader([before[line_start:]]), [""])
        index = max(len(fields) - 1, 0)
        column = header[index] if index < len(header) else f"field {index + 1}"
        raise DataPackageError(label, row, column, f"byte 0x{data[exc.start]:02x} is not UTF-8 (save the file as UTF-8)") from None
    if not any(line.strip() for line in text.splitlines()[1:]):
        raise DataPackageError(label, 2, "-", "the table has a header but no data rows")


def _check_header(path: Path, res: dict, label: str) -> None:
    """Name missing and unexpected columns precisely (before frictionless reports positions)."""
    _check_text(path, label)
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    names = [f["name"] for f in res["schema"]["fields"]]
    if header == names:
        return
    missing = [n for n in names if n not in header]
    extra = [h for h in header if h not in names]
    if missing:
        rule = f"column missing from the header (schema fields: {len(names)}, header: {len(header)})"
        raise DataPackageError(label, 1, missing[0], rule + (f"; also missing {missing[1:]}" if missing[1:] else ""))
    if extra:
        raise DataPackageError(label, 1, extra[0], "unexpected column not in the schema")
    first = next(i for i, (a, b) in enumerate(zip(header, names, strict=False)) if a != b)
    raise DataPackageError(label, 1, header[first], f"column out of order: schema expects {names[first]!r} here")


def _frictionless_validate(d: Path, res: dict, label: str) -> None:
    """Validate one resource against its Frictionless schema (incl. primary and foreign keys)."""
    from frictionless import Package  # imported lazily: ~0.2 s

    dpath = d / DESCRIPTOR_NAME
    key = (str(dpath), _stamp(dpath))
    with _lock:
        package = _fl_cache.get(key)
        if package is None:  # parsing the descriptor costs ~35 ms, so keep one per descriptor version
            package = _fl_cache[key] = Package(str(dpath))
    report = package.get_resource(res["name"]).validate(limit_errors=_MAX_REPORTED)
    if report.valid:
        return
    errors = [e for task in report.tasks for e in task.errors] or list(report.errors)
    first = errors[0]
    row = getattr(first, "row_number", None)
    column = getattr(first, "field_name", None) or getattr(first, "label", None)
    etype = getattr(first, "type", "")
    if not column and etype in ("primary-key", "unique-error"):
        column = _join_fields(res["schema"].get("primaryKey", []))
    if not column and etype == "foreign-key" and res["schema"].get("foreignKeys"):
        column = _join_fields(res["schema"]["foreignKeys"][0]["fields"])
    column = column or "-"
    types = {f["name"]: f["type"] for f in res["schema"]["fields"]}
    if row is None and getattr(first, "type", "") in ("extra-label", "missing-label", "duplicate-label", "blank-label", "incorrect-label"):
        row = 1
    rule = _frictionless_rule(first, types.get(column))
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    raise DataPackageError(label, row if row is not None else "-", column, rule + more)


def _join_fields(fields) -> str:
    return ";".join([fields] if isinstance(fields, str) else fields)


def _frictionless_rule(error, field_type: str | None = None) -> str:
    etype = getattr(error, "type", "error")
    cell = getattr(error, "cell", None)
    note = getattr(error, "note", "") or ""
    if etype == "type-error":
        what = {
            "number": "a number",
            "integer": "an integer",
            "boolean": "a boolean (true/false)",
            "date": "an ISO date YYYY-MM-DD that exists",
        }.get(field_type or "", f"of type {field_type}")
        return f"value {cell!r} is not {what} (schema type {field_type})"
    if etype == "constraint-error":
        return f"value {cell!r} breaks a schema constraint: {note}"
    if etype == "missing-cell":
        return "row has fewer cells than the header (missing cell)"
    if etype == "extra-cell":
        return f"row has more cells than the header (extra cell {cell!r})"
    if etype in ("primary-key", "unique-error"):
        return f"duplicate primary key: {note}"
    if etype == "foreign-key":
        return f"foreign key not found in the referenced table: {note}"
    return f"{etype}: {getattr(error, 'message', note)}"


def _typed(raw: pd.DataFrame, res: dict, label: str) -> pd.DataFrame:
    """Convert string columns to the descriptor types; raise on anything that does not parse."""
    fields = res["schema"]["fields"]
    names = [f["name"] for f in fields]
    if list(raw.columns) != names:
        missing = [n for n in names if n not in raw.columns]
        extra = [c for c in raw.columns if c not in names]
        col = (missing or extra or ["(order)"])[0]
        raise DataPackageError(label, 1, col, f"header does not match the schema fields (missing {missing}, unexpected {extra})")
    out = {}
    for f in fields:
        col = raw[f["name"]]
        empty = (col == "").to_numpy()
        required = f.get("constraints", {}).get("required", False)
        if required and empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataPackageError(label, i + 2, f["name"], "value is required but missing")
        out[f["name"]] = _convert(col, empty, f, required, label)
    return pd.DataFrame(out)


def _convert(col: pd.Series, empty: np.ndarray, field: dict, required: bool, label: str) -> pd.Series:
    ftype = field["type"]
    name = field["name"]

    def fail(i: int, what: str):
        raise DataPackageError(label, i + 2, name, f"value {col.iloc[i]!r} is not {what}")

    if ftype == "string":
        # pandas' default string dtype (missing = NaN), so comparisons with missing cells give False
        return col.where(~empty, None).astype(_STR_DTYPE)
    if ftype == "boolean":
        true = set(field.get("trueValues", ["true"]))
        false = set(field.get("falseValues", ["false"]))
        ok = col.isin(true | false).to_numpy() | (empty & (not required))
        if not ok.all():
            fail(int(np.flatnonzero(~ok)[0]), f"a boolean ({'/'.join(sorted(true | false))})")
        if empty.any():
            return col.map(lambda v: True if v in true else (False if v in false else pd.NA)).astype("boolean")
        return col.isin(true).astype(bool)
    if ftype in ("integer", "number"):
        vals = pd.to_numeric(col.where(~empty, None), errors="coerce")
        arr = vals.to_numpy(dtype=float, na_value=np.nan)
        bad = (np.isnan(arr) & ~empty) | np.isinf(arr)
        if ftype == "integer":
            bad |= ~empty & ~col.str.fullmatch(r"-?\d+").to_numpy(dtype=bool)
        if bad.any():
            fail(int(np.flatnonzero(bad)[0]), "an integer" if ftype == "integer" else "a finite number")
        if ftype == "integer":
            return vals.astype("Int64") if empty.any() else vals.astype("int64")
        return vals.astype("float64")
    if ftype == "date":
        ok = empty | col.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)
        if not ok.all():
            fail(int(np.flatnonzero(~ok)[0]), "an ISO date (YYYY-MM-DD)")
        parsed = pd.to_datetime(col.where(~empty, None), format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna().to_numpy() & ~empty
        if bad.any():
            fail(int(np.flatnonzero(bad)[0]), "a valid calendar date")
        return parsed.astype("datetime64[ns]")
    raise DataPackageError(label, 1, name, f"unsupported field type {ftype!r} in the descriptor")


# --------------------------------------------------------------------------- package-level


def package_digest(directory: str | os.PathLike | None = None) -> str:
    """SHA-256 over the descriptor and every table file: equal digests mean byte-identical packages."""
    d = data_dir(directory)
    desc = descriptor(d)
    h = hashlib.sha256()
    for name in [DESCRIPTOR_NAME] + [r["path"] for r in desc["resources"]]:
        path = d / name
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"(missing)")
        h.update(b"\0")
    return h.hexdigest()


def _digest_cached(d: Path, desc: dict) -> str:
    """:func:`package_digest`, computed once per version of the files (same key as the table cache)."""
    key = (str(d), _package_stamp(d, desc))
    with _lock:
        if key not in _digest_cache:
            _digest_cache[key] = package_digest(d)
        return _digest_cache[key]


def validate_package(directory: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """Load every table (all rules) and check that every source is used by some row.

    Args:
        directory: Package directory (default: see :func:`data_dir`).

    Returns:
        Mapping of table name to DataFrame.

    Raises:
        DataPackageError: On the first broken rule, or naming the first source
            row that no table cites.
    """
    d = data_dir(directory)
    tables = {name: load(name, d, trace=False) for name in table_names(d)}
    used: set[str] = set()
    for name, frame in tables.items():
        if name != "sources":
            for cell in frame["source_ids"].tolist():
                used.update(split_ids(cell))
    src = tables["sources"]
    unused = np.flatnonzero(~src["source_id"].isin(used).to_numpy())
    if len(unused):
        i = int(unused[0])
        raise DataPackageError(
            _label(d, "sources.csv"), i + 2, "source_id", f"source {src['source_id'].iloc[i]!r} is not cited by any table"
        )
    return tables

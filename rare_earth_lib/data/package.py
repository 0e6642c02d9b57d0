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
RARE_EARTH_DATA_DIR = "RARE_EARTH_DATA_DIR"
#: Environment variable naming a file to which ``load`` appends table names.
RARE_EARTH_TRACE = "RARE_EARTH_TRACE"
#: Environment variable holding :func:`package_digest` of a package already validated in full (the build
#: validates once and sets it for its kernels, which then skip the Frictionless pass for unchanged files).
RARE_EARTH_DATA_VALIDATED = "RARE_EARTH_DATA_VALIDATED"
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
        rule = _RULES.get(res["name"])
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


# --------------------------------------------------------------------------- cross-row rules


def _require_where(f, mask, column, rule, label, rows):
    """Fail naming ``column`` on the first row where ``mask`` holds and ``column`` is empty."""
    bad = np.asarray(mask, dtype=bool) & f[column].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(label, rows[i], column, rule)


def _fail_where(mask, column, rule, label, rows):
    """Fail naming ``column`` on the first row where ``mask`` holds."""
    bad = np.asarray(mask, dtype=bool)
    if bad.any():
        raise DataPackageError(label, rows[int(np.flatnonzero(bad)[0])], column, rule)


def _rules_mine_production(f, label, rows, d):
    checks.check_one_default(f, ["country", "year"], label=label, rows=rows)
    checks.check_world_total(f, ["usgs_edition", "year"], "tonnes_reo", "is_world_total", label=label, rows=rows)
    bad = np.flatnonzero((f["year"] >= f["usgs_edition"]).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataPackageError(label, rows[i], "year", f"year {f['year'].iloc[i]} is not before usgs_edition {f['usgs_edition'].iloc[i]}")


def _rules_reserves(f, label, rows, d):
    checks.check_one_default(f, ["country"], label=label, rows=rows)
    checks.check_world_lower_bound(f, ["usgs_edition"], "tonnes_reo", "is_world_total", label=label, rows=rows)
    checks.check_any_present(f, ["qualifier"], when="tonnes_reo", label=label, rows=rows)


def _rules_us_salient(f, label, rows, d):
    checks.check_one_default(f, ["metric", "year"], label=label, rows=rows)


def _rules_stage_shares(f, label, rows, d):
    checks.check_range(f, "share", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_one_default(f, ["stage", "region", "year"], label=label, rows=rows)
    checks.check_shares_sum(
        f,
        ["stage", "year", "outlook"],
        "share",
        tolerance=SHARE_SUM_TOLERANCE,
        where=f["region_type"].isin(["country", "bloc"]).to_numpy(),
        label=label,
        rows=rows,
    )
    _check_conflict_groups(f, label, rows)


def _rules_projects(f, label, rows, d):
    num = [
        "capacity_tpa",
        "capacity_high_tpa",
        "ndpr_oxide_tpa",
        "dytb_oxide_tpa",
        "capex_value",
        "capex_high_value",
        "funding_us_musd",
        "funding_japan_musd",
        "funding_australia_musd",
        "funding_other_musd",
    ]
    checks.check_non_negative(f, num, label=label, rows=rows)
    checks.check_not_above(f, "capacity_tpa", "capacity_high_tpa", label=label, rows=rows)
    checks.check_not_above(f, "capex_value", "capex_high_value", label=label, rows=rows)
    checks.check_any_present(f, ["capacity_basis"], when="capacity_tpa", label=label, rows=rows)
    checks.check_any_present(f, ["capex_currency"], when="capex_value", label=label, rows=rows)
    for later in ("first_output_planned_date", "first_output_target_date", "first_output_actual_date"):
        checks.check_dates_ordered(f, "fid_date", later, label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "fid_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "first_output_actual_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "construction_start_date", "first_output_actual_date", label=label, rows=rows)
    _rules_project_capacity_basis(f, label, rows, d)
    checks.check_any_present(f, ["first_output_target_stated_on"], when="first_output_target_date", label=label, rows=rows)
    checks.check_any_present(f, ["fid_target_stated_on"], when="fid_target_date", label=label, rows=rows)
    for column in ("first_output_target_stated_on", "fid_target_stated_on"):
        late = (f[column].dt.date > as_of(d)).fillna(False).to_numpy(dtype=bool)
        _fail_where(late, column, f"a target cannot be stated after the package as-of date {as_of(d).isoformat()}", label, rows)
    funded = (f[["funding_us_musd", "funding_japan_musd", "funding_australia_musd", "funding_other_musd"]].fillna(0) > 0).any(axis=1)
    _require_where(f, funded, "funding_stage", "funding_stage is required when a funding column is above 0", label, rows)
    other = f["funding_other_musd"].fillna(0) > 0
    _require_where(
        f, other, "funding_other_instrument", "funding_other_instrument is required when funding_other_musd is above 0", label, rows
    )
    ndpr_basis = (f["capacity_basis"] == "t_ndpr_oxide").fillna(False).to_numpy(dtype=bool)
    over = ndpr_basis & (f["ndpr_oxide_tpa"] > f["capacity_tpa"]).fillna(False).to_numpy(dtype=bool)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataPackageError(label, rows[i], "ndpr_oxide_tpa", "separated NdPr capacity exceeds the NdPr-basis nameplate capacity_tpa")


#: Capacity columns of the projects table: a row with any of them filled is a capacity row.
_CAPACITY_FIGURES = ("capacity_tpa", "ndpr_oxide_tpa", "dytb_oxide_tpa")


def _rules_project_capacity_basis(f, label, rows, d):
    """Every capacity figure says what it is and where it comes from; every observed output its kind and period."""
    for column in _CAPACITY_FIGURES:
        checks.check_any_present(f, ["capacity_kind"], when=column, label=label, rows=rows)
        checks.check_any_present(f, ["capacity_source_ids"], when=column, label=label, rows=rows)
    for column in ("observed_output_tpa", "observed_output_period"):
        checks.check_any_present(f, ["observed_output_kind"], when=column, label=label, rows=rows)
    for column in ("observed_output_product", "observed_output_start", "observed_output_end", "observed_output_source_ids"):
        checks.check_any_present(f, [column], when="observed_output_kind", label=label, rows=rows)
    checks.check_any_present(f, ["observed_output_method"], when="observed_output_tpa", label=label, rows=rows)
    for column in ("annual_output_year", "annual_output_source_ids", "observed_output_product"):
        checks.check_any_present(f, [column], when="annual_output_tpa", label=label, rows=rows)
    checks.check_dates_ordered(f, "observed_output_start", "observed_output_end", label=label, rows=rows)
    for column in ("capacity_source_ids", "observed_output_source_ids", "annual_output_source_ids"):
        checks.check_known_ids(f, column, load("sources", d, trace=False)["source_id"].tolist(), split=split_ids, label=label, rows=rows)
        checks.check_ids_within(f, column, "source_ids", label=label, rows=rows)
    days = (f["observed_output_end"] - f["observed_output_start"]).dt.days + 1
    kind = f["observed_output_kind"]
    bad = ((kind == "run_rate") & (days > 366)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_kind", f"a run_rate covers part of a year, but the period is {int(days.iloc[i])} days"
        )
    bad = ((kind == "annual_output") & ~days.between(365, 366)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_kind", f"an annual_output covers one whole year, but the period is {days.iloc[i]} days"
        )
    bad = (f["observed_output_end"].dt.date > as_of(d)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_end", f"observed output ends after the package as-of date {as_of(d).isoformat()}"
        )
    bad = (f["observed_output_is_estimate"] & f["observed_output_method"].isna()).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "observed_output_method", "an estimated observed output needs its formula in observed_output_method"
        )


def _rules_build_analogs(f, label, rows, d):
    checks.check_non_negative(
        f,
        [
            "nameplate_tpa",
            "first_year_output_tpa",
            "peak_output_tpa",
            "capex_planned",
            "capex_planned_high",
            "capex_actual",
            "capex_actual_high",
        ],
        label=label,
        rows=rows,
    )
    checks.check_range(f, "first_year_utilisation", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_not_above(f, "capex_planned", "capex_planned_high", label=label, rows=rows)
    checks.check_not_above(f, "capex_actual", "capex_actual_high", label=label, rows=rows)
    checks.check_dates_ordered(f, "decision_date", "actual_first_output_date", label=label, rows=rows)
    checks.check_dates_ordered(f, "decision_date", "planned_first_output_date", label=label, rows=rows)
    checks.check_flag_matches(f, "reached_first_output", "actual_first_output_date", label=label, rows=rows)
    for c in ("capex_planned", "capex_actual"):
        checks.check_any_present(f, ["capex_currency"], when=c, label=label, rows=rows)


def _rules_demand(f, label, rows, d):
    checks.check_non_negative(f, ["tonnes", "tonnes_high"], label=label, rows=rows)
    checks.check_not_above(f, "tonnes", "tonnes_high", label=label, rows=rows)
    checks.check_one_default(f, ["region", "product", "segment", "year"], label=label, rows=rows)
    cased = f["demand_case"].notna().to_numpy()
    checks.check_unique(
        f[cased], ["region", "product", "demand_case"], label=label, rows=[r for r, c in zip(rows, cased, strict=True) if c]
    )
    _check_conflict_groups(f, label, rows)


def _check_conflict_groups(f, label, rows):
    """A conflict needs at least two figures: a conflict_group named on one row only is an error."""
    counts = f["conflict_group"].value_counts()
    lonely = f["conflict_group"].isin(counts[counts < 2].index).to_numpy()
    if lonely.any():
        i = int(np.flatnonzero(lonely)[0])
        raise DataPackageError(
            label,
            rows[i],
            "conflict_group",
            f"conflict_group {f['conflict_group'].iloc[i]!r} names only this row; a conflict needs two figures",
        )


def _rules_prices(f, label, rows, d):
    _require_where(f, f["is_estimate"], "method", "an estimated price needs its formula in method", label, rows)
    _check_conflict_groups(f, label, rows)
    checks.check_non_negative(f, ["usd_per_kg", "usd_per_kg_high"], label=label, rows=rows)
    checks.check_not_above(f, "usd_per_kg", "usd_per_kg_high", label=label, rows=rows)
    checks.check_one_default(f, ["product", "year", "price_type"], label=label, rows=rows)
    yr = f["price_date"].dt.year
    bad = (yr.notna() & f["year"].notna() & (yr != f["year"])).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(label, rows[i], "price_date", f"price_date year {int(yr.iloc[i])} differs from year {f['year'].iloc[i]}")


def _rules_price_floors(f, label, rows, d):
    checks.check_dates_ordered(f, "start_date", "end_date", label=label, rows=rows)
    fixed = (f["volume_kind"] == "fixed_tonnage").fillna(False)
    _require_where(f, fixed, "volume_tpa", "volume_tpa is required when volume_kind is fixed_tonnage", label, rows)
    bad = ((f["volume_kind"] == "company_output") & f["volume_tpa"].notna()).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label, rows[i], "volume_tpa", "a floor on a company's own output has no fixed tonnage: leave volume_tpa empty"
        )
    checks.check_any_present(f, ["observed_cost_period"], when="observed_cost_musd", label=label, rows=rows)


def _rules_capex_intensity(f, label, rows, d):
    checks.check_not_above(f, "capex_musd", "capex_high_musd", label=label, rows=rows)
    checks.check_not_above(f, "usd_per_tpa", "usd_per_tpa_high", label=label, rows=rows)
    for capex, per in (("capex_musd", "usd_per_tpa"), ("capex_high_musd", "usd_per_tpa_high")):
        expected = f[capex] * 1e6 / f["capacity_tpa"]
        bad = ((f[per] - expected).abs() > 0.01 * expected).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataPackageError(
                label,
                rows[i],
                per,
                f"{per} {f[per].iloc[i]:,.0f} differs from {capex} / capacity_tpa = {expected.iloc[i]:,.0f} by more than 1%",
            )


def _rules_export_controls(f, label, rows, d):
    checks.check_unique(f, ["display_name"], label=label, rows=rows)
    checks.check_ids_within(f, "text_source_ids", "source_ids", label=label, rows=rows)
    checks.check_allowed_tokens(f, "elements", REE_SYMBOLS, label=label, rows=rows)
    checks.check_dates_ordered(f, "suspended_from", "suspended_until", label=label, rows=rows)
    checks.check_dates_ordered(f, "announced_date", "effective_date", label=label, rows=rows)
    checks.check_range(f, "de_minimis_value_share", low=0.0, high=1.0, label=label, rows=rows)
    susp = (f["status"] == "suspended").fillna(False).to_numpy(dtype=bool) & f["suspended_until"].isna().to_numpy()
    if susp.any():
        i = int(np.flatnonzero(susp)[0])
        raise DataPackageError(label, rows[i], "suspended_until", "status is suspended but suspended_until is empty")


def _rules_frameworks(f, label, rows, d):
    checks.check_non_negative(f, ["commitment_musd"], label=label, rows=rows)
    checks.check_dates_ordered(f, "signed_date", "deadline_date", label=label, rows=rows)


def _rules_framework_money(f, label, rows, d):
    checks.check_one_default(f, ["framework_id", "item"], label=label, rows=rows)
    _require_where(f, f["in_project_funding"], "project_id", "project_id is required when in_project_funding is true", label, rows)


def _rules_trade_exposure(f, label, rows, d):
    checks.check_range(f, "share", low=0.0, high=1.0, label=label, rows=rows)
    checks.check_one_default(f, ["importer", "product", "year_end", "partner"], label=label, rows=rows)
    checks.check_shares_sum(f, ["importer", "product", "period"], "share", tolerance=SHARE_SUM_TOLERANCE, label=label, rows=rows)


def _rules_trade_flows(f, label, rows, d):
    checks.check_any_present(f, ["tonnes", "value_musd"], label=label, rows=rows)


def _rules_chain_output(f, label, rows, d):
    checks.check_one_default(f, ["region", "entity", "product", "period"], label=label, rows=rows)


def _rules_projections(f, label, rows, d):
    checks.check_not_above(f, "share", "share_high", label=label, rows=rows)
    _require_where(f, f["is_estimate"], "method", "a derived projection needs its formula in method", label, rows)
    single = ~f["region"].str.contains("+", regex=False).fillna(False).to_numpy()
    checks.check_shares_sum(
        f,
        ["forecaster", "edition", "metric", "stage", "year"],
        "share",
        tolerance=SHARE_SUM_TOLERANCE,
        where=single,
        label=label,
        rows=rows,
    )


def _rules_growth_rates(f, label, rows, d):
    checks.check_one_default(f, ["region", "measure"], label=label, rows=rows)
    _fail_where((f["end_year"] < f["start_year"]).to_numpy(dtype=bool), "end_year", "end_year is before start_year", label, rows)
    years = (f["end_year"] - f["start_year"]).astype(float)
    both = f["start_value"].notna() & f["end_value"].notna() & (f["start_value"] > 0) & (years > 0)
    implied = (f["end_value"] / f["start_value"]) ** (1 / years.where(years > 0)) - 1
    bad = (both & ((implied - f["annual_growth"]).abs() > 0.0005)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataPackageError(
            label,
            rows[i],
            "annual_growth",
            f"annual_growth {f['annual_growth'].iloc[i]:.4f} differs from the levels' compound rate {implied.iloc[i]:.4f}",
        )


_RULES = {
    "mine_production": _rules_mine_production,
    "reserves": _rules_reserves,
    "us_salient": _rules_us_salient,
    "stage_shares": _rules_stage_shares,
    "projects": _rules_projects,
    "build_analogs": _rules_build_analogs,
    "demand": _rules_demand,
    "prices": _rules_prices,
    "export_controls": _rules_export_controls,
    "frameworks": _rules_frameworks,
    "framework_money": _rules_framework_money,
    "trade_exposure": _rules_trade_exposure,
    "trade_flows": _rules_trade_flows,
    "chain_output": _rules_chain_output,
    "price_floors": _rules_price_floors,
    "capex_intensity": _rules_capex_intensity,
    "projections": _rules_projections,
    "growth_rates": _rules_growth_rates,
}


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

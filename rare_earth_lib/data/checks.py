"""Sanity checks on data frames, with messages that name the table, row and column.

Every check raises :class:`DataCheckError` (a ``ValueError``) on the first rule
broken and returns ``None`` otherwise, so notebooks can call them as guards::

    from rare_earth_lib.data import checks
    checks.check_shares_sum(shares, ["stage", "year", "outlook"], label="stage shares")
    checks.check_non_negative(projects, ["capacity_tpa"], label="projects")

Messages read ``"<label>, row <n>, column <c>: <rule broken>"``. ``label`` names
the table (the data-package loader passes the CSV path relative to the
repository, e.g. ``rare_earth_lib/data/projects.csv``). ``rows`` maps each frame
row to the number to report; the loader passes CSV line numbers (header = row 1,
first data row = row 2). Without ``rows`` the frame's index labels are reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DataCheckError",
    "check_non_negative",
    "check_range",
    "check_not_above",
    "check_unique",
    "check_one_default",
    "check_shares_sum",
    "check_dates_ordered",
    "check_known_ids",
    "check_allowed_tokens",
    "check_world_total",
    "check_world_lower_bound",
    "check_flag_matches",
    "check_any_present",
    "check_ids_within",
    "rounding_tolerance",
]


class DataCheckError(ValueError):
    """A data rule is broken.

    Attributes:
        label: Table name or file path (relative) the rule was checked on.
        row: Row number (CSV line number when called by the loader) or index label.
        column: Column whose values break the rule.
        rule: Plain-language description of the rule broken.
    """

    def __init__(self, label: str, row: object, column: str, rule: str):
        self.label = label
        self.row = row
        self.column = column
        self.rule = rule
        super().__init__(f"{label}, row {row}, column {column}: {rule}")


def _rows(frame: pd.DataFrame, rows: Sequence | pd.Series | None) -> list:
    if rows is None:
        return list(frame.index)
    rows = list(rows)
    if len(rows) != len(frame):
        raise ValueError(f"rows has {len(rows)} entries but frame has {len(frame)} rows")
    return rows


def _need_columns(frame: pd.DataFrame, columns: Iterable[str], label: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataCheckError(label, "header", ", ".join(missing), "column missing from the table")


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.6g}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return repr(value)


def _group_rows(rows: list, positions: Iterable[int]) -> str:
    pos = list(positions)
    first = rows[pos[0]]
    if len(pos) == 1:
        return str(first)
    others = ", ".join(str(rows[p]) for p in pos[1:])
    return f"{first} (with rows {others})"


def check_non_negative(frame: pd.DataFrame, columns: Sequence[str], *, label: str = "frame", rows: Sequence | None = None) -> None:
    """Fail if a numeric column holds a negative value (missing values pass).

    Args:
        frame: Table to check.
        columns: Numeric columns (e.g. ``capacity_tpa`` in tonnes per year).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: On the first negative value.
    """
    check_range(frame, columns, low=0.0, high=None, label=label, rows=rows)


def check_range(
    frame: pd.DataFrame,
    columns: Sequence[str] | str,
    *,
    low: float | None = None,
    high: float | None = None,
    label: str = "frame",
    rows: Sequence | None = None,
) -> None:
    """Fail if a value lies outside ``[low, high]`` or is not a finite number.

    Args:
        frame: Table to check.
        columns: Column name or names.
        low: Smallest allowed value (None = unbounded).
        high: Largest allowed value (None = unbounded); use 1 for shares.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: On the first value out of range; missing values pass.
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    _need_columns(frame, cols, label)
    rws = _rows(frame, rows)
    for col in cols:
        values = pd.to_numeric(frame[col], errors="coerce")
        raw_missing = frame[col].isna().to_numpy()
        vals = values.to_numpy(dtype=float, na_value=np.nan)
        not_numeric = np.isnan(vals) & ~raw_missing
        for i in np.flatnonzero(not_numeric | np.isinf(vals)):
            raise DataCheckError(label, rws[i], col, f"value {frame[col].iloc[i]!r} is not a finite number")
        if low is not None:
            for i in np.flatnonzero(vals < low):
                raise DataCheckError(label, rws[i], col, f"value {_fmt(vals[i])} is below the minimum {_fmt(low)}")
        if high is not None:
            for i in np.flatnonzero(vals > high):
                raise DataCheckError(label, rws[i], col, f"value {_fmt(vals[i])} is above the maximum {_fmt(high)}")


def check_not_above(frame: pd.DataFrame, low_col: str, high_col: str, *, label: str = "frame", rows: Sequence | None = None) -> None:
    """Fail if a range's lower end exceeds its upper end (rows with either missing pass).

    Args:
        frame: Table to check.
        low_col: Column holding the lower end (e.g. ``capacity_tpa``).
        high_col: Column holding the upper end (e.g. ``capacity_high_tpa``).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: On the first inverted range.
    """
    _need_columns(frame, [low_col, high_col], label)
    rws = _rows(frame, rows)
    lo = pd.to_numeric(frame[low_col]).to_numpy(dtype=float, na_value=np.nan)
    hi = pd.to_numeric(frame[high_col]).to_numpy(dtype=float, na_value=np.nan)
    for i in np.flatnonzero(hi < lo):
        raise DataCheckError(label, rws[i], high_col, f"upper end {_fmt(hi[i])} is below the lower end {low_col} = {_fmt(lo[i])}")


def check_unique(frame: pd.DataFrame, key: Sequence[str], *, label: str = "frame", rows: Sequence | None = None) -> None:
    """Fail if two rows share the same key.

    Args:
        frame: Table to check.
        key: Columns forming the key.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming the second row of the first duplicate key.
    """
    key = list(key)
    _need_columns(frame, key, label)
    rws = _rows(frame, rows)
    dup = np.flatnonzero(frame.duplicated(subset=key, keep="first").to_numpy())
    if len(dup):
        i = dup[0]
        values = ", ".join(f"{k}={frame[k].iloc[i]!r}" for k in key)
        raise DataCheckError(label, rws[i], key[-1], f"duplicate key ({values})")


def check_one_default(
    frame: pd.DataFrame, key: Sequence[str], flag: str = "is_default", *, label: str = "frame", rows: Sequence | None = None
) -> None:
    """Fail unless exactly one row per key has ``flag`` true.

    Args:
        frame: Table to check.
        key: Columns identifying one figure (conflicting sources share a key).
        flag: Boolean column marking the default figure.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: When a key has no default or more than one.
    """
    key = list(key)
    _need_columns(frame, key + [flag], label)
    rws = _rows(frame, rows)
    work = frame[key].copy()
    work["_flag"] = frame[flag].astype(bool).to_numpy()
    work["_pos"] = np.arange(len(frame))
    for keys, grp in work.groupby(key, dropna=False, sort=False):
        n = int(grp["_flag"].sum())
        if n != 1:
            keys = keys if isinstance(keys, tuple) else (keys,)
            desc = ", ".join(f"{k}={v!r}" for k, v in zip(key, keys, strict=False))
            pos = grp["_pos"][grp["_flag"]] if n > 1 else grp["_pos"]
            raise DataCheckError(label, _group_rows(rws, pos), flag, f"{n} rows marked default for ({desc}); exactly one is required")


def check_shares_sum(
    frame: pd.DataFrame,
    group: Sequence[str],
    share: str = "share",
    *,
    max_total: float = 1.0,
    tolerance: float = 0.005,
    where: pd.Series | None = None,
    label: str = "frame",
    rows: Sequence | None = None,
) -> None:
    """Fail if shares within a group sum above ``max_total`` plus ``tolerance``.

    Args:
        frame: Table to check.
        group: Columns defining one distribution (e.g. stage, year, outlook).
        share: Column of shares (fractions 0..1).
        max_total: Largest allowed sum (1 for a distribution).
        tolerance: Allowance for rounding of the published shares (fraction).
        where: Boolean mask of rows to include (e.g. exclude overlapping aggregates).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming the group's rows and the sum.
    """
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    group = list(group)
    _need_columns(frame, group + [share], label)
    rws = _rows(frame, rows)
    work = frame[group].copy()
    work["_share"] = pd.to_numeric(frame[share]).to_numpy(dtype=float, na_value=np.nan)
    work["_pos"] = np.arange(len(frame))
    if where is not None:
        work = work[np.asarray(where, dtype=bool)]
    for keys, grp in work.groupby(group, dropna=False, sort=False):
        total = float(np.nansum(grp["_share"]))
        if total > max_total + tolerance:
            keys = keys if isinstance(keys, tuple) else (keys,)
            desc = ", ".join(f"{k}={v!r}" for k, v in zip(group, keys, strict=False))
            raise DataCheckError(
                label,
                _group_rows(rws, grp["_pos"]),
                share,
                f"shares for ({desc}) sum to {total:.4f}, above {max_total:g} (tolerance {tolerance:g})",
            )


def check_dates_ordered(
    frame: pd.DataFrame, earlier: str, later: str, *, allow_equal: bool = True, label: str = "frame", rows: Sequence | None = None
) -> None:
    """Fail if ``later`` falls before ``earlier`` in a row (rows with either missing pass).

    Args:
        frame: Table to check.
        earlier: Column that must come first (e.g. ``fid_date``).
        later: Column that must come after (e.g. ``first_output_actual_date``).
        allow_equal: Whether equal dates pass.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming the ``later`` column.
    """
    _need_columns(frame, [earlier, later], label)
    rws = _rows(frame, rows)
    a = pd.to_datetime(frame[earlier])
    b = pd.to_datetime(frame[later])
    bad = (b < a) if allow_equal else (b <= a)
    for i in np.flatnonzero(bad.fillna(False).to_numpy(dtype=bool)):
        raise DataCheckError(label, rws[i], later, f"{later} {_fmt(b.iloc[i])} is before {earlier} {_fmt(a.iloc[i])}")


def check_known_ids(
    frame: pd.DataFrame,
    column: str,
    known: Iterable[str],
    *,
    split: Callable[[str], list[str]] | None = None,
    label: str = "frame",
    rows: Sequence | None = None,
) -> None:
    """Fail if a cell names an id that is not in ``known``.

    Args:
        frame: Table to check.
        column: Column of ids (a list per cell when ``split`` is given).
        known: Valid ids (e.g. ``sources.source_id``).
        split: Function turning a cell into a list of ids (e.g. ``data_package.split_ids``).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: On the first unknown id.
    """
    _need_columns(frame, [column], label)
    rws = _rows(frame, rows)
    known = set(known)
    for i, cell in enumerate(frame[column].tolist()):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)):
            continue
        try:
            ids = split(cell) if split else [cell]
        except ValueError as exc:
            raise DataCheckError(label, rws[i], column, str(exc)) from None
        for one in ids:
            if one not in known:
                raise DataCheckError(label, rws[i], column, f"unknown id {one!r} (not in the reference list)")


def check_allowed_tokens(
    frame: pd.DataFrame, column: str, allowed: Iterable[str], *, sep: str = ";", label: str = "frame", rows: Sequence | None = None
) -> None:
    """Fail if a separator-delimited cell holds a token outside ``allowed``.

    Args:
        frame: Table to check.
        column: Column of delimited tokens (e.g. ``elements`` = "Dy;Tb").
        allowed: Allowed tokens.
        sep: Token separator.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: On the first token not allowed.
    """
    _need_columns(frame, [column], label)
    rws = _rows(frame, rows)
    allowed = set(allowed)
    for i, cell in enumerate(frame[column].tolist()):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA:
            continue
        for tok in str(cell).split(sep):
            if tok not in allowed:
                raise DataCheckError(label, rws[i], column, f"token {tok!r} is not one of the allowed values")


def rounding_tolerance(total: float, *, relative: float = 0.01) -> float:
    """Tolerance for comparing a rounded published total with the sum of its parts.

    The tolerance is the larger of half the rounding unit of ``total`` (USGS
    rounds world totals: 380,000 is read as rounded to the nearest 10,000, so
    +/- 5,000) and ``relative`` times ``total`` (the parts are rounded too).

    Args:
        total: Published total (e.g. tonnes REO).
        relative: Relative floor of the tolerance (fraction).

    Returns:
        Tolerance in the units of ``total``.
    """
    if total < 0 or relative < 0:
        raise ValueError("total and relative must be >= 0")
    n = int(round(total))
    unit = 1
    while n and n % 10 == 0:
        n //= 10
        unit *= 10
    return max(0.5 * unit, relative * total)


def check_world_total(
    frame: pd.DataFrame,
    group: Sequence[str],
    value: str = "tonnes_reo",
    is_total: str = "is_world_total",
    *,
    relative: float = 0.01,
    label: str = "frame",
    rows: Sequence | None = None,
) -> None:
    """Fail if a world total disagrees with the sum of its countries beyond rounding.

    Args:
        frame: Table with country rows and one total row per group.
        group: Columns defining one table of countries (e.g. usgs_edition, year).
        value: Numeric column (e.g. tonnes REO).
        is_total: Boolean column marking the total row.
        relative: Relative floor of the tolerance (see :func:`rounding_tolerance`).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming the total row and the ``value`` column.
    """
    group = list(group)
    rws = _rows(frame, rows)
    for keys, grp in _total_groups(frame, group, value, is_total, label):
        totals = grp[grp["_t"]]
        if len(totals) == 0:
            continue
        keys = keys if isinstance(keys, tuple) else (keys,)
        desc = ", ".join(f"{k}={v!r}" for k, v in zip(group, keys, strict=False))
        if len(totals) > 1:
            raise DataCheckError(label, _group_rows(rws, totals["_pos"]), is_total, f"more than one total row for ({desc})")
        world = float(totals["_v"].iloc[0])
        parts = float(np.nansum(grp.loc[~grp["_t"], "_v"]))
        tol = rounding_tolerance(world, relative=relative)
        if abs(world - parts) > tol:
            raise DataCheckError(
                label,
                rws[int(totals["_pos"].iloc[0])],
                value,
                f"world total {_fmt(world)} for ({desc}) differs from the sum of countries "
                f"{_fmt(parts)} by {_fmt(abs(world - parts))}, more than the rounding "
                f"tolerance {_fmt(tol)}",
            )


def _total_groups(frame: pd.DataFrame, group: list[str], value: str, is_total: str, label: str):
    """Yield (keys, rows) per group with the value as ``_v``, the total flag as ``_t``, the position as ``_pos``."""
    _need_columns(frame, group + [value, is_total], label)
    work = frame[group].copy()
    work["_v"] = pd.to_numeric(frame[value]).to_numpy(dtype=float, na_value=np.nan)
    work["_t"] = frame[is_total].astype(bool).to_numpy()
    work["_pos"] = np.arange(len(frame))
    yield from work.groupby(group, dropna=False, sort=False)


def check_world_lower_bound(
    frame: pd.DataFrame,
    group: Sequence[str],
    value: str = "tonnes_reo",
    is_total: str = "is_world_total",
    *,
    label: str = "frame",
    rows: Sequence | None = None,
) -> None:
    """Fail if a ">" world total exceeds the sum of its countries (lower bound broken).

    Args:
        frame: Table with country rows and one lower-bound total per group.
        group: Columns defining one table of countries (e.g. usgs_edition).
        value: Numeric column.
        is_total: Boolean column marking the total row.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming the total row.
    """
    group = list(group)
    rws = _rows(frame, rows)
    for keys, grp in _total_groups(frame, group, value, is_total, label):
        totals = grp[grp["_t"]]
        if len(totals) != 1:
            continue
        world = float(totals["_v"].iloc[0])
        parts = float(np.nansum(grp.loc[~grp["_t"], "_v"]))
        if parts < world:
            keys = keys if isinstance(keys, tuple) else (keys,)
            desc = ", ".join(f"{k}={v!r}" for k, v in zip(group, keys, strict=False))
            raise DataCheckError(
                label,
                rws[int(totals["_pos"].iloc[0])],
                value,
                f"world lower bound {_fmt(world)} for ({desc}) exceeds the sum of countries {_fmt(parts)}",
            )


def check_flag_matches(frame: pd.DataFrame, flag: str, column: str, *, label: str = "frame", rows: Sequence | None = None) -> None:
    """Fail unless boolean ``flag`` is true exactly where ``column`` is filled.

    Args:
        frame: Table to check.
        flag: Boolean column (e.g. ``reached_first_output``).
        column: Column whose presence the flag states (e.g. ``actual_first_output_date``).
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming ``flag``.
    """
    _need_columns(frame, [flag, column], label)
    rws = _rows(frame, rows)
    present = frame[column].notna().to_numpy()
    flg = frame[flag].astype(bool).to_numpy()
    for i in np.flatnonzero(present != flg):
        raise DataCheckError(label, rws[i], flag, f"{flag} is {bool(flg[i])} but {column} is {'filled' if present[i] else 'empty'}")


def check_any_present(
    frame: pd.DataFrame, columns: Sequence[str], *, label: str = "frame", rows: Sequence | None = None, when: str | None = None
) -> None:
    """Fail if a row has none of ``columns`` filled (or, with ``when``, if ``when`` is filled but none are).

    Args:
        frame: Table to check.
        columns: Columns of which at least one must be filled.
        label: Table name used in the message.
        rows: Row numbers to report.
        when: Optional column; the rule applies only to rows where it is filled
            (e.g. ``capacity_tpa`` requires ``capacity_basis``).

    Raises:
        DataCheckError: Naming the first of ``columns``.
    """
    cols = list(columns) + ([when] if when else [])
    _need_columns(frame, cols, label)
    rws = _rows(frame, rows)
    any_present = frame[list(columns)].notna().any(axis=1).to_numpy()
    applies = frame[when].notna().to_numpy() if when else np.ones(len(frame), dtype=bool)
    for i in np.flatnonzero(applies & ~any_present):
        rule = (
            f"{' or '.join(columns)} is required when {when} is filled" if when else f"at least one of {', '.join(columns)} must be filled"
        )
        raise DataCheckError(label, rws[i], columns[0], rule)


def check_ids_within(
    frame: pd.DataFrame, column: str, within: str = "source_ids", *, sep: str = ";", label: str = "frame", rows: Sequence | None = None
) -> None:
    """Fail if a cell of ``column`` names an id that the same row's ``within`` cell does not list.

    Per-figure source columns (e.g. ``capacity_source_ids``) must be a subset of the
    row's ``source_ids``, so that the row's sources stay complete.

    Args:
        frame: Table to check.
        column: Column of delimited ids for one figure.
        within: Column of delimited ids for the whole row.
        sep: Id separator.
        label: Table name used in the message.
        rows: Row numbers to report.

    Raises:
        DataCheckError: Naming ``column`` and the first id missing from ``within``.
    """
    _need_columns(frame, [column, within], label)
    rws = _rows(frame, rows)
    for i, (cell, whole) in enumerate(zip(frame[column].tolist(), frame[within].tolist(), strict=True)):
        if not isinstance(cell, str) or not cell:
            continue
        listed = set(whole.split(sep)) if isinstance(whole, str) else set()
        for one in cell.split(sep):
            if one not in listed:
                raise DataCheckError(label, rws[i], column, f"id {one!r} is not among the row's {within}")

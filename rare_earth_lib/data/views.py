"""Views over loaded tables: the default row of each key, the latest figure, and source-id lists.

Models filter tables through these functions instead of writing the rules again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from rare_earth_lib.data.package import split_ids


def default_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows marked ``is_default`` (one figure per key where sources conflict).

    A table without an ``is_default`` column has one figure per key already and is returned as is;
    a missing flag counts as default.
    """
    if "is_default" not in frame.columns:
        return frame
    return frame[frame["is_default"].astype("boolean").fillna(True).astype(bool)]


def latest_not_after(frame: pd.DataFrame, year: int, *, year_column: str = "year", key: Sequence[str] = ()) -> pd.DataFrame:
    """For each ``key`` group, the rows of the latest ``year_column`` value not after ``year``.

    With no key, the rows of the single latest year not after ``year``. Groups with no such year
    are left out.
    """
    rows = frame[frame[year_column] <= year]
    if rows.empty:
        return rows
    if not key:
        return rows[rows[year_column] == rows[year_column].max()]
    latest = rows.groupby(list(key), dropna=False)[year_column].transform("max")
    return rows[rows[year_column] == latest]


def ids_of(values: object) -> list[str]:
    """Unique source ids, in first-seen order, from a ``source_ids`` column, cell or list of cells.

    Accepts a DataFrame (its ``source_ids`` column), a Series, a single ``"S1;S4"`` cell or an
    iterable of cells; empty cells are skipped.
    """
    if values is None:
        return []
    if isinstance(values, pd.DataFrame):
        if "source_ids" not in values.columns:
            raise ValueError("sources: the DataFrame has no 'source_ids' column")
        values = values["source_ids"]
    cells: Iterable[object] = [values] if isinstance(values, str) else values  # type: ignore[assignment]
    out: dict[str, None] = {}
    for cell in cells:
        if cell is None or (isinstance(cell, float) and pd.isna(cell)) or cell is pd.NA:
            continue
        for part in str(cell).split(";"):
            part = part.strip()
            if part:
                out[part] = None
    return list(out)


def join_ids(values: object) -> str:
    """The unique source ids of ``values`` (as :func:`ids_of`) sorted and joined as one ``"S1;S4"`` cell."""
    return ";".join(sorted(ids_of(values), key=id_sort_key))


def id_sort_key(source_id: str) -> tuple:
    """Sort key that puts S2 before S10 and S89 before S89a."""
    prefix = source_id.rstrip("0123456789abcdefghijklmnopqrstuvwxyz")
    digits = "".join(ch for ch in source_id[len(prefix) :] if ch.isdigit())
    return (prefix, int(digits) if digits else 0, source_id)


__all__ = ["default_rows", "id_sort_key", "ids_of", "join_ids", "latest_not_after", "split_ids"]

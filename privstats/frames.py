"""Protected tables as pandas frames, with pandas' habits: what ``ProtectedTable.pivot`` returns.

A frame holds numbers only: a hidden cell is NaN, and :func:`mask` says which NaN is hidden
(rather than absent: no row of the data has that combination of codes). Codes keep their order
(hours 0 to 23 and weekdays 1 (Monday) to 7 as numbers, days, weeks and months in time's order,
the total last), as an ordered ``CategoricalIndex``, so ``sort_index`` keeps it::

    t = privstats.crosstab("hour", "device", aggfunc="visitors", margins=True)
    t.pivot()                              # hours down, devices across, NaN where hidden
    t.pivot(normalize="index")             # each hour's shares of its total
    t.mask()                               # True where hidden, same shape
    privstats.crosstab("device", aggfunc=["visitors", "requests"]).pivot()   # both measures

Nothing here can show more than the protected table holds: the frames are made from
``ProtectedTable.shown``, and shares are of the protected totals.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from privstats.exceptions import DisclosureError

if TYPE_CHECKING:
    from privstats.protect import ProtectedTable

TOTAL = "Total"  # privstats.protect.TOTAL, without importing the protection engine
HIDDEN = "x"
Normalize = bool | Literal["all", "index", "columns"]

__all__ = ["TableSet", "html", "mask", "pivot", "summary", "text"]


def _codes(values: pd.Series) -> pd.Categorical:
    """The codes of ``dim`` in their natural order (numbers as numbers), the total last."""
    found = list(dict.fromkeys(values.astype(str)))
    rest = [c for c in found if c != TOTAL]
    if rest and all(c.lstrip("-").isdigit() for c in rest):  # hours, weekdays: numbers
        ordered: list[Any] = sorted(int(c) for c in rest)
        converted = [int(c) if c != TOTAL else TOTAL for c in values.astype(str)]
    else:
        ordered = sorted(rest)
        converted = list(values.astype(str))
    categories = ordered + ([TOTAL] if TOTAL in found else [])
    return pd.Categorical(converted, categories=categories, ordered=True)


def _layout(
    dims: Sequence[str], index: str | Sequence[str] | None, columns: str | Sequence[str] | None
) -> tuple[list[str], list[str]]:
    rows = [index] if isinstance(index, str) else list(index or [])
    cols = [columns] if isinstance(columns, str) else list(columns or [])
    if not rows and not cols:
        rows, cols = ([*dims], []) if len(dims) == 1 else ([*dims[:-1]], [dims[-1]])
    elif not cols:
        cols = [d for d in dims if d not in rows]
    elif not rows:
        rows = [d for d in dims if d not in cols]
    if sorted(rows + cols) != sorted(dims) or not rows:
        raise DisclosureError(
            f"pivot lays out every dimension once, at least one down: {', '.join(dims)}"
        )
    return rows, cols


def _long(table: ProtectedTable) -> pd.DataFrame:
    """One row per cell: ordered codes, the shown value, and whether it is hidden."""
    shown = table.shown
    frame = pd.DataFrame({dim: _codes(shown[dim]) for dim in table.dims})
    frame["value"] = pd.to_numeric(shown["value"], errors="coerce").astype(float).to_numpy()
    frame["hidden"] = (shown["marker"].astype(str) != "").to_numpy()
    return frame


def _wide(long: pd.DataFrame, rows: list[str], cols: list[str], name: str, field: str) -> Any:
    if not cols:
        wide = long.set_index(rows)[[field]].rename(columns={field: name})
        return wide.sort_index()
    return long.pivot_table(
        index=rows, columns=cols, values=field, aggfunc="first", observed=True, dropna=False
    )


def _grids(
    table: ProtectedTable,
    index: str | Sequence[str] | None,
    columns: str | Sequence[str] | None,
    dropna: bool,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """The values, which of them are hidden, which absent (no data), and the layout."""
    rows, cols = _layout(table.dims, index, columns)
    long = _long(table)
    name = _measure(table)
    values = _wide(long, rows, cols, name, "value")
    hidden = _wide(long.assign(hidden=long["hidden"].astype(float)), rows, cols, name, "hidden")
    hidden = hidden.reindex_like(values).fillna(0).astype(bool)
    absent = values.isna() & ~hidden
    if dropna:  # a row or column of hidden cells stays: it was hidden, not absent
        keep_rows, keep_cols = ~absent.all(axis=1), ~absent.all(axis=0)
        values, hidden, absent = (f.loc[keep_rows, keep_cols] for f in (values, hidden, absent))
    return values, hidden, absent, rows, cols


def pivot(
    table: ProtectedTable,
    index: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    *,
    normalize: Normalize = False,
    dropna: bool = True,
    fill_value: float | None = None,
) -> pd.DataFrame:
    """The table laid out like ``pandas.crosstab``: numbers only, NaN where a cell is hidden.

    Any shape: one dimension gives one column (named by the measure); by default the last
    dimension goes across and the others down. ``normalize`` (True or "all", "index",
    "columns") divides by the protected totals, as ``pandas.crosstab`` does; it needs the
    table's margins unless no cell is hidden. ``fill_value`` fills absent cells (no data),
    never hidden ones; ``dropna`` drops rows and columns with no data at all.
    """
    values, hidden, absent, rows, cols = _grids(table, index, columns, dropna)
    if normalize is not False:
        values = _normalized(values, hidden, normalize, rows, cols)
    if fill_value is not None:
        values = values.mask(absent, fill_value)
    return values


def mask(
    table: ProtectedTable,
    index: str | Sequence[str] | None = None,
    columns: str | Sequence[str] | None = None,
    *,
    dropna: bool = True,
) -> pd.DataFrame:
    """True where a cell is hidden (suppressed, or shown only as "fewer than"), in the layout
    of :func:`pivot` with the same arguments."""
    return _grids(table, index, columns, dropna)[1]


def _normalized(
    values: pd.DataFrame,
    hidden: pd.DataFrame,
    how: Normalize,
    rows: list[str],
    cols: list[str],
) -> pd.DataFrame:
    how = "all" if how is True else how
    if how not in ("all", "index", "columns"):
        raise DisclosureError("normalize is True, 'all', 'index' or 'columns'")
    # Any, as total_col: a MultiIndex label is a tuple, which pandas-stubs reads as a
    # (row, column) pair in .loc.
    total_row: Any = TOTAL if len(rows) == 1 else (TOTAL,) * len(rows)
    total_col: Any = values.columns[0] if not cols else (
        TOTAL if len(cols) == 1 else (TOTAL,) * len(cols)
    )  # fmt: skip
    has_row = total_row in values.index
    has_col = total_col in values.columns
    if hidden.to_numpy().any() and not {"all": has_row and has_col, "index": has_col,
                                        "columns": has_row}[how]:  # fmt: skip
        raise DisclosureError(
            "normalize needs the table's margins (margins=True) when cells are hidden: "
            "a share of the shown cells alone would be a share of the wrong total"
        )
    if how == "index":
        base = values[total_col] if has_col else values.sum(axis=1)
        return values.div(base, axis=0)
    if how == "columns":
        base = values.loc[total_row] if has_row else values.sum(axis=0)
        return values.div(base, axis=1)
    grand = values.loc[total_row, total_col] if has_row and has_col else values.to_numpy().sum()
    return values / grand


def _measure(table: ProtectedTable) -> str:
    query = table.record.query or {}
    measure = str(query.get("measure") or "value")
    values = query.get("values")
    return f"{measure} of {values}" if values and measure not in ("requests",) else measure


def _shown_with_markers(frame: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Numbers as they are, the hidden-cell marker where a cell is hidden, blank where absent."""
    out = frame.astype(object).where(frame.notna(), "")
    return out.mask(hidden, HIDDEN)


def summary(table: ProtectedTable) -> str:
    """One line: measure, dimensions, margins, status, hidden cells."""
    query = table.record.query or {}
    hidden = int((table.shown["marker"].astype(str) != "").sum())
    margins = " with margins" if query.get("margins") else ""
    return (
        f"ProtectedTable: {_measure(table)} by {' × '.join(table.dims)}{margins}; "
        f"{len(table.shown)} cells, {hidden} hidden; status {table.status.value}"
    )


def text(table: ProtectedTable, max_rows: int = 12, max_cols: int = 8) -> str:
    """A compact ``repr``: the summary, then the pivoted table (hidden cells as ``x``)."""
    shown = _shown_with_markers(pivot(table), mask(table))
    return summary(table) + "\n" + shown.to_string(max_rows=max_rows, max_cols=max_cols)


def html(table: ProtectedTable, max_rows: int = 40) -> str:
    """Jupyter's view: the summary and the pivoted table (hidden cells as ``x``), escaped."""
    from markupsafe import escape

    shown = _shown_with_markers(pivot(table), mask(table))
    body = shown.to_html(max_rows=max_rows, escape=True, na_rep="")
    return f"<p><code>{escape(summary(table))}</code></p>\n{body}"


class TableSet(Mapping[str, "ProtectedTable"]):
    """Several measures of the same cells (``aggfunc=[...]``), each its own protected table.

    ``pivot()`` puts them side by side under the measure's name, as ``pandas.crosstab`` with a
    list ``aggfunc`` does.
    """

    def __init__(self, tables: Mapping[str, ProtectedTable]) -> None:
        self._tables = dict(tables)

    def __getitem__(self, measure: str) -> ProtectedTable:
        return self._tables[measure]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def pivot(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return self._joined({m: t.pivot(*args, **kwargs) for m, t in self._tables.items()})

    def mask(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return self._joined({m: t.mask(*args, **kwargs) for m, t in self._tables.items()})

    @staticmethod
    def _joined(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        if all(len(f.columns) == 1 for f in frames.values()):
            return pd.concat([f.set_axis([m], axis=1) for m, f in frames.items()], axis=1)
        return pd.concat(frames, axis=1)

    def __repr__(self) -> str:
        return "\n\n".join(repr(t) for t in self._tables.values())

    def _repr_html_(self) -> str:
        return "\n".join(t._repr_html_() for t in self._tables.values())

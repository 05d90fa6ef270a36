"""A published table as the report sees it: labels, cells with their state, and the table's record.

A notebook hands the runner *protected* tables only (anything with a ``.shown`` DataFrame whose
values are already protected, and a ``.record``); :func:`ReportTable.from_protected` turns one into
this plain, JSON-serialisable form, which is all that crosses from the kernel to the runner. A
plain ``DataFrame`` is refused: it has not been through the disclosure rules.

A hidden cell carries no value at all here, only its state; every hidden cell gets the same
marker whatever hid it, so that the marker does not tell a small cell (primary suppression)
from one hidden to protect it (secondary suppression).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from privstats.exceptions import DisclosureError, ReportError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# The hidden-cell marker is the disclosure engine's (privstats.protect.HIDDEN_MARKER; a test
# keeps them equal), so that a table reads the same in every export. "." marks "no data", as
# in the tables of Statistics Poland. Both are plain ASCII and survive any CSV reader.
HIDDEN_MARKER = "x"
MISSING_MARKER = "."
# The engine's code for a margin ("Total"), shown in the report's language.
TOTAL_CODE = "Total"
_LONG_COLUMNS = frozenset({"value", "marker"})
# The charts a table may have ("" none); their drawing lives in privstats.report.charts, which a
# test keeps to the same names.
CHARTS = ("", "line", "bar", "ranked", "heatmap")

_REFUSED_STATUSES = frozenset({"fail", "failed", "error"})


class CellState(enum.StrEnum):
    VALUE = "value"  # a number, shown
    TEXT = "text"  # a text the protection chose to show, e.g. "<10"
    HIDDEN = "hidden"  # withheld by the disclosure rules
    MISSING = "missing"  # nothing to count


@dataclass(frozen=True)
class Cell:
    state: CellState
    value: int | float | str | None = None

    def __post_init__(self) -> None:
        if self.state in (CellState.HIDDEN, CellState.MISSING) and self.value is not None:
            raise ValueError("a hidden or missing cell carries no value")
        if self.state is CellState.VALUE and not isinstance(self.value, int | float):
            raise ValueError("a value cell carries a number")
        if self.state is CellState.TEXT and not isinstance(self.value, str):
            raise ValueError("a text cell carries a text")


def check_name(name: object, what: str = "a published item") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ReportError(
            f"the name of {what} must be 1-64 characters of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def record_dict(record: object, *, public: bool = True) -> dict[str, Any]:
    """A protected table's record as a JSON-ready dict.

    The record may be a mapping, a dataclass, or have ``to_dict()``; when it also has
    ``public_dict()`` that is the view that travels with a report (the engine's public view
    leaves out which rule hid which cell: "hidden by the threshold" says "fewer than N").
    """
    if public and hasattr(record, "public_dict"):
        record = record.public_dict()
    elif not public and hasattr(record, "review_dict"):
        record = record.review_dict()
    elif hasattr(record, "to_dict"):
        record = record.to_dict()
    elif dataclasses.is_dataclass(record) and not isinstance(record, type):
        record = dataclasses.asdict(record)
    if not isinstance(record, Mapping):
        raise ReportError("a protected table's record must be a mapping or have to_dict()")
    # A round trip through JSON proves the record serialisable now, in the kernel, where the
    # error names the cell that published it, rather than later in the runner.
    return json.loads(json.dumps(record, default=json_default, allow_nan=False))


def json_default(value: object) -> object:
    """JSON encoding for the types records and tables carry (numpy scalars, enums, dates)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot write a {type(value).__name__} to JSON")


def _label(value: object) -> str:
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _labels(index: pd.Index) -> tuple[tuple[str, ...], ...]:
    if isinstance(index, pd.MultiIndex):
        return tuple(tuple(_label(part) for part in key) for key in index)
    return tuple((_label(key),) for key in index)


def _names(index: pd.Index) -> tuple[str, ...]:
    return tuple(_label(name) for name in index.names)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _cell(value: object, hidden: bool | None) -> Cell:
    if _is_missing(value):
        # Without a mask from the protection, a missing value is taken as hidden: of the two,
        # that claim is the one that cannot mislead a reader into reading a hidden cell as empty.
        return Cell(CellState.MISSING if hidden is False else CellState.HIDDEN)
    if hidden:
        return Cell(CellState.HIDDEN)
    if isinstance(value, bool | np.bool_):
        return Cell(CellState.TEXT, str(bool(value)).lower())
    if isinstance(value, numbers.Integral):
        return Cell(CellState.VALUE, int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):
            return Cell(CellState.TEXT, "∞" if number > 0 else "-∞")
        return Cell(CellState.VALUE, number)
    return Cell(CellState.TEXT, str(value))


def _hidden_mask(table: object, shown: pd.DataFrame) -> pd.DataFrame | None:
    """The protection's own mask of hidden cells, when the table offers one."""
    for attribute in ("hidden", "mask", "suppressed"):
        mask = getattr(table, attribute, None)
        if isinstance(mask, pd.Series):
            mask = mask.to_frame()
        if isinstance(mask, pd.DataFrame) and mask.shape == shown.shape:
            return mask.astype(bool)
    return None


@dataclass(frozen=True)
class _Grid:
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[tuple[str, ...], ...]
    cells: tuple[tuple[Cell, ...], ...]
    row_names: tuple[str, ...]
    column_names: tuple[str, ...]
    # The store's codes behind the shown labels (engine tables only), and the dimensions.
    row_codes: tuple[tuple[str, ...], ...] = ()
    column_codes: tuple[tuple[str, ...], ...] = ()
    index_dims: tuple[str, ...] = ()
    column_dims: tuple[str, ...] = ()


def _wide_grid(table: object, shown: pd.DataFrame) -> _Grid:
    """A table already laid out for display: its index are the rows, its columns the columns."""
    mask = _hidden_mask(table, shown)
    cells = tuple(
        tuple(
            _cell(shown.iat[r, c], None if mask is None else bool(mask.iat[r, c]))
            for c in range(shown.shape[1])
        )
        for r in range(shown.shape[0])
    )
    return _Grid(
        _labels(shown.index), _labels(shown.columns), cells, _names(shown.index),
        _names(shown.columns),
    )  # fmt: skip


def _long_cell(value: object, marker: object) -> Cell:
    marker = "" if _is_missing(marker) else str(marker)
    if marker == HIDDEN_MARKER:
        return Cell(CellState.HIDDEN)
    if marker:
        return Cell(CellState.TEXT, marker)  # "<10", as the engine chose to show it
    return _cell(value, False)


def _order(
    key: tuple[Any, ...],
    ranks: Sequence[Mapping[str, int]] = (),
    shown: Sequence[Mapping[str, str]] = (),
) -> tuple[tuple[int, float, str], ...]:
    """Natural order for display: numbers as numbers ("2" before "10"), totals last.

    ``ranks`` (one mapping per part of the key, code → position) puts listed codes first, in
    the listed order; ``shown`` (code → shown label) orders the others by what a reader sees.
    """

    def part(
        value: Any, rank: Mapping[str, int], names: Mapping[str, str]
    ) -> tuple[int, float, str]:
        code = _label(value)
        if code == TOTAL_CODE:
            return (3, 0.0, "")
        if code in rank:
            return (-1, float(rank[code]), "")
        text = names.get(code.casefold(), code)
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, text.casefold())

    parts = len(key)
    ranks = list(ranks) + [{}] * (parts - len(ranks))
    shown = list(shown) + [{}] * (parts - len(shown))
    return tuple(part(*args) for args in zip(key, ranks, shown, strict=True))


def _long_grid(
    dims: tuple[str, ...],
    shown: pd.DataFrame,
    index: Sequence[str] | None,
    columns: Sequence[str] | None,
    value_label: str,
    categories: Mapping[str, Mapping[Any, str]],
    order: Mapping[str, Sequence[Any]] | None = None,
    value_code: str | None = None,
) -> _Grid:
    """The engine's long form (one row per cell: keys, value, marker) pivoted for display.

    Rows and columns keep the engine's codes (for the CSV file) beside the labels shown (the
    codes renamed by ``categories``; keys match by their text, so True matches "true").
    """
    for dim in order or {}:
        if dim not in dims:
            raise ReportError("order names a dimension the table does not have")
    ranks = {d: {_label(c): i for i, c in enumerate(codes)} for d, codes in (order or {}).items()}
    names = {
        dim: {_label(key).casefold(): name for key, name in mapping.items()}
        for dim, mapping in categories.items()
    }

    def display(dim: str, code: Any) -> str:
        text = _label(code)
        return names.get(dim, {}).get(text.casefold(), text)

    if index is None and columns is None:
        index, columns = (dims, ()) if len(dims) == 1 else (dims[:-1], dims[-1:])
    elif index is None:
        index = tuple(d for d in dims if d not in (columns or ()))
    elif columns is None:
        columns = tuple(d for d in dims if d not in index)
    index, columns = tuple(index), tuple(columns or ())
    if sorted(index + columns) != sorted(dims) or not index:
        raise ReportError(
            "index and columns must name each of the table's dimensions once, index at least one"
        )

    def keys(along: tuple[str, ...]) -> list[tuple[Any, ...]]:
        found = dict.fromkeys(zip(*(shown[d] for d in along), strict=True))
        rank = [ranks.get(d, {}) for d in along]
        seen = [names.get(d, {}) for d in along]
        return sorted(found, key=lambda key: _order(key, rank, seen))

    row_keys = keys(index)
    col_keys = keys(columns) if columns else [()]
    found = {
        (tuple(r[d] for d in index), tuple(r[d] for d in columns)): (r["value"], r["marker"])
        for r in shown.to_dict("records")
    }
    cells = tuple(
        tuple(
            _long_cell(*found[(row, col)]) if (row, col) in found else Cell(CellState.MISSING)
            for col in col_keys
        )
        for row in row_keys
    )

    def labels(along: tuple[str, ...], key: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple(display(d, part) for d, part in zip(along, key, strict=True))

    def codes(key: tuple[Any, ...]) -> tuple[str, ...]:
        return tuple(_label(part) for part in key)

    return _Grid(
        rows=tuple(labels(index, key) for key in row_keys),
        columns=tuple(labels(columns, key) for key in col_keys) if columns else ((value_label,),),
        cells=cells,
        row_names=index,
        column_names=columns,
        row_codes=tuple(codes(key) for key in row_keys),
        column_codes=(
            tuple(codes(key) for key in col_keys) if columns else ((value_code or value_label,),)
        ),
        index_dims=index,
        column_dims=columns,
    )


def _top_rows(grid: _Grid, top: int) -> _Grid:
    if top < 1:
        raise ReportError("top must be at least 1")
    if any(TOTAL_CODE in labels for labels in (*grid.rows, *grid.columns)):
        raise ReportError("top is refused for a table with totals: they give the rest away")

    def rank(row: int) -> float:
        cell = grid.cells[row][0] if grid.cells[row] else Cell(CellState.MISSING)
        # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
        return float(cell.value) if cell.state is CellState.VALUE else float("-inf")  # type: ignore[arg-type]

    keep = sorted(range(len(grid.rows)), key=rank, reverse=True)[:top]  # stable on ties
    return dataclasses.replace(
        grid,
        rows=tuple(grid.rows[i] for i in keep),
        cells=tuple(grid.cells[i] for i in keep),
        row_codes=tuple(grid.row_codes[i] for i in keep) if grid.row_codes else (),
    )


@dataclass(frozen=True)
class ReportTable:
    """A protected table, flattened for rendering: what the kernel stages for the runner."""

    name: str
    title: str
    columns: tuple[tuple[str, ...], ...]
    rows: tuple[tuple[str, ...], ...]
    cells: tuple[tuple[Cell, ...], ...]
    record: dict[str, Any]
    status: str
    row_names: tuple[str, ...] = ()
    column_names: tuple[str, ...] = ()
    caption: str = ""
    unit: str = ""
    decimals: int | None = None
    # Rules the record states, lifted out so the report can explain them in words.
    rules: dict[str, Any] = field(default_factory=dict)
    # The reviewer's full record (which rule hid which cell); kept in the work folder only.
    review_record: dict[str, Any] = field(default_factory=dict)
    # For an engine table: the store's codes behind the row and column labels, and the
    # dimensions down and across. The CSV file carries these codes, the same in every
    # language; report.html shows the labels.
    row_codes: tuple[tuple[str, ...], ...] = ()
    column_codes: tuple[tuple[str, ...], ...] = ()
    index_dims: tuple[str, ...] = ()
    column_dims: tuple[str, ...] = ()
    # The chart drawn above the table (``privstats.report.charts.ChartKind``; "": none).
    chart: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "a table")
        if self.chart not in CHARTS:
            raise ReportError(
                f"a table's chart is one of {', '.join(CHARTS[1:])}, not '{self.chart[:20]}'"
            )
        if len(self.cells) != len(self.rows):
            raise ValueError("one row of cells per row label")
        if any(len(row) != len(self.columns) for row in self.cells):
            raise ValueError("one cell per column label in every row")
        if self.decimals is not None and not 0 <= self.decimals <= 6:
            raise ReportError("a table's decimals must lie between 0 and 6")
        if self.row_codes and len(self.row_codes) != len(self.rows):
            raise ValueError("one code per row label")
        if self.column_codes and len(self.column_codes) != len(self.columns):
            raise ValueError("one code per column label")

    @classmethod
    def from_protected(
        cls,
        table: object,
        *,
        name: str,
        title: str,
        caption: str = "",
        unit: str = "",
        decimals: int | None = None,
        index: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
        value_label: str | None = None,
        labels: Mapping[str, str] | None = None,
        categories: Mapping[str, Mapping[Any, str]] | None = None,
        top: int | None = None,
        order: Mapping[str, Sequence[Any]] | None = None,
        chart: str = "",
    ) -> ReportTable:
        """Flatten a protected table.

        The engine's ``ProtectedTable`` (``.dims`` and a long ``.shown`` with ``value`` and
        ``marker`` columns) is pivoted: ``index`` and ``columns`` name its dimensions (default:
        the last dimension across, the others down; a one-dimensional table gets one column,
        headed ``value_label`` or the record's query measure). Any other object with a
        ``.shown`` DataFrame is taken as laid out already, with an optional ``.hidden`` mask.
        ``labels`` renames dimensions for display (``{"device": "urządzenie"}``), ``categories``
        their values (``{"is_bot": {True: "boty", False: "ludzie"}}``). ``top`` keeps the rows
        with the largest shown values in the first column (hidden cells rank last); it is
        refused for a table with totals, whose rows left out could be worked out from them.
        ``order`` lists a dimension's codes in the order to show them (``{"partner": ["acme",
        OTHERS]}``); codes not listed follow in natural order, totals last.
        """
        if isinstance(table, pd.DataFrame | pd.Series):
            raise DisclosureError(
                "publish() takes a protected table; a plain DataFrame has not passed the "
                "disclosure rules"
            )
        shown = getattr(table, "shown", None)
        if isinstance(shown, pd.Series):
            shown = shown.to_frame()
        if not isinstance(shown, pd.DataFrame) or not hasattr(table, "record"):
            raise DisclosureError(
                "publish() takes a protected table (an object with .shown and .record)"
            )
        record = record_dict(table.record)
        status = _status(table, record)
        if status.lower() in _REFUSED_STATUSES:
            raise DisclosureError(
                f"table '{name}' failed its disclosure checks; it is not published"
            )
        dims = getattr(table, "dims", None)
        if dims and set(shown.columns) >= _LONG_COLUMNS:
            query = record.get("query")
            measure = query.get("measure") if isinstance(query, Mapping) else None
            label = value_label or (str(measure) if measure else "value")
            grid = _long_grid(
                tuple(dims), shown, index, columns, label, categories or {}, order,
                value_code=str(measure) if measure else None,
            )  # fmt: skip
        elif index is not None or columns is not None or categories or order:
            raise ReportError(
                "index, columns, categories and order apply to the engine's protected tables only"
            )
        else:
            grid = _wide_grid(table, shown)
        if top is not None:
            grid = _top_rows(grid, top)
        return cls(
            name=name,
            title=title,
            caption=caption,
            unit=unit,
            decimals=decimals,
            columns=grid.columns,
            rows=grid.rows,
            cells=grid.cells,
            record=record,
            status=status,
            row_names=tuple((labels or {}).get(n, n) for n in grid.row_names),
            column_names=tuple((labels or {}).get(n, n) for n in grid.column_names),
            rules=_rules(record),
            review_record=record_dict(table.record, public=False),
            row_codes=grid.row_codes,
            column_codes=grid.column_codes,
            index_dims=grid.index_dims,
            column_dims=grid.column_dims,
            chart=chart,
        )

    @property
    def hidden_count(self) -> int:
        return sum(cell.state is CellState.HIDDEN for row in self.cells for cell in row)

    @property
    def states(self) -> frozenset[CellState]:
        return frozenset(cell.state for row in self.cells for cell in row)

    @property
    def texts(self) -> frozenset[str]:
        return frozenset(
            cell.value for row in self.cells for cell in row if isinstance(cell.value, str)
        )

    def column_decimals(self) -> tuple[int, ...]:
        """Decimals to show per column: as given, else as few as show the values (at most 2)."""
        if self.decimals is not None:
            return (self.decimals,) * len(self.columns)
        places = []
        for column in range(len(self.columns)):
            values = [
                # A VALUE cell's value is a number (Cell checks it); the type allows text and None.
                float(row[column].value)  # type: ignore[arg-type]
                for row in self.cells
                if row[column].state is CellState.VALUE
            ]
            # The fewest decimals (at most two) that show every value of the column exactly.
            places.append(
                next((d for d in (0, 1) if all(abs(round(v, d) - v) < 1e-9 for v in values)), 2)
            )
        return tuple(places)

    def to_json(self) -> str:
        payload = dataclasses.asdict(self)
        payload["cells"] = [[[c.state.value, c.value] for c in row] for row in self.cells]
        return json.dumps(payload, ensure_ascii=False, allow_nan=False, default=json_default)

    @classmethod
    def from_json(cls, text: str) -> ReportTable:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportTable:
        payload = dict(data)
        payload["cells"] = tuple(
            tuple(Cell(CellState(state), value) for state, value in row) for row in payload["cells"]
        )
        for key in ("columns", "rows", "row_codes", "column_codes"):
            payload[key] = tuple(tuple(label) for label in payload.get(key, ()))
        for key in ("row_names", "column_names", "index_dims", "column_dims"):
            payload[key] = tuple(payload.get(key, ()))
        return cls(**payload)

    def _repr_html_(self) -> str:
        # A preview when an analyst runs the notebook in JupyterLab, outside the runner.
        from privstats.report.html import render_table_fragment

        return render_table_fragment(self, "en")


def _status(table: object, record: Mapping[str, Any]) -> str:
    status = getattr(table, "status", None)
    if status is None:
        status = record.get("status", "unknown")
    if isinstance(status, enum.Enum):
        status = status.value
    return str(status)


_RULE_KEYS = ("threshold", "nk_n", "nk_k", "p_ratio", "round_base")


def _rules(record: Mapping[str, Any]) -> dict[str, Any]:
    """The disclosure parameters a record states (under ``rules`` or at its top level)."""
    source = record.get("rules")
    if not isinstance(source, Mapping):
        source = record
    return {key: source[key] for key in _RULE_KEYS if key in source}

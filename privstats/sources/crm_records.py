"""Validation of CRM records, shared by every CRM source (files and database alike).

A source delivers *cells*: one polars frame per batch with a ``line`` column, every read column
as a string (a free-text column as its length in characters). ``Validator`` turns cells into the
typed raw frame of ``crm_schema.raw_schema``; a record with any bad cell is quarantined whole and
counted once, under the reason of its first bad column. Each problem is described by where it is
(file or table, line or row, column) and what is wrong, never by the value found there.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

import polars as pl

from privstats.config import CrmConfig, CrmKind
from privstats.quarantine import Quarantine, Reason
from privstats.sources.crm_schema import (
    KEY_COLUMN,
    Column,
    ColumnType,
    length_column,
    raw_schema,
    read_columns,
)

# Enough located problems to fix an export; the quarantine counts stay exact beyond them.
MAX_PROBLEMS = 100


class CrmReason(enum.StrEnum):
    """Why a CRM record was quarantined, besides the access logs' reasons it shares."""

    MISSING_VALUE = "missing value"
    BAD_NUMBER = "not a whole number of the expected range"
    BAD_FLAG = "not true or false"
    UNKNOWN_VALUE = "value outside the allowed list"
    BAD_EMAIL = "not an e-mail address"
    BAD_TYPE = "not a single value"
    DUPLICATE_KEY = "repeated record id"
    UNKNOWN_ORGANISATION = "unknown organisation"
    UNKNOWN_ACCOUNT = "unknown or quarantined account"


_REASONS: dict[str, Reason | CrmReason] = {r.value: r for r in (*Reason, *CrmReason)}

# Reasons that are not faults of the input: they do not count towards the bad-record ratio.
NOT_FAULTS = frozenset({Reason.ERASED.value, Reason.OBJECTED.value, Reason.EMPTY_LINE.value})


@dataclass(frozen=True)
class Problem:
    """Where one bad cell or record is, and what is wrong with it; never its content."""

    where: str  # a file name or a table name
    unit: str  # "line" (files) or "row" (database)
    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        place = f"{self.where} {self.unit} {self.line}"
        if self.column:
            place += f", column {self.column}"
        return f"{place}: {self.reason}"


@dataclass
class Tally:
    """What reading one CRM input found: records, quarantine by reason, located problems."""

    where: str
    unit: str
    records: int = 0  # records read, quarantined ones included
    quarantine: Quarantine = field(default_factory=Quarantine)
    problems: list[Problem] = field(default_factory=list)
    digest: str | None = None  # SHA-256 of the input's content, once read

    def reject(
        self, reason: Reason | CrmReason, lines: list[int], column: str | None = None
    ) -> None:
        """Quarantine records (by line) for one reason, locating the first few."""
        self.quarantine.add(reason, lines)
        self.locate([(line, column, reason.value) for line in lines])

    def locate(self, found: list[tuple[int, str | None, str]]) -> None:
        room = MAX_PROBLEMS - len(self.problems)
        for line, column, reason in found[: max(room, 0)]:
            self.problems.append(Problem(self.where, self.unit, line, column, reason))

    @property
    def faults(self) -> int:
        """Quarantined records that are the input's fault (not erased or objecting persons)."""
        return sum(n for reason, n in self.quarantine.counts.items() if reason not in NOT_FAULTS)


_TIMESTAMP = (
    r"^(?<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)\s*"
    r"(?<offset>[zZ]|[+-]\d{2}(?::?\d{2})?)?)?$"
)
# Liberal enough for every address a mail server accepts, strict enough that a name or a
# sentence in the e-mail column is recognised as not being one.
_ATOM = r'[^@\s<>(),;:"\[\]\\' + "\ufffd]+"  # U+FFFD: the address had invalid bytes
EMAIL_PATTERN = rf"^{_ATOM}@{_ATOM}\.{_ATOM}$"
_INTEGER = r"^[+-]?\d{1,18}$"
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


class Validator:
    """Checks and types the cells of one record kind; remembers keys across batches.

    The checks run in stages, each materialising its columns (``t:`` trimmed text, ``g:`` the
    parts of a timestamp, ``v:`` typed values, ``p:`` problems), so that no expression is
    evaluated twice however often later stages refer to it.
    """

    def __init__(self, kind: CrmKind, crm: CrmConfig) -> None:
        self.kind = kind
        self.crm = crm
        self.columns = read_columns(kind)
        self.schema = raw_schema(kind)
        self._vocab = crm.vocabularies()
        self._seen_keys: set[int] = set()

    def validate(self, cells: pl.DataFrame, tally: Tally) -> pl.DataFrame:
        """The valid records of ``cells`` as a typed raw frame; the others go to ``tally``."""
        tally.records += cells.height
        texts = [c for c in self.columns if c.type is not ColumnType.TEXT]
        times = [c for c in self.columns if c.type is ColumnType.TIMESTAMP]
        frame = cells.with_columns(pl.col("line").cast(pl.Int64), *(_trimmed(c) for c in texts))
        if times:
            frame = frame.with_columns(
                pl.col(f"t:{c.name}").str.extract_groups(_TIMESTAMP).alias(f"g:{c.name}")
                for c in times
            ).with_columns(part for c in times for part in _timestamp_parts(c.name))
        frame = frame.with_columns(self._value(c).alias(f"v:{c.name}") for c in self.columns)
        problems = [f"p:{c.name}" for c in self.columns]
        frame = frame.with_columns(self._problem(c).alias(f"p:{c.name}") for c in self.columns)
        frame = frame.with_columns(reason=pl.coalesce(problems))
        bad = frame.filter(pl.col("reason").is_not_null())
        if bad.height:
            self._quarantine(bad, problems, tally)
        good = frame.filter(pl.col("reason").is_null()).select(
            "line", *(pl.col(f"v:{c.name}").alias(self._raw_name(c)) for c in self.columns)
        )
        good = self._drop_repeated_keys(good, tally)
        return pl.DataFrame(good.to_arrow().cast(self.schema))

    @staticmethod
    def _raw_name(column: Column) -> str:
        return length_column(column.name) if column.type is ColumnType.TEXT else column.name

    def _quarantine(self, bad: pl.DataFrame, problems: list[str], tally: Tally) -> None:
        for (reason,), rows in bad.group_by("reason", maintain_order=True):
            tally.quarantine.add(_REASONS[str(reason)], rows["line"].to_list())
        room = MAX_PROBLEMS - len(tally.problems)
        if room <= 0:
            return
        order = {c.name: i for i, c in enumerate(self.columns)}
        located = (
            bad.head(room)
            .select("line", *problems)
            .unpivot(index="line", variable_name="column", value_name="problem")
            .drop_nulls("problem")
            .with_columns(pl.col("column").str.strip_prefix("p:"))
            .with_columns(order=pl.col("column").replace_strict(order, return_dtype=pl.Int32))
            .sort("line", "order")
        )
        tally.locate(list(located.head(room).select("line", "column", "problem").iter_rows()))

    def _drop_repeated_keys(self, good: pl.DataFrame, tally: Tally) -> pl.DataFrame:
        key = KEY_COLUMN.get(self.kind)
        if key is None or good.height == 0:
            return good
        repeated = ~good[key].is_first_distinct()
        if self._seen_keys:
            seen = pl.Series(list(self._seen_keys), dtype=pl.Int64).implode()
            repeated = repeated | good.select(pl.col(key).is_in(seen))[key]
        if repeated.any():
            tally.reject(CrmReason.DUPLICATE_KEY, good.filter(repeated)["line"].to_list(), key)
            good = good.filter(~repeated)
        self._seen_keys.update(good[key].to_list())
        return good

    # -- one column ------------------------------------------------------------------------

    def _value(self, column: Column) -> pl.Expr:
        """The typed value of one column (null where missing or malformed)."""
        if column.type is ColumnType.TEXT:
            # An empty text and no text are the same (a database's '' is a CSV's empty field).
            length = pl.col(column.name).cast(pl.Int64)
            return pl.when(length > 0).then(length)
        text = pl.col(f"t:{column.name}")
        if column.type in (ColumnType.ID, ColumnType.COUNT):
            number = pl.when(text.str.contains(_INTEGER)).then(text.cast(pl.Int64, strict=False))
            if column.type is ColumnType.COUNT:
                number = pl.when(number >= 0).then(number)
            return number
        if column.type is ColumnType.TIMESTAMP:
            return self._timestamp(column.name)
        if column.type is ColumnType.FLAG:
            lower = text.str.to_lowercase()
            return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
        if column.type is ColumnType.CODE:
            assert column.vocabulary is not None
            name = column.vocabulary
            upper = self._vocab.uppercase(name)
            code = text.str.to_uppercase() if upper else text.str.to_lowercase()
            if name in self._vocab.closed:
                known = code.is_in(sorted(self._vocab.closed[name]))
            else:
                known = code.str.contains(self._vocab.patterns[name])
            return pl.when(known).then(code)
        if column.type is ColumnType.EMAIL:
            return pl.when(text.str.contains(EMAIL_PATTERN)).then(text)
        if column.type is ColumnType.ADDRESS:
            # Whatever the form wrote down (an IPv4 or IPv6 address, a host name) is only ever
            # turned into a pseudonym; "-" is how web servers write an unknown client.
            return pl.when(text != "-").then(text)
        raise AssertionError(f"unhandled column type {column.type}")  # pragma: no cover

    @staticmethod
    def _problem(column: Column) -> pl.Expr:
        """What is wrong with one column's cell, or null: missing, or present but not valid."""
        value = pl.col(f"v:{column.name}")
        if column.type in (ColumnType.TEXT, ColumnType.ADDRESS):
            given = value.is_not_null()  # never wrong: at most missing
        else:
            given = pl.col(f"t:{column.name}").is_not_null()
        missing = pl.lit(CrmReason.MISSING_VALUE.value)
        wrong = pl.lit(_WRONG[column.type].value)
        problem: pl.Expr = pl.when(given & value.is_null()).then(wrong)
        if column.required:
            problem = pl.when(~given).then(missing).otherwise(problem)
        return problem

    def _timestamp(self, name: str) -> pl.Expr:
        """ISO 8601 (``T`` or space, optional seconds and fraction, ``Z``/±hh[:mm] or none)."""
        local = pl.col(f"g:{name}:local")
        offset = pl.col(f"g:{name}:offset")
        aware = pl.concat_str([local, offset]).str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us", time_zone="UTC"
        )
        naive = (
            local.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
            .dt.replace_time_zone(self.crm.timezone, ambiguous="null", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
        return pl.when(offset.is_not_null()).then(aware).otherwise(naive)


_WRONG: dict[ColumnType, Reason | CrmReason] = {
    ColumnType.ID: CrmReason.BAD_NUMBER,
    ColumnType.COUNT: CrmReason.BAD_NUMBER,
    ColumnType.TIMESTAMP: Reason.BAD_TIMESTAMP,
    ColumnType.FLAG: CrmReason.BAD_FLAG,
    ColumnType.CODE: CrmReason.UNKNOWN_VALUE,
    ColumnType.EMAIL: CrmReason.BAD_EMAIL,
    ColumnType.ADDRESS: CrmReason.MISSING_VALUE,  # never wrong, at most missing
    ColumnType.TEXT: CrmReason.MISSING_VALUE,  # never wrong, at most missing
}


def _trimmed(column: Column) -> pl.Expr:
    """``t:<name>``: the cell without surrounding blanks; empty means missing."""
    text = pl.col(column.name).str.strip_chars()
    return pl.when(text != "").then(text).alias(f"t:{column.name}")


def _timestamp_parts(name: str) -> list[pl.Expr]:
    """``g:<name>:local`` (date and time, seconds always written) and ``g:<name>:offset``."""
    parts = pl.col(f"g:{name}")
    date, time, offset = (parts.struct.field(n) for n in ("date", "time", "offset"))
    time = pl.when(time.str.len_chars() == 5).then(time + ":00").otherwise(time)
    local = pl.concat_str([date, pl.lit("T"), time.fill_null("00:00:00")])
    offset = (
        pl.when(offset.is_in(["z", "Z"]))
        .then(pl.lit("+00:00"))
        .when(offset.str.len_chars() == 3)
        .then(offset + ":00")
        .when(offset.str.len_chars() == 5)
        .then(pl.concat_str([offset.str.slice(0, 3), pl.lit(":"), offset.str.slice(3, 2)]))
        .otherwise(offset)
    )
    return [local.alias(f"g:{name}:local"), offset.alias(f"g:{name}:offset")]


def cells_frame(kind: CrmKind, lines: list[int], columns: dict[str, list[object]]) -> pl.DataFrame:
    """A cells frame from Python lists (strings, or lengths for free-text columns)."""
    schema: dict[str, pl.DataType] = {"line": pl.Int64()}
    for column in read_columns(kind):
        schema[column.name] = pl.Int64() if column.type is ColumnType.TEXT else pl.String()
    return pl.DataFrame({"line": lines, **columns}, schema=schema)


@dataclass(frozen=True)
class RawRecords:
    """One kind read whole: its valid records as a typed raw frame, and what was quarantined."""

    kind: CrmKind
    frame: pl.DataFrame
    tally: Tally


class Records:
    """The validated batches of one CRM input; iterate once, then read ``tally``."""

    def __init__(self, source: CrmSource, kind: CrmKind) -> None:
        self.source = source
        self.kind = kind
        self.tally = Tally(source.location(kind), source.unit)
        self._validator = Validator(kind, source.crm)

    def __iter__(self) -> Iterator[pl.DataFrame]:
        for cells in self.source.cells(self.kind, self.tally):
            frame = self._validator.validate(cells, self.tally)
            if frame.height:
                yield frame

    def frame(self) -> pl.DataFrame:
        """Every valid record at once (for small inputs and tests)."""
        frames = list(self)
        if not frames:
            return pl.DataFrame(raw_schema(self.kind).empty_table())
        return pl.concat(frames)


class CrmSource(abc.ABC):
    """Where CRM records come from. Subclasses deliver cells; validation is shared."""

    format: str  # csv | jsonl | postgresql
    unit: str  # line | row

    def __init__(self, crm: CrmConfig) -> None:
        self.crm = crm

    def __enter__(self) -> CrmSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - a source without resources has nothing to close
        """Release what the source holds (a database connection)."""

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """How the source is named in messages (a folder, a database without its password)."""

    @abc.abstractmethod
    def kinds(self) -> frozenset[CrmKind]:
        """The record kinds this source has."""

    @abc.abstractmethod
    def location(self, kind: CrmKind) -> str:
        """The file or table name problems of ``kind`` are reported against."""

    @abc.abstractmethod
    def cells(self, kind: CrmKind, tally: Tally) -> Iterator[pl.DataFrame]:
        """Batches of cells; records unreadable as such go straight to ``tally``."""

    def format_of(self, kind: CrmKind) -> str:
        """The format ``kind`` is read in (a folder may mix CSV and JSON lines)."""
        return self.format

    def content_digest(self, kind: CrmKind) -> str | None:
        """The content's digest if it is known before reading (files), else None."""
        return None

    def records(self, kind: CrmKind) -> Records:
        return Records(self, kind)


def read_all(source: CrmSource) -> dict[CrmKind, RawRecords]:
    """Every kind the source has, read and validated whole (for small inputs, tests, notebooks)."""
    out = {}
    for kind in CrmKind:
        if kind in source.kinds():
            records = source.records(kind)
            out[kind] = RawRecords(kind, records.frame(), records.tally)
    return out

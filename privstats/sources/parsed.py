"""Parsed blocks kept as codes into distinct values, validated and typed once per value.

A block of 60,000 lines has a few thousand distinct timestamps and user agents; every
check and conversion runs on those, and rows carry only integer codes into them. Only the
numbers that are nearly all distinct (bytes, response time) are converted row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privstats._lazy import LazyModule
from privstats.quarantine import Quarantine, Reason
from privstats.sources import tokens
from privstats.sources.logformat import Field, LogFormat

if TYPE_CHECKING:
    import polars as pl
else:
    pl = LazyModule("polars")

# White space as Python's ``str.isspace`` has it, written so that Python's ``re`` and the Rust
# regex engine of polars read it alike (their own ``\s`` differ on \x1c-\x1f).
WHITE = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A request line: method, target and, optionally, protocol, apart by runs of spaces.
REQUEST = rf"^([^{WHITE}]+) +([^{WHITE}]+)(?: +([^{WHITE}]+))?$"
_DASH = ("-", "")


@dataclass(frozen=True)
class Coded:
    """A column as one code per row into a table of values (which may repeat, or hold nulls)."""

    codes: np.ndarray  # int32, one per row
    values: pa.Array  # string

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def encode(cls, array: pa.Array | pa.ChunkedArray) -> Coded:
        """Dictionary-encode a string or binary column (values decoded as UTF-8 if binary)."""
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
        if not chunks:
            return cls(np.zeros(0, dtype=np.int32), pa.array([], pa.string()))
        codes = [
            np.asarray(c.indices.to_numpy(zero_copy_only=False), dtype=np.int32) for c in chunks
        ]
        values = chunks[0].dictionary
        return cls(np.concatenate(codes) if len(codes) > 1 else codes[0], values)

    @classmethod
    def from_texts(cls, texts: Sequence[str | None]) -> Coded:
        return cls.encode(pa.array(texts, pa.string()))

    @classmethod
    def constant(cls, value: str | None, rows: int) -> Coded:
        return cls(np.zeros(rows, dtype=np.int32), pa.array([value], pa.string()))

    def filter(self, mask: np.ndarray | slice) -> Coded:
        return Coded(self.codes[mask], self.values)

    def per_row(self, per_value: np.ndarray) -> np.ndarray:
        """Spread an array computed once per value out to the rows."""
        return per_value[self.codes]

    def materialize(self) -> pa.Array:
        return self.values.take(pa.array(self.codes))

    def with_values(self, values: pa.Array) -> Coded:
        return Coded(self.codes, values)

    @staticmethod
    def concat(first: Coded, second: Coded) -> Coded:
        if not len(second):
            return first
        if not len(first):
            return second
        values = pa.concat_arrays([first.values.cast(pa.string()), second.values.cast(pa.string())])
        codes = np.concatenate([first.codes, second.codes + len(first.values)]).astype(np.int32)
        return Coded(codes, values)


@dataclass
class RawFields:
    """Accepted lines as fields: text (coded, or one value per row for bytes and response
    time), or values the tokeniser typed itself (``known``)."""

    line: np.ndarray  # int64 line numbers
    coded: dict[Field, Coded] = field(default_factory=dict)
    plain: dict[Field, pa.Array] = field(default_factory=dict)
    # Typed and valid by construction: TIME_CLF -> int64 µs (numpy), STATUS -> int16 (numpy),
    # BYTES -> int64 and RESPONSE_* -> int64 µs, nullable (Arrow).
    known: dict[Field, np.ndarray | pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.line)

    @classmethod
    def from_columns(
        cls, line: Sequence[int] | np.ndarray, columns: Mapping[Field, Sequence[str | None]]
    ) -> RawFields:
        """Fields given as one text per row (the line-by-line paths)."""
        out = cls(np.asarray(line, dtype=np.int64))
        for name, texts in columns.items():
            if name in PLAIN_FIELDS:
                out.plain[name] = pa.array(texts, pa.string())
            else:
                out.coded[name] = Coded.from_texts(texts)
        return out


PLAIN_FIELDS = frozenset({Field.BYTES, Field.RESPONSE_US, Field.RESPONSE_MS, Field.RESPONSE_S})


@dataclass
class ParsedBlock:
    """Valid lines of a block, typed; identifying columns as codes into distinct values."""

    line: np.ndarray  # int64
    ts: np.ndarray  # int64 microseconds since the epoch, UTC
    client: Coded
    # Either the request line (``%r``: split only when asked, see ``parts``) or its parts.
    request: Coded | None
    method: Coded | None
    target: Coded | None
    protocol: Coded | None
    status: np.ndarray  # int16
    bytes: pa.Array  # int64, nullable
    response_us: pa.Array  # int64, nullable
    login: Coded | None = None
    referer: Coded | None = None
    user_agent: Coded | None = None
    site: Coded | None = None

    def __len__(self) -> int:
        return len(self.line)

    def filter(self, mask: np.ndarray) -> ParsedBlock:
        keep = pa.array(mask)
        coded = {
            name: (value.filter(mask) if value is not None else None)
            for name, value in self._optional().items()
        }
        return replace(
            self,
            client=self.client.filter(mask),
            line=self.line[mask],
            ts=self.ts[mask],
            status=self.status[mask],
            bytes=self.bytes.filter(keep),
            response_us=self.response_us.filter(keep),
            **coded,
        )

    @staticmethod
    def concat(first: ParsedBlock, second: ParsedBlock) -> ParsedBlock:
        """The rows of both, first's then second's (blocks of one format)."""
        if not len(second):
            return first
        if not len(first):
            return second
        coded: dict[str, Coded | None] = {}
        for (name, one), other in zip(
            first._optional().items(), second._optional().values(), strict=True
        ):
            coded[name] = (
                None
                if one is None and other is None
                else Coded.concat(
                    one or Coded.constant(None, len(first)),
                    other or Coded.constant(None, len(second)),
                )
            )
        return replace(
            first,
            client=Coded.concat(first.client, second.client),
            line=np.concatenate([first.line, second.line]),
            ts=np.concatenate([first.ts, second.ts]),
            status=np.concatenate([first.status, second.status]),
            bytes=pa.concat_arrays([first.bytes, second.bytes]),
            response_us=pa.concat_arrays([first.response_us, second.response_us]),
            **coded,
        )

    def parts(self) -> tuple[Coded, Coded, Coded]:
        """Method, target and protocol (split from the request line once per distinct line)."""
        if self.request is None:
            # Formats without a request line (%r) log its three parts, none of them None.
            return self.method, self.target, self.protocol  # type: ignore[return-value]
        return split_requests(self.request)

    def _coded(self) -> dict[str, Coded | None]:
        return {"client": self.client} | self._optional()

    def _optional(self) -> dict[str, Coded | None]:
        """The coded columns other than the client, which every format has."""
        return {
            "request": self.request,
            "method": self.method,
            "target": self.target,
            "protocol": self.protocol,
            "login": self.login,
            "referer": self.referer,
            "user_agent": self.user_agent,
            "site": self.site,
        }

    def to_frame(self) -> pl.DataFrame:
        """Plain typed columns, one row per line (for tests and small inputs)."""
        columns: dict[str, object] = {
            "line": pl.Series(self.line, dtype=pl.Int64),
            "ts": pl.Series(self.ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
        }
        method, target, protocol = self.parts()
        coded = self._coded() | {"method": method, "target": target, "protocol": protocol}
        del coded["request"]
        for name, one in coded.items():
            values = one.materialize() if one is not None else pa.nulls(len(self), pa.string())
            columns[name] = pl.from_arrow(values.cast(pa.string()))
        columns["status"] = pl.Series(self.status, dtype=pl.Int16)
        columns["bytes"] = pl.from_arrow(self.bytes)
        columns["response_us"] = pl.from_arrow(self.response_us)
        return pl.DataFrame(columns).select(PARSED_COLUMNS)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> ParsedBlock:
        """From typed columns as ``to_frame`` makes them."""

        def coded(name: str) -> Coded:
            return Coded.encode(frame[name].cast(pl.String).to_arrow())

        return cls(
            line=frame["line"].cast(pl.Int64).to_numpy(),
            ts=frame["ts"].dt.replace_time_zone(None).cast(pl.Int64).to_numpy(),
            client=coded("client"),
            request=None,
            method=coded("method"),
            target=coded("target"),
            protocol=coded("protocol"),
            status=frame["status"].cast(pl.Int16).to_numpy(),
            bytes=frame["bytes"].cast(pl.Int64).to_arrow(),
            response_us=frame["response_us"].cast(pl.Int64).to_arrow(),
            login=coded("login"),
            referer=coded("referer"),
            user_agent=coded("user_agent"),
            site=coded("site"),
        )


PARSED_COLUMNS = [
    "line", "client", "login", "ts", "method", "target", "protocol", "status", "bytes",
    "response_us", "referer", "user_agent", "site",
]  # fmt: skip


class BlockTally:
    """Quarantined lines of one block, by reason; handed over sorted, like a reader expects."""

    def __init__(self) -> None:
        self.lines: dict[Reason, list[np.ndarray]] = {}
        self.non_utf8 = 0
        self.line_count = 0  # lines in the block, good and bad

    def add(self, reason: Reason, lines: Sequence[int] | np.ndarray) -> None:
        if len(lines):
            self.lines.setdefault(reason, []).append(np.asarray(lines, dtype=np.int64))

    def into(self, quarantine: Quarantine) -> None:
        for reason, parts in self.lines.items():
            quarantine.add(reason, np.sort(np.concatenate(parts)).tolist())
        quarantine.non_utf8 += self.non_utf8


def typed(raw: RawFields, fmt: LogFormat, tally: BlockTally) -> ParsedBlock:
    """Text fields -> typed columns; a line with an invalid field is quarantined."""
    rows = len(raw)

    def coded(name: Field) -> Coded | None:
        return raw.coded.get(name)

    client = coded(Field.CLIENT) or Coded.constant(None, rows)
    missing_client = client.per_row(_dash_or_null(client.values))

    ts, bad_time = _timestamps(raw, rows)
    status, bad_status = _statuses(raw, rows)
    size_array, bad_size = _sizes(raw, rows)
    response, bad_response = _response_us(raw, rows)

    request = coded(Field.REQUEST)
    method, target, protocol = _parts(raw, rows) if request is None else (None, None, None)
    login = coded(Field.LOGIN)
    if login is not None:
        names = login.values.cast(pa.string())
        absent = pa.array(_dash_or_null(names))
        login = login.with_values(pc.if_else(absent, pa.scalar(None, pa.string()), names))

    # Each bad line is counted once, under the first problem found, in this order.
    checks = [
        (Reason.MISSING_CLIENT, missing_client),
        (Reason.BAD_TIMESTAMP, bad_time),
        (Reason.BAD_STATUS, bad_status),
        (Reason.BAD_SIZE, bad_size),
        (Reason.BAD_RESPONSE_TIME, bad_response),
    ]
    bad = np.zeros(rows, dtype=bool)
    for reason, condition in checks:
        tally.add(reason, raw.line[condition & ~bad])
        bad |= condition
    block = ParsedBlock(
        line=raw.line,
        ts=ts,
        client=client,
        request=request,
        method=method,
        target=target,
        protocol=protocol,
        status=status,
        bytes=size_array,
        response_us=response,
        login=login,
        referer=coded(Field.REFERER),
        user_agent=coded(Field.USER_AGENT),
        site=coded(Field.SITE),
    )
    return block.filter(~bad) if bad.any() else block


def _timestamps(raw: RawFields, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch, UTC, and which rows' time is not a time."""
    clf = Field.TIME_CLF in raw.coded or Field.TIME_CLF in raw.known
    time_field = Field.TIME_CLF if clf else Field.TIME_ISO
    if time_field in raw.known:
        return raw.known[time_field], np.zeros(rows, dtype=bool)
    time = raw.coded.get(time_field) or Coded.constant(None, rows)
    if time_field is Field.TIME_CLF:
        read = _read_typed(time.values, time_field)
        if read is not None:
            return time.per_row(read.values), time.per_row(~read.vouched)
    pattern = "%d/%b/%Y:%H:%M:%S %z" if time_field is Field.TIME_CLF else "%Y-%m-%dT%H:%M:%S%z"
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    stamps = pl.from_arrow(time.values.cast(pa.string())).str.strptime(  # type: ignore[union-attr]
        pl.Datetime("us", "UTC"), pattern, strict=False
    )
    ts_per_value = stamps.dt.replace_time_zone(None).cast(pl.Int64)
    return (
        time.per_row(ts_per_value.fill_null(0).to_numpy()),
        time.per_row(ts_per_value.is_null().to_numpy()),
    )


def _statuses(raw: RawFields, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """HTTP status as int16, and which rows' status is not one (100 to 599)."""
    if Field.STATUS in raw.known:
        return raw.known[Field.STATUS], np.zeros(rows, dtype=bool)
    status_coded = raw.coded.get(Field.STATUS) or Coded.constant(None, rows)
    read = _read_typed(status_coded.values, Field.STATUS)
    if read is not None:
        return status_coded.per_row(read.values), status_coded.per_row(~read.vouched)
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    status_values = pl.from_arrow(status_coded.values.cast(pa.string())).str.to_integer(  # type: ignore[union-attr]
        strict=False
    )
    status_ok = status_values.is_between(100, 599).fill_null(False).to_numpy()
    status = status_coded.per_row(status_values.clip(0, 999).fill_null(0).cast(pl.Int16).to_numpy())
    return status, ~status_coded.per_row(status_ok)


def _sizes(raw: RawFields, rows: int) -> tuple[pa.Array, np.ndarray]:
    """Bytes sent ('-' is 0; null without the field), and which rows' size is not a size."""
    if Field.BYTES in raw.known:
        return raw.known[Field.BYTES], np.zeros(rows, dtype=bool)
    size_text = raw.plain.get(Field.BYTES)
    if size_text is None:
        return pa.nulls(rows, pa.int64()), np.zeros(rows, dtype=bool)
    read = _read_typed(size_text, Field.BYTES)
    if read is not None:
        return pa.array(read.values, mask=~read.vouched), ~read.vouched
    text = pl.col("text")
    size = (
        pl.DataFrame({"text": pl.from_arrow(size_text.cast(pa.string()))})
        .select(pl.when(text == "-").then(0).otherwise(text.str.to_integer(strict=False)))
        .to_series()
    )
    return size.cast(pl.Int64).to_arrow(), (size.is_null() | (size < 0)).to_numpy()


def _read_typed(values: pa.Array, name: Field) -> tokens.Typed | None:
    """``values`` typed by the compiled pass, when it vouches for every one that is not null
    (a null is no time, status or size, and an unknown response time, as below); else None,
    and the caller's definition types them all."""
    read = tokens.read_typed(values, name)
    # A null is never vouched for: every other value is when the counts agree.
    if np.count_nonzero(read.vouched) != len(values) - values.null_count:
        return None
    return read


def _dash_or_null(values: pa.Array) -> np.ndarray:
    """Which values are null, empty or '-' (a field logged as absent)."""
    absent = pc.or_kleene(pc.is_null(values), pc.is_in(values, pa.array(_DASH, values.type)))
    return np.asarray(absent.to_numpy(zero_copy_only=False), dtype=bool)


def split_requests(request: Coded) -> tuple[Coded, Coded, Coded]:
    """Method, target and protocol of request lines, split once per distinct line."""
    # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
    parts = pl.from_arrow(request.values.cast(pa.string())).str.extract_groups(REQUEST)  # type: ignore[union-attr]
    method, target, protocol = (
        request.with_values(parts.struct.field(str(i)).to_arrow()) for i in (1, 2, 3)
    )
    return method, target, protocol


def _parts(raw: RawFields, rows: int) -> tuple[Coded, Coded, Coded]:
    """Method, target and protocol of formats that log them apart (``%m %U%q %H``)."""
    none = Coded.constant(None, rows)
    method = raw.coded.get(Field.METHOD) or none
    protocol = raw.coded.get(Field.PROTOCOL) or none
    target = raw.coded.get(Field.TARGET) or none
    query = raw.coded.get(Field.QUERY)
    if query is not None:
        # Joined once per distinct (target, query) pair.
        pair = target.codes.astype(np.int64) * len(query.values) + query.codes
        distinct, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
        del distinct
        frame = pl.DataFrame(
            {
                "target": pl.from_arrow(target.values.cast(pa.string()).take(target.codes[first])),
                "query": pl.from_arrow(query.values.cast(pa.string()).take(query.codes[first])),
            }
        )
        joined = frame.select(
            pl.when(pl.col("query").is_null() | pl.col("query").is_in(["", "-"]))
            .then(pl.col("target"))
            .otherwise(pl.col("target") + pl.lit("?") + pl.col("query"))
        ).to_series()
        target = Coded(inverse.astype(np.int32).ravel(), joined.to_arrow())
    return method, target, protocol


def _response_us(raw: RawFields, rows: int) -> tuple[pa.Array, np.ndarray]:
    """Response time in microseconds; '-' is unknown (null), garbage is quarantined."""
    for name, scale in (
        (Field.RESPONSE_US, 1),
        (Field.RESPONSE_MS, 1000),
        (Field.RESPONSE_S, 10**6),
    ):
        if name in raw.known:
            return raw.known[name], np.zeros(rows, dtype=bool)
        text = raw.plain.get(name)
        if text is None:
            continue
        read = _read_typed(text, name)
        if read is not None:
            return pa.array(read.values, mask=~read.known), np.zeros(rows, dtype=bool)
        # pyarrow is untyped: polars cannot tell from_arrow's Series overload from its frame one.
        value: pl.Series = pl.from_arrow(text.cast(pa.string()))  # type: ignore[assignment]
        number = value.cast(pl.Float64, strict=False)
        unknown = (value.is_null() | value.is_in(["-", ""])).to_numpy()
        micros = (number * scale).round(0)
        # Negative, not a number, infinite or beyond 64 bits: not a response time.
        fine = (number >= 0) & (micros <= 2.0**62)
        bad = ~unknown & ~fine.fill_null(False).to_numpy()
        clean = pl.Series(np.where(unknown | bad, 0.0, micros.fill_null(0).fill_nan(0).to_numpy()))
        out = clean.cast(pl.Int64).to_arrow()
        mask = pa.array(unknown | bad)
        return pc.if_else(mask, pa.nulls(rows, pa.int64()), out), bad
    return pa.nulls(rows, pa.int64()), np.zeros(rows, dtype=bool)

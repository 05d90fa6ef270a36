"""Plausible times: a log line dated where no line of its input can be is quarantined.

A log spans days, a rotated archive months. A line of the year 9999, 0001 or 1969 is a clock or
a writer gone wrong; stored, it would make a day partition no report can read. The window is
``ingest.plausible_years`` either side of the input's own time (the median time of the first
block's valid lines: a few wrong clocks do not move it), and never earlier than 1990 nor later
than tomorrow by this machine's clock (UTC). Lines outside it are quarantined with their reason.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from privstats.quarantine import Reason
from privstats.sources.parsed import BlockTally, ParsedBlock

_US_PER_DAY = 86_400_000_000
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


class PlausibleTimes:
    """The window of one input's times, fixed by its first block with valid lines."""

    def __init__(self, years: float, now: dt.datetime | None = None) -> None:
        moment = now or dt.datetime.now(dt.UTC)
        self.span = int(years * 365.25 * _US_PER_DAY)
        self.earliest = _micros(EARLIEST)
        self.latest = _micros(moment) + _US_PER_DAY
        self.window: tuple[int, int] | None = None

    def keep(self, parsed: ParsedBlock, tally: BlockTally) -> ParsedBlock:
        """The block's lines dated inside the window; the others go to ``tally``."""
        ts = parsed.ts
        if not len(ts):
            return parsed
        if self.window is None:
            possible = ts[(ts >= self.earliest) & (ts <= self.latest)]
            if len(possible):
                middle = int(np.sort(possible)[(len(possible) - 1) // 2])
                self.window = (
                    max(self.earliest, middle - self.span),
                    min(self.latest, middle + self.span),
                )
        low, high = self.window or (self.latest + 1, self.latest)  # nothing plausible yet
        bad = (ts < low) | (ts > high)
        if not bad.any():
            return parsed
        tally.add(Reason.IMPLAUSIBLE_TIME, parsed.line[bad])
        return parsed.filter(~bad)


def _micros(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond

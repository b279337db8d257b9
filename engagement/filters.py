"""The shared view filters (date range, acquisition channel, customer segment).

Every page applies the same selection, and every SQL file that honours it takes the same bound
parameters: ``$start``, ``$end_exclusive``, ``$channels`` and ``$segments`` (an empty list means all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Filters:
    """A view selection. ``end`` is inclusive (a calendar day), as users think of date ranges."""

    start: date
    end: date
    channels: tuple[str, ...] = field(default_factory=tuple)
    segments: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"The end date {self.end} is before the start date {self.start}.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> "Filters":
        """The window of the same length just before this one, with the same customer selection."""
        return Filters(
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
            channels=self.channels,
            segments=self.segments,
        )

    def params(self) -> dict[str, Any]:
        """Bound parameters for SQL files that honour the shared filters."""
        return {
            "start": datetime.combine(self.start, time.min),
            "end_exclusive": datetime.combine(self.end + timedelta(days=1), time.min),
            "channels": list(self.channels),
            "segments": list(self.segments),
        }


def as_date(value: Any) -> date | None:
    """A date or timestamp read from a query (a pandas Timestamp included) as a calendar day; None for NULL."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

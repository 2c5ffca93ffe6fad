"""BRAG ratings and the timescale table that turns a rating into a deadline."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping


class Brag(str, enum.Enum):
    """Blue, Green, Amber, Red, ordered by seriousness (Blue lowest)."""

    BLUE = "blue"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def highest(cls, ratings: Iterable[Brag]) -> Brag | None:
        """The most serious rating, or None when there is none."""
        return max(ratings, key=lambda r: r.rank, default=None)


_RANK = {Brag.BLUE: 0, Brag.GREEN: 1, Brag.AMBER: 2, Brag.RED: 3}

# Surrey Police triage figures (MASH.md §1.3): red 4 h, amber 24 h, green 72 h.
# Blue has no MASH response; an enquiry opened on blue gets the green timescale.
DEFAULT_TIMESCALES: Mapping[Brag, dt.timedelta] = {
    Brag.RED: dt.timedelta(hours=4),
    Brag.AMBER: dt.timedelta(hours=24),
    Brag.GREEN: dt.timedelta(hours=72),
    Brag.BLUE: dt.timedelta(hours=72),
}


def deadline_for(
    brag: Brag, opened_at: dt.datetime, timescales: Mapping[Brag, dt.timedelta]
) -> dt.datetime:
    """When partner information is due for an enquiry opened at `opened_at` with `brag`."""
    return opened_at + timescales[brag]

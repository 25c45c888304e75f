"""What every report returns, and the period/as-of conventions they share.

Dates: ``as_of`` is the day a balance is taken at (end of day): an invoice counts once issued on
or before it, a payment once received on or before it, an adjustment once posted on or before
it. A period is ``start..end`` inclusive; charges fall in it by date of service, payments by
date received, adjustments by date posted, claims by issue date.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


@dataclass
class Chart:
    kind: str  # "bar" | "stacked" | "pie" | "line"
    sheet: str  # the sheet holding the data
    title: str
    category: str  # column with the category labels (x axis / pie slices)
    series: list[str]  # columns with the values
    rows: tuple[int, int] | None = None  # 0-based row slice of the data to chart (default: all)
    from_rows: bool = (
        False  # series are the sheet's rows (named by `category`), categories its `series` columns
    )
    y_title: str | None = None
    anchor: str | None = None  # cell where the chart sits (default: right of the data)


@dataclass
class Report:
    name: str
    title: str
    sheets: dict[str, list[dict]]
    columns: dict[str, list[str]] = field(default_factory=dict)
    main: str | None = None  # sheet printed by table/csv/json (default: the first)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    phi: bool = False  # rows name patients
    total_rows: dict[str, int] = field(
        default_factory=dict
    )  # sheet -> index of a totals row (bold in xlsx)

    @property
    def main_sheet(self) -> str:
        return self.main or next(iter(self.sheets))

    @property
    def rows(self) -> list[dict]:
        return self.sheets[self.main_sheet]


def pct(num: int, den: int) -> Decimal | None:
    """num/den as a percentage with one decimal, half-up; None when there is no denominator."""
    if not den:
        return None
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ratio(num: int, den: Decimal | int, places: str = "0.1") -> Decimal | None:
    if not den:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def default_period(
    as_of: _dt.date, start: _dt.date | None, end: _dt.date | None, *, days: int = 90
) -> tuple[_dt.date, _dt.date]:
    """--to defaults to --as-of; --from to `days` days before --to (inclusive period)."""
    end = end or as_of
    start = start or (end - _dt.timedelta(days=days - 1))
    if start > end:
        from ..errors import BadInput

        raise BadInput(f"--from {start} is after --to {end}")
    return start, end


def months(start: _dt.date, end: _dt.date) -> list[tuple[str, _dt.date, _dt.date]]:
    """Calendar months overlapping start..end, clipped: [(YYYY-MM, first, last)]."""
    out = []
    d = start.replace(day=1)
    while d <= end:
        nxt = (d.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        out.append((d.strftime("%Y-%m"), max(d, start), min(nxt - _dt.timedelta(days=1), end)))
        d = nxt
    return out


def audited(conn: Database, rep: Report) -> Report:
    """A report whose rows name patients is a PHI read (45 CFR 164.312(b)): the domain records
    it when it builds the report, so a Python caller cannot skip the audit row."""
    if rep.phi:
        from ..reads import record_read

        record_read(
            conn,
            f"report {rep.name}",
            entity="report",
            count=len(rep.rows),
            detail={"phi_read": True},
        )
    return rep

"""Dates: ISO-8601 text in the database; explicit formats on input, never fuzzy guessing.

A column's format is declared ("%m/%d/%Y"); ISO "YYYY-MM-DD" is always accepted. Two-digit years
and impossible dates ("2025-02-30") are refused. dateutil is used for calendar arithmetic only.

Edges (refused, with the reason and never the value):
- digits outside ASCII 0-9 (Arabic-Indic, fullwidth: Python's regex digits and int() accept them);
- any date before 1900-01-01 or after 2199-12-31 (9999-12-31 is a placeholder, not a day, and
  date arithmetic on it overflows);
- a time of day where only a day makes sense (a birth date: ``allow_time=False``);
- a date given on the command line (parse_option: a payment, remittance or report day) before
  2000-01-01: billadmin's work happens on days after the HIPAA transaction standards existed,
  and 1900-01-01 is the classic placeholder.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import overload

ISO = "%Y-%m-%d"
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)

# Formats a user may name with --date-format: each must carry a 4-digit year.
KNOWN_FORMATS = {
    "iso": ISO,
    "YYYY-MM-DD": ISO,
    "MM/DD/YYYY": "%m/%d/%Y",
    "M/D/YYYY": "%m/%d/%Y",
    "DD/MM/YYYY": "%d/%m/%Y",
    "YYYYMMDD": "%Y%m%d",
    "MM-DD-YYYY": "%m-%d-%Y",
}


EARLIEST = _dt.date(1900, 1, 1)
LATEST = _dt.date(2199, 12, 31)
EARLIEST_WORK = _dt.date(2000, 1, 1)  # dates given as options (see the module docstring)


class DateError(ValueError):
    "Text that is not a date in the expected format."


def normalise_format(fmt: str | None) -> str:
    if fmt is None:
        return ISO
    fmt = KNOWN_FORMATS.get(fmt, fmt)
    if "%Y" not in fmt:
        raise DateError(f"date format {fmt!r} must have a 4-digit year (%Y)")
    return fmt


def parse_date(
    text: str | _dt.date | None,
    fmt: str | None = None,
    *,
    format_option: str | None = "--date-format",
    allow_time: bool = True,
    check_range: bool = True,
) -> _dt.date:
    """Parse text in ISO or the declared format. Raises DateError with the reason (no value).

    ``format_option`` names where the caller's user declares another format (a file reader's
    ``--date-format``); None when there is no such place (a date typed as a command option is
    always ISO), so the message never suggests an option the command does not have."""
    if isinstance(text, _dt.datetime):
        if not allow_time and text.time() != _dt.time(0):
            raise DateError("has a time of day; a birth date is a day only")
        return in_range(text.date(), check_range)
    if isinstance(text, _dt.date):
        return in_range(text, check_range)
    if text is None or not str(text).strip():
        raise DateError("date is empty")
    s = str(text).strip()
    if not s.isascii():
        raise DateError("has characters outside ASCII (write the digits 0-9)")
    m = _ISO_DATETIME_RE.match(s)
    if m:
        if not allow_time:
            raise DateError("has a time of day; a birth date is a day only")
        s = m.group(1)
    if _ISO_RE.match(s):
        try:
            d = _dt.date.fromisoformat(s)
        except ValueError:
            raise DateError("impossible date") from None
        return in_range(d, check_range)
    f = normalise_format(fmt)
    if f == ISO:
        if re.fullmatch(r"\d{1,2}[/-]\d{1,2}[/-]\d{2}", s):
            raise DateError("two-digit year; write the year in full")
        hint = f" (use {format_option} for others)" if format_option else ""
        raise DateError(f"not a date in YYYY-MM-DD form{hint}")
    digits_year = re.search(r"\d+", s[::-1]) if f.endswith("%Y") else None
    if digits_year and len(digits_year.group(0)) < 4:
        raise DateError("two-digit year; write the year in full")
    try:
        d = _dt.datetime.strptime(s, f).date()
    except (ValueError, re.error):  # re.error: a format strptime cannot compile ("%Y%Y")
        raise DateError(f"not a date in the format {f}, or an impossible date") from None
    if d.year < 1000:
        raise DateError("year must have 4 digits")
    return in_range(d, check_range)


def in_range(d: _dt.date, check: bool = True) -> _dt.date:
    """d, or DateError when it lies outside EARLIEST..LATEST (a caller with a more specific
    reason, such as "in the future", checks that first and then calls this)."""
    if check and not EARLIEST <= d <= LATEST:
        raise DateError(
            f"outside {EARLIEST.isoformat()} to {LATEST.isoformat()}"
            + (" (year before 1900)" if d < EARLIEST else "")
        )
    return d


@overload
def parse_option(text: str | None, option: str, default: _dt.date) -> _dt.date: ...


@overload
def parse_option(text: str | None, option: str, default: None = None) -> _dt.date | None: ...


def parse_option(text: str | None, option: str, default: _dt.date | None = None) -> _dt.date | None:
    """A date given on the command line (--as-of, --date, --from, --since, ...): parse_date's
    rules (ISO, or an ISO datetime's day); None gives the default. Bad text is BadInput (exit 2)
    naming the option and the reason, never the value. The one parser for date options. Options
    are always ISO, so the message suggests no --date-format (that option, where a command has
    it, declares the format of a file's date column, never of an option)."""
    from .errors import BadInput

    if text is None:
        return default
    try:
        d = parse_date(text, format_option=None)
    except DateError as e:
        raise BadInput(f"{option}: {e}") from None
    if d < EARLIEST_WORK:
        raise BadInput(f"{option}: before {EARLIEST_WORK.isoformat()}, not a day of billing work")
    return d


def iso(d: _dt.date | None) -> str | None:
    return d.isoformat() if d else None


def today() -> _dt.date:
    return _dt.date.today()


def add_months(d: _dt.date, months: int) -> _dt.date:
    """Calendar months later, clamped to the month's end (Feb 29 + 12 months = Feb 28)."""
    from dateutil.relativedelta import relativedelta

    return d + relativedelta(months=months)


def age_on(dob: _dt.date, on: _dt.date) -> int:
    years = on.year - dob.year
    if (on.month, on.day) < (dob.month, dob.day):
        years -= 1
    return years

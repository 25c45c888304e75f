import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billadmin import dates


def test_iso_and_declared_formats():
    assert dates.parse_date("2026-02-28") == dt.date(2026, 2, 28)
    assert dates.parse_date("2026-02-28T10:11:12Z") == dt.date(2026, 2, 28)
    assert dates.parse_date("02/28/2026", "MM/DD/YYYY") == dt.date(2026, 2, 28)
    assert dates.parse_date("28/02/2026", "%d/%m/%Y") == dt.date(2026, 2, 28)
    assert dates.parse_date("20260228", "YYYYMMDD") == dt.date(2026, 2, 28)
    # ISO is always accepted even when a column declares another format
    assert dates.parse_date("2026-02-28", "MM/DD/YYYY") == dt.date(2026, 2, 28)


@pytest.mark.parametrize(
    "text,fmt,reason",
    [
        ("2025-02-30", None, "impossible"),
        ("01/02/03", None, "two-digit year"),
        ("01/02/03", "MM/DD/YYYY", "two-digit year"),
        ("02/30/2026", "MM/DD/YYYY", "impossible"),
        ("Feb 3 2026", None, "not a date"),
        ("", None, "empty"),
        ("2026-13-01", None, "impossible"),
        ("yesterday", "MM/DD/YYYY", "two-digit year|not a date"),
    ],
)
def test_rejects(text, fmt, reason):
    with pytest.raises(dates.DateError, match=reason):
        dates.parse_date(text, fmt)


def test_format_without_full_year_refused():
    with pytest.raises(dates.DateError, match="4-digit year"):
        dates.parse_date("01/02/03", "%m/%d/%y")


def test_add_months_clamps_feb_29():
    assert dates.add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert dates.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)


def test_age_on():
    assert dates.age_on(dt.date(2000, 6, 15), dt.date(2026, 6, 14)) == 25
    assert dates.age_on(dt.date(2000, 6, 15), dt.date(2026, 6, 15)) == 26


@given(st.text(max_size=20), st.sampled_from([None, "MM/DD/YYYY", "YYYYMMDD"]))
def test_arbitrary_text_only_raises_dateerror(s, fmt):
    try:
        dates.parse_date(s, fmt)
    except dates.DateError:
        pass

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billadmin import money


@pytest.mark.parametrize(
    "text,cents",
    [
        ("1234.50", 123450),
        ("1234.5", 123450),
        ("1234", 123400),
        ("$1,234.50", 123450),
        ("-12.50", -1250),
        ("-$12.50", -1250),
        ("$-12.50", -1250),
        ("(12.50)", -1250),
        (" 0.01 ", 1),
        ("0", 0),
        (".5", 50),
        ("1,000,000.00", 100000000),
        ("$0.99", 99),
    ],
)
def test_parse_accepts(text, cents):
    assert money.parse_cents(text) == cents


@pytest.mark.parametrize(
    "text,reason",
    [
        ("1.234", "more than two decimal places"),
        ("12.345", "more than two decimal places"),
        ("1.234,50", "comma as decimal mark"),
        ("1e3", "not an amount"),
        ("N/A", "not an amount"),
        ("", "empty"),
        ("   ", "empty"),
        ("1,23.00", "not an amount"),
        ("--5", "not an amount"),
        ("12.50-", "not an amount"),
        ("$", "not an amount"),
        ("1 234", "not an amount"),
        ("$ 12.50", None),
        ("nan", "not an amount"),
        ("inf", "not an amount"),
        ("0x10", "not an amount"),
    ],
)
def test_parse_rejects(text, reason):
    if reason is None:  # a space after the sign or symbol is fine
        assert money.parse_cents(text) == 1250
        return
    with pytest.raises(money.MoneyError, match=reason):
        money.parse_cents(text)


def test_float_refused_and_exact_types():
    with pytest.raises(money.MoneyError, match="float"):
        money.parse_cents(12.5)
    assert money.parse_cents(Decimal("12.50")) == 1250
    assert money.parse_cents(7) == 700
    with pytest.raises(money.MoneyError):
        money.parse_cents(Decimal("1.005"))


def test_negative_can_be_refused():
    with pytest.raises(money.MoneyError, match="negative"):
        money.parse_cents("-1.00", allow_negative=False)


def test_format():
    assert money.fmt(123450) == "1234.50"
    assert money.fmt(-5) == "-0.05"
    assert money.fmt(123456789, symbol=True, thousands=True) == "$1,234,567.89"
    assert money.fmt(None) == ""


def test_half_up_rounding():
    assert money.round_half_up(Decimal("0.125")) == 13
    assert (
        money.round_half_up(Decimal("0.135")) == 14
    )  # banker's rounding would give 0.14 too; next one differs
    assert money.round_half_up(Decimal("2.665")) == 267
    assert money.percent_of(12345, 20) == 2469  # 2469.0
    assert money.percent_of(1, 50) == 1  # 0.5 cent rounds half-up to 1
    assert money.percent_of(3, 50) == 2  # 1.5 -> 2


def test_x12_amounts():
    assert money.x12_amount(12500) == "125"
    assert money.x12_amount(12550) == "125.5"
    assert money.x12_amount(-325) == "-3.25"
    assert money.x12_amount(0) == "0"
    assert money.parse_x12_amount("125.5") == 12550
    assert money.parse_x12_amount("-.5") == -50
    for bad in ("1.234", "abc", "NaN", ""):
        with pytest.raises(money.MoneyError):
            money.parse_x12_amount(bad)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_roundtrip(cents):
    assert money.parse_cents(money.fmt(cents)) == cents
    assert money.parse_cents(money.fmt(cents, symbol=True, thousands=True)) == cents
    assert money.parse_x12_amount(money.x12_amount(cents)) == cents


@given(st.text(max_size=30))
def test_arbitrary_text_never_raises_anything_else(s):
    try:
        money.parse_cents(s)
    except money.MoneyError:
        pass

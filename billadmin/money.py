"""Money: integer cents in the database, Decimal in Python, never float.

Accepted input: "1234.50", "1234.5", "1234", "$1,234.50", "-12.50", "(12.50)" (accounting
negative), "-$12.50". Rejected: three or more decimals, European "1.234,50", exponents
("1e3"), misplaced thousands separators ("1,23.00"), text such as "N/A", floats, digits outside
ASCII ("١٢٣", "１２３": Python's \\d and int() would read them).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

_MONEY = re.compile(
    r"""^(?P<neg>-)?\$?(?P<neg2>-)?
        (?P<int>\d{1,3}(?:,\d{3})+|\d+)?
        (?:\.(?P<frac>\d{1,2}))?$""",
    re.X,
)


class MoneyError(ValueError):
    "Text that is not an amount of money in dollars and cents."


# Far beyond any bill or deposit, and far below SQLite's 64-bit integers, so sums of amounts
# cannot overflow (20-digit amounts crashed inserts with OverflowError).
MAX_CENTS = 10**13 - 1


def _bounded(cents: int) -> int:
    if abs(cents) > MAX_CENTS:
        raise MoneyError(f"amount is too large (more than {fmt(MAX_CENTS, thousands=True)})")
    return cents


def parse_cents(text: str | int | Decimal | None, *, allow_negative: bool = True) -> int:
    """Parse an amount of dollars into integer cents, or raise MoneyError with the reason.

    Integers and Decimals are taken as dollars. Floats are refused: they are how cents get lost.
    """
    if isinstance(text, bool) or isinstance(text, float):
        raise MoneyError("amount must be text or an exact number, not a float")
    if isinstance(text, int):
        return _bounded(text * 100)
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise MoneyError("not a finite amount")
        try:
            q = text.quantize(CENT)
        except InvalidOperation:  # more digits than Decimal's 28-digit context (1E+30)
            raise MoneyError("amount is too large") from None
        if q != text:
            raise MoneyError("more than two decimal places")
        return _bounded(int(q * 100))
    if text is None:
        raise MoneyError("amount is empty")
    s = str(text).strip()
    if not s:
        raise MoneyError("amount is empty")
    if not s.isascii():  # re's \d and int() read Arabic-Indic and fullwidth digits
        raise MoneyError("has characters outside ASCII (write the digits 0-9, e.g. 1234.50)")
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1].strip()
    s = re.sub(r"(?<=[-$])\s+", "", s)  # "$ 12.50", "- 12.50"; a space inside the digits is refused
    m = _MONEY.match(s)
    if not m or (m.group("int") is None and m.group("frac") is None):
        if re.fullmatch(r"-?\$?[\d,]*\.\d{3,}", s):
            raise MoneyError("more than two decimal places")
        if re.fullmatch(r"-?\$?\d{1,3}(\.\d{3})+,\d{1,2}", s):
            raise MoneyError("uses a comma as decimal mark; write 1234.50")
        raise MoneyError("not an amount (expected e.g. 1234.50)")
    if m.group("neg") and m.group("neg2"):
        raise MoneyError("not an amount (two minus signs)")
    neg = neg ^ bool(m.group("neg") or m.group("neg2"))
    whole = int((m.group("int") or "0").replace(",", ""))
    frac = (m.group("frac") or "0").ljust(2, "0")
    cents = whole * 100 + int(frac)
    if neg:
        if not allow_negative:
            raise MoneyError("amount must not be negative")
        cents = -cents
    return _bounded(cents)


def to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def fmt(cents: int | None, *, symbol: bool = False, thousands: bool = False) -> str:
    """Cents as "1234.50" (the JSON/CSV form), or "$1,234.50" for people."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    w = f"{whole:,}" if thousands else str(whole)
    return f"{sign}{'$' if symbol else ''}{w}.{frac:02d}"


def round_half_up(value: Decimal) -> int:
    """Decimal dollars to integer cents, rounding half-up (the billing rule)."""
    return int((value.quantize(CENT, rounding=ROUND_HALF_UP)) * 100)


def percent_of(cents: int, percent: Decimal | int | str) -> int:
    """percent% of an amount in cents, half-up to the cent (e.g. 20% coinsurance)."""
    d = Decimal(cents) * Decimal(str(percent)) / Decimal(100)
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def x12_amount(cents: int) -> str:
    """X12 decimal (R) form: no trailing zeros, no leading '+' ("125", "125.5", "-3.25")."""
    s = fmt(cents)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def parse_x12_amount(text: str) -> int:
    """An X12 R-type amount ("125", "-12.5", ".5") into cents, exact."""
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise MoneyError(f"not an X12 amount: {text!r}") from None
    if not d.is_finite():
        raise MoneyError("not a finite amount")
    try:
        q = d.quantize(CENT)
    except InvalidOperation:  # more digits than Decimal's 28-digit context (1E+30)
        raise MoneyError("amount is too large") from None
    if q != d:
        raise MoneyError("more than two decimal places")
    return _bounded(int(q * 100))

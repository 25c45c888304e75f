"""Typed values from command-line text for the account and report commands: money and dates,
refused with BadInput naming the option (exit 2)."""

from __future__ import annotations

import datetime as _dt
import sys

from ..errors import BadInput


def amount(text: str | None, name: str) -> int | None:
    from .. import money

    if text is None:
        return None
    try:
        return money.parse_cents(text)
    except money.MoneyError as e:
        raise BadInput(f"{name}: {e}") from None


def day(text: str | None, name: str, default: _dt.date | None = None) -> _dt.date | None:
    from .. import dates

    if text is None:
        return default
    try:
        return dates.parse_date(text)
    except dates.DateError as e:
        raise BadInput(f"{name}: {e}") from None


def warn(text: str) -> None:
    """Warnings go to stderr even with --quiet: they ask the clerk to act."""
    sys.stderr.write(f"Warning: {text}\n")

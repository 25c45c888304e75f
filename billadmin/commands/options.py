"""Typed values from command-line text for the commands: money amounts, refused with BadInput
naming the option (exit 2), and warnings for the clerk. Dates: dates.parse_option."""

from __future__ import annotations

import sys
from typing import overload

from ..errors import BadInput


@overload
def amount(text: str, name: str) -> int: ...


@overload
def amount(text: str | None, name: str) -> int | None: ...


def amount(text: str | None, name: str) -> int | None:
    from .. import money

    if text is None:
        return None
    try:
        return money.parse_cents(text)
    except money.MoneyError as e:
        raise BadInput(f"{name}: {e}") from None


def warn(text: str) -> None:
    """Warnings go to stderr even with --quiet: they ask the clerk to act."""
    sys.stderr.write(f"Warning: {text}\n")

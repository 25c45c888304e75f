"""Effective-dated windows shared by the price files and the fee schedule releases (a leaf
module: prices.py and medicare.py both use it, neither imports the other for it)."""

from __future__ import annotations


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    """Two windows of one key overlap when they start the same day, or an explicit end reaches
    the other's start (an open end is closed by the next start)."""
    if a_start == b_start:
        return True
    first, second = (
        ((a_start, a_end), (b_start, b_end))
        if a_start < b_start
        else ((b_start, b_end), (a_start, a_end))
    )
    return first[1] is not None and first[1] >= second[0]

"""Gapless invoice numbers and incrementing X12 control numbers.

Rule: numbers are taken from the `series` row of their kind (claims C, patient invoices P,
credit notes CN) by the same BEGIN IMMEDIATE transaction that inserts the invoices. The write
lock serialises every taker, a rollback gives the numbers back together with the invoices, and
a committed number is never reused: the series only moves forward. So the issued numbers of a
kind are exactly 1..next-1 (`billadmin check` verifies it: NUMBER-GAP).

X12 control numbers (ISA13, GS06) are kept the same way in `x12_counters`: each interchange
gets the next values, persisted with the claims it carries (ISA13 wraps after 999,999,999).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

WIDTH = 6


def _require_tx(conn: Database) -> None:
    if not conn.conn.in_transaction:
        raise RuntimeError("numbers must be taken inside db.write()")


def format_number(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{WIDTH}d}"


def take(conn: Database, kind: str, count: int) -> list[str]:
    """Reserve `count` consecutive numbers of a series; returns them formatted."""
    if count <= 0:
        _require_tx(conn)
        return []
    prefix, first = take_range(conn, kind, count)
    return [format_number(prefix, n) for n in range(first, first + count)]


def take_range(conn: Database, kind: str, count: int) -> tuple[str, int]:
    """Reserve `count` (>= 1) consecutive numbers of a series; returns (prefix, first number).
    A billing run compares this with the `position` it read before the write lock instead of
    formatting and comparing every number under the lock (100,000 of them on a large run)."""
    _require_tx(conn)
    row = conn.execute(
        "UPDATE series SET next_number = next_number + ? WHERE kind = ? RETURNING prefix, next_number",
        (count, kind),
    ).fetchone()
    if row is None:
        raise RuntimeError(f"no number series for {kind!r}")
    prefix, nxt = row
    return prefix, nxt - count


def position(conn: Database, kind: str) -> tuple[str, int]:
    """(prefix, the next number) of a series: what the next `take_range` would return."""
    prefix, nxt = conn.execute(
        "SELECT prefix, next_number FROM series WHERE kind = ?", (kind,)
    ).fetchone()
    return prefix, nxt


def peek(conn: Database, kind: str, count: int) -> list[str]:
    """The numbers the next `take` would return (for --dry-run listings)."""
    prefix, nxt = position(conn, kind)
    return [format_number(prefix, n) for n in range(nxt, nxt + count)]


def next_control(conn: Database, name: str) -> int:
    """The next ISA13 ('isa') or GS06 ('gs') control number, persisted."""
    _require_tx(conn)
    (value,) = conn.execute(
        "UPDATE x12_counters SET last_value = CASE WHEN last_value >= 999999999 THEN 1 ELSE last_value + 1 END"
        " WHERE name = ? RETURNING last_value",
        (name,),
    ).fetchone()
    return value


def peek_controls(conn: Database, name: str, count: int) -> list[int]:
    """The values the next `count` calls of next_control(name) would return (a billing run
    renders its files with them before it takes the write lock; generate.py checks they are
    still the ones it takes)."""
    (last,) = conn.execute("SELECT last_value FROM x12_counters WHERE name = ?", (name,)).fetchone()
    out = []
    for _ in range(count):
        last = 1 if last >= 999999999 else last + 1
        out.append(last)
    return out

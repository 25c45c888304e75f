"""`reconcile reports`: two invoicing reports (CSV or XLSX, any columns) compared by key.

Rules:
- Key columns and the amount column are named by their headers (matched case-, space- and
  punctuation-insensitively, billadmin.ingest.readers.normalise_header). A multi-column key is
  the columns in the order given.
- Keys are normalised: surrounding spaces trimmed, letters upper-cased, and with --strip-zeros
  leading zeros removed from every number in a key ("000123" == "123", "C000123" == "C123":
  one system pads invoice numbers, the other does not). Spreadsheet numbers used as keys
  read as their integer text (123.0 -> "123").
- Amounts follow the money rules (billadmin.money.parse_cents): "1,234.50", "$1,234.50",
  "(12.50)", "-12.50"; three decimals or text is bad input. A spreadsheet number is taken to the
  cent when it is a cent amount up to floating-point noise (12.340000000000002 -> 12.34).
- An empty key or amount, or any bad row, is bad input: every problem is listed (up to 100),
  exit 2, nothing is recorded.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple

from .. import dates, money
from ..errors import BadInput, InvalidRows, Problem
from ..fileutil import sha256_file as sha256_of
from .engine import KEY_SEP, KEY_SHOW, Matcher, Outcome
from .keymap import KeyRule

MAX_PROBLEMS = 100
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def strip_zeros_of(key: str) -> str:
    """Leading zeros off every number in a key: "000123" -> "123", "C000123" -> "C123",
    "INV-0042/01" -> "INV-42/1"; a lone "0" stays."""
    return _LEADING_ZEROS.sub("", key)


_CENT = Decimal("0.01")
_NOISE = Decimal("0.000001")


@dataclass
class Side:
    label: str  # "A" or "B"
    path: Path
    key: list[str]  # column names as given
    amount: str
    sheet: str | None = None
    encoding: str = "utf-8"
    # an optional date column: rows dated outside [date_from, date_to] are left out
    date: str | None = None
    date_format: str | None = None
    date_from: _dt.date | None = None
    date_to: _dt.date | None = None
    # a bank file's description and payer columns (deposits without a trace are matched by them)
    description: str | None = None
    payer: str | None = None
    # reconcile reports: rows summed to the key's grain first; the key rule of --map
    group: bool = False
    rule: KeyRule | None = None
    # filled while reading
    file: str = ""
    sha256: str = ""
    rows: int = 0
    headers: list[str] = field(default_factory=list)
    outside_dates: int = 0  # rows left out by the date window
    lines: dict[str, int] | None = None  # with group: key -> the rows summed into it

    def record(self) -> dict:
        return {
            "side": self.label,
            "file": self.path.name,
            "path": str(self.path),
            "sheet": self.sheet,
            "sha256": self.sha256,
            "rows": self.rows,
            "key": self.key,
            "amount": self.amount,
            **({"grouped": True} if self.group else {}),
            **({"key_rule": self.rule.describe()} if self.rule else {}),
        }


def split_columns(values: list[str] | None) -> list[str]:
    """--key "Invoice No,Line" or --key "Invoice No" --key Line -> ["Invoice No", "Line"]."""
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def _column(headers: list[str], name: str, file: str, what: str) -> int:
    from ..ingest.readers import normalise_header

    if name in headers:
        return headers.index(name)
    want = normalise_header(name)
    hits = [i for i, h in enumerate(headers) if normalise_header(h) == want]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise BadInput(
            f"{file}: {what} column {name!r} matches {len(hits)} headers; name it exactly"
        )
    raise BadInput(
        f"{file}: no {what} column {name!r} (columns: {', '.join(repr(h) for h in headers)})"
    )


def _key_text(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (_dt.datetime, _dt.date)):
        return (
            v.isoformat()[:10]
            if isinstance(v, _dt.datetime) and v.time() == _dt.time()
            else v.isoformat()
        )
    return "" if v is None else str(v)


def text_cents(s: str) -> int:
    """money.parse_cents with a fast path for the plain forms exports are made of ("1234.50",
    "-12.50", "1234"); everything else goes through parse_cents and its rules."""
    if s.isascii():
        if len(s) > 3 and s[-3] == ".":
            w, f = s[:-3], s[-2:]
            if f.isdigit():
                if w.isdigit():
                    return int(w) * 100 + int(f)
                if w[:1] == "-" and w[1:].isdigit():
                    return -(int(w[1:]) * 100 + int(f))
        elif s.isdigit():
            return int(s) * 100
    return _slow_cents(s)


def _slow_cents(s: str) -> int:
    t = s.strip()
    body = t[1:] if t[:1] == "-" else t
    w, dot, f = body.partition(".")
    if (
        w.isdigit()
        and w.isascii()
        and (not dot or (0 < len(f) <= 2 and f.isdigit() and f.isascii()))
    ):
        c = int(w) * 100 + (int(f) * (10 if len(f) == 1 else 1) if f else 0)
        return -c if body is not t else c
    return money.parse_cents(s)


def cents_of(v) -> int:
    """A report cell as cents; raises money.MoneyError with the reason."""
    if isinstance(v, str):
        return text_cents(v)
    if isinstance(v, bool) or v is None:
        raise money.MoneyError("amount is empty" if v is None else "not an amount")
    if isinstance(v, int):
        return v * 100
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise money.MoneyError("not a finite amount")
        d = Decimal(repr(v))
        q = d.quantize(_CENT, rounding=ROUND_HALF_UP)
        if abs(d - q) > _NOISE:
            raise money.MoneyError("more than two decimal places")
        return int(q * 100)
    if isinstance(v, Decimal):
        return money.parse_cents(v)
    raise money.MoneyError("not an amount")


class _SideColumns(NamedTuple):
    """Where a side's key, amount and date are in its file, and their names for messages."""

    key: list[int]
    amount: int
    date: int | None
    key_name: str
    amount_name: str

    @classmethod
    def of(cls, side: Side, headers: list[str], file: str) -> _SideColumns:
        return cls(
            [_column(headers, k, file, "key") for k in side.key],
            (acol := _column(headers, side.amount, file, "amount")),
            _column(headers, side.date, file, "date") if side.date else None,
            side.key[0] if len(side.key) == 1 else ", ".join(side.key),
            headers[acol],
        )


class _SlowRows:
    """The rows read_side's fast path does not take: several key columns, cells that are not
    text (spreadsheets), other amount forms; and the bank file's date window."""

    def __init__(
        self,
        side: Side,
        cols: _SideColumns,
        headers: list[str],
        file: str,
        add: Callable[[str, int, int], None],
        strip_zeros: bool,
        problems: list[Problem],
    ):
        self.side, self.cols, self.headers, self.file = side, cols, headers, file
        self.add, self.strip_zeros, self.problems = add, strip_zeros, problems

    def row(self, row_number: int, cells: list) -> bool:
        """Read one row into the matcher; False when reading must stop (too many problems)."""
        cols, problems, rule = self.cols, self.problems, self.side.rule
        parts = []
        for n, c in enumerate(cols.key):
            p: str | None = _key_text(cells[c]).strip().upper()
            if n == 0 and rule is not None and p:
                p = rule.apply(p)
                if p is None:
                    problems.append(
                        Problem(
                            row_number,
                            self.headers[c],
                            "key does not match the map's regex",
                            file=self.file,
                        )
                    )
                    return len(problems) < MAX_PROBLEMS
            assert p is not None
            parts.append(strip_zeros_of(p) if self.strip_zeros else p)
        k = parts[0] if len(parts) == 1 else (KEY_SEP.join(parts) if any(parts) else "")
        if not k:
            problems.append(Problem(row_number, cols.key_name, "key is empty", file=self.file))
            return len(problems) < MAX_PROBLEMS
        try:
            cents = cents_of(cells[cols.amount])
        except money.MoneyError as e:
            problems.append(Problem(row_number, cols.amount_name, str(e), file=self.file))
            return len(problems) < MAX_PROBLEMS
        self.add(k, row_number, cents)
        return True

    def dated_out(self, date_col: int, row_number: int, cells: list) -> bool:
        """True when the row is left out: dated outside [date_from, date_to] (counted), or its
        date is bad (a problem). A bank file read as of a date is small: this may be slow."""
        side = self.side
        try:
            day = dates.parse_date(cells[date_col], side.date_format)
        except dates.DateError as e:
            self.problems.append(
                Problem(row_number, self.headers[date_col], str(e), file=self.file)
            )
            return True
        if (side.date_from and day < side.date_from) or (side.date_to and day > side.date_to):
            side.outside_dates += 1
            return True
        return False


def read_side(
    side: Side, m: Matcher, which: str, *, strip_zeros: bool, problems: list[Problem]
) -> None:
    """Stream one file into the matcher as side "a" (indexed) or "b" (matched against a)."""
    from ..ingest.readers import open_table

    table = open_table(side.path, sheet=side.sheet, encoding=side.encoding)
    side.sha256 = sha256_of(side.path)
    try:
        side.file = table.file
        side.headers = list(table.headers)
        cols = _SideColumns.of(side, table.headers, table.file)
        add = m.bulk_a() if which == "a" else m.add_b
        if which == "b" and m._a_open:
            m._close_a()
        groups: dict[str, list[int]] = {}  # key -> [first row, rows, cents] when side.group

        def collect(key: str, row: int, cents: int) -> None:
            g = groups.get(key)
            if g is None:
                groups[key] = [row, 1, cents]
            else:
                g[1] += 1
                g[2] += cents

        if side.group:
            add = collect
        slow = _SlowRows(side, cols, table.headers, table.file, add, strip_zeros, problems)
        side.rows = _stream(table, m, which == "b", cols, slow, strip_zeros, problems)
        problems.extend(table.problems)
    finally:
        table.close()
    if side.group:
        feed = m.bulk_a() if which == "a" else m.add_b
        side.lines = {}
        for key, (row, n, cents) in groups.items():
            feed(key, row, cents)
            side.lines[key] = n


def _stream(
    table: Iterable[tuple[int, list]],
    m: Matcher,
    is_b: bool,
    cols: _SideColumns,
    slow: _SlowRows,
    strip_zeros: bool,
    problems: list[Problem],
) -> int:
    """read_side's loop; returns the number of rows read. The fast path takes one key column,
    text cells and amounts like "1234.50" (a CSV export) with the matcher's hot paths inlined:
    side A one hash per row with setdefault (Matcher.bulk_a), side B a key seen once in A
    matched in place (Matcher.match); every other row goes to `slow`."""
    side = slow.side
    single = cols.key[0] if len(cols.key) == 1 and not (side.group or side.rule) else None
    acol, aname, dcol, file = cols.amount, cols.amount_name, cols.date, slow.file
    parse, add = text_cents, slow.add
    get, state, a_amt, b_amt, b_row = m._get, m.state, m.a_amt, m.b_amt, m.b_row
    tol, bp = m.tolerance, m.tolerance_bp
    setdefault, keys_append = m.index.setdefault, m.keys.append
    amt_append, row_append = m.a_amt.append, m.a_row.append
    nslots = len(m.index)
    n = b_rows = b_total = m_count = m_a = m_b = 0
    for row_number, cells in table:
        n += 1
        if dcol is not None and slow.dated_out(dcol, row_number, cells):
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        if single is not None:
            k = cells[single]
            v = cells[acol]
            if k.__class__ is str and v.__class__ is str:
                k = k.strip().upper()
                if strip_zeros:
                    k = strip_zeros_of(k)
                if k:
                    d = v.replace(".", "", 1)
                    if v[-3:-2] == "." and d.isdigit() and d.isascii():  # "1234.50": cents
                        cents = int(d)
                    else:
                        try:
                            cents = parse(v)
                        except money.MoneyError as e:
                            problems.append(Problem(row_number, aname, str(e), file=file))
                            if len(problems) >= MAX_PROBLEMS:
                                break
                            continue
                    if not is_b:
                        j = setdefault(k, nslots)
                        if j == nslots:
                            nslots += 1
                            keys_append(k)
                            amt_append(cents)
                            row_append(row_number)
                        else:
                            m._dup_a(k, j, row_number, cents)
                        continue
                    i = get(k)
                    if i is not None and state[i] == 0:
                        a = a_amt[i]
                        if -tol <= a - cents <= tol or (
                            bp and abs(a - cents) * 10000 <= abs(a) * bp
                        ):
                            state[i] = 1
                            m_count += 1
                            m_a += a
                            m_b += cents
                        else:
                            state[i] = 4
                        b_amt[i] = cents
                        b_row[i] = row_number
                        b_rows += 1
                        b_total += cents
                        continue
                    add(k, row_number, cents)
                    continue
        if not slow.row(row_number, cells):
            break
    m.rows_b += b_rows
    m.total_b += b_total
    m.matched[0] += m_count
    m.matched[1] += m_a
    m.matched[2] += m_b
    return n


def reconcile_files(
    a: Side,
    b: Side,
    *,
    tolerance_cents: int = 0,
    strip_zeros: bool = False,
    tolerance_bp: int = 0,
) -> Outcome:
    """Compare two reports; raises InvalidRows (exit 2) listing every bad row. A side with
    group=True is summed to the key's grain first (each key once, its rows' total)."""
    for side in (a, b):
        if not side.path.exists():
            raise BadInput(f"{side.path}: no such file")
    m = Matcher(tolerance_cents, tolerance_bp)
    problems: list[Problem] = []
    read_side(a, m, "a", strip_zeros=strip_zeros, problems=problems)
    if len(problems) < MAX_PROBLEMS:
        read_side(b, m, "b", strip_zeros=strip_zeros, problems=problems)
    if problems:
        err = InvalidRows(problems=problems[:MAX_PROBLEMS])
        if len(problems) >= MAX_PROBLEMS:
            err.message = f"{MAX_PROBLEMS} or more bad rows (stopped reading); nothing was recorded"
        else:
            n = len(problems)
            err.message = f"{n} bad row{'s' if n != 1 else ''} in the input; nothing was recorded"
        raise err
    return m.outcome()


def grain(row: dict, a: Side, b: Side) -> str:
    """How many rows of each side a compared record stands for: "1:1", "many-to-one (3:1)",
    "one-to-many (1:2)", "many-to-many (2:3)"; 0 for a side the key is missing from."""
    key = row["key"].replace(KEY_SHOW, KEY_SEP)

    def n(side: Side, present: bool) -> int:
        if not present:
            return 0
        return side.lines.get(key, 1) if side.lines is not None else 1

    na, nb = n(a, row["row_a"] is not None), n(b, row["row_b"] is not None)
    ratio = f"{na}:{nb}"
    if na > 1 and nb == 1:
        return f"many-to-one ({ratio})"
    if na == 1 and nb > 1:
        return f"one-to-many ({ratio})"
    if na > 1 and nb > 1:
        return f"many-to-many ({ratio})"
    return ratio


def grain_counts(outcome: Outcome, a: Side, b: Side) -> dict[str, int]:
    """Matched records per kind: one-to-one, many-to-one, one-to-many, many-to-many."""
    out: dict[str, int] = {}
    for r in outcome.matched_rows():
        g = grain(r, a, b).split(" (")[0]
        g = "one-to-one" if g == "1:1" else g
        out[g] = out.get(g, 0) + 1
    return out


def parse_tolerance(text: str, option: str = "--tolerance") -> tuple[int, int]:
    """--tolerance "0.50" (cents either way) or "1%" / "0.25%" of A's amount (basis points:
    1% = 100, two decimals at most) -> (cents, basis points)."""
    t = text.strip()
    if t.endswith("%"):
        num = t[:-1].strip()
        try:
            d = Decimal(num)
        except ArithmeticError:
            raise BadInput(f"{option}: {text!r} is not a percentage") from None
        if not d.is_finite() or d < 0 or d > 100 or d != d.quantize(_CENT):
            raise BadInput(f"{option}: a percentage from 0 to 100 with two decimals at most")
        return 0, int(d * 100)
    try:
        return money.parse_cents(t, allow_negative=False), 0
    except money.MoneyError as e:
        raise BadInput(f"{option}: {e}") from None

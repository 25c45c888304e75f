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
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .. import dates, money
from ..errors import BadInput, InvalidRows, Problem
from ..fileutil import sha256_file as sha256_of
from .engine import KEY_SEP, Matcher, Outcome

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
    # filled while reading
    file: str = ""
    sha256: str = ""
    rows: int = 0
    headers: list[str] = field(default_factory=list)
    outside_dates: int = 0  # rows left out by the date window

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
        kcols = [_column(table.headers, k, table.file, "key") for k in side.key]
        acol = _column(table.headers, side.amount, table.file, "amount")
        kname = side.key[0] if len(side.key) == 1 else ", ".join(side.key)
        aname = table.headers[acol]
        dcol = _column(table.headers, side.date, table.file, "date") if side.date else None
        n = 0
        parse = text_cents
        single = kcols[0] if len(kcols) == 1 else None
        add = m.bulk_a() if which == "a" else m.add_b
        if which == "b" and m._a_open:
            m._close_a()
        # side B's hot path, inlined (Matcher.match): a key seen once in A gets matched in place
        get, state, a_amt, b_amt, b_row = m._get, m.state, m.a_amt, m.b_amt, m.b_row
        tol = m.tolerance
        # side A's hot path, inlined (Matcher.bulk_a): one hash per row with setdefault
        setdefault, keys_append = m.index.setdefault, m.keys.append
        amt_append, row_append = m.a_amt.append, m.a_row.append
        nslots = len(m.index)
        is_b = which == "b"
        b_rows = b_total = m_count = m_a = m_b = 0

        def slow(row_number, cells) -> bool:
            """Any row the fast path below does not take; False when reading must stop."""
            if single is not None:
                k = _key_text(cells[single]).strip().upper()
                if strip_zeros:
                    k = strip_zeros_of(k)
            else:
                parts = []
                for c in kcols:
                    p = _key_text(cells[c]).strip().upper()
                    if strip_zeros:
                        p = strip_zeros_of(p)
                    parts.append(p)
                k = KEY_SEP.join(parts) if any(parts) else ""
            if not k:
                problems.append(Problem(row_number, kname, "key is empty", file=table.file))
                return len(problems) < MAX_PROBLEMS
            try:
                cents = cents_of(cells[acol])
            except money.MoneyError as e:
                problems.append(Problem(row_number, aname, str(e), file=table.file))
                return len(problems) < MAX_PROBLEMS
            add(k, row_number, cents)
            return True

        # The fast path: one key column, text cells, amounts like "1234.50" (a CSV export).
        for row_number, cells in table:
            n += 1
            if dcol is not None:  # a bank file read as of a date: small, so the check may be slow
                try:
                    day = dates.parse_date(cells[dcol], side.date_format)
                except dates.DateError as e:
                    problems.append(
                        Problem(row_number, table.headers[dcol], str(e), file=table.file)
                    )
                    if len(problems) >= MAX_PROBLEMS:
                        break
                    continue
                if (side.date_from and day < side.date_from) or (
                    side.date_to and day > side.date_to
                ):
                    side.outside_dates += 1
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
                        if v[-3:-2] == "." and d.isdigit():  # "1234.50": the digits are the cents
                            cents = int(d)
                        else:
                            try:
                                cents = parse(v)
                            except money.MoneyError as e:
                                problems.append(Problem(row_number, aname, str(e), file=table.file))
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
                        if is_b:
                            i = get(k)
                            if i is not None and state[i] == 0:
                                a = a_amt[i]
                                if -tol <= a - cents <= tol:
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
            if not slow(row_number, cells):
                break
        side.rows = n
        m.rows_b += b_rows
        m.total_b += b_total
        m.matched[0] += m_count
        m.matched[1] += m_a
        m.matched[2] += m_b
        problems.extend(table.problems)
    finally:
        table.close()


def reconcile_files(
    a: Side, b: Side, *, tolerance_cents: int = 0, strip_zeros: bool = False
) -> Outcome:
    """Compare two reports; raises InvalidRows (exit 2) listing every bad row."""
    for side in (a, b):
        if not side.path.exists():
            raise BadInput(f"{side.path}: no such file")
    m = Matcher(tolerance_cents)
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

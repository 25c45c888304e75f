"""835 payments against a bank file that also holds deposits without a trace number.

Rules, in the order they are applied (each bank row and each 835 is used at most once):
1. By trace: a bank row's trace column (TRN02, the EFT or check number) equals an 835's trace
   (engine.Matcher: matched within the tolerance, amount differs, only in one side, duplicates).
   One 835 whose trace appears on several bank rows that together make its amount is matched as
   a split deposit ("paid in N deposits"), not listed as duplicates.
2. Bank rows without a trace (card batches, lockbox checks, transfers) and traced rows no 835
   has, against the 835s still unmatched, of the same payer, dated within the window (bank date
   - window <= 835 payment date <= bank date + window days): first one 835 of the same amount
   (no-trace rows only), then a group of 835s whose amounts add up to the deposit (one deposit
   covering several 835s).
3. Each 835 still unmatched against a group of no-trace bank rows that add up to it (one 835
   paid in several deposits).
4. Bank rows whose description matches the card pattern against the ledger's card payments
   (payments.method 'card'): all the card payments received on one day within the window
   before the deposit, summed (a card processor deposits each day's batch).
The payer of a bank row: its payer column, else its description; a bank row names an 835's
payer when it holds the payer's code, its X12 id, the 835's payer key (N1*PR id) or trace
company id (TRN03) as a word, or the payer's name, or matches a pattern declared for the payer
(--payer-pattern CODE=REGEX). A row naming no payer we know may match any.
Groups are searched among the 16 oldest candidates, at most 5 at a time, in date order: the
search stays bounded and its answer deterministic (the first group found, oldest first).
What stays unmatched: a traced bank row is "only in bank", a row without a trace "not from an
835", each with the reason.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING

from .engine import Matcher

if TYPE_CHECKING:
    from ..db import Database
    from ..errors import Problem
    from .reports import Side

MAX_CANDIDATES = 16
MAX_GROUP = 5
DEFAULT_WINDOW_DAYS = 5
CARD_PATTERN = r"\b(CARD|MERCHANT|BANKCARD|VISA|MASTERCARD|AMEX|DISCOVER|MERCH\s+DEP)\b"


@dataclass
class BankRow:
    row: int
    trace: str  # normalised; "" when the row has none
    cents: int
    day: _dt.date | None
    text: str  # description and payer column, upper case ("" when neither is given)


@dataclass
class Remittance:
    """One 835 payment (BPR02) as the deposits see it."""

    tid: int
    trace: str
    cents: int
    payer: str
    day: _dt.date | None
    names: tuple[str, ...] = ()  # the words that identify its payer in a bank description


@dataclass
class DepositMatch:
    how: str  # trace, split, payer/amount/date, group, card batch
    remits: list[Remittance]
    bank: list[BankRow]
    expected_cents: int
    note: str


@dataclass
class DepositResult:
    matched: list[DepositMatch] = field(default_factory=list)
    differs: list[tuple[Remittance, BankRow]] = field(default_factory=list)
    duplicates: list[tuple[str, Remittance | None, BankRow | None]] = field(default_factory=list)
    only_in_835: list[Remittance] = field(default_factory=list)
    only_in_bank: list[tuple[BankRow, str]] = field(default_factory=list)
    not_from_835: list[tuple[BankRow, str]] = field(default_factory=list)


def remittances(
    conn: Database, as_of: _dt.date, since: _dt.date | None, strip_zeros: bool
) -> list[Remittance]:
    """The 835 payments dated up to as_of (and from since), non-zero, oldest first."""
    from .reports import strip_zeros_of

    where = ["COALESCE(t.payment_date, substr(f.imported_at, 1, 10)) <= ?", "t.amount_cents != 0"]
    params: list = [as_of.isoformat()]
    if since:
        where.append("COALESCE(t.payment_date, substr(f.imported_at, 1, 10)) >= ?")
        params.append(since.isoformat())
    out = []
    for tid, trace, amount, payer, pdate, code, x12, pkey, company, pname in conn.execute(
        "SELECT t.id, t.trace_number, t.amount_cents, COALESCE(t.payer_name, t.payer_key),"
        " COALESCE(t.payment_date, substr(f.imported_at, 1, 10)), p.code, p.x12_payer_id,"
        " t.payer_key, t.trace_company, COALESCE(p.name, t.payer_name)"
        " FROM remit_transactions t JOIN remit_files f ON f.id = t.file_id"
        " LEFT JOIN payers p ON p.id = t.payer_id WHERE " + " AND ".join(where) + " ORDER BY t.id",
        params,
    ):
        key = trace.strip().upper()
        names = tuple(
            n.strip().upper() for n in (code, x12, pkey, company, pname) if n and n.strip()
        )
        out.append(
            Remittance(
                tid,
                strip_zeros_of(key) if strip_zeros else key,
                amount,
                payer,
                _dt.date.fromisoformat(pdate[:10]) if pdate else None,
                names,
            )
        )
    return out


def read_bank(side: Side, strip_zeros: bool, problems: list[Problem]) -> list[BankRow]:
    """Every row of the bank file, in the date window of side.date_from/date_to when it has a
    date column. An empty trace is not a problem; a bad amount or date is (file, row, column)."""
    from .. import dates, money
    from ..errors import Problem
    from ..fileutil import sha256_file
    from ..ingest.readers import open_table
    from .reports import _column, _key_text, cents_of, strip_zeros_of

    table = open_table(side.path, sheet=side.sheet, encoding=side.encoding)
    side.sha256 = sha256_file(side.path)
    out: list[BankRow] = []
    try:
        side.file, side.headers = table.file, list(table.headers)
        h = table.headers
        kcol = _column(h, side.key[0], table.file, "trace")
        acol = _column(h, side.amount, table.file, "amount")
        dcol = _column(h, side.date, table.file, "date") if side.date else None
        text_cols = [
            _column(h, c, table.file, what)
            for c, what in ((side.description, "description"), (side.payer, "payer"))
            if c
        ]
        for row_number, cells in table:
            side.rows += 1
            try:
                cents = cents_of(cells[acol])
            except money.MoneyError as e:
                problems.append(Problem(row_number, h[acol], str(e), file=table.file))
                continue
            day = None
            if dcol is not None:
                try:
                    day = dates.parse_date(cells[dcol], side.date_format)
                except dates.DateError as e:
                    problems.append(Problem(row_number, h[dcol], str(e), file=table.file))
                    continue
                if (side.date_from and day < side.date_from) or (
                    side.date_to and day > side.date_to
                ):
                    side.outside_dates += 1
                    continue
            trace = _key_text(cells[kcol]).strip().upper()
            if strip_zeros:
                trace = strip_zeros_of(trace)
            text = " ".join(_key_text(cells[c]).strip().upper() for c in text_cols).strip()
            out.append(BankRow(row_number, trace, cents, day, text))
        problems.extend(table.problems)
    finally:
        table.close()
    return out


def match_deposits(
    rems: list[Remittance],
    bank: list[BankRow],
    *,
    tolerance_cents: int = 0,
    window_days: int = DEFAULT_WINDOW_DAYS,
    card_days: dict[_dt.date, tuple[int, int]] | None = None,
    card_pattern: str | None = CARD_PATTERN,
    payer_patterns: dict[str, str] | None = None,
) -> DepositResult:
    """The rules of the module docstring, in order. card_days: day -> (count, cents) of the
    ledger's card payments; payer_patterns: payer code -> a regular expression of the bank's
    descriptions that name it (a bank row it matches names that payer)."""
    for code, pattern in (payer_patterns or {}).items():
        rx = re.compile(pattern, re.I)
        for b in bank:
            if b.text and rx.search(b.text):
                b.text = f"{b.text} {code.strip().upper()}"
    res = DepositResult()
    open_rems, left_traced = _by_trace(rems, [b for b in bank if b.trace], tolerance_cents, res)
    card = re.compile(card_pattern, re.I) if card_pattern else None
    is_card = {b.row for b in bank if not b.trace and card and card.search(b.text)}
    cards = [b for b in bank if b.row in is_card]
    plain = [b for b in bank if not b.trace and b.row not in is_card]
    used: set[int] = set()  # bank rows (by row number) matched so far
    known = {n for r in rems for n in r.names}
    win = _dt.timedelta(days=window_days)

    def fits(r: Remittance, b: BankRow) -> bool:
        if b.day is not None and r.day is not None and abs(b.day - r.day) > win:
            return False
        return _names_payer(b.text, r.names) or not _names_any(b.text, known)

    def take(how: str, rs: list[Remittance], bs: list[BankRow], note: str) -> None:
        for r in rs:
            open_rems.remove(r)
        used.update(b.row for b in bs)
        res.matched.append(DepositMatch(how, rs, bs, sum(r.cents for r in rs), note))

    for b in plain:  # one 835 of the same amount
        hit = next(
            (r for r in open_rems if abs(r.cents - b.cents) <= tolerance_cents and fits(r, b)),
            None,
        )
        if hit is not None:
            take("payer/amount/date", [hit], [b], "no trace: matched by payer, amount and date")
    for b in plain + left_traced:  # one deposit covering several 835s
        if b.row in used:
            continue
        group = _subset([r for r in open_rems if fits(r, b)], b.cents, tolerance_cents)
        if group:
            take("group", group, [b], f"one deposit for {len(group)} 835s")
    for r in list(open_rems):  # one 835 paid in several deposits without a trace
        cands = [b for b in plain if b.row not in used and fits(r, b)]
        parts = _subset(cands, r.cents, tolerance_cents)
        if parts:
            take("split", [r], parts, f"paid in {len(parts)} deposits without a trace")
    _card_batches(cards, card_days or {}, win, tolerance_cents, res, used)
    res.only_in_835 = list(open_rems)
    res.only_in_bank += [(b, "no 835 has this trace") for b in left_traced if b.row not in used]
    for b in plain + cards:
        if b.row not in used:
            res.not_from_835.append((b, _why_not(b, known, b.row in is_card)))
    res.not_from_835.sort(key=lambda x: x[0].row)
    return res


def _by_trace(
    rems: list[Remittance], traced: list[BankRow], tolerance_cents: int, res: DepositResult
) -> tuple[list[Remittance], list[BankRow]]:
    """Rule 1; -> the 835s and the traced bank rows left for the next rules."""
    m = Matcher(tolerance_cents)
    by_tid = {r.tid: r for r in rems}
    by_row = {b.row: b for b in traced}
    for r in rems:
        m.add_a(r.trace, r.tid, r.cents)
    for b in traced:
        m.add_b(b.trace, b.row, b.cents)
    out = m.outcome()
    for p in out.matched_rows():
        r, b = by_tid[p["row_a"]], by_row[p["row_b"]]
        res.matched.append(DepositMatch("trace", [r], [b], r.cents, "by trace number"))
    open_rems: list[Remittance] = []
    left: list[BankRow] = []
    dups: dict[str, list[dict]] = {}
    for p in out.rows:
        c = p["category"]
        if c == "amount_differs":
            res.differs.append((by_tid[p["row_a"]], by_row[p["row_b"]]))
        elif c == "only_in_a":
            open_rems.append(by_tid[p["row_a"]])
        elif c == "only_in_b":
            left.append(by_row[p["row_b"]])
        else:
            dups.setdefault(p["key"], []).append(p)
    for key, ps in dups.items():
        rs = [by_tid[p["row_a"]] for p in ps if p["row_a"] is not None]
        bs = [by_row[p["row_b"]] for p in ps if p["row_b"] is not None]
        if (
            len(rs) == 1
            and len(bs) > 1
            and abs(sum(b.cents for b in bs) - rs[0].cents) <= (tolerance_cents)
        ):
            res.matched.append(
                DepositMatch("split", rs, bs, rs[0].cents, f"paid in {len(bs)} deposits")
            )
            continue
        res.duplicates += [(key, r, None) for r in rs] + [(key, None, b) for b in bs]
    open_rems.sort(key=lambda r: (r.day or _dt.date.min, r.tid))
    return open_rems, left


def _subset(cands: list, target: int, tolerance_cents: int) -> list:
    """The first group of 2..MAX_GROUP candidates (oldest MAX_CANDIDATES, in the order given)
    whose amounts (.cents) add up to target within the tolerance; [] when none."""
    cands = cands[:MAX_CANDIDATES]
    amounts = [c.cents for c in cands]
    for size in range(2, min(MAX_GROUP, len(cands)) + 1):
        for idx in combinations(range(len(cands)), size):
            if abs(sum(amounts[i] for i in idx) - target) <= tolerance_cents:
                return [cands[i] for i in idx]
    return []


def _card_batches(
    cards: list[BankRow],
    card_days: dict[_dt.date, tuple[int, int]],
    win: _dt.timedelta,
    tolerance_cents: int,
    res: DepositResult,
    used: set[int],
) -> None:
    """Rule 4: a card deposit is one day's card payments, deposited on that day or within the
    window after it (the nearest day first)."""
    taken: set[_dt.date] = set()
    for b in cards:
        days = sorted(
            (d for d in card_days if d not in taken and (b.day is None or d <= b.day <= d + win)),
            key=lambda d: (abs((b.day - d).days) if b.day else 0, d),
        )
        for d in days:
            n, cents = card_days[d]
            if abs(cents - b.cents) <= tolerance_cents:
                taken.add(d)
                used.add(b.row)
                res.matched.append(
                    DepositMatch(
                        "card batch",
                        [],
                        [b],
                        cents,
                        f"card batch of {d.isoformat()} ({n} card payments in the ledger)",
                    )
                )
                break


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Z0-9]+", text))


def _names_payer(text: str, names: tuple[str, ...]) -> bool:
    if not text:
        return False
    words = _words(text)
    return any((n in words) if " " not in n else (n in text) for n in names)


def _names_any(text: str, known: set[str]) -> bool:
    return _names_payer(text, tuple(known))


def _why_not(b: BankRow, known: set[str], is_card: bool) -> str:
    if is_card:
        return "card deposit: no day's card payments in the ledger add up to it"
    if b.text and _names_any(b.text, known):
        return "no trace; no 835 of the payer it names for this amount within the date window"
    return "no trace and no 835 for this amount within the date window: not from an 835"


def card_days(conn: Database, as_of: _dt.date) -> dict[_dt.date, tuple[int, int]]:
    """day -> (count, cents) of the ledger's card payments received up to as_of (a refund to a
    card is a negative payment: the processor nets it out of the batch)."""
    out = {}
    for day, n, cents in conn.execute(
        "SELECT received_on, COUNT(*), SUM(amount_cents) FROM payments"
        " WHERE method = 'card' AND received_on <= ?"
        " GROUP BY received_on",
        (as_of.isoformat(),),
    ):
        out[_dt.date.fromisoformat(day[:10])] = (n, cents)
    return out

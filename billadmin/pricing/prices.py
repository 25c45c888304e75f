"""Loading and reading effective-dated prices: the charge master and payer contracts.

Files (CSV or XLSX, headers matched without regard to case, spaces or punctuation):
  charge master: Code, Modifier (optional), Price, Effective From, Effective To (optional)
  contracts:     Payer (the payer's short code), Code, Modifier (optional), Allowed or
                 Percent (one of them), Base (with Percent: "charge master" or a payer code,
                 e.g. MCR for a percentage of Medicare's allowed), Effective From, Effective To

Rules, checked for every row before anything is written (file, row, column; exit 2):
  - amounts are dollars and cents (money.parse_cents), never negative; Percent is 0-1000;
  - a payer is one already loaded (`billadmin import payers`); a Base payer too;
  - two rows of one key (payer, code, modifier) may not overlap: a row with an Effective To
    that reaches a later row's Effective From, or two rows from the same day, is refused
    (within the file and against the rows loaded before). An open-ended row is ended by the
    next row's Effective From (the day before), which is how a price changes.
A row identical to one loaded is skipped, so loading a file twice changes nothing.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, InvalidRows, Problem
from .windows import overlaps as _overlaps

if TYPE_CHECKING:
    from ..db import Database

CHARGE_MASTER = {
    "code": ("code", "cpt", "hcpcs", "procedure code", "cpt/hcpcs"),
    "modifier": ("modifier", "mod", "mod1"),
    "price": ("price", "charge", "amount", "fee"),
    "effective_from": ("effective from", "effective", "from", "start"),
    "effective_to": ("effective to", "to", "end", "through"),
}
CONTRACTS = {
    "payer": ("payer", "payer code"),
    "code": CHARGE_MASTER["code"],
    "modifier": CHARGE_MASTER["modifier"],
    "allowed": ("allowed", "allowed amount", "contract", "amount", "rate"),
    "percent": ("percent", "percentage", "pct", "% of base"),
    "base": ("base", "base schedule"),
    "effective_from": CHARGE_MASTER["effective_from"],
    "effective_to": CHARGE_MASTER["effective_to"],
}
REQUIRED = {
    "charge-master": ("code", "price", "effective_from"),
    "contracts": ("payer", "code", "effective_from"),
}


@dataclass
class LoadResult:
    kind: str
    file: str
    inserted: int = 0
    unchanged: int = 0
    ended: list[dict] = field(default_factory=list)  # open rows the new ones end

    def summary(self) -> str:
        what = "charge master" if self.kind == "charge-master" else "payer contract"
        return (
            f"{self.file}: {self.inserted:,} {what} row(s) loaded, {self.unchanged:,} unchanged;"
            f" {len(self.ended):,} earlier price(s) end the day before a new one"
        )


def _norm(h) -> str:
    from ..ingest.fields import normalise_header

    return normalise_header(h)


def _columns(headers: list[str], spec: dict, fname: str, kind: str) -> dict[str, int]:
    keys = [_norm(h) for h in headers]
    out: dict[str, int] = {}
    for fld, names in spec.items():
        wanted = {_norm(n) for n in names}
        i = next((i for i, k in enumerate(keys) if k in wanted and i not in out.values()), None)
        if i is not None:
            out[fld] = i
    missing = [f for f in REQUIRED[kind] if f not in out]
    if kind == "contracts" and "allowed" not in out and "percent" not in out:
        missing.append("allowed or percent")
    if missing:
        raise BadInput(f"{fname}: needs the column(s) {', '.join(missing)}")
    return out


def _date(v) -> str | None:
    if v is None or str(v).strip() == "":
        return None
    if isinstance(v, _dt.datetime):
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    s = str(v).strip()
    try:
        return _dt.date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        pass
    try:
        return _dt.datetime.strptime(s, "%m/%d/%Y").date().isoformat()
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD or MM/DD/YYYY)") from None


def _text(v) -> str:
    return "" if v is None else str(v).strip().upper()


@dataclass
class _Row:
    n: int
    key: tuple
    values: tuple  # what is stored besides key and dates
    start: str
    end: str | None


def load(conn: Database, kind: str, path: Path) -> LoadResult:
    """Load a charge master ('charge-master') or contracts ('contracts') file: every row checked,
    all written in one transaction with an audit row, or nothing (InvalidRows)."""
    from ..ingest.readers import open_table

    if kind not in ("charge-master", "contracts"):
        raise BadInput(f"unknown price file kind {kind!r}")
    spec = CHARGE_MASTER if kind == "charge-master" else CONTRACTS
    payers = {c: i for c, i in conn.execute("SELECT upper(code), id FROM payers")}
    problems: list[Problem] = []
    rows: list[_Row] = []
    with open_table(path) as t:
        cols = _columns(list(t.headers), spec, t.file, kind)
        fname = t.file

        def cell(cells, fld):
            i = cols.get(fld)
            return cells[i] if i is not None and i < len(cells) else None

        for n, cells in t:
            bad = len(problems)

            def problem(fld: str, why: str, n: int = n) -> None:
                problems.append(
                    Problem(n, t.headers[cols[fld]] if fld in cols else fld, why, fname)
                )

            code = _text(cell(cells, "code"))
            if not code:
                problem("code", "is empty")
            mod = _text(cell(cells, "modifier"))
            if mod and (len(mod) != 2 or not mod.isalnum()):
                problem("modifier", "a modifier is 2 letters or digits")
            try:
                start = _date(cell(cells, "effective_from"))
                if start is None:
                    problem("effective_from", "is empty")
            except ValueError as e:
                start = None
                problem("effective_from", str(e))
            try:
                end = _date(cell(cells, "effective_to"))
            except ValueError as e:
                end = None
                problem("effective_to", str(e))
            if start and end and end < start:
                problem("effective_to", "is before Effective From")
            if kind == "charge-master":
                try:
                    price = money.parse_cents(cell(cells, "price"), allow_negative=False)
                except money.MoneyError as e:
                    price = 0
                    problem("price", str(e))
                values: tuple = (price,)
                key: tuple = (code, mod)
            else:
                payer = _text(cell(cells, "payer"))
                pid = payers.get(payer)
                if not payer:
                    problem("payer", "is empty")
                elif pid is None:
                    problem("payer", "no payer with this code (import payers first)")
                allowed_raw, pct_raw = cell(cells, "allowed"), cell(cells, "percent")
                has_a = allowed_raw is not None and str(allowed_raw).strip() != ""
                has_p = pct_raw is not None and str(pct_raw).strip() != ""
                allowed, pct, base_id = None, None, None
                if has_a == has_p:
                    problem(
                        "allowed" if "allowed" in cols else "percent",
                        "give either Allowed or Percent",
                    )
                elif has_a:
                    try:
                        allowed = money.parse_cents(allowed_raw, allow_negative=False)
                    except money.MoneyError as e:
                        problem("allowed", str(e))
                else:
                    try:
                        d = Decimal(str(pct_raw).strip().rstrip("%"))
                        if not d.is_finite() or not 0 <= d <= 1000:
                            raise InvalidOperation
                        pct = format(d.normalize(), "f")
                    except InvalidOperation:
                        problem("percent", "a percentage 0-1000 (e.g. 120 for 120%)")
                    base = _text(cell(cells, "base"))
                    if base and _norm(base) not in ("chargemaster", "cdm", "charges"):
                        base_id = payers.get(base)
                        if base_id is None:
                            problem("base", "no payer with this code (or 'charge master')")
                        elif base_id == pid:
                            problem("base", "a contract cannot be a percentage of itself")
                values = (allowed, pct, base_id)
                key = (pid, code, mod)
            if len(problems) == bad and start is not None:
                rows.append(_Row(n, key, values, start, end))
            if len(problems) > 50:
                break
        problems += t.problems
    result = LoadResult(kind, fname)
    table = "charge_master" if kind == "charge-master" else "payer_contracts"
    existing = _existing(conn, kind)
    by_key: dict[tuple, list] = {}
    for key, start, end, values, rid in existing:
        by_key.setdefault(key, []).append((start, end, values, None, rid))
    new: list[_Row] = []
    for r in rows:
        same = [x for x in by_key.get(r.key, []) if x[0] == r.start]
        if same and same[0][1] == r.end and same[0][2] == r.values and same[0][3] is None:
            result.unchanged += 1
            continue
        for s_from, s_to, _v, other_row, _rid in by_key.get(r.key, []):
            if _overlaps(r.start, r.end, s_from, s_to):
                where = f"row {other_row} of this file" if other_row else "a loaded row"
                problems.append(
                    Problem(
                        r.n,
                        "Effective From",
                        f"overlaps {where} for the same {'payer, ' if kind == 'contracts' else ''}"
                        f"code and modifier (from {s_from} to {s_to or 'open'}): end one before the"
                        " other starts",
                        fname,
                    )
                )
                break
        else:
            by_key.setdefault(r.key, []).append((r.start, r.end, r.values, r.n, None))
            new.append(r)
    if problems:
        raise InvalidRows(problems[:50], file=fname)
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    with db.write(conn):
        for r in new:
            if kind == "charge-master":
                conn.execute(
                    "INSERT INTO charge_master (code, modifier, price_cents, effective_from,"
                    " effective_to, source, loaded_at) VALUES (?,?,?,?,?,?,?)",
                    (*r.key, *r.values, r.start, r.end, fname, now),
                )
            else:
                conn.execute(
                    "INSERT INTO payer_contracts (payer_id, code, modifier, allowed_cents, percent,"
                    " base_payer_id, effective_from, effective_to, source, loaded_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (*r.key, *r.values, r.start, r.end, fname, now),
                )
            result.inserted += 1
            earlier = [e for e in by_key[r.key] if e[0] < r.start and e[1] is None and e[3] != r.n]
            if earlier:
                prev = max(earlier, key=lambda e: e[0])
                result.ended.append({"key": r.key, "from": prev[0], "new_from": r.start})
        audit.record(
            conn,
            f"pricing load {kind}",
            entity=table,
            count=result.inserted,
            detail={"file": fname, "inserted": result.inserted, "unchanged": result.unchanged},
        )
    return result


def _existing(conn: Database, kind: str) -> list[tuple]:
    if kind == "charge-master":
        return [
            ((c, m), s, e, (p,), rid)
            for rid, c, m, p, s, e in conn.execute(
                "SELECT id, code, modifier, price_cents, effective_from, effective_to FROM charge_master"
            )
        ]
    return [
        ((pid, c, m), s, e, (a, pct, b), rid)
        for rid, pid, c, m, a, pct, b, s, e in conn.execute(
            "SELECT id, payer_id, code, modifier, allowed_cents, percent, base_payer_id,"
            " effective_from, effective_to FROM payer_contracts"
        )
    ]


# ------------------------------------------------------------------ prices on a date


def _in_force(rows: list[tuple], dos: str) -> tuple | None:
    """The row in force on a date: the latest start on or before it, unless its own end is past."""
    best = None
    for r in rows:
        start = r[0]
        if start <= dos and (best is None or start > best[0]):
            best = r
    if best is None or (best[1] is not None and best[1] < dos):
        return None
    return best


def charge_price(conn: Database, code: str, modifier: str, dos: str) -> int | None:
    """The charge master price of a code (and modifier, else the code's plain row) on a date."""
    for m in dict.fromkeys([modifier or "", ""]):
        rows = conn.execute(
            "SELECT effective_from, effective_to, price_cents FROM charge_master"
            " WHERE code = ? AND modifier = ?",
            (code, m),
        ).fetchall()
        hit = _in_force(rows, dos)
        if hit:
            return hit[2]
    return None


@dataclass
class Allowed:
    cents: int
    basis: str  # how it was found, for the reader


def contract_allowed(
    conn: Database,
    payer_id: int,
    code: str,
    modifier: str,
    dos: str,
    _depth: int = 0,
    pos: str = "",
) -> Allowed | None:
    """What the payer's contract allows for one unit on a date: its amount, or its percentage of
    the base schedule on that date (half-up to the cent). A percentage of a Medicare payer
    without a contract row of its own for the code is a percentage of Medicare's fee schedule
    amount (pricing.medicare; facility rate by the place of service, pos). None when no
    contract row applies."""
    if _depth > 3:
        return None
    for m in dict.fromkeys([modifier or "", ""]):
        rows = conn.execute(
            "SELECT c.effective_from, c.effective_to, c.allowed_cents, c.percent, c.base_payer_id,"
            " b.code FROM payer_contracts c LEFT JOIN payers b ON b.id = c.base_payer_id"
            " WHERE c.payer_id = ? AND c.code = ? AND c.modifier = ?",
            (payer_id, code, m),
        ).fetchall()
        hit = _in_force(rows, dos)
        if hit is None:
            continue
        _, _, amount, pct, base_id, base_code = hit
        if amount is not None:
            return Allowed(amount, f"contract from {hit[0]}")
        if base_id is None:
            base = charge_price(conn, code, modifier, dos)
            what = "the charge master"
        else:
            got = contract_allowed(conn, base_id, code, modifier, dos, _depth + 1, pos)
            base = got.cents if got else None
            what = f"{base_code}'s allowed"
            if got is None:
                base = _medicare_fee(conn, base_id, code, modifier, dos, pos)
                what = f"{base_code}'s fee schedule amount"
        if base is None:
            return None
        return Allowed(money.percent_of(base, pct), f"{pct}% of {what} ({money.fmt(base)})")
    return None


def _medicare_fee(
    conn: Database, payer_id: int, code: str, modifier: str, dos: str, pos: str
) -> int | None:
    """Medicare's fee schedule amount of one unit (no multiple procedure reduction), when the
    payer is a Medicare payer and the fee schedule prices the code on the date."""
    kind = conn.execute("SELECT kind FROM payers WHERE id = ?", (payer_id,)).fetchone()
    if not kind or kind[0] != "medicare":
        return None
    from .medicare import Pricer

    fee, _why = Pricer(conn).fee(code, modifier, dos, pos)
    return fee.cents if fee else None


PRICE_COLUMNS = ["code", "modifier", "date", "payer", "price_cents", "basis"]


def prices_on(conn: Database, codes: list[str], dos: str, modifier: str = "") -> list[dict]:
    """Per code: the charge master price, then each payer's contracted allowed, on a date."""
    out = []
    payers = conn.execute(
        "SELECT DISTINCT p.id, p.code FROM payer_contracts c JOIN payers p ON p.id = c.payer_id"
        " ORDER BY p.code"
    ).fetchall()
    from .medicare import Pricer

    pricer = Pricer(conn)
    medicare = conn.execute(
        "SELECT code FROM payers WHERE kind = 'medicare' ORDER BY code"
    ).fetchall()
    for raw in codes:
        code = raw.strip().upper()
        price = charge_price(conn, code, modifier, dos)
        out.append(
            {
                "code": code,
                "modifier": modifier,
                "date": dos,
                "payer": "(charge master)",
                "price_cents": price,
                "basis": "" if price is not None else "no charge master row on the date",
            }
        )
        for pos, where in (("11", "non-facility"), ("22", "facility")):
            fee, _why = pricer.fee(code, modifier, dos, pos)
            if fee is not None:
                out += [
                    {
                        "code": code,
                        "modifier": modifier,
                        "date": dos,
                        "payer": f"{m} (fee schedule, {where})",
                        "price_cents": fee.cents,
                        "basis": fee.basis,
                    }
                    for (m,) in medicare
                ]
        for pid, pcode in payers:
            got = contract_allowed(conn, pid, code, modifier, dos)
            if got:
                out.append(
                    {
                        "code": code,
                        "modifier": modifier,
                        "date": dos,
                        "payer": pcode,
                        "price_cents": got.cents,
                        "basis": got.basis,
                    }
                )
    return out

"""`reconcile remits`: claims we issued against what payers' 835s said, and 835 payments against
bank deposits.

Categories (each row names the payer, our claim number and internal ids, never PHI):
- unpaid: a claim issued at least N days (default 30) before --as-of with no 835 answer yet
  (or whose last answer was a reversal), not voided or replaced, still with a balance. Summed
  per payer.
- underpaid: a posted claim line whose allowed amount (AMT*B6 when the payer sent it, else paid
  + patient responsibility) is below the fee schedule's amount for the code and modifier on the
  date of service (the payer's own row, else the "default" row) times units, by more than the
  tolerance. A claim paid without service lines is compared as a whole.
- denied: a claim whose current status is denied, with its reason codes.
- unknown_claim: an 835 claim payment we could not post: not our claim, a reversal of a payment
  we never posted, or a duplicate of one already posted.
- with --deposits: each 835 payment (BPR02, keyed by its TRN02 trace number) dated up to --as-of
  against the bank file: deposit_matched, deposit_amount_differs, only_in_835, only_in_bank,
  deposit_duplicate. With the bank file's date column (--date), its rows dated after --as-of
  (or before --since) are left out, so a past --as-of compares both sides as they stood then.
Exit 1 when any category other than the matched deposits has rows.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .engine import Matcher

if TYPE_CHECKING:
    from ..db import Database
    from ..errors import Problem
    from .reports import Side

COLUMNS = [
    "category",
    "payer",
    "claim_number",
    "invoice_id",
    "line",
    "code",
    "date",
    "days",
    "trace_number",
    "expected_cents",
    "amount_cents",
    "difference_cents",
    "reasons",
    "note",
]
SUMMARY_COLUMNS = [
    "category",
    "payer",
    "count",
    "expected_cents",
    "amount_cents",
    "difference_cents",
]
CATEGORIES = (
    "unpaid",
    "underpaid",
    "denied",
    "unknown_claim",
    "deposit_matched",
    "deposit_amount_differs",
    "only_in_835",
    "only_in_bank",
    "deposit_duplicate",
)
_DEPOSIT_MAP = {
    "matched": "deposit_matched",
    "amount_differs": "deposit_amount_differs",
    "only_in_a": "only_in_835",
    "only_in_b": "only_in_bank",
    "duplicate_in_a": "deposit_duplicate",
    "duplicate_in_b": "deposit_duplicate",
}


@dataclass
class RemitsOutcome:
    rows: list[dict] = field(default_factory=list)
    matched_deposits: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deposits_checked: bool = False
    deposit_side: Side | None = None

    def summary_rows(self) -> list[dict]:
        out = []
        cats = [
            c
            for c in CATEGORIES
            if self.deposits_checked or not c.startswith(("deposit", "only_in"))
        ]
        by_cat = defaultdict(list)
        for r in self.rows:
            by_cat[r["category"]].append(r)
        by_cat["deposit_matched"] = self.matched_deposits
        for c in cats:
            rows = by_cat.get(c, [])
            out.append(_sum_row(c, "", rows))
            if c == "unpaid":
                per_payer = defaultdict(list)
                for r in rows:
                    per_payer[r["payer"] or "?"].append(r)
                for p in sorted(per_payer):
                    out.append(_sum_row(c, p, per_payer[p]))
        return out

    @property
    def differences(self) -> int:
        return len(self.rows)

    @property
    def net_difference_cents(self) -> int:
        return sum(r["difference_cents"] or 0 for r in self.rows)


def _sum_row(cat, payer, rows) -> dict:
    def tot(k):
        vals = [r[k] for r in rows if r.get(k) is not None]
        return sum(vals) if vals else 0

    return {
        "category": cat,
        "payer": payer,
        "count": len(rows),
        "expected_cents": tot("expected_cents"),
        "amount_cents": tot("amount_cents"),
        "difference_cents": tot("difference_cents"),
    }


def _row(category, **kw) -> dict:
    r = {c: None for c in COLUMNS}
    r["category"] = category
    r.update(kw)
    return r


def _has_table(conn: Database, name: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def unpaid(conn: Database, as_of: _dt.date, days: int) -> list[dict]:
    cutoff = (as_of - _dt.timedelta(days=days)).isoformat()
    out = []
    for inv_id, number, payer, issued_on, total, bal, status in conn.execute(
        """SELECT i.id, i.number, COALESCE(p.code, '?'), i.issued_on, i.total_cents,
                  b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents, s.status
           FROM invoices i JOIN invoice_balances b ON b.invoice_id = i.id
           LEFT JOIN payers p ON p.id = i.payer_id
           LEFT JOIN invoice_status s ON s.invoice_id = i.id
           WHERE i.kind = 'claim' AND i.issued_on <= ? AND COALESCE(s.status, '') NOT IN ('voided', 'replaced')
             AND NOT EXISTS (SELECT 1 FROM remit_claims c WHERE c.invoice_id = i.id
                             AND c.outcome IN ('paid', 'partially_paid', 'denied')
                             AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id))
           ORDER BY p.code, i.issued_on, i.number""",
        (cutoff,),
    ):
        if bal <= 0:
            continue
        age = (as_of - _dt.date.fromisoformat(issued_on[:10])).days
        out.append(
            _row(
                "unpaid",
                payer=payer,
                claim_number=number,
                invoice_id=inv_id,
                date=issued_on,
                days=age,
                expected_cents=total,
                amount_cents=0,
                difference_cents=-bal,
                note=f"no 835 answer {age} days after issue"
                + (" (last answer reversed)" if status == "reversed" else ""),
            )
        )
    return out


# Modifiers that change the price (professional/technical component, bilateral, reduced,
# assistant surgeon): without a fee schedule row for them, the plain row would mislead.
PRICING_MODIFIERS = frozenset({"26", "TC", "50", "52", "53", "62", "80", "81", "82", "AS"})


def _fee(
    conn: Database, payer_id: int | None, code: str, modifiers: str | None, dos: str
) -> int | None:
    """The fee schedule amount on the date of service: the payer's own row, else the "default"
    row; the row for the line's first modifier, else (when that modifier does not change the
    price, e.g. 25 or 59) the row without a modifier. None when nothing applies."""
    mods = [
        m for m in (modifiers or "").replace(":", ",").replace(" ", ",").split(",") if m.strip()
    ]
    mod = mods[0].strip().upper() if mods else ""
    wanted = [mod] if mod in PRICING_MODIFIERS or not mod else [mod, ""]
    for m in wanted:
        for pid in (payer_id, None):
            if pid is None:
                row = conn.execute(
                    "SELECT amount_cents FROM fee_schedule"
                    " WHERE payer_id IS NULL AND code = ? AND modifier = ?"
                    " AND effective_from <= ? AND (effective_to IS NULL OR effective_to >= ?)"
                    " ORDER BY effective_from DESC LIMIT 1",
                    (code, m, dos, dos),
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT amount_cents FROM fee_schedule"
                    " WHERE payer_id = ? AND code = ? AND modifier = ?"
                    " AND effective_from <= ? AND (effective_to IS NULL OR effective_to >= ?)"
                    " ORDER BY effective_from DESC LIMIT 1",
                    (pid, code, m, dos, dos),
                ).fetchone()
            if row:
                return row[0]
    return None


def _claim_fee(conn: Database, payer_id: int | None, invoice_id: int) -> int | None:
    """The fee schedule amount of a whole claim (each line's fee times its units); None when a
    line has none."""
    inv_lines = conn.execute(
        "SELECT code, modifiers, units, COALESCE(date_of_service, '') FROM invoice_lines"
        " WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchall()
    expected = 0
    for code, mods, units, dos in inv_lines:
        fee = _fee(conn, payer_id, code, mods, dos)
        if fee is None:
            return None
        expected += fee * (units or 1)
    return expected


def underpaid(conn: Database, tolerance_cents: int) -> list[dict]:
    out = []
    claims = conn.execute(
        """SELECT c.id, c.invoice_id, i.number, COALESCE(p.code, '?'), i.payer_id, t.trace_number, t.payment_date,
                  c.paid_cents
           FROM remit_claims c JOIN invoices i ON i.id = c.invoice_id
           JOIN remit_transactions t ON t.id = c.transaction_id
           LEFT JOIN payers p ON p.id = i.payer_id
           WHERE c.outcome IN ('paid', 'partially_paid') AND c.status_code != '22'
             AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.reverses_id = c.id)
           ORDER BY c.id"""
    ).fetchall()
    for cid, inv_id, number, payer, payer_id, trace, pdate, claim_paid in claims:
        lines = conn.execute(
            """SELECT rl.id, rl.paid_cents, rl.allowed_cents, il.line_no, il.code, il.modifiers, il.units,
                      COALESCE(il.date_of_service, ''),
                      (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a
                       WHERE a.line_id = rl.id AND a.group_code = 'PR')
               FROM remit_lines rl JOIN invoice_lines il ON il.id = rl.invoice_line_id
               WHERE rl.claim_id = ?""",
            (cid,),
        ).fetchall()
        if lines:
            for _, paid, allowed, line_no, code, mods, units, dos, pr in lines:
                fee = _fee(conn, payer_id, code, mods, dos)
                if fee is None:
                    continue
                expected = fee * (units or 1)
                got = allowed if allowed is not None else paid + pr
                if expected - got > tolerance_cents:
                    out.append(
                        _row(
                            "underpaid",
                            payer=payer,
                            claim_number=number,
                            invoice_id=inv_id,
                            line=line_no,
                            code=code,
                            date=pdate,
                            trace_number=trace,
                            expected_cents=expected,
                            amount_cents=got,
                            difference_cents=got - expected,
                            note=(
                                "allowed (AMT*B6) below the fee schedule"
                                if allowed is not None
                                else "allowed (paid + patient share) below the fee schedule"
                            ),
                        )
                    )
            continue
        # claim paid without service lines: compare the claim as a whole
        claim_fee = _claim_fee(conn, payer_id, inv_id)
        if not claim_fee:
            continue
        pr = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM remit_adjustments WHERE claim_id = ?"
            " AND group_code = 'PR'",
            (cid,),
        ).fetchone()[0]
        got = claim_paid + pr
        if claim_fee - got > tolerance_cents:
            out.append(
                _row(
                    "underpaid",
                    payer=payer,
                    claim_number=number,
                    invoice_id=inv_id,
                    date=pdate,
                    trace_number=trace,
                    expected_cents=claim_fee,
                    amount_cents=got,
                    difference_cents=got - claim_fee,
                    note="claim allowed (paid + patient share) below the fee schedule",
                )
            )
    return out


def denied(conn: Database, since: _dt.date | None = None) -> list[dict]:
    out = []
    for inv_id, number, payer, at, total in conn.execute(
        """SELECT i.id, i.number, COALESCE(p.code, '?'), s.at, i.total_cents FROM invoice_status s
           JOIN invoices i ON i.id = s.invoice_id LEFT JOIN payers p ON p.id = i.payer_id
           WHERE s.status = 'denied' ORDER BY p.code, i.number"""
    ):
        last = conn.execute(
            "SELECT c.id, c.charge_cents, c.remarks, t.trace_number, t.payment_date"
            " FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
            " WHERE c.invoice_id = ? AND c.outcome = 'denied' ORDER BY c.id DESC LIMIT 1",
            (inv_id,),
        ).fetchone()
        reasons, trace, pdate, charge = "", None, at[:10], total
        if last:
            cid, charge, remarks, trace, pdate = last
            codes = [
                f"{g}-{r}"
                for g, r in conn.execute(
                    "SELECT DISTINCT group_code, reason_code FROM remit_adjustments"
                    " WHERE claim_id = ? AND group_code != 'PR'",
                    (cid,),
                )
            ]
            reasons = ",".join(codes + ([remarks] if remarks else []))
        if since and (pdate or "") < since.isoformat():
            continue
        out.append(
            _row(
                "denied",
                payer=payer,
                claim_number=number,
                invoice_id=inv_id,
                date=pdate,
                trace_number=trace,
                expected_cents=charge,
                amount_cents=0,
                difference_cents=-charge,
                reasons=reasons,
                note="denied: see the reason codes",
            )
        )
    return out


def unknown_claims(conn: Database, since: _dt.date | None = None) -> list[dict]:
    out = []
    for cid, number, outcome, paid, trace, pdate, payer, note in conn.execute(
        """SELECT c.id, c.claim_number, c.outcome, c.paid_cents, t.trace_number, t.payment_date,
                  COALESCE(t.payer_name, t.payer_key), c.note
           FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id
           WHERE c.outcome IN ('unmatched', 'not_posted', 'duplicate') ORDER BY c.id"""
    ):
        if since and (pdate or "") < since.isoformat():
            continue
        out.append(
            _row(
                "unknown_claim",
                payer=payer,
                claim_number=number,
                date=pdate,
                trace_number=trace,
                expected_cents=0,
                amount_cents=paid,
                difference_cents=paid,
                note=f"{outcome.replace('_', ' ')}: {note or ''} (remit claim {cid})",
            )
        )
    return out


def deposits(
    conn: Database,
    side: Side,
    *,
    as_of: _dt.date,
    since: _dt.date | None,
    tolerance_cents: int,
    strip_zeros: bool,
    problems: list[Problem],
) -> tuple[list[dict], list[dict]]:
    """835 payments by trace number (A) against the bank file (B)."""
    from .reports import read_side, strip_zeros_of

    m = Matcher(tolerance_cents)
    where = ["COALESCE(t.payment_date, substr(f.imported_at, 1, 10)) <= ?", "t.amount_cents != 0"]
    params: list = [as_of.isoformat()]
    if since:
        where.append("COALESCE(t.payment_date, substr(f.imported_at, 1, 10)) >= ?")
        params.append(since.isoformat())
    info = {}
    for tid, trace, amount, payer, pdate in conn.execute(
        "SELECT t.id, t.trace_number, t.amount_cents, COALESCE(t.payer_name, t.payer_key),"
        " t.payment_date FROM remit_transactions t JOIN remit_files f ON f.id = t.file_id WHERE "
        + " AND ".join(where)
        + " ORDER BY t.id",
        params,
    ):
        key = trace.strip().upper()
        if strip_zeros:
            key = strip_zeros_of(key)
        m.add_a(key, tid, amount)
        info[tid] = (payer, pdate)
    if (
        side.date
    ):  # the bank as it stood on --as-of: deposits after it (or before --since) are left out
        side.date_from, side.date_to = since, as_of
    read_side(side, m, "b", strip_zeros=strip_zeros, problems=problems)
    if problems:
        return [], []
    res = m.outcome()
    rows = []
    for r in res.rows:
        cat = _DEPOSIT_MAP[r["category"]]
        payer, pdate = (
            info.get(r["row_a"], (None, None)) if r["row_a"] is not None else (None, None)
        )
        where_ = []
        if r["row_a"] is not None:
            where_.append(f"remit transaction {r['row_a']}")
        if r["row_b"] is not None:
            where_.append(f"{side.file} row {r['row_b']}")
        rows.append(
            _row(
                cat,
                payer=payer,
                trace_number=r["key"],
                date=pdate,
                expected_cents=r["amount_a_cents"],
                amount_cents=r["amount_b_cents"],
                difference_cents=(r["amount_b_cents"] or 0) - (r["amount_a_cents"] or 0),
                note=", ".join(where_),
            )
        )
    matched = [
        _row(
            "deposit_matched",
            payer=info.get(r["row_a"], (None,))[0],
            trace_number=r["key"],
            date=info.get(r["row_a"], (None, None))[1],
            expected_cents=r["amount_a_cents"],
            amount_cents=r["amount_b_cents"],
            difference_cents=r["amount_b_cents"] - r["amount_a_cents"],
            note=f"remit transaction {r['row_a']}, {side.file} row {r['row_b']}",
        )
        for r in res.matched_rows()
    ]
    return rows, matched


def reconcile_remits(
    conn: Database,
    *,
    as_of: _dt.date,
    days: int = 30,
    tolerance_cents: int = 0,
    deposit_side: Side | None = None,
    since: _dt.date | None = None,
    strip_zeros: bool = False,
) -> RemitsOutcome:
    from ..errors import InvalidRows

    out = RemitsOutcome()
    out.rows += unpaid(conn, as_of, days)
    if _has_table(conn, "fee_schedule"):
        out.rows += underpaid(conn, tolerance_cents)
    else:
        out.notes.append("no fee schedule table in this database: underpaid claims not checked")
    out.rows += denied(conn, since)
    out.rows += unknown_claims(conn, since)
    if deposit_side is not None:
        problems: list[Problem] = []
        rows, matched = deposits(
            conn,
            deposit_side,
            as_of=as_of,
            since=since,
            tolerance_cents=tolerance_cents,
            strip_zeros=strip_zeros,
            problems=problems,
        )
        if problems:
            raise InvalidRows(problems=problems[:100], file=deposit_side.path.name)
        out.rows += rows
        out.matched_deposits = matched
        out.deposits_checked = True
        out.deposit_side = deposit_side
    order = {c: i for i, c in enumerate(CATEGORIES)}
    out.rows.sort(key=lambda r: order[r["category"]])
    return out

"""`reconcile remits`: claims we issued against what payers' 835s said, and 835 payments against
bank deposits, as of a day.

Every claim-side figure is computed from the ledger's dated events up to --as-of (an 835
answer or reversal from its payment date, a credit note or corrected claim from its issue date,
payments from the day received, adjustments from the day made, other status events from their
own day), so a past run reruns to the same numbers after more is posted.

Categories (each row names the payer, our claim number and internal ids, never PHI):
- paid (summary only, not a difference): claim payments made by --as-of and not reversed.
- unpaid: a claim issued at least N days (default 30) before --as-of with no 835 answer by then
  (or whose answers were reversed), not voided or replaced, still with a balance. Summed per
  payer.
- underpaid: a posted claim line whose allowed amount (AMT*B6 when the payer sent it, else paid
  + patient responsibility + the prior payers' impact, OA-23, on a secondary's 835 + the 2%
  sequestration, CO-253, which reduces the payment and not the allowed) is below the expected
  amount by more than the tolerance. The expected amount is, on the date of service, the one in
  force of: Medicare's fee schedule amount (pricing.medicare: locality, facility rate, multiple
  procedure reduction) for a Medicare payer, the payer's contract (pricing.prices), else the fee
  schedule's amount for the code and modifier (the payer's own row, else the "default" row)
  times units; the row's note names the basis used. A claim paid without service lines is
  compared as a whole.
- denied: a claim whose status on --as-of is denied, with its reason codes.
- unknown_claim: an 835 claim payment we could not post: not our claim, a reversal of a payment
  we never posted, or a duplicate of one already posted.
- with --deposits: the 835 payments dated up to --as-of against the bank file (the rules of
  reconcile/deposits.py): deposit_matched, deposit_amount_differs, only_in_835, only_in_bank,
  not_from_835, deposit_duplicate. With the bank file's date column (--date), its rows dated
  after --as-of (or before --since) are left out, so a past --as-of compares both sides as they
  stood then.
Exit 1 when any category other than paid and the matched deposits has rows.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import deposits as dep

if TYPE_CHECKING:
    from ..db import Database
    from ..errors import Problem
    from ..pricing.expected import Expectations
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
    "paid",
    "unpaid",
    "underpaid",
    "denied",
    "unknown_claim",
    "deposit_matched",
    "deposit_amount_differs",
    "only_in_835",
    "only_in_bank",
    "not_from_835",
    "deposit_duplicate",
)


@dataclass
class RemitsOutcome:
    rows: list[dict] = field(default_factory=list)
    matched_deposits: list[dict] = field(default_factory=list)
    paid: list[dict] = field(default_factory=list)  # claims paid: summary only, not a difference
    notes: list[str] = field(default_factory=list)
    deposits_checked: bool = False
    deposit_side: Side | None = None

    def summary_rows(self) -> list[dict]:
        out = []
        cats = [
            c
            for c in CATEGORIES
            if self.deposits_checked or not c.startswith(("deposit", "only_in", "not_from"))
        ]
        by_cat = defaultdict(list)
        for r in self.rows:
            by_cat[r["category"]].append(r)
        by_cat["deposit_matched"] = self.matched_deposits
        by_cat["paid"] = self.paid
        for c in cats:
            rows = by_cat.get(c, [])
            out.append(_sum_row(c, "", rows))
            if c == "unpaid":
                per_payer = defaultdict(list)
                for r in rows:
                    per_payer[r["payer"] or "?"].append(r)
                for p in sorted(per_payer):
                    out.append(_sum_row(c, p, per_payer[p]))
            if c == "deposit_matched" and len({r["reasons"] for r in rows}) > 1:
                per_how = defaultdict(list)
                for r in rows:
                    per_how[r["reasons"]].append(r)
                for how in sorted(per_how):
                    out.append(_sum_row(c, f"by {how}", per_how[how]))
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


# The day an 835 answer counts from: its payment date (BPR16), else the day its file came in.
_PAY_DAY = "COALESCE(t.payment_date, substr(f.imported_at, 1, 10))"
_ANSWERS = (
    "remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
    " JOIN remit_files f ON f.id = t.file_id"
)
# ... and not taken back by a reversal counted by the same day
_NOT_REVERSED = (
    "NOT EXISTS (SELECT 1 FROM remit_claims r JOIN remit_transactions rt ON rt.id = r.transaction_id"
    " JOIN remit_files rf ON rf.id = rt.file_id WHERE r.reverses_id = c.id"
    " AND COALESCE(rt.payment_date, substr(rf.imported_at, 1, 10)) <= :d)"
)


def status_as_of(conn: Database, as_of: _dt.date) -> dict[int, str]:
    """Each invoice's status on as_of: its last event (in the order they were recorded) whose
    day is on or before as_of. An 835's event counts from the 835's payment date (its note
    names the remit claim: "835 trace T, remit claim N", remit/post.py), every other event from
    the day it carries (an appeal's own date, else the day it was recorded)."""
    pay_day = {
        cid: day
        for cid, day in conn.execute(
            f"SELECT c.id, {_PAY_DAY} FROM {_ANSWERS} WHERE c.invoice_id IS NOT NULL"
        )
    }
    d = as_of.isoformat()
    out: dict[int, str] = {}
    for inv, status, at, note in conn.execute(
        "SELECT invoice_id, status, at, note FROM invoice_events ORDER BY id"
    ):
        day = at[:10]
        if note and note.startswith("835 trace ") and ", remit claim " in note:
            tail = note.rsplit(", remit claim ", 1)[1]
            if tail.isdigit():
                day = (pay_day.get(int(tail)) or day)[:10]
        if day <= d:
            out[inv] = status
    return out


def _closed(conn: Database, as_of: _dt.date, status: dict[int, str]) -> set[int]:
    """Claims voided or replaced on as_of: by their status then, or by the credit note or the
    corrected claim issued for them by that day."""
    out = {i for i, s in status.items() if s in ("voided", "replaced")}
    out.update(
        i
        for (i,) in conn.execute(
            "SELECT DISTINCT original_invoice_id FROM invoices WHERE original_invoice_id IS NOT NULL"
            " AND issued_on <= ?",
            (as_of.isoformat(),),
        )
    )
    return out


def _balances(conn: Database, as_of: _dt.date) -> dict[int, int]:
    """Each claim's balance on as_of: its total, less credit notes issued, payments received
    and adjustments made by that day (the dates the ledger carries)."""
    d = as_of.isoformat()
    return dict(
        conn.execute(
            """SELECT i.id, i.total_cents
                 + COALESCE((SELECT SUM(cr.total_cents) FROM invoices cr WHERE cr.original_invoice_id = i.id
                             AND cr.kind = 'credit' AND cr.issued_on <= :d), 0)
                 - COALESCE((SELECT SUM(a.amount_cents) FROM payment_allocations a
                             JOIN payments p ON p.id = a.payment_id
                             WHERE a.invoice_id = i.id AND p.received_on <= :d), 0)
                 - COALESCE((SELECT SUM(j.amount_cents) FROM adjustments j
                             WHERE j.invoice_id = i.id AND j.created_on <= :d), 0)
               FROM invoices i WHERE i.kind = 'claim' AND i.issued_on <= :d""",
            {"d": d},
        )
    )


def unpaid(
    conn: Database, as_of: _dt.date, days: int, status: dict[int, str] | None = None
) -> list[dict]:
    """Claims issued `days` before as_of with no 835 answer by as_of (or whose answers were all
    reversed by then), not voided or replaced by then, with a balance on that day."""
    status = status if status is not None else status_as_of(conn, as_of)
    closed = _closed(conn, as_of, status)
    balance = _balances(conn, as_of)
    cutoff = (as_of - _dt.timedelta(days=days)).isoformat()
    out = []
    for inv_id, number, payer, issued_on, total, reversed_ in conn.execute(
        f"""SELECT i.id, i.number, COALESCE(p.code, '?'), i.issued_on, i.total_cents,
                  EXISTS (SELECT 1 FROM {_ANSWERS} WHERE c.invoice_id = i.id AND c.reverses_id IS NOT NULL
                          AND {_PAY_DAY} <= :d)
           FROM invoices i LEFT JOIN payers p ON p.id = i.payer_id
           WHERE i.kind = 'claim' AND i.issued_on <= :cutoff
             AND NOT EXISTS (SELECT 1 FROM {_ANSWERS} WHERE c.invoice_id = i.id
                             AND c.outcome IN ('paid', 'partially_paid', 'denied')
                             AND {_PAY_DAY} <= :d AND {_NOT_REVERSED})
           ORDER BY p.code, i.issued_on, i.number""",
        {"d": as_of.isoformat(), "cutoff": cutoff},
    ):
        bal = balance.get(inv_id, 0)
        if bal <= 0 or inv_id in closed:
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
                + (" (last answer reversed)" if reversed_ else ""),
            )
        )
    return out


def paid(conn: Database, as_of: _dt.date, since: _dt.date | None = None) -> list[dict]:
    """Claim payments the 835s made by as_of (from since) and not reversed by then: what the
    summary counts as paid (charge expected, payment as amount)."""
    where = [f"{_PAY_DAY} <= :d"] + ([f"{_PAY_DAY} >= :s"] if since else [])
    return [
        _row(
            "paid",
            payer=payer,
            claim_number=number,
            invoice_id=inv_id,
            date=pdate,
            trace_number=trace,
            expected_cents=charge,
            amount_cents=amount,
            difference_cents=amount - charge,
        )
        for inv_id, number, payer, pdate, trace, charge, amount in conn.execute(
            f"""SELECT c.invoice_id, i.number, COALESCE(p.code, '?'), {_PAY_DAY}, t.trace_number,
                       c.charge_cents, c.paid_cents
                FROM {_ANSWERS} JOIN invoices i ON i.id = c.invoice_id
                LEFT JOIN payers p ON p.id = i.payer_id
                WHERE c.outcome IN ('paid', 'partially_paid') AND c.reverses_id IS NULL
                  AND {" AND ".join(where)} AND {_NOT_REVERSED}
                ORDER BY c.id""",
            {"d": as_of.isoformat(), "s": since.isoformat() if since else None},
        )
    ]


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


def _line_expected(
    conn: Database,
    exp: Expectations,
    invoice_id: int,
    line_id: int,
    payer_id,
    code,
    mods,
    units,
    dos,
) -> tuple[int, str] | None:
    """(expected allowed, basis) of one claim line: the Medicare fee schedule or the contract in
    force on the date of service (pricing.expected), else the fee schedule; None when none."""
    got = exp.line(invoice_id, line_id)
    if got is not None:
        what = "the Medicare fee schedule" if got.source == "mpfs" else "the contract"
        return got.allowed_cents, f"{what} ({got.basis})"
    fee = _fee(conn, payer_id, code, mods, dos)
    return None if fee is None else (fee * (units or 1), "the fee schedule")


def _claim_fee(
    conn: Database, exp: Expectations, payer_id: int | None, invoice_id: int
) -> tuple[int, str] | None:
    """The expected amount of a whole claim (each line's, see _line_expected) and the bases
    used; None when a line has none."""
    inv_lines = conn.execute(
        "SELECT id, code, modifiers, units, COALESCE(date_of_service, '') FROM invoice_lines"
        " WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchall()
    expected, bases = 0, []
    for lid, code, mods, units, dos in inv_lines:
        got = _line_expected(conn, exp, invoice_id, lid, payer_id, code, mods, units, dos)
        if got is None:
            return None
        expected += got[0]
        bases.append(got[1].split(" (")[0])
    return expected, ", ".join(dict.fromkeys(bases))


# The prior payers' impact on a secondary's 835 (carc_rules' 'prior_payer': OA-23, CO-23)
_PRIOR = "(a.class = 'prior_payer' OR (a.reason_code = '23' AND a.group_code IN ('OA', 'CO')))"


def underpaid(conn: Database, tolerance_cents: int, as_of: _dt.date | None = None) -> list[dict]:
    """Claim lines allowed below the fee schedule, among the 835 answers paid by as_of and not
    reversed by then. A secondary's 835 pays what the primary left: the prior payers' impact
    (OA-23) is an explained reduction, counted with what was allowed (a line's own OA-23 on the
    line; a claim-level one over the claim's lines together), never an underpayment."""
    from ..pricing.expected import Expectations

    d = (as_of or _dt.date.max).isoformat()
    out = []
    exp = Expectations(conn)
    claims = conn.execute(
        f"""SELECT c.id, c.invoice_id, i.number, COALESCE(p.code, '?'), i.payer_id, t.trace_number, t.payment_date,
                  c.paid_cents,
                  (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a
                   WHERE a.claim_id = c.id AND a.line_id IS NULL AND {_PRIOR})
           FROM {_ANSWERS} JOIN invoices i ON i.id = c.invoice_id
           LEFT JOIN payers p ON p.id = i.payer_id
           WHERE c.outcome IN ('paid', 'partially_paid') AND c.status_code != '22'
             AND {_PAY_DAY} <= :d AND {_NOT_REVERSED}
           ORDER BY c.id""",
        {"d": d},
    ).fetchall()
    for cid, inv_id, number, payer, payer_id, trace, pdate, claim_paid, prior in claims:
        lines = conn.execute(
            # a.claim_id first: remit_adjustments is indexed by claim, not by line
            f"""SELECT rl.id, rl.paid_cents, rl.allowed_cents, il.line_no, il.code, il.modifiers, il.units,
                      COALESCE(il.date_of_service, ''), il.id,
                      (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a
                       WHERE a.claim_id = rl.claim_id AND a.line_id = rl.id AND a.group_code = 'CO'
                         AND a.reason_code = '253'),
                      (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a
                       WHERE a.claim_id = rl.claim_id AND a.line_id = rl.id AND a.group_code = 'PR'),
                      (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a
                       WHERE a.claim_id = rl.claim_id AND a.line_id = rl.id AND {_PRIOR})
               FROM remit_lines rl JOIN invoice_lines il ON il.id = rl.invoice_line_id
               WHERE rl.claim_id = ?""",
            (cid,),
        ).fetchall()
        common = {
            "payer": payer,
            "claim_number": number,
            "invoice_id": inv_id,
            "date": pdate,
            "trace_number": trace,
        }
        if lines:
            out += _underpaid_lines(
                conn, exp, inv_id, lines, payer_id, prior, tolerance_cents, common
            )
            continue
        # claim paid without service lines: compare the claim as a whole
        whole = _claim_fee(conn, exp, payer_id, inv_id)
        if not whole or not whole[0]:
            continue
        claim_fee, basis = whole
        pr, seq = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN group_code = 'PR' THEN amount_cents END), 0),"
            " COALESCE(SUM(CASE WHEN group_code = 'CO' AND reason_code = '253'"
            " THEN amount_cents END), 0) FROM remit_adjustments WHERE claim_id = ?",
            (cid,),
        ).fetchone()
        got = claim_paid + pr + prior + seq
        if claim_fee - got > tolerance_cents:
            out.append(
                _row(
                    "underpaid",
                    **common,
                    expected_cents=claim_fee,
                    amount_cents=got,
                    difference_cents=got - claim_fee,
                    note="claim allowed (paid + patient share"
                    + (" + prior payer, OA-23" if prior else "")
                    + (" + sequestration, CO-253" if seq else "")
                    + f") below {basis}",
                )
            )
    return out


def _underpaid_lines(
    conn: Database,
    exp: Expectations,
    invoice_id: int,
    lines: list,
    payer_id,
    claim_prior: int,
    tolerance_cents: int,
    common: dict,
) -> list[dict]:
    """The lines of one claim allowed below their expected amount (see underpaid)."""
    short = []
    expected_all = got_all = 0
    for _, paid_, allowed, line_no, code, mods, units, dos, il_id, seq, pr, prior in lines:
        found = _line_expected(conn, exp, invoice_id, il_id, payer_id, code, mods, units, dos)
        if found is None:
            continue
        expected, basis = found
        got = allowed if allowed is not None else paid_ + pr + prior + seq
        expected_all += expected
        got_all += got
        if expected - got > tolerance_cents:
            if allowed is not None:
                note = f"allowed (AMT*B6) below {basis}"
            else:
                note = (
                    "allowed (paid + patient share"
                    + (" + prior payer, OA-23" if prior else "")
                    + (" + sequestration, CO-253" if seq else "")
                    + f") below {basis}"
                )
            short.append(
                _row(
                    "underpaid",
                    **common,
                    line=line_no,
                    code=code,
                    expected_cents=expected,
                    amount_cents=got,
                    difference_cents=got - expected,
                    note=note,
                )
            )
    if short and claim_prior and expected_all - (got_all + claim_prior) <= tolerance_cents:
        return []  # the prior payer's claim-level OA-23 explains it
    if claim_prior:
        for r in short:
            r["note"] += f" (the claim's OA-23 of {claim_prior / 100:.2f} does not explain it)"
    return short


def denied(
    conn: Database,
    since: _dt.date | None = None,
    as_of: _dt.date | None = None,
    status: dict[int, str] | None = None,
) -> list[dict]:
    """Claims whose status on as_of (status_as_of) is denied and that were not voided or
    replaced by then, with the reason codes of the last denial paid by then."""
    d = (as_of or _dt.date.max).isoformat()
    if status is None:
        status = (
            dict(conn.execute("SELECT invoice_id, status FROM invoice_status"))
            if as_of is None
            else status_as_of(conn, as_of)
        )
    closed = _closed(conn, as_of or _dt.date.max, status)  # replaced by a corrected claim
    ids = sorted(i for i, st in status.items() if st == "denied" and i not in closed)
    out = []
    heads = {
        inv_id: (number, payer, total)
        for inv_id, number, payer, total in conn.execute(
            "SELECT i.id, i.number, COALESCE(p.code, '?'), i.total_cents FROM invoices i"
            " LEFT JOIN payers p ON p.id = i.payer_id WHERE i.id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
    }
    for inv_id in sorted(ids, key=lambda i: (heads[i][1], heads[i][0])):
        number, payer, total = heads[inv_id]
        last = conn.execute(
            f"SELECT c.id, c.charge_cents, c.remarks, t.trace_number, {_PAY_DAY}"
            f" FROM {_ANSWERS} WHERE c.invoice_id = ? AND c.outcome = 'denied' AND {_PAY_DAY} <= ?"
            " ORDER BY c.id DESC LIMIT 1",
            (inv_id, d),
        ).fetchone()
        reasons, trace, pdate, charge = "", None, None, total
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


def unknown_claims(
    conn: Database, since: _dt.date | None = None, as_of: _dt.date | None = None
) -> list[dict]:
    out = []
    d = (as_of or _dt.date.max).isoformat()
    for cid, number, outcome, paid_, trace, pdate, payer, note in conn.execute(
        f"""SELECT c.id, c.claim_number, c.outcome, c.paid_cents, t.trace_number, {_PAY_DAY},
                  COALESCE(t.payer_name, t.payer_key), c.note
           FROM {_ANSWERS}
           WHERE c.outcome IN ('unmatched', 'not_posted', 'duplicate') AND {_PAY_DAY} <= ?
           ORDER BY c.id""",
        (d,),
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
                amount_cents=paid_,
                difference_cents=paid_,
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
    window_days: int = dep.DEFAULT_WINDOW_DAYS,
    card_pattern: str | None = dep.CARD_PATTERN,
    payer_patterns: dict[str, str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """835 payments against the bank file (the rules of reconcile/deposits.py); -> the rows
    that need attention and the matched deposits."""
    rems = dep.remittances(conn, as_of, since, strip_zeros)
    if (
        side.date
    ):  # the bank as it stood on --as-of: deposits after it (or before --since) are left out
        side.date_from, side.date_to = since, as_of
    bank = dep.read_bank(side, strip_zeros, problems)
    if problems:
        return [], []
    res = dep.match_deposits(
        rems,
        bank,
        tolerance_cents=tolerance_cents,
        window_days=window_days,
        card_days=dep.card_days(conn, as_of),
        card_pattern=card_pattern,
        payer_patterns=payer_patterns,
    )
    f = side.file

    def where(rs, bs) -> str:
        parts = []
        if rs:
            parts.append("remit transaction " + ", ".join(str(r.tid) for r in rs))
        if bs:
            parts.append(
                f"{f} row{'s' if len(bs) > 1 else ''} " + ", ".join(str(b.row) for b in bs)
            )
        return ", ".join(parts)

    def one(cat, rs, bs, *, expected=None, how=None, note="") -> dict:
        r0 = rs[0] if rs else None
        b0 = bs[0] if bs else None
        amount = sum(b.cents for b in bs) if bs else None
        exp = expected if expected is not None else (sum(r.cents for r in rs) if rs else None)
        traces = [r.trace for r in rs] or [b.trace for b in bs if b.trace]
        day = r0.day if r0 and r0.day else (b0.day if b0 else None)
        return _row(
            cat,
            payer=r0.payer if r0 else None,
            trace_number="+".join(traces) or None,
            date=day.isoformat() if day else None,
            expected_cents=exp,
            amount_cents=amount,
            difference_cents=(amount or 0) - (exp or 0),
            reasons=how,
            note=(note + ": " if note else "") + where(rs, bs),
        )

    rows = [one("deposit_amount_differs", [r], [b]) for r, b in res.differs]
    rows += [one("only_in_835", [r], []) for r in res.only_in_835]
    rows += [one("only_in_bank", [], [b], note=why) for b, why in res.only_in_bank]
    rows += [one("not_from_835", [], [b], note=why) for b, why in res.not_from_835]
    rows += [
        one("deposit_duplicate", [r] if r else [], [b] if b else [], note="duplicate trace")
        for _, r, b in res.duplicates
    ]
    matched = [
        one("deposit_matched", m.remits, m.bank, expected=m.expected_cents, how=m.how, note=m.note)
        for m in res.matched
    ]
    matched.sort(key=lambda r: (r["date"] or "", r["trace_number"] or ""))
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
    window_days: int = dep.DEFAULT_WINDOW_DAYS,
    card_pattern: str | None = dep.CARD_PATTERN,
    payer_patterns: dict[str, str] | None = None,
) -> RemitsOutcome:
    from ..errors import InvalidRows

    out = RemitsOutcome()
    status = status_as_of(conn, as_of)
    out.paid = paid(conn, as_of, since)
    out.rows += unpaid(conn, as_of, days, status)
    if _has_table(conn, "fee_schedule"):
        out.rows += underpaid(conn, tolerance_cents, as_of)
    else:
        out.notes.append("no fee schedule table in this database: underpaid claims not checked")
    out.rows += denied(conn, since, as_of, status)
    out.rows += unknown_claims(conn, since, as_of)
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
            window_days=window_days,
            card_pattern=card_pattern,
            payer_patterns=payer_patterns,
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

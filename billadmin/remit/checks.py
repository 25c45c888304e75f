"""Remittance invariants for `billadmin check` (hook: integrity.extra_checks).

REMIT-BALANCE  each posted 835 transaction: BPR02 = posted + unmatched + skipped - PLB (the
               money of the check is all accounted for), and the insurance payments made from
               it sum to what was posted less the PLB recoupments allocated to claims
               (remit/recoup.py: those are allocations of the same payment).
PAYER-RETURN   each refund to a payer or PLB recoupment (payer_returns) is a claim-level
               allocation of minus its amount from its payment to its claim, from the payer it
               names (a refund's payment is exactly that allocation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import money
from ..findings import Finding

if TYPE_CHECKING:
    from ..db import Database


def check_remittances(conn: Database) -> list[Finding]:
    out: list[Finding] = []
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'remit_transactions'").fetchone():
        return out
    for tid, trace, amount, posted, unmatched, skipped, plb, paid, recouped in conn.execute(
        "SELECT t.id, t.trace_number, t.amount_cents, t.posted_cents, t.unmatched_cents,"
        " t.skipped_cents, t.plb_cents,"
        " COALESCE((SELECT SUM(p.amount_cents) FROM remit_payments rp JOIN payments p ON p.id = rp.payment_id"
        "           WHERE rp.transaction_id = t.id), 0),"
        " COALESCE((SELECT SUM(r.amount_cents) FROM payer_returns r JOIN remit_plb b"
        "           ON b.id = r.plb_id WHERE b.transaction_id = t.id), 0)"
        " FROM remit_transactions t ORDER BY t.id"
    ):
        if amount != posted + unmatched + skipped - plb:
            out.append(
                Finding(
                    "REMIT-BALANCE",
                    "error",
                    f"remit transaction {tid} (trace {trace}): BPR {money.fmt(amount)} != posted {money.fmt(posted)}"
                    f" + unmatched {money.fmt(unmatched)} + skipped {money.fmt(skipped)} - PLB {money.fmt(plb)}",
                    source="billadmin check",
                )
            )
        if paid != posted - recouped:
            out.append(
                Finding(
                    "REMIT-BALANCE",
                    "error",
                    f"remit transaction {tid} (trace {trace}): payments {money.fmt(paid)}"
                    f" != posted {money.fmt(posted)} - recouped {money.fmt(recouped)}",
                    source="billadmin check",
                )
            )
    return out + _payer_return_findings(conn)


def _payer_return_findings(conn: Database) -> list[Finding]:
    out: list[Finding] = []
    for rid, kind, number, cents, pay_payer, ret_payer, pay_amount, alloc in conn.execute(
        "SELECT r.id, r.kind, i.number, r.amount_cents, p.payer_id, r.payer_id, p.amount_cents,"
        " (SELECT COUNT(*) FROM payment_allocations a WHERE a.payment_id = r.payment_id"
        "  AND a.invoice_id = r.invoice_id AND a.invoice_line_id IS NULL"
        "  AND a.amount_cents = -r.amount_cents)"
        " FROM payer_returns r JOIN invoices i ON i.id = r.invoice_id"
        " LEFT JOIN payments p ON p.id = r.payment_id ORDER BY r.id"
    ):
        problem = None
        if pay_amount is None:
            problem = "its payment is missing"
        elif not alloc:
            problem = f"no allocation of {money.fmt(-cents)} to the claim in its payment"
        elif pay_payer != ret_payer:
            problem = "its payment is from another payer"
        elif kind == "refund" and pay_amount != -cents:
            problem = f"its payment is {money.fmt(pay_amount)}, not {money.fmt(-cents)}"
        if problem:
            out.append(
                Finding(
                    "PAYER-RETURN",
                    "error",
                    f"{number}: payer {kind} {rid} ({money.fmt(cents)}): {problem}",
                    source="billadmin check",
                )
            )
    return out

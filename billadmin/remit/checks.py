"""Remittance invariants for `billadmin check` (hook: integrity.extra_checks).

REMIT-BALANCE  each posted 835 transaction: BPR02 = posted + unmatched + skipped - PLB (the
               money of the check is all accounted for), and the insurance payments made from
               it sum to what was posted less the PLB recoupments allocated to claims
               (remit/recoup.py: those are allocations of the same payment).
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
    return out

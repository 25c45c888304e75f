"""Recoupments: a payer's PLB takeback allocated to the claim it names.

Rules (835 TR3 005010X221A1 section 1.10.2.17 "Claim Overpayment Recovery", and X12 RFIs 484
and 2370 on the PLB03-2 reference):
- A provider-level adjustment (PLB) whose reason (PLB03-1) is WO (overpayment recovery) or 72
  (authorized return) recovers money paid on one claim. Its reference (PLB03-2) names the claim:
  the payer's claim control number (CLP07) per the TR3, and often our claim number (CLP01) too,
  "in the order CLP01, CLP07" (RFI 2370), separated by spaces. Each word of the reference is
  tried as our claim number, then as a payer claim number this payer sent us.
- When the reference names exactly one claim of ours that this payer answered (or that we
  billed to it), the PLB is allocated to that claim: an allocation of the PLB amount, negated,
  in the transaction's insurance payment (so the payment equals the check, BPR02), and a
  ``payer_returns`` row (kind 'recoupment') linking the PLB row to the claim. A positive PLB
  takes money back (the claim's balance goes up); a negative one gives it back (a recovery the
  payer delays, RFI 578). The claim's state follows its balance.
- Any other PLB stays provider-level (kept in remit_plb only) and is reported: L6 interest, FB
  forward balance (it carries a negative check forward, not one claim's money), CS, J1, ... and
  a WO/72 whose reference names no claim of ours or several.
- Idempotent with the 835: a transaction already posted posts nothing, its PLB included.
- Reports show a reference's first word, cut to 17 characters (a Medicare financial control
  number is 17 long and Medicare may append the patient's HIC after it: never printed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database
    from .parse import Transaction

RECOUPMENT_REASONS = {"WO": "overpayment recovery", "72": "authorized return"}
_WORDS = re.compile(r"[\s,;/|]+")


@dataclass
class PlbResult:
    file: str
    trace_number: str
    reason: str
    reference: str  # shown_reference(): never the whole reference
    amount_cents: int
    claim_number: str | None
    outcome: str  # recouped | provider-level
    note: str = ""

    def row(self) -> dict:
        return dict(self.__dict__)


def shown_reference(reference: str | None) -> str:
    """What a report may print of a PLB reference (module rules)."""
    words = [w for w in _WORDS.split(reference or "") if w]
    return words[0][:17] if words else ""


def find_claim(
    conn: Database, tx: Transaction, payer_id: int | None, reference: str | None
) -> tuple[int | None, str, str]:
    """(invoice id or None, our claim number or '', how it matched or why not)."""
    found: dict[int, str] = {}
    for word in (w.upper() for w in _WORDS.split(reference or "") if w):
        row = conn.execute(
            "SELECT id FROM invoices WHERE number = ? AND kind = 'claim'", (word,)
        ).fetchone()
        if row:
            found.setdefault(row[0], "claim number")
        for (iid,) in conn.execute(
            "SELECT DISTINCT c.invoice_id FROM remit_claims c"
            " JOIN remit_transactions t ON t.id = c.transaction_id"
            " WHERE upper(c.payer_claim_number) = ? AND c.invoice_id IS NOT NULL"
            " AND (t.payer_key = ? OR t.payer_id = ?)",
            (word, tx.payer_key, payer_id),
        ):
            found.setdefault(iid, "payer claim number")
    ours = {iid: how for iid, how in found.items() if _answered_by(conn, iid, tx, payer_id)}
    if not found:
        return None, "", "names no claim of ours"
    numbers = {
        iid: conn.execute("SELECT number FROM invoices WHERE id = ?", (iid,)).fetchone()[0]
        for iid in found
    }
    if not ours:
        return None, "", f"names {', '.join(sorted(numbers.values()))}, not this payer's claim"
    if len(ours) > 1:
        return None, "", f"names several claims ({', '.join(sorted(numbers[i] for i in ours))})"
    [(iid, how)] = ours.items()
    return iid, numbers[iid], how


def _answered_by(conn: Database, invoice_id: int, tx: Transaction, payer_id: int | None) -> bool:
    """The claim is this payer's: billed to it, or answered by it on an 835."""
    row = conn.execute(
        "SELECT 1 FROM invoices WHERE id = ? AND payer_id IS ? AND payer_id IS NOT NULL"
        " UNION SELECT 1 FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
        " WHERE c.invoice_id = ? AND (t.payer_key = ? OR t.payer_id = ?)",
        (invoice_id, payer_id, invoice_id, tx.payer_key, payer_id),
    ).fetchone()
    return row is not None


def status_after(conn: Database, invoice_id: int) -> str:
    """A recouped claim's state: 'paid' when nothing is open, 'reversed' when the payer took
    back all it paid (docs/claim-states.md), else 'partially_paid'."""
    bal, paid = conn.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents, paid_cents"
        " FROM invoice_balances WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    if bal <= 0:
        return "paid"
    return "reversed" if paid <= 0 else "partially_paid"

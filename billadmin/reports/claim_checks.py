"""`billadmin check` rules for claims: no balance reduced twice, and every claim's state agrees
with its ledger (the state table in docs/claim-states.md).

Rules:
- LEDGER-DOUBLE-REDUCTION: on a voided or replaced claim the credit note, payments and
  adjustments together never take off more than its total (credited + paid + adjusted <= total),
  unless payer money explains it (an overpayment: paid > what was left to pay). On any invoice a
  negative balance must be explained by payments (paid > total - adjusted - credited is an
  overpayment, refunded or recouped later); a negative balance made by adjustments alone is an
  error.
- CLAIM-STATE: 'paid' or 'written_off' or 'closed' leaves nothing open (balance <= 0);
  'denied' or 'unprocessable' with balance 0.00 needs a write-off, a transfer to the patient or
  a payment that closed it, or (a replacement) what its original settled, carried onto it (else
  the denial was adjusted away: the bug issue 12 fixed);
  'voided', 'replaced' and 'corrected' (resubmitted) need their credit note or new claim, and
  leave nothing open either (the credit note moved the open amount once: a balance above 0.00
  is owed by no one, yet ages in A/R; below 0.00 is the payer's credit, docs/claim-states.md),
  except what the payer took back beyond what it paid (a refund and a reversal of the same
  payment: payments below zero), which the payer owes; these hold for patient invoices as for
  claims;
  'accepted' and 'rejected' (issue 16) need a send (an 837P that carried the claim) and an
  acknowledgement saying so (claim_acks, acks/imports.py), since only a 999, TA1 or 277CA
  moves a claim there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import money
from ..findings import Finding

if TYPE_CHECKING:
    from ..db import Database


def _f(rule: str, message: str) -> Finding:
    return Finding(rule, "error", message, source="ledger")


def double_reduction_findings(conn: Database) -> list[Finding]:
    out = []
    for number, total, credited, paid, adjusted, status in conn.execute(
        "SELECT b.number, b.total_cents, b.credited_cents, b.paid_cents, b.adjusted_cents,"
        " s.status FROM invoice_balances b LEFT JOIN invoice_status s ON s.invoice_id = b.invoice_id"
        " WHERE b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents < 0"
    ):
        taken = -credited + paid + adjusted
        non_payment = -credited + adjusted
        if non_payment > total:
            out.append(
                _f(
                    "LEDGER-DOUBLE-REDUCTION",
                    f"{number} ({status or 'no status'}): credit note and adjustments take off"
                    f" {money.fmt(non_payment)} of a total {money.fmt(total)}"
                    f" ({money.fmt(non_payment - total)} reduced twice); payments"
                    f" {money.fmt(paid)}, in all {money.fmt(taken)}",
                )
            )
    return out


_CLOSED = ("voided", "replaced", "corrected")  # a credit note or a new claim took its place


def state_findings(conn: Database) -> list[Finding]:
    out = []
    acked = _acked(conn)
    for number, status, bal, paid, closers, closes in conn.execute(
        """SELECT b.number, s.status,
                  b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents, b.paid_cents,
                  (SELECT COUNT(*) FROM adjustments d WHERE d.invoice_id = b.invoice_id
                     AND d.source IN ('writeoff', 'transfer', 'carried'))
                  + (SELECT COUNT(*) FROM payment_allocations a WHERE a.invoice_id = b.invoice_id),
                  (SELECT COUNT(*) FROM invoices o WHERE o.original_invoice_id = b.invoice_id)
           FROM invoice_balances b JOIN invoice_status s ON s.invoice_id = b.invoice_id"""
    ):
        problem = None
        if status in _CLOSED and not closes:
            problem = f"state {status} but no credit note or replacement names it"
        elif status in ("paid", "written_off", "closed") and bal > 0:
            problem = f"state {status} but {money.fmt(bal)} is still open"
        elif status in _CLOSED and bal + min(paid, 0) > 0:
            problem = f"state {status} but {money.fmt(bal)} is still open" + (
                f" ({money.fmt(bal + paid)} more than the payer took back beyond what it paid)"
                if paid < 0
                else ""
            )
        elif status in ("denied", "unprocessable") and bal == 0 and not closers:
            problem = (
                f"state {status} but the balance is 0.00 with no write-off, transfer or payment"
            )
        elif status in ("accepted", "rejected") and (number, status) not in acked:
            problem = f"state {status} but no acknowledgement of a send says {status}"
        if problem:
            out.append(_f("CLAIM-STATE", f"{number}: {problem}"))
    return out


def _acked(conn: Database) -> set[tuple[str, str]]:
    """(claim number, outcome) of every acknowledgement of a claim that was sent."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'claim_acks'").fetchone():
        return set()
    return {
        (number, outcome)
        for number, outcome in conn.execute(
            "SELECT DISTINCT i.number, a.outcome FROM claim_acks a JOIN invoices i"
            " ON i.id = a.invoice_id WHERE a.outcome IN ('accepted', 'rejected') AND EXISTS"
            " (SELECT 1 FROM invoice_files f WHERE f.invoice_id = i.id AND f.kind = 'x12')"
        )
    }


def claim_findings(conn: Database) -> list[Finding]:
    """Both rules, for integrity.extra_checks."""
    return double_reduction_findings(conn) + state_findings(conn)

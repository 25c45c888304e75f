"""Refunding a payer's overpayment of a claim (`billadmin payment refund-payer`).

Rules:
- A payer that paid a claim more than it owed (the same claim paid twice under two payer claim
  numbers, a payment after the patient's coverage ended, ...) leaves the claim's balance below
  zero: that is the payer's money the practice holds (its credit on the claim). The clerk sends
  it back by check or EFT and records it here: one insurance payment of the negative amount from
  the payer refunded, allocated to the claim, and a ``payer_returns`` row (kind 'refund') saying
  why. Nothing is edited; the claim's paid amount goes down by the refund and its balance back
  towards 0.00.
- The payer refunded is the claim's payer unless ``payer`` names another payer that paid on the
  claim (a crossover or secondary payer answering on the same claim, a payer that paid a claim
  that was not its own): every payer's money on a claim is its own (the per-payer ledger), so a
  refund never exceeds what that payer paid on the claim, net of earlier refunds and takebacks.
- Refused (exit 2, one line naming the claim, nothing written): an unknown claim, a patient
  invoice or credit note (patient refunds are `payment refund`), an unknown payer code, a zero
  or negative amount, an amount above the credit on the claim (its negative balance) or above
  what that payer paid on it, and a reference (the check number) already recorded as a refund
  of this claim.
- A payer that takes the money back itself (a PLB recoupment on a later 835) needs no refund:
  `remit import` allocates the recoupment to the claim it names (remit/post.py).

Audited as 'payment refund-payer' with the claim's internal id, the amount and the payment id.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput
from . import lookup
from .payments import check_method

if TYPE_CHECKING:
    from ..db import Database


def payer_credit(conn: Database, invoice_id: int) -> int:
    """What the payer has to its credit on a claim: the part of its balance below zero."""
    return max(0, -lookup.balance(conn, invoice_id)["balance_cents"])


def paid_by(conn: Database, invoice_id: int) -> dict[int, int]:
    """{payer id: what it paid on the claim, net of refunds and takebacks} (insurance payments
    allocated to the claim, by the payer each payment came from)."""
    return dict(
        conn.execute(
            "SELECT p.payer_id, SUM(a.amount_cents) FROM payment_allocations a JOIN payments p"
            " ON p.id = a.payment_id WHERE a.invoice_id = ? AND p.kind = 'insurance'"
            " AND p.payer_id IS NOT NULL GROUP BY p.payer_id",
            (invoice_id,),
        ).fetchall()
    )


def _payer(conn: Database, name: str, inv: dict, code: str | None) -> tuple[int, str]:
    """(payer id, code) of the payer refunded: the claim's, or the one named (module rules)."""
    if code is None or not code.strip():
        row = conn.execute("SELECT id, code FROM payers WHERE id = ?", (inv["payer_id"],))
    else:
        row = conn.execute(
            "SELECT id, code FROM payers WHERE UPPER(code) = ?", (code.strip().upper(),)
        )
    got = row.fetchone()
    if got is None:
        raise BadInput(f"{name}: no payer {code.strip().upper() if code else ''}".rstrip())
    return got[0], got[1]


def refund_payer(
    conn: Database,
    number: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    reference: str | None = None,
    payer: str | None = None,
) -> dict:
    """Record a refund of a payer's overpayment of claim ``number`` (module rules); ``payer``:
    the code of the payer refunded when it is not the claim's own."""
    method = check_method(method)
    name = (number or "").strip().upper()
    with db.write(conn):
        inv = lookup.find_invoice(conn, name)
        if inv is None or inv["kind"] != "claim":
            what = (
                f" (a {inv['kind']} invoice: patient refunds are `payment refund`)" if inv else ""
            )
            raise BadInput(f"{name}: no such claim{what}")
        payer_id, payer_code = _payer(conn, name, inv, payer)
        if amount_cents <= 0:
            raise BadInput(f"{name}: the refund must be above 0.00 (got {money.fmt(amount_cents)})")
        ref = (reference or "").strip() or None
        same = conn.execute(
            "SELECT id FROM payer_returns WHERE invoice_id = ? AND kind = 'refund' AND reference = ?",
            (inv["id"], ref),
        ).fetchone()
        if same:
            raise BadInput(
                f"{name}: refund {ref} was already recorded (payer return {same[0]}); nothing written"
            )
        credit = payer_credit(conn, inv["id"])
        if amount_cents > credit:
            raise BadInput(
                f"{name}: refund {money.fmt(amount_cents)} is more than the payer's credit on the"
                f" claim {money.fmt(credit)} ({money.fmt(amount_cents - credit)} too much);"
                " nothing written"
            )
        paid = paid_by(conn, inv["id"])
        if amount_cents > paid.get(payer_id, 0):
            codes = dict(conn.execute("SELECT id, code FROM payers").fetchall())
            who = ", ".join(f"{codes.get(p, p)} {money.fmt(c)}" for p, c in paid.items() if c > 0)
            raise BadInput(
                f"{name}: refund {money.fmt(amount_cents)} is more than {payer_code} paid on the"
                f" claim {money.fmt(max(0, paid.get(payer_id, 0)))} (paid on it: {who or 'none'};"
                " --payer CODE names the payer refunded); nothing written"
            )
        now = audit.utcnow()
        pay_id = conn.execute(
            "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference,"
            " received_on, created_at) VALUES ('insurance', NULL, ?, ?, ?, ?, ?, ?)",
            (payer_id, -amount_cents, method, ref, on.isoformat(), now),
        ).lastrowid
        conn.execute(
            "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id,"
            " amount_cents) VALUES (?,?,NULL,?)",
            (pay_id, inv["id"], -amount_cents),
        )
        ret = conn.execute(
            "INSERT INTO payer_returns (kind, invoice_id, payer_id, payment_id, plb_id,"
            " amount_cents, matched_by, reference, returned_on, os_user, at)"
            " VALUES ('refund', ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?)",
            (
                inv["id"],
                payer_id,
                pay_id,
                amount_cents,
                ref,
                on.isoformat(),
                audit.os_user(),
                now,
            ),
        ).lastrowid
        audit.record(
            conn,
            "payment refund-payer",
            entity="payer_returns",
            ids=[ret],
            detail={
                "invoice_id": inv["id"],
                "payment_id": pay_id,
                "amount_cents": amount_cents,
                "payer_id": payer_id,
            },
        )
    return {
        "claim": name,
        "payer": payer_code,
        "refund_cents": amount_cents,
        "method": method,
        "reference": ref,
        "payment_id": pay_id,
        "balance_after_cents": lookup.balance(conn, inv["id"])["balance_cents"],
        "payer_credit_after_cents": payer_credit(conn, inv["id"]),
    }

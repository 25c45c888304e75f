"""Refunding a payer's overpayment of a claim (`billadmin payment refund-payer`).

Rules:
- A payer that paid a claim more than it owed (the same claim paid twice under two payer claim
  numbers, a payment after the patient's coverage ended, ...) leaves the claim's balance below
  zero: that is the payer's money the practice holds (its credit on the claim). The clerk sends
  it back by check or EFT and records it here: one insurance payment of the negative amount from
  the claim's payer, allocated to the claim, and a ``payer_returns`` row (kind 'refund') saying
  why. Nothing is edited; the claim's paid amount goes down by the refund and its balance back
  towards 0.00.
- Refused (exit 2, one line naming the claim, nothing written): an unknown claim, a patient
  invoice or credit note (patient refunds are `payment refund`), a zero or negative amount, an
  amount above the payer's credit on the claim (its negative balance), and a reference (the
  check number) already recorded as a refund of this claim.
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


def refund_payer(
    conn: Database,
    number: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    reference: str | None = None,
) -> dict:
    """Record a refund of a payer's overpayment of claim ``number`` (module rules)."""
    method = check_method(method)
    name = (number or "").strip().upper()
    with db.write(conn):
        inv = lookup.find_invoice(conn, name)
        if inv is None or inv["kind"] != "claim":
            what = (
                f" (a {inv['kind']} invoice: patient refunds are `payment refund`)" if inv else ""
            )
            raise BadInput(f"{name}: no such claim{what}")
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
        now = audit.utcnow()
        pay_id = conn.execute(
            "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference,"
            " received_on, created_at) VALUES ('insurance', NULL, ?, ?, ?, ?, ?, ?)",
            (inv["payer_id"], -amount_cents, method, ref, on.isoformat(), now),
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
                inv["payer_id"],
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
            detail={"invoice_id": inv["id"], "payment_id": pay_id, "amount_cents": amount_cents},
        )
    payer = conn.execute("SELECT code FROM payers WHERE id = ?", (inv["payer_id"],)).fetchone()
    return {
        "claim": name,
        "payer": payer[0] if payer else None,
        "refund_cents": amount_cents,
        "method": method,
        "reference": ref,
        "payment_id": pay_id,
        "balance_after_cents": lookup.balance(conn, inv["id"])["balance_cents"],
        "payer_credit_after_cents": payer_credit(conn, inv["id"]),
    }

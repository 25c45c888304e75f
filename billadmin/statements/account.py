"""What one patient owes on a statement date: the open items, their aging and dunning step, and
the activity since the last statement.

The balance is the one `account show` (patient owes) and `checkin` tell the patient: the open
balances of the patient's patient invoices (voided ones left out, as accounts.payments does),
plus the patient responsibility a payer's answer moved to the patient that no invoice carries
yet (accounts.balances.pending), less the patient's unapplied credit. Nothing here computes a
balance of its own; it only spreads that one over the items.

Aging: an invoice ages from its issue date, a pending amount from the day it was posted. Credit
(unapplied credit and overpaid invoices) pays the oldest items first, as accounts.payments
applies it. The dunning step follows the age of the oldest item left unpaid (settings.STEPS).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..accounts import balances, payments
from . import settings

if TYPE_CHECKING:
    from ..db import Database

BUCKETS = (("current", 0, 29), ("30-59", 30, 59), ("60-89", 60, 89), ("90-119", 90, 119))
BUCKETS_LAST = "120+"


@dataclass
class Owed:
    patient_id: int
    balance_cents: int
    credit_cents: int
    items: list[dict] = field(default_factory=list)  # open items, oldest first, with 'open_cents'
    oldest_days: int = 0

    @property
    def step(self) -> str:
        return settings.step_for(self.oldest_days)

    def aging(self) -> list[dict]:
        names = [b[0] for b in BUCKETS] + [BUCKETS_LAST]
        out = dict.fromkeys(names, 0)
        for it in self.items:
            out[bucket(it["days"])] += it["open_cents"]
        return [{"bucket": n, "amount_cents": out[n]} for n in names]


def bucket(days: int) -> str:
    for name, lo, hi in BUCKETS:
        if lo <= days <= hi:
            return name
    return BUCKETS[0][0] if days < 0 else BUCKETS_LAST


def pending_by_patient(conn: Database) -> dict[int, list[tuple]]:
    """Every patient's pending items (accounts.balances.items) in one pass, for a run."""
    out: dict[int, list[tuple]] = {}
    for x in balances.items(conn):
        if x[1] is balances.PATIENT:
            out.setdefault(x[0], []).append(x)
    return out


def owed(
    conn: Database, patient_id: int, on: _dt.date, *, pending: list[tuple] | None = None
) -> Owed:
    """The patient's balance spread over open items (module docstring). pending: the patient's
    items from pending_by_patient (a run reads them once), else read here."""
    invs = [i for i in payments.patient_invoices(conn, patient_id) if not i["voided"]]
    if pending is None:
        pending = [
            x for x in balances.items(conn, patient_id=patient_id) if x[1] is balances.PATIENT
        ]
    credit = payments.credit_balance(conn, patient_id)
    items = []
    for i in invs:
        if i["balance_cents"] > 0:
            items.append(
                {
                    "kind": "invoice",
                    "invoice": i["number"],
                    "invoice_id": i["id"],
                    "date": i["issued_on"],
                    "amount_cents": i["balance_cents"],
                }
            )
    for _pid, _payer, dos, posted, cents in pending:
        items.append(
            {
                "kind": "pending",
                "invoice": None,
                "invoice_id": None,
                "date": posted,
                "date_of_service": dos,
                "amount_cents": cents,
            }
        )
    items.sort(key=lambda x: (x["date"], x["invoice"] or ""))
    # credit: the patient's unapplied credit and what overpaid invoices hold
    unapplied = credit + sum(-i["balance_cents"] for i in invs if i["balance_cents"] < 0)
    left = unapplied
    oldest = None
    for it in items:
        take = min(max(left, 0), it["amount_cents"])
        left -= take
        it["open_cents"] = it["amount_cents"] - take
        it["days"] = max((on - _dt.date.fromisoformat(it["date"][:10])).days, 0)
        if it["open_cents"] > 0 and oldest is None:
            oldest = it["days"]
    balance = sum(i["balance_cents"] for i in invs) + sum(x[4] for x in pending) - credit
    return Owed(patient_id, balance, unapplied, items, oldest or 0)


def activity(conn: Database, patient_id: int, since: str | None, on: _dt.date) -> list[dict]:
    """The patient's payments and refunds, and adjustments and credit notes on their patient
    invoices, after the last statement (since) up to the statement date, oldest first."""
    lo, hi = since or "0000-00-00", on.isoformat()
    rows = [
        {
            "date": r[0],
            "what": {"refund": "Refund", "copay": "Co-pay"}.get(r[1], "Payment")
            + (f" (receipt {r[2]})" if r[2] else ""),
            "amount_cents": -r[3],
        }
        for r in conn.execute(
            "SELECT p.received_on, p.kind, r.number, p.amount_cents FROM payments p"
            " LEFT JOIN receipts r ON r.payment_id = p.id WHERE p.patient_id = ?"
            " AND p.kind IN ('patient','copay','refund') AND p.received_on > ?"
            " AND p.received_on <= ? ORDER BY p.received_on, p.id",
            (patient_id, lo, hi),
        )
    ]
    rows += [
        {
            "date": r[0],
            "what": f"Adjustment on {r[1]}" + (f" ({r[2]})" if r[2] else ""),
            "amount_cents": -r[3],
        }
        for r in conn.execute(
            "SELECT d.created_on, i.number, c.reason, d.amount_cents FROM adjustments d"
            " JOIN invoices i ON i.id = d.invoice_id"
            " LEFT JOIN clerk_adjustments c ON c.adjustment_id = d.id"
            " WHERE i.patient_id = ? AND i.kind = 'patient' AND d.created_on > ?"
            " AND d.created_on <= ? ORDER BY d.created_on, d.id",
            (patient_id, lo, hi),
        )
    ]
    # credit notes on their patient invoices (a void, or an insurer paying what was billed to
    # the patient): the balance drops by them, so the statement says why
    rows += [
        {"date": r[0], "what": f"Credit {r[1]} on {r[2]}", "amount_cents": r[3]}
        for r in conn.execute(
            "SELECT c.issued_on, c.number, i.number, c.total_cents FROM invoices c"
            " JOIN invoices i ON i.id = c.original_invoice_id"
            " WHERE c.kind = 'credit' AND i.kind = 'patient' AND i.patient_id = ?"
            " AND c.issued_on > ? AND c.issued_on <= ? ORDER BY c.issued_on, c.id",
            (patient_id, lo, hi),
        )
    ]
    rows.sort(key=lambda r: r["date"])
    return rows


def candidates(conn: Database) -> list[int]:
    """Patients who may owe something: an open patient invoice, credit, or a pending amount."""
    ids = {
        r[0]
        for r in conn.execute(
            "SELECT patient_id FROM invoice_balances WHERE kind = 'patient'"
            " AND total_cents + credited_cents - paid_cents - adjusted_cents != 0"
        )
    }
    ids |= {
        r[0]
        for r in conn.execute(
            "SELECT patient_id FROM unapplied_credits GROUP BY patient_id"
            " HAVING SUM(amount_cents) != 0"
        )
    }
    return sorted(ids | set(pending_by_patient(conn)))

"""Clerk adjustments: write-offs with a reason, their undo, and moving a denied amount to the
patient. Each is ONE new ledger row (``adjustments``) with its reason in ``clerk_adjustments``,
audited; nothing is ever edited, an undo is an opposite entry.

Rules:
- A write-off names the invoice (claim or patient invoice), a positive amount and a reason:
  small-balance, bad-debt (sent to collections), courtesy, timely-filing, contractual,
  denial-writeoff, qmb (Medicare cost-sharing a QMB beneficiary may not be billed, SSA
  1902(n)(3)(B)), charity. It is refused (exit 2, nothing written, one line naming the invoice)
  when the amount is more than the open balance, or the invoice is voided, replaced or closed
  (a credit note, a zero balance).
- When the write-off brings the balance to 0.00 the invoice's state becomes 'written_off'.
- Undo: an entry of the opposite amount naming the write-off it reverses (once); the state goes
  back to what it was before the write-off. Only a write-off (a positive entry) is undone: never
  an undo, nor a collections recovery's entry (statements/collections.py), which would write off
  again money the patient paid. A write-off that a collections recovery or a payer's payment
  (remit/post.py) already partly took back is undone by what is still written off (its amount
  less what they took back), and refused when nothing is. A write-off on a voided, replaced or
  resubmitted invoice is not undone: the credit note took off the total less what was written
  off, so the write-off went with the invoice and an undo would leave money open on a closed
  invoice (exit 2, nothing written).
- An undo that leaves money open on an invoice whose state says nothing is open ('paid',
  'written_off', 'closed', reached after the write-off) moves it to the state before those,
  'partially_paid' when something was paid on it and that state was one before any payment.
- Moving a denied amount to the patient (source 'transfer', group PR, billed on the next patient
  invoice like any PR) is allowed only where the patient may be billed: never for a medical-
  necessity denial in group CO (CO-50 ... with GZ or without an ABN: the provider's liability,
  SSA 1879, CMS Pub. 100-04 ch. 30 s. 40.3.6), or for a line billed with GZ; lines with GA (ABN on
  file) or denials the patient's plan puts on the patient (eligibility, non-covered, benefit
  limit) may move. Every other denial (missing information, bundling, coding, authorization,
  timely filing, duplicate, coordination of benefits, provider) is the provider's to work: group
  CO is the provider's liability and is refused, as is any denial in group PI (a payer-initiated
  reduction the payer says is not the patient's). On a claim with both kinds only the amount
  the patient may be billed moves, less what earlier transfers moved already.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput
from . import lookup

if TYPE_CHECKING:
    from ..db import Database

REASONS = (
    "small-balance",
    "bad-debt",
    "courtesy",
    "timely-filing",
    "contractual",
    "denial-writeoff",
    "qmb",
    "charity",
)
CLOSED_STATES = ("voided", "replaced", "corrected")


def _open_invoice(conn: Database, number: str, amount_cents: int, what: str) -> tuple[dict, int]:
    """The invoice and its open balance, refusing what may not be adjusted (module rules)."""
    inv = lookup.find_invoice(conn, number)
    name = (number or "").strip()
    if inv is None:
        raise BadInput(f"{name}: no such invoice")
    if inv["kind"] == "credit":
        raise BadInput(f"{name}: a credit note cannot take a {what}")
    status = lookup.invoice_status(conn, inv["id"])
    if status in CLOSED_STATES or lookup.is_voided(conn, inv):
        raise BadInput(f"{name}: the invoice is {status or 'voided'}; no {what} on a closed claim")
    bal = lookup.balance(conn, inv["id"])["balance_cents"]
    if amount_cents <= 0:
        raise BadInput(f"{name}: the {what} amount must be above 0.00")
    if bal <= 0:
        raise BadInput(f"{name}: nothing is open (balance {money.fmt(bal)}); no {what}")
    if amount_cents > bal:
        raise BadInput(
            f"{name}: {what} {money.fmt(amount_cents)} is more than the open balance"
            f" {money.fmt(bal)} ({money.fmt(amount_cents - bal)} too much)"
        )
    return inv, bal


def _insert(
    conn: Database,
    inv: dict,
    *,
    group: str | None,
    reason_code: str,
    amount: int,
    source: str,
    kind: str,
    reason: str,
    on: _dt.date,
    reverses: int | None = None,
    reference: str | None = None,
) -> int:
    now = audit.utcnow()
    adj = conn.execute(
        "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
        " amount_cents, source, created_on, created_at) VALUES (?,NULL,?,?,?,?,?,?)",
        (inv["id"], group, reason_code, amount, source, on.isoformat(), now),
    ).lastrowid
    assert adj is not None
    conn.execute(
        "INSERT INTO clerk_adjustments (adjustment_id, kind, reason, reference,"
        " reverses_adjustment_id, os_user, at) VALUES (?,?,?,?,?,?,?)",
        (adj, kind, reason, reference, reverses, audit.os_user(), now),
    )
    return adj


def _event(conn: Database, invoice_id: int, status: str, note: str) -> None:
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
        (invoice_id, status, audit.utcnow(), note),
    )


def writeoff(conn: Database, number: str, amount_cents: int, reason: str, *, on: _dt.date) -> dict:
    """Write off part or all of an invoice's open balance (module rules). Returns the entry."""
    r = (reason or "").strip().lower()
    if r == "collections":
        r = "bad-debt"
    if r not in REASONS:
        raise BadInput(f"{number.strip()}: --reason must be one of {', '.join(REASONS)}")
    with db.write(conn):
        inv, bal = _open_invoice(conn, number, amount_cents, "write-off")
        adj = _insert(
            conn,
            inv,
            group=None,
            reason_code=r,
            amount=amount_cents,
            source="writeoff",
            kind="writeoff",
            reason=r,
            on=on,
        )
        after = bal - amount_cents
        if after == 0:
            _event(conn, inv["id"], "written_off", f"write-off {adj} ({r})")
        audit.record(
            conn,
            "invoice writeoff",
            entity="adjustments",
            ids=[adj],
            detail={"invoice_id": inv["id"], "amount_cents": amount_cents, "reason": r},
        )
    return {
        "invoice": inv["number"],
        "entry": adj,
        "reason": r,
        "amount_cents": amount_cents,
        "balance_after_cents": after,
        "status": lookup.invoice_status(conn, inv["id"]),
    }


# states that say nothing is open: an undo reopening a balance moves the invoice out of them
_NOTHING_OPEN = ("paid", "written_off", "closed")
# states before any payment: reopened with something paid, the invoice is partially paid
_UNPAID = ("issued", "sent", "accepted", "rejected")


def _recovered(conn: Database, entry: int) -> int:
    """What collections recoveries reversed of bad-debt write-off ``entry`` (0 when it was never
    sent to collections; statements/collections.py records both in collection_entries)."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'collection_entries'"
    ).fetchone():
        return 0
    return conn.execute(
        "SELECT COALESCE(SUM(r.amount_cents), 0) FROM collection_entries w"
        " JOIN collection_entries r ON r.collection_id = w.collection_id"
        " AND r.invoice_id = w.invoice_id AND r.kind = 'recovery'"
        " WHERE w.kind = 'writeoff' AND w.adjustment_id = ?",
        (entry,),
    ).fetchone()[0]


def _reopened_state(conn: Database, invoice_id: int, status: str | None) -> str | None:
    """The state of an invoice an undo left with money open (module rules), or None to keep."""
    if status not in _NOTHING_OPEN:
        return None
    prior = conn.execute(
        "SELECT status FROM invoice_events WHERE invoice_id = ? AND status NOT IN"
        f" ({', '.join('?' * len(_NOTHING_OPEN))}) ORDER BY id DESC LIMIT 1",
        (invoice_id, *_NOTHING_OPEN),
    ).fetchone()
    paid = lookup.balance(conn, invoice_id)["paid_cents"]
    if prior is None or (paid > 0 and prior[0] in _UNPAID):
        return "partially_paid" if paid > 0 else "issued"
    return prior[0]


def undo_writeoff(conn: Database, number: str, entry: int, *, on: _dt.date) -> dict:
    """The opposite entry of write-off ``entry`` on invoice ``number`` (once; module rules)."""
    name = number.strip()
    with db.write(conn):
        inv = lookup.find_invoice(conn, name)
        row = conn.execute(
            "SELECT d.amount_cents, c.reason FROM adjustments d JOIN clerk_adjustments c"
            " ON c.adjustment_id = d.id WHERE d.id = ? AND d.invoice_id = ? AND c.kind = 'writeoff'"
            " AND c.reverses_adjustment_id IS NULL AND d.amount_cents > 0",
            (entry, inv["id"] if inv else -1),
        ).fetchone()
        if inv is None or row is None:
            raise BadInput(f"{name}: no write-off entry {entry} on this invoice")
        amount, reason = row
        # what entries naming it already took back (an undo, a payer's payment: remit/post.py)
        (reversed_,) = conn.execute(
            "SELECT COALESCE(SUM(-d.amount_cents), 0) FROM clerk_adjustments c"
            " JOIN adjustments d ON d.id = c.adjustment_id WHERE c.reverses_adjustment_id = ?",
            (entry,),
        ).fetchone()
        if reversed_ >= amount:
            raise BadInput(f"{name}: write-off entry {entry} was already undone")
        status = lookup.invoice_status(conn, inv["id"])
        if status in CLOSED_STATES or lookup.is_voided(conn, inv):
            raise BadInput(
                f"{name}: the invoice is {status or 'voided'}; its write-off entry {entry} went"
                " with it and is not undone"
            )
        recovered = _recovered(conn, entry)
        if reversed_ + recovered >= amount:
            raise BadInput(
                f"{name}: write-off entry {entry} was recovered through collections;"
                " nothing is left written off to undo"
            )
        amount -= reversed_ + recovered
        adj = _insert(
            conn,
            inv,
            group=None,
            reason_code=reason,
            amount=-amount,
            source="writeoff",
            kind="writeoff",
            reason=f"undo {entry}",
            on=on,
            reverses=entry,
        )
        if lookup.balance(conn, inv["id"])["balance_cents"] > 0:
            state = _reopened_state(conn, inv["id"], status)
            if state:
                _event(conn, inv["id"], state, f"write-off {entry} undone by entry {adj}")
        audit.record(
            conn,
            "invoice writeoff-undo",
            entity="adjustments",
            ids=[adj],
            detail={"invoice_id": inv["id"], "reverses": entry},
        )
    bal = lookup.balance(conn, inv["id"])["balance_cents"]
    return {
        "invoice": inv["number"],
        "entry": adj,
        "reason": f"undo {entry}",
        "amount_cents": -amount,
        "balance_after_cents": bal,
        "status": lookup.invoice_status(conn, inv["id"]),
    }


# Denial categories whose amount the patient may be billed (module rules): the patient was not
# covered, the service is not a benefit of the plan, or the plan's benefit is used up.
_PATIENT_CATEGORIES = frozenset({"eligibility", "non_covered", "benefit_limit"})


def _patient_may_be_billed(group: str, reason: str, mods: str) -> str | None:
    """None when a denial (group, CARC, line modifiers) may move to the patient, else why not."""
    from . import carc

    m = {x.strip().upper() for x in mods.replace(":", ",").split(",") if x.strip()}
    category = carc.describe(reason)[0]
    if group == "PI":
        return (
            f"{group}-{reason} is a payer-initiated reduction, not the patient's responsibility"
            " (X12 group PI); appeal it or write it off"
        )
    if "GZ" in m or (category == "medical_necessity" and "GA" not in m):
        return (
            f"{group}-{reason} without an ABN (modifier GA) is the provider's liability;"
            " write it off (--reason denial-writeoff), do not bill the patient"
        )
    if category == "medical_necessity" or category in _PATIENT_CATEGORIES:
        return None
    step = carc.NEXT_STEP.get(category, "appeal")
    return (
        f"{group}-{reason} ({category.replace('_', ' ')}) is the provider's to work"
        f" ({step}), not the patient's to pay; only an eligibility, non-covered or"
        " benefit-limit denial, or a medical-necessity denial with an ABN, moves to the patient"
    )


def to_patient(conn: Database, number: str, amount_cents: int, *, on: _dt.date) -> dict:
    """Move part of a claim's open denied amount to the patient (module rules)."""
    from . import carc

    name = number.strip()
    with db.write(conn):
        inv, bal = _open_invoice(conn, name, amount_cents, "transfer to the patient")
        if inv["kind"] != "claim":
            raise BadInput(f"{name}: only a claim's denied amount moves to the patient")
        carc.ensure_temp_table(conn)
        rows = conn.execute(
            "SELECT d.group_code, d.reason_code, COALESCE(l.modifiers, ''), d.amount_cents"
            " FROM temp.denial_rows d LEFT JOIN invoice_lines l ON l.id = d.invoice_line_id"
            " WHERE d.invoice_id = ? AND d.in_ledger = 0",
            (inv["id"],),
        ).fetchall()
        if sum(r[3] for r in rows) <= 0:
            raise BadInput(f"{name}: no denied amount to move to the patient")
        movable = [r for r in rows if _patient_may_be_billed(*r[:3]) is None]
        moved = conn.execute(  # what earlier transfers (net of payers taking them back) moved
            "SELECT COALESCE(SUM(a.amount_cents), 0) FROM adjustments a"
            " JOIN clerk_adjustments c ON c.adjustment_id = a.id"
            " WHERE a.invoice_id = ? AND c.kind = 'transfer'",
            (inv["id"],),
        ).fetchone()[0]
        denied = sum(r[3] for r in movable) - moved
        if movable and denied <= 0:
            raise BadInput(
                f"{name}: the denied amount the patient may be billed"
                f" ({money.fmt(sum(r[3] for r in movable))}) was moved to the patient already"
            )
        if denied <= 0:
            why = [w for r in rows if (w := _patient_may_be_billed(*r[:3]))]
            raise BadInput(
                f"{name}: {why[0] if why else 'no denied amount to move to the patient'}"
            )
        if amount_cents > min(denied, bal):
            raise BadInput(
                f"{name}: {money.fmt(amount_cents)} is more than the open denied amount the"
                f" patient may be billed {money.fmt(min(denied, bal))}"
            )
        top = max(movable, key=lambda r: r[3])
        adj = _insert(
            conn,
            inv,
            group="PR",
            reason_code=top[1],
            amount=amount_cents,
            source="transfer",
            kind="transfer",
            reason=f"denied {top[0]}-{top[1]} moved to the patient",
            on=on,
        )
        if bal - amount_cents == 0:
            _event(conn, inv["id"], "closed", f"denied amount moved to the patient (entry {adj})")
        audit.record(
            conn,
            "invoice to-patient",
            entity="adjustments",
            ids=[adj],
            detail={"invoice_id": inv["id"], "amount_cents": amount_cents},
        )
    return {
        "invoice": inv["number"],
        "entry": adj,
        "reason": "to patient",
        "amount_cents": amount_cents,
        "balance_after_cents": bal - amount_cents,
        "status": lookup.invoice_status(conn, inv["id"]),
    }

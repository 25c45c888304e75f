"""Patient money at the desk: co-pays, payments, refunds, and the patient's credit balance.

Ledger rules (shared with invoicing and remittances):
- Every payment is a ``payments`` row; the part that pays invoices is in ``payment_allocations``,
  the part not (yet) on any invoice is in ``unapplied_credits``. For every payment,
  amount = SUM(allocations) + SUM(unapplied rows with its payment_id); `billadmin check` verifies
  it (see :func:`ledger_findings`). A patient's credit balance is SUM(unapplied_credits.amount)
  over the patient; credit rows are append-only (using credit adds a negative row).
- A co-pay taken at check-in has no invoice yet: it is held as credit (reason 'copay') until
  the patient invoice that carries the co-pay is issued, then applied (:func:`apply_credit`).
- A payment is applied oldest-first (issue date, then invoice number) to the patient's open
  patient invoices, or to the one invoice named. Zero or negative amounts are refused; more than
  the open balance is refused unless the clerk asks to keep the rest as credit; a voided invoice
  takes no payment. Insurance claims take payer money only (remittances), never patient money.
- A refund pays back credit: first the unapplied credit, then overpaid patient invoices (negative
  balances), never more than that. It is a payment of kind 'refund' with a negative amount.
- A voided patient invoice keeps no money: what the patient paid on it is taken off it and held
  as their credit (:func:`hold_paid_as_credit`), applied to the invoice that bills the visit
  again (`invoice void --rebill`, then the next run) or to another open one, or refunded.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, Conflict
from ..reads import record_read
from . import lookup

if TYPE_CHECKING:
    from ..db import Database


METHODS = ("cash", "card", "check", "eft", "other")


@dataclass
class Posting:
    payment_id: int
    receipt: str
    kind: str
    amount_cents: int
    allocations: list[dict] = field(
        default_factory=list
    )  # {invoice, amount_cents, balance_after_cents}
    credit_cents: int = 0  # kept as (or taken from) credit

    def rows(self) -> list[dict]:
        out = [
            {
                "receipt": self.receipt,
                "invoice": a["invoice"],
                "applied_cents": a["amount_cents"],
                "balance_after_cents": a["balance_after_cents"],
            }
            for a in self.allocations
        ]
        if self.credit_cents:
            out.append(
                {
                    "receipt": self.receipt,
                    "invoice": "(credit)",
                    "applied_cents": self.credit_cents,
                    "balance_after_cents": None,
                }
            )
        return out


def check_method(method: str | None) -> str:
    if not method:
        raise BadInput(f"--method is required ({'|'.join(METHODS)})")
    m = method.strip().lower()
    if m not in METHODS:
        raise BadInput(f"--method must be one of {', '.join(METHODS)}")
    return m


def credit_balance(conn: Database, patient_id: int) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM unapplied_credits WHERE patient_id = ?",
        (patient_id,),
    ).fetchone()[0]


def holding_credit(conn: Database, patients: str) -> set[int]:
    """Of the patients whose ids the table `patients` holds (column id), those with unapplied
    credit (credit_balance above zero): the ones apply_credit has anything to apply for."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT c.patient_id FROM unapplied_credits c"
            f" WHERE c.patient_id IN (SELECT id FROM {patients})"
            " GROUP BY c.patient_id HAVING SUM(c.amount_cents) > 0"
        )
    }


def patient_invoices(conn: Database, patient_id: int) -> list[dict]:
    """The patient's patient invoices with balance and voided flag, oldest first."""
    rows = conn.execute(
        """SELECT b.invoice_id, b.number, i.issued_on, b.total_cents + b.credited_cents -
            b.paid_cents - b.adjusted_cents,
                  COALESCE(s.status, '')
           FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id
           LEFT JOIN invoice_status s ON s.invoice_id = b.invoice_id
           WHERE b.patient_id = ? AND b.kind = 'patient'
           ORDER BY i.issued_on, b.number""",
        (patient_id,),
    ).fetchall()
    out = []
    for iid, number, issued, bal, status in rows:
        inv = {
            "id": iid,
            "number": number,
            "issued_on": issued,
            "balance_cents": bal,
            "status": status,
        }
        inv["voided"] = (
            status == "voided"
            or bool(
                conn.execute(
                    "SELECT 1 FROM invoices WHERE original_invoice_id = ? AND kind = 'credit' LIMIT 1",
                    (iid,),
                ).fetchone()
            )
            and bal == 0
        )
        out.append(inv)
    return out


def _next_receipt(conn: Database) -> tuple[int, str]:
    n = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM receipts").fetchone()[0]
    return n, f"R{n:07d}"


def _insert_payment(
    conn: Database,
    *,
    kind,
    patient_id,
    amount,
    method,
    reference,
    on,
    service_date=None,
    coverage_id=None,
):
    now = audit.utcnow()
    pid = conn.execute(
        "INSERT INTO payments (kind, patient_id, payer_id, amount_cents, method, reference, received_on, created_at)"
        " VALUES (?,?,NULL,?,?,?,?,?)",
        (kind, patient_id, amount, method, reference, on.isoformat(), now),
    ).lastrowid
    rid, number = _next_receipt(conn)
    conn.execute(
        "INSERT INTO receipts (id, number, payment_id, patient_id, service_date, coverage_id, created_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (rid, number, pid, patient_id, service_date, coverage_id, now),
    )
    return pid, number


def _allocate(
    conn: Database, payment_id: int, invoice_id: int, amount: int, applied_on: str | None = None
) -> None:
    """One allocation; `applied_on` when it is made on another day than the payment's
    (accounts/schema.py m008_allocation_dates)."""
    conn.execute(
        "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id, amount_cents,"
        " applied_on) VALUES (?,?,NULL,?,?)",
        (payment_id, invoice_id, amount, applied_on),
    )


def _credit_row(conn: Database, payment_id, patient_id, amount, reason, on) -> None:
    conn.execute(
        "INSERT INTO unapplied_credits (payment_id, patient_id, amount_cents, reason, created_on, created_at)"
        " VALUES (?,?,?,?,?,?)",
        (payment_id, patient_id, amount, reason, on.isoformat(), audit.utcnow()),
    )


def _status_event(
    conn: Database, invoice_id: int, balance_after: int, on: _dt.date, note: str
) -> None:
    status = "paid" if balance_after <= 0 else "partially_paid"
    conn.execute(
        "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES (?,?,?,?)",
        (invoice_id, status, on.isoformat(), note),
    )


def post_payment(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    invoice_number: str | None = None,
    reference: str | None = None,
    credit: bool = False,
) -> Posting:
    """Record a patient payment and apply it (see the module rules). One transaction, audited."""
    method = check_method(method)
    if amount_cents <= 0:
        raise BadInput(
            f"amount must be more than 0.00 (got {money.fmt(amount_cents)}); "
            "to pay money back use `billadmin payment refund`"
        )
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        invs = patient_invoices(conn, pat["id"])
        if invoice_number:
            inv = lookup.invoice(conn, invoice_number)
            if inv["patient_id"] != pat["id"]:
                raise BadInput(f"invoice {inv['number']} is not on this patient's account")
            if inv["kind"] == "credit":
                raise BadInput(f"{inv['number']} is a credit note; pay the invoice it credits")
            if inv["kind"] == "claim":
                raise BadInput(
                    f"invoice {inv['number']} is an insurance claim; patient payments go to patient "
                    "invoices (or use --credit to hold it as credit)"
                )
            if lookup.is_voided(conn, inv):
                raise Conflict(f"invoice {inv['number']} is voided; it takes no payment")
            targets = [i for i in invs if i["id"] == inv["id"]]
        else:
            targets = [i for i in invs if not i["voided"]]
        open_targets = [i for i in targets if i["balance_cents"] > 0]
        open_total = sum(i["balance_cents"] for i in open_targets)
        if amount_cents > open_total and not credit:
            where = (
                f"invoice {invoice_number.strip()}'s balance"
                if invoice_number
                else "the open patient balance"
            )
            raise BadInput(
                f"payment {money.fmt(amount_cents)} is over {where} {money.fmt(open_total)} "
                f"({money.fmt(amount_cents - open_total)} too much); --credit keeps the rest as credit"
            )
        pid, receipt = _insert_payment(
            conn,
            kind="patient",
            patient_id=pat["id"],
            amount=amount_cents,
            method=method,
            reference=reference,
            on=on,
        )
        post = Posting(pid, receipt, "patient", amount_cents)
        left = amount_cents
        for inv in open_targets:
            if left <= 0:
                break
            take = min(left, inv["balance_cents"])
            _allocate(conn, pid, inv["id"], take)
            after = inv["balance_cents"] - take
            _status_event(conn, inv["id"], after, on, f"patient payment {receipt}")
            post.allocations.append(
                {"invoice": inv["number"], "amount_cents": take, "balance_after_cents": after}
            )
            left -= take
        if left:
            _credit_row(conn, pid, pat["id"], left, "overpayment", on)
            post.credit_cents = left
        audit.record(
            conn,
            "payment post",
            entity="payment",
            ids=[pid],
            detail={
                "patient_id": pat["id"],
                "amount_cents": amount_cents,
                "receipt": receipt,
                "invoices": len(post.allocations),
                "credit_cents": post.credit_cents,
            },
        )
    return post


def refundable(conn: Database, patient_id: int) -> tuple[int, list[dict]]:
    """(unapplied credit, overpaid patient invoices oldest first)."""
    over = [i for i in patient_invoices(conn, patient_id) if i["balance_cents"] < 0]
    return credit_balance(conn, patient_id), over


def refund(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    invoice_number: str | None = None,
    reference: str | None = None,
) -> Posting:
    """Pay a patient back from their credit (see the module rules). One transaction, audited."""
    method = check_method(method)
    if amount_cents <= 0:
        raise BadInput(f"refund amount must be more than 0.00 (got {money.fmt(amount_cents)})")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        credit, over = refundable(conn, pat["id"])
        if invoice_number:
            inv = lookup.invoice(conn, invoice_number)
            if inv["patient_id"] != pat["id"]:
                raise BadInput(f"invoice {inv['number']} is not on this patient's account")
            over = [i for i in over if i["id"] == inv["id"]]
            credit = 0
        available = max(credit, 0) + sum(-i["balance_cents"] for i in over)
        if amount_cents > available:
            raise BadInput(
                f"refund {money.fmt(amount_cents)} is more than the refundable credit {money.fmt(available)} "
                f"({money.fmt(amount_cents - available)} too much)"
            )
        pid, receipt = _insert_payment(
            conn,
            kind="refund",
            patient_id=pat["id"],
            amount=-amount_cents,
            method=method,
            reference=reference,
            on=on,
        )
        post = Posting(pid, receipt, "refund", -amount_cents)
        left = amount_cents
        take = min(left, max(credit, 0))
        if take:
            _credit_row(conn, pid, pat["id"], -take, "refunded", on)
            post.credit_cents = -take
            left -= take
        for inv in over:
            if left <= 0:
                break
            take = min(left, -inv["balance_cents"])
            _allocate(conn, pid, inv["id"], -take)
            post.allocations.append(
                {
                    "invoice": inv["number"],
                    "amount_cents": -take,
                    "balance_after_cents": inv["balance_cents"] + take,
                }
            )
            left -= take
        audit.record(
            conn,
            "payment refund",
            entity="payment",
            ids=[pid],
            detail={"patient_id": pat["id"], "amount_cents": -amount_cents, "receipt": receipt},
        )
    return post


def hold_paid_as_credit(
    conn: Database, invoice_id: int, patient_id: int, on: _dt.date, up_to: int | None = None
) -> int:
    """What the patient paid on a patient invoice being voided (lifecycle.void), taken off it and
    held as their credit; returns the amount. Per payment, newest first and never more than the
    invoice's net paid (refunds netted): an allocation of the opposite amount and a credit row
    of the same amount (reason 'overpayment': nothing is owed against it any more), so each
    payment still adds up (:func:`ledger_findings`) and the voided invoice's balance is 0.00.
    `up_to`: hold no more than that (what a credit note left overpaid). Call inside the write
    transaction that voided or credited the invoice."""
    if not conn.conn.in_transaction:
        raise RuntimeError("hold_paid_as_credit must run inside db.write()")
    (left,) = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payment_allocations WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()
    left = left if up_to is None else min(left, up_to)
    held = max(left, 0)
    for payment_id, net in conn.execute(
        "SELECT payment_id, SUM(amount_cents) FROM payment_allocations WHERE invoice_id = ?"
        " GROUP BY payment_id HAVING SUM(amount_cents) > 0 ORDER BY MAX(id) DESC",
        (invoice_id,),
    ).fetchall():
        if left <= 0:
            break
        take = min(net, left)
        _allocate(conn, payment_id, invoice_id, -take, on.isoformat())
        _credit_row(conn, payment_id, patient_id, take, "overpayment", on)
        left -= take
    return held


def apply_credit(conn: Database, patient_id: int, on: _dt.date) -> list[dict]:
    """Apply a patient's unapplied credit to their open patient invoices, oldest first.

    Call inside a write transaction (invoicing may call it right after issuing a patient
    invoice). Each application is an allocation from the payment that holds the credit plus a
    negative credit row on that payment, so both payment and patient sums stay exact.
    Returns [{invoice, payment_id, amount_cents}].
    """
    if not conn.conn.in_transaction:
        raise RuntimeError("apply_credit must run inside db.write()")
    total = credit_balance(conn, patient_id)
    if total <= 0:
        return []
    sources = [
        list(r)
        for r in conn.execute(
            """SELECT c.payment_id, SUM(c.amount_cents) FROM unapplied_credits c JOIN payments p ON p.id = c.payment_id
           WHERE c.patient_id = ? GROUP BY c.payment_id HAVING SUM(c.amount_cents) > 0
           ORDER BY MIN(p.received_on), c.payment_id""",
            (patient_id,),
        )
    ]
    out = []
    for inv in patient_invoices(conn, patient_id):
        if inv["voided"] or inv["balance_cents"] <= 0:
            continue
        need = inv["balance_cents"]
        for src in sources:
            if total <= 0 or need <= 0:
                break
            take = min(src[1], need, total)
            if take <= 0:
                continue
            _allocate(conn, src[0], inv["id"], take, on.isoformat())
            _credit_row(conn, src[0], patient_id, -take, "applied", on)
            src[1] -= take
            need -= take
            total -= take
            out.append({"invoice": inv["number"], "payment_id": src[0], "amount_cents": take})
        if need < inv["balance_cents"]:
            _status_event(conn, inv["id"], need, on, "credit applied")
    return out


def apply_credit_for(conn: Database, mrn: str, on: _dt.date) -> list[dict]:
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        out = apply_credit(conn, pat["id"], on)
        audit.record(
            conn,
            "payment apply-credit",
            entity="patient",
            ids=[pat["id"]],
            count=len(out),
            detail={"amount_cents": sum(r["amount_cents"] for r in out)},
        )
    return out


def list_payments(
    conn: Database,
    *,
    mrn: str | None = None,
    kind: str | None = None,
    since: _dt.date | None = None,
    until: _dt.date | None = None,
    limit: int | None = None,
) -> list[dict]:
    where, params = [], []
    if mrn:
        where.append("p.patient_id = ?")
        params.append(lookup.patient(conn, mrn)["id"])
    if kind:
        kinds = ("insurance", "patient", "copay", "refund")
        if kind not in kinds:
            raise BadInput(f"--kind must be one of {', '.join(kinds)}")
        where.append("p.kind = ?")
        params.append(kind)
    if since:
        where.append("p.received_on >= ?")
        params.append(since.isoformat())
    if until:
        where.append("p.received_on <= ?")
        params.append(until.isoformat())
    sql = f"""
        SELECT p.id, p.received_on, p.kind, r.number, pt.mrn, py.code, p.method, p.reference, p.amount_cents,
               COALESCE((SELECT SUM(amount_cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0),
               COALESCE((SELECT SUM(amount_cents) FROM unapplied_credits c WHERE c.payment_id = p.id), 0),
               (SELECT group_concat(number, ' ') FROM (SELECT DISTINCT i.number FROM payment_allocations a
                    JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = p.id ORDER BY i.number))
        FROM payments p LEFT JOIN receipts r ON r.payment_id = p.id
        LEFT JOIN patients pt ON pt.id = p.patient_id LEFT JOIN payers py ON py.id = p.payer_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY p.received_on DESC, p.id DESC {f"LIMIT {int(limit)}" if limit else ""}"""
    cols = (
        "payment_id",
        "received_on",
        "kind",
        "receipt",
        "mrn",
        "payer",
        "method",
        "reference",
        "amount_cents",
        "applied_cents",
        "credit_cents",
        "invoices",
    )
    rows = [dict(zip(cols, r, strict=True)) for r in conn.execute(sql, params)]
    # a PHI read (who paid what): audited with the count
    record_read(conn, "payment list", entity="payment", count=len(rows))
    return rows


def ledger_findings(conn: Database) -> list:
    """Checks for `billadmin check`: each patient payment = allocations + unapplied credit; no
    patient's credit below zero. Returns findings (empty when the ledger holds)."""
    from ..findings import Finding

    out = []
    for pid, amount, alloc, unapplied in conn.execute(
        """SELECT p.id, p.amount_cents,
                      COALESCE((SELECT SUM(amount_cents) FROM payment_allocations a WHERE a.payment_id = p.id), 0),
                      COALESCE((SELECT SUM(amount_cents) FROM unapplied_credits c WHERE c.payment_id = p.id), 0)
               FROM payments p WHERE p.kind IN ('patient','copay','refund')
                  OR p.id IN (SELECT payment_id FROM unapplied_credits)"""
    ):
        if amount != alloc + unapplied:
            diff = amount - alloc - unapplied
            out.append(
                Finding(
                    "PAYMENT-ALLOCATED",
                    "error",
                    f"payment {pid}: amount {money.fmt(amount)} != allocated {money.fmt(alloc)} + credit "
                    f"{money.fmt(unapplied)} ({money.fmt(abs(diff))} {'unaccounted' if diff > 0 else 'too much'})",
                )
            )
    for patient_id, credit in conn.execute(
        "SELECT patient_id, SUM(amount_cents) FROM unapplied_credits GROUP BY patient_id HAVING SUM(amount_cents) < 0"
    ):
        out.append(
            Finding(
                "CREDIT-NEGATIVE",
                "error",
                f"patient id {patient_id}: credit balance {money.fmt(credit)} is below zero",
            )
        )
    return out

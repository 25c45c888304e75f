"""The whole account as a clerk explains it on the phone (`billadmin account show MRN`).

Balances split by who owes: insurance (open balance of claims, plus what a payer's answer left
for the next payer whose claim is not issued yet), patient (open balance of patient invoices),
the patient responsibility a payer moved to the patient that no statement carries yet
(accounts.balances), the patient's unapplied credit, and what the patient owes now
(patient + pending - credit). Reading an account is a PHI read and is recorded in the audit log.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db
from . import balances, lookup, payments

if TYPE_CHECKING:
    from ..db import Database


def _carc(code):
    if not code:
        return None
    try:
        from ..remit import codes
    except ImportError:  # remittances not installed: the code alone
        return None
    return codes.describe("CARC", code)[1]


def _coverages(conn: Database, pid: int, d: str) -> list[dict]:
    """The patient's coverages with their status on day d (active, ended, future)."""
    cov = []
    for r in conn.execute(
        """SELECT py.code, py.name, c.member_id, c.group_number, c.priority, c.effective_from,
            c.effective_to, c.copay_cents
               FROM coverages c JOIN payers py ON py.id = c.payer_id WHERE c.patient_id = ?
               ORDER BY c.priority, c.effective_from DESC""",
        (pid,),
    ):
        status = (
            "active"
            if r[5] <= d and (not r[6] or r[6] >= d)
            else ("ended" if r[6] and r[6] < d else "future")
        )
        cov.append(
            {
                "payer": r[0],
                "payer_name": r[1],
                "member_id": r[2],
                "group": r[3],
                "priority": r[4],
                "effective_from": r[5],
                "effective_to": r[6],
                "copay_cents": r[7],
                "status": status,
            }
        )
    return cov


def _encounters(conn: Database, pid: int) -> list[dict]:
    """Encounters newest first: lines, charges, how far billed (unbilled, part billed, billed,
    or void: every line voided with its invoice), the invoices issued. An institutional claim
    (a UB-04 imported with `import institutional`) has no charge lines: its lines are its
    revenue lines, its charges their total, billed when the claim is."""
    enc = []
    for r in conn.execute(
        """SELECT e.id, e.number, e.date_of_service, pr.last_name, COUNT(c.id),
                      COALESCE(SUM(CASE WHEN c.status != 'void' THEN c.charge_cents END), 0),
                      SUM(c.status = 'unbilled'), SUM(c.status = 'billed'), ic.id, ic.status
               FROM encounters e JOIN providers pr ON pr.id = e.provider_id
               LEFT JOIN charge_lines c ON c.encounter_id = e.id
               LEFT JOIN inst_claims ic ON ic.encounter_id = e.id
               WHERE e.patient_id = ? GROUP BY e.id ORDER BY e.date_of_service DESC, e.number DESC""",
        (pid,),
    ):
        if r[8] is not None and not r[4]:  # institutional: its revenue lines
            n, cents = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(charge_cents), 0) FROM inst_lines"
                " WHERE claim_id = ?",
                (r[8],),
            ).fetchone()
            billed_n = n if r[9] == "billed" else 0
            r = (*r[:4], n, cents, n - billed_n, billed_n)
        invs = [
            x[0]
            for x in conn.execute(
                "SELECT number FROM invoices WHERE encounter_id = ? AND kind != 'credit' ORDER BY id",
                (r[0],),
            )
        ]
        if r[4] and not r[6] and not r[7]:  # every line voided (`invoice void`, no --rebill)
            billed = "void"
        else:
            billed = "unbilled" if not r[7] else ("billed" if not r[6] else "part billed")
        enc.append(
            {
                "encounter": r[1],
                "date_of_service": r[2],
                "provider": r[3],
                "lines": r[4],
                "charges_cents": r[5],
                "billing": billed,
                "invoices": " ".join(invs) or None,
            }
        )
    return enc


def _invoices(conn: Database, pid: int) -> tuple[list[dict], int, int]:
    """Invoices newest first with balances; and the insurance and patient balances."""
    inv = []
    ins_bal = pat_bal = 0
    for r in conn.execute(
        """SELECT b.number, b.kind, i.issued_on, py.code, b.total_cents, b.credited_cents,
            b.paid_cents, b.adjusted_cents,
                      s.status, i.due_on,
                      COALESCE((SELECT q.code FROM cob_crossovers x JOIN payers q ON q.id = x.next_payer_id
                                WHERE x.invoice_id = i.id ORDER BY x.rowid DESC LIMIT 1),
                               (SELECT c.crossover_payer FROM remit_claims c WHERE c.invoice_id = i.id
                                AND c.crossover_payer IS NOT NULL ORDER BY c.id DESC LIMIT 1))
               FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id LEFT JOIN payers py ON py.id = b.payer_id
               LEFT JOIN invoice_status s ON s.invoice_id = b.invoice_id
               WHERE b.patient_id = ? ORDER BY i.issued_on DESC, b.number DESC""",
        (pid,),
    ):
        bal = r[4] + r[5] - r[6] - r[7]
        if r[1] == "claim":
            ins_bal += bal
        else:
            pat_bal += bal
        inv.append(
            {
                "invoice": r[0],
                "kind": r[1],
                "issued_on": r[2],
                "payer": r[3] or "patient",
                "total_cents": r[4],
                "credited_cents": r[5],
                "paid_cents": r[6],
                "adjusted_cents": r[7],
                "balance_cents": bal,
                "status": r[8],
                "due_on": r[9],
                # the payer Medicare forwarded the claim to (our code, else the 835's NM1*TT name)
                "crossed_over_to": r[10],
            }
        )
    return inv, ins_bal, pat_bal


def _payments(conn: Database, pid: int) -> list[dict]:
    """Payments to this account (a payer's check: only this account's part) newest first."""
    pays = []
    for r in conn.execute(
        """SELECT p.id, p.received_on, p.kind, r.number, py.code, p.method, p.reference, p.amount_cents,
                      (SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a JOIN
                      invoices i ON i.id = a.invoice_id
                       WHERE a.payment_id = p.id AND i.patient_id = :pid),
                      (SELECT COALESCE(SUM(c.amount_cents), 0) FROM unapplied_credits c WHERE c.payment_id = p.id),
                      (SELECT group_concat(n, ' ') FROM (SELECT DISTINCT i.number AS n FROM payment_allocations a
                          JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = p.id AND
                          i.patient_id = :pid ORDER BY n))
               FROM payments p LEFT JOIN receipts r ON r.payment_id = p.id LEFT JOIN payers py ON py.id = p.payer_id
               WHERE p.patient_id = :pid OR p.id IN (SELECT a.payment_id FROM payment_allocations a
                                                     JOIN invoices i ON i.id = a.invoice_id WHERE i.patient_id = :pid)
               ORDER BY p.received_on DESC, p.id DESC""",
        {"pid": pid},
    ):
        from_payer = r[2] == "insurance"
        pays.append(
            {
                "received_on": r[1],
                "kind": r[2],
                "receipt": r[3],
                "from": r[4] if from_payer else "patient",
                "method": r[5],
                "reference": r[6],
                "amount_cents": r[8]
                if from_payer
                else r[7],  # a payer's check pays many patients: this account's part
                "applied_cents": r[8],
                "credit_cents": r[9],
                "invoices": r[10],
            }
        )
    return pays


def _adjustments(conn: Database, pid: int) -> list[dict]:
    adj = []
    for r in conn.execute(
        """SELECT d.created_on, i.number, d.group_code, d.reason_code, d.amount_cents, d.source
               FROM adjustments d JOIN invoices i ON i.id = d.invoice_id WHERE i.patient_id = ?
               ORDER BY d.created_on DESC, d.id DESC""",
        (pid,),
    ):
        adj.append(
            {
                "date": r[0],
                "invoice": r[1],
                "group": r[2],
                "carc": r[3],
                "meaning": _carc(r[3]),
                "amount_cents": r[4],
                "source": r[5],
            }
        )
    return adj


def _notes(conn: Database, pid: int) -> list[dict]:
    return [
        {"at": r[0][:16].replace("T", " "), "invoice": r[1], "author": r[2], "text": r[3]}
        for r in conn.execute(
            """SELECT n.created_at, i.number, n.author, n.text FROM account_notes n LEFT JOIN
                invoices i ON i.id = n.invoice_id
           WHERE n.patient_id = ? ORDER BY n.created_at DESC, n.id DESC""",
            (pid,),
        )
    ]


def account(conn: Database, mrn: str, *, as_of: _dt.date | None = None) -> dict[str, list[dict]]:
    """Sections in the order a clerk reads them: summary, coverages, encounters, invoices,
    payments, adjustments, notes."""
    as_of = as_of or _dt.date.today()
    d = as_of.isoformat()
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        pid = pat["id"]
        audit.record(conn, "account show", entity="patient", ids=[pid], detail={"phi_read": True})
    cov = _coverages(conn, pid, d)
    enc = _encounters(conn, pid)
    inv, ins_bal, pat_bal = _invoices(conn, pid)
    pays = _payments(conn, pid)
    adj = _adjustments(conn, pid)
    notes = _notes(conn, pid)
    credit = payments.credit_balance(conn, pid)
    waiting = balances.pending(conn, patient_id=pid)
    ins_bal += waiting["insurance_cents"]
    summary = {
        "mrn": pat["mrn"],
        "patient": f"{pat['last_name']}, {pat['first_name']}",
        "dob": pat["dob"],
        "phone": pat["phone"],
        "as_of": d,
        "insurance_balance_cents": ins_bal,
        "patient_balance_cents": pat_bal,
        "patient_pending_cents": waiting["patient_cents"],
        "credit_cents": credit,
        "patient_owes_cents": pat_bal + waiting["patient_cents"] - credit,
        "account_balance_cents": ins_bal + pat_bal + waiting["patient_cents"] - credit,
    }
    return {
        "summary": [summary],
        "coverages": cov,
        "encounters": enc,
        "invoices": inv,
        "payments": pays,
        "adjustments": adj,
        "notes": notes,
    }

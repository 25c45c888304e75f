"""The content of a patient statement (a patient invoice or its credit note), computed once
when the invoice is issued and stored (invoice_snapshots); pdf.py renders it.

What a statement shows (and why): the practice (who is asking), invoice number, date and due
date, the account number (MRN: what the patient quotes on the phone), the guarantor's name and
address (a minor's statement goes to the subscriber of the child's coverage when recorded), the
services itemised (date, code, description: HCPCS and ICD-10-CM descriptions from the loaded
code sets, CPT descriptions only when a licensed CPT file is loaded, else the code alone), what
insurance paid and adjusted, the patient's payments, the balance due, an aging summary of the
account, how to pay. Never an SSN, and member ids only as their last 4 digits.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import pointers

if TYPE_CHECKING:
    from ..db import Database
    from .describe import Describer

AGING = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("over 90", 91, None))


def mask(member_id: str | None) -> str:
    s = "".join(ch for ch in (member_id or "") if ch.isalnum())
    return ("****" + s[-4:]) if len(s) > 4 else "****"


def _guarantor(conn: Database, pat: dict, today: _dt.date) -> dict:
    """Who one patient's statement is addressed to (statements/run.py; _addressed)."""
    return _addressed(pat, _subscribers(conn, f"({int(pat['id'])})").get(pat["id"]), today)


def _addressed(pat: dict, subscriber: tuple | None, today: _dt.date) -> dict:
    """Who the statement is addressed to: the patient, or for a minor the subscriber of the
    child's coverage when recorded (`subscriber`: its first and last name, _subscribers)."""
    from ..dates import age_on

    name = f"{pat['first_name']} {pat['last_name']}"
    try:
        minor = age_on(_dt.date.fromisoformat(pat["dob"]), today) < 18
    except ValueError:
        minor = False
    if minor and subscriber:
        name = (
            f"{subscriber[0] or ''} {subscriber[1]}".strip()
            + f" (for {pat['first_name']} {pat['last_name']})"
        )
    return {
        "name": name,
        "address1": pat.get("address1"),
        "address2": pat.get("address2"),
        "city": pat.get("city"),
        "state": pat.get("state"),
        "zip": pat.get("zip"),
    }


def _subscribers(conn: Database, patients: str) -> dict[int, tuple]:
    """Patient id -> (first, last) name of the subscriber of their first coverage held by
    someone else (by priority, latest first), for the patients of the subquery `patients`."""
    out: dict[int, tuple] = {}
    for pid, first, last in conn.execute(
        "SELECT patient_id, subscriber_first, subscriber_last FROM coverages"
        f" WHERE patient_id IN {patients} AND relationship != 'self'"
        " AND subscriber_last IS NOT NULL ORDER BY patient_id, priority, effective_from DESC, id"
    ):
        out.setdefault(pid, (first, last))
    return out


def _diagnoses(
    pointed: tuple[int, str] | None, dxs: dict[int, list[str]], describer, dos: str | None
) -> list[dict]:
    """The diagnoses a charge line points to (`pointed`: its encounter and pointers)."""
    if pointed is None:
        return []
    encounter_id, raw = pointed
    try:
        ptrs: tuple[int, ...] = pointers.parse(raw)
    except pointers.PointerError:
        ptrs = ()
    dx = dxs.get(encounter_id, [])
    out = []
    for p in ptrs:
        if 1 <= p <= len(dx):
            out.append({"code": dx[p - 1], "description": describer.diagnosis(dx[p - 1], dos)})
    return out


def _aging(
    open_rows: list[tuple[int, str, int]], invoice_id: int, balance_due: int, today: _dt.date
) -> list[dict]:
    """The account's aging: this invoice's balance in 0-30, the patient's other patient
    invoices' balances (`open_rows`: id, issued on, balance) by their age."""
    buckets = {name: 0 for name, _, _ in AGING}
    buckets["0-30"] += balance_due
    for other, issued, bal in open_rows:
        if other == invoice_id or bal <= 0:
            continue
        days = (today - _dt.date.fromisoformat(issued)).days
        for name, lo, hi in AGING:
            if days >= lo and (hi is None or days <= hi):
                buckets[name] += bal
                break
    return [{"bucket": name, "amount_cents": buckets[name]} for name, _, _ in AGING]


def patient_content(
    conn: Database, invoice_id: int, practice: dict, describer: Describer, *, today: _dt.date
) -> dict:
    """The content of an issued patient invoice, computed at issue (after co-pays are applied)."""
    from .content import temp_ids

    one = temp_ids(conn, "_statement_one", [invoice_id])
    return patient_contents(conn, one, practice, describer, today=today)[invoice_id]


# where an invoice's own rows are read: the ledger's tables, or a billing run's plan of them
# (billing/patient_invoices.plan: the same columns in temp tables, before the write lock)
LEDGER = ("main.invoices", "main.invoice_lines", "main.patient_invoice_adjustments")


def patient_contents(
    conn: Database,
    invoices: str,
    practice: dict,
    describer: Describer,
    *,
    today: _dt.date,
    tables: tuple[str, str, str] = LEDGER,
) -> dict[int, dict]:
    """`patient_content` of every invoice whose id the table `invoices` holds (column id), by
    invoice id, its own rows (invoice, lines, transfer links) read from `tables` (LEDGER, or a
    run's plan of them) and everything else from the ledger. Set-based (issue 15: a run issues
    thousands): one query per kind of fact for all of them, never one per invoice or line."""
    from .content import PATIENT_COLS
    from .practice import SETTINGS

    own = tables[0]
    heads = conn.execute(
        "SELECT i.id, i.number, i.patient_id, i.issued_on, i.due_on, i.total_cents"
        f" FROM {invoices} t JOIN {own} i ON i.id = t.id ORDER BY i.id"
    ).fetchall()
    if not heads:
        return {}
    patients = f"(SELECT i.patient_id FROM {invoices} t JOIN {own} i ON i.id = t.id)"
    pats = {
        r[0]: dict(zip(PATIENT_COLS, r, strict=True))
        for r in conn.execute(
            f"SELECT {', '.join(PATIENT_COLS)} FROM patients WHERE id IN {patients}"
        )
    }
    subscribers = _subscribers(conn, patients)
    insurance = _insurance_on_file(conn, patients, today)
    lines = _statement_lines(conn, invoices, describer, tables[1], tables[2])
    paid = dict(
        conn.execute(
            "SELECT invoice_id, SUM(amount_cents) FROM payment_allocations"
            f" WHERE invoice_id IN (SELECT id FROM {invoices}) GROUP BY invoice_id"
        ).fetchall()
    )
    open_rows: dict[int, list[tuple[int, str, int]]] = {}
    for pid, iid, issued, bal in conn.execute(
        "SELECT b.patient_id, b.invoice_id, i.issued_on,"
        " b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id"
        f" WHERE b.patient_id IN {patients} AND b.kind = 'patient'"
    ):
        open_rows.setdefault(pid, []).append((iid, issued, bal))
    p = practice
    out = {}
    for invoice_id, number, patient_id, issued_on, due_on, total in heads:
        pat = pats[patient_id]
        its = lines.get(invoice_id, [])
        balance = total - paid.get(invoice_id, 0)
        out[invoice_id] = {
            "kind": "patient",
            "title": "Statement",
            "number": number,
            "issued_on": issued_on,
            "due_on": due_on,
            "practice": {
                k: p.get(k)
                for k in ("name", "address1", "address2", "city", "state", "zip", "phone", "tax_id")
            },
            "pay_instructions": p.get("pay_instructions") or SETTINGS["pay_instructions"][1],
            "account": pat["mrn"],
            "guarantor": _addressed(pat, subscribers.get(patient_id), today),
            "insurance": insurance.get(patient_id, []),
            "lines": its,
            "total_cents": total,
            "charges_cents": sum(ln["charge_cents"] for ln in its),
            "insurance_paid_cents": sum(ln["insurance_paid_cents"] for ln in its),
            "adjusted_cents": sum(ln["adjusted_cents"] for ln in its),
            "patient_paid_cents": paid.get(invoice_id, 0),
            "balance_due_cents": balance,
            "aging": _aging(open_rows.get(patient_id, []), invoice_id, balance, today),
        }
    return out


def _statement_lines(
    conn: Database, invoices: str, describer: Describer, own_lines: str, own_links: str
) -> dict[int, list[dict]]:
    """Invoice id -> one item per invoice line: a service billed to the patient (its charge), or
    patient responsibility from a claim (the claim line's charge, what insurance paid and
    adjusted, shown once per claim line and invoice)."""
    # the transfer behind each line (its first adjustment: patient_invoice_adjustments)
    transfers = f"""SELECT x.invoice_line_id AS line_id, x.adjustment_id, a.invoice_id AS claim_id,
        a.invoice_line_id AS claim_line_id FROM {invoices} t
        JOIN {own_lines} pl ON pl.invoice_id = t.id
        JOIN {own_links} x ON x.invoice_line_id = pl.id
        JOIN adjustments a ON a.id = x.adjustment_id"""
    tr: dict[int, tuple] = {}
    for line_id, claim_id, claim_line_id, claim_no, claim_cl in conn.execute(
        f"SELECT tr.line_id, tr.claim_id, tr.claim_line_id, i.number, l.charge_line_id"
        f" FROM ({transfers}) tr JOIN invoices i ON i.id = tr.claim_id"
        " LEFT JOIN invoice_lines l ON l.id = tr.claim_line_id ORDER BY tr.adjustment_id"
    ):
        tr.setdefault(line_id, (claim_id, claim_line_id, claim_no, claim_cl))
    amounts = _claim_line_amounts(conn, transfers) if tr else {}
    pointed, dxs = _pointers(conn, invoices, own_lines, transfers)
    out: dict[int, list[dict]] = {}
    seen_claim_lines: set = set()
    for inv_id, lid, line_no, cl_id, dos, code, mods, units, desc, amount in conn.execute(
        "SELECT l.invoice_id, l.id, l.line_no, l.charge_line_id, l.date_of_service, l.code,"
        " l.modifiers, l.units, l.description, l.amount_cents"
        f" FROM {invoices} t JOIN {own_lines} l ON l.invoice_id = t.id"
        " ORDER BY l.invoice_id, l.line_no"
    ).fetchall():
        item = {
            "line_no": line_no,
            "date_of_service": dos,
            "code": code,
            "modifiers": mods,
            "units": units,
            "description": desc,
            "diagnoses": [],
            "charge_cents": 0,
            "insurance_paid_cents": 0,
            "adjusted_cents": 0,
            "amount_cents": amount,
            "claim": None,
        }
        t = tr.get(lid)
        if t is None:
            item["charge_cents"] = amount
            item["diagnoses"] = _diagnoses(pointed.get(cl_id), dxs, describer, dos)
            if not item["description"]:
                item["description"] = describer.procedure(code, dos)
        else:
            claim_id, claim_line_id, claim_no, claim_cl = t
            item["claim"] = claim_no
            item["diagnoses"] = _diagnoses(pointed.get(claim_cl), dxs, describer, dos)
            key = (inv_id, claim_id, claim_line_id)
            if key not in seen_claim_lines:
                seen_claim_lines.add(key)
                item.update(
                    amounts[("line", claim_line_id) if claim_line_id else ("claim", claim_id)]
                )
            proc = describer.procedure(code, dos)
            item["description"] = f"{proc} - {desc}" if proc else desc
        out.setdefault(inv_id, []).append(item)
    return out


def _pointers(
    conn: Database, invoices: str, own_lines: str, transfers: str
) -> tuple[dict[int, tuple[int, str]], dict[int, list[str]]]:
    """For the charge lines the invoices' lines bill or their transfers come from: charge line
    id -> (encounter id, dx pointers), and encounter id -> its diagnosis codes in order."""
    charge_lines = f"""SELECT l.charge_line_id FROM {invoices} t
        JOIN {own_lines} l ON l.invoice_id = t.id WHERE l.charge_line_id IS NOT NULL
        UNION SELECT l.charge_line_id FROM ({transfers}) tr
        JOIN invoice_lines l ON l.id = tr.claim_line_id WHERE l.charge_line_id IS NOT NULL"""
    pointed = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            f"SELECT id, encounter_id, dx_pointers FROM charge_lines WHERE id IN ({charge_lines})"
        )
    }
    dxs: dict[int, list[str]] = {}
    for enc, code in conn.execute(
        "SELECT encounter_id, code FROM encounter_diagnoses WHERE encounter_id IN"
        f" (SELECT encounter_id FROM charge_lines WHERE id IN ({charge_lines}))"
        " ORDER BY encounter_id, seq"
    ):
        dxs.setdefault(enc, []).append(code)
    return pointed, dxs


def _claim_line_amounts(conn: Database, transfers: str) -> dict[tuple[str, int], dict]:
    """("line", claim line id) -> the claim line's charge, insurance payments and adjustments,
    or ("claim", claim id) -> the whole claim's when the transfer was not posted to a line, for
    the claim lines the `transfers` came from."""
    out: dict[tuple[str, int], dict] = {}
    for key, key_id, charge, paid, adjusted in conn.execute(
        "SELECT 'line', l.id, l.amount_cents,"
        " (SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a"
        "  JOIN payments p ON p.id = a.payment_id"
        "  WHERE p.kind = 'insurance' AND a.invoice_line_id = l.id),"
        " (SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d"
        "  WHERE d.source != 'transfer' AND d.invoice_line_id = l.id)"
        f" FROM invoice_lines l WHERE l.id IN (SELECT claim_line_id FROM ({transfers}))"
        " UNION ALL SELECT 'claim', i.id, i.total_cents,"
        " (SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a"
        "  JOIN payments p ON p.id = a.payment_id"
        "  WHERE p.kind = 'insurance' AND a.invoice_id = i.id AND a.invoice_line_id IS NULL),"
        " (SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d"
        "  WHERE d.source != 'transfer' AND d.invoice_id = i.id AND d.invoice_line_id IS NULL)"
        f" FROM invoices i WHERE i.id IN (SELECT claim_id FROM ({transfers})"
        " WHERE claim_line_id IS NULL)"
    ):
        out[(key, key_id)] = {
            "charge_cents": charge,
            "insurance_paid_cents": paid,
            "adjusted_cents": adjusted,
        }
    return out


def _insurance_on_file(conn: Database, patients: str, today: _dt.date) -> dict[int, list[dict]]:
    """Patient id -> their insurance in force today: payer name and the member id's last 4
    digits (for the patients of the subquery `patients`)."""
    out: dict[int, list[dict]] = {}
    for pid, payer, member in conn.execute(
        "SELECT c.patient_id, py.name, c.member_id FROM coverages c"
        " JOIN payers py ON py.id = c.payer_id"
        f" WHERE c.patient_id IN {patients} AND py.kind != 'self' AND c.effective_from <= ?"
        " AND (c.effective_to IS NULL OR c.effective_to >= ?)"
        " ORDER BY c.patient_id, c.priority, c.id",
        (today.isoformat(), today.isoformat()),
    ):
        out.setdefault(pid, []).append({"payer": payer, "member": mask(member)})
    return out


def credit_content(
    original: dict,
    *,
    number: str,
    issued_on: str,
    reason: str,
    credited: dict[int, int] | None = None,
) -> dict:
    """A credit note for a patient invoice: the original's lines, negated; `credited` (line_no:
    amount credited) when the note takes off less than a line (what a write-off already took
    off is not credited again)."""
    c = dict(original)
    c.update(
        {
            "kind": "credit",
            "title": "Credit note",
            "number": number,
            "issued_on": issued_on,
            "due_on": None,
            "original": original["number"],
            "reason": reason,
        }
    )
    c["lines"] = [
        {
            **ln,
            "amount_cents": -(
                ln["amount_cents"] if credited is None else credited.get(ln["line_no"], 0)
            ),
        }
        for ln in original["lines"]
    ]
    c["total_cents"] = -original["total_cents"] if credited is None else -sum(credited.values())
    c["balance_due_cents"] = 0
    c["aging"] = []
    return c

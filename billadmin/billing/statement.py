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
    from ..dates import age_on

    name = f"{pat['first_name']} {pat['last_name']}"
    try:
        minor = age_on(_dt.date.fromisoformat(pat["dob"]), today) < 18
    except ValueError:
        minor = False
    if minor:
        row = conn.execute(
            "SELECT subscriber_first, subscriber_last FROM coverages WHERE patient_id = ? AND relationship != 'self'"
            " AND subscriber_last IS NOT NULL ORDER BY priority, effective_from DESC LIMIT 1",
            (pat["id"],),
        ).fetchone()
        if row:
            name = (
                f"{row[0] or ''} {row[1]}".strip()
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


def _diagnoses_for(
    conn: Database, charge_line_id: int | None, describer, dos: str | None
) -> list[dict]:
    if not charge_line_id:
        return []
    row = conn.execute(
        "SELECT encounter_id, dx_pointers FROM charge_lines WHERE id = ?", (charge_line_id,)
    ).fetchone()
    if not row:
        return []
    try:
        ptrs: tuple[int, ...] = pointers.parse(row[1])
    except pointers.PointerError:
        ptrs = ()
    dx = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM encounter_diagnoses WHERE encounter_id = ? ORDER BY seq", (row[0],)
        )
    ]
    out = []
    for p in ptrs:
        if 1 <= p <= len(dx):
            out.append({"code": dx[p - 1], "description": describer.diagnosis(dx[p - 1], dos)})
    return out


def _aging(
    conn: Database, patient_id: int, invoice_id: int, balance_due: int, today: _dt.date
) -> list[dict]:
    buckets = {name: 0 for name, _, _ in AGING}
    buckets["0-30"] += balance_due
    for _invoice_id, issued, bal in conn.execute(
        "SELECT b.invoice_id, i.issued_on, b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id"
        " WHERE b.patient_id = ? AND b.kind = 'patient' AND b.invoice_id != ?",
        (patient_id, invoice_id),
    ):
        if bal <= 0:
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
    from .content import PATIENT_COLS
    from .practice import SETTINGS

    number, patient_id, issued_on, due_on, total = conn.execute(
        "SELECT number, patient_id, issued_on, due_on, total_cents FROM invoices WHERE id = ?",
        (invoice_id,),
    ).fetchone()
    pat = dict(
        zip(
            PATIENT_COLS,
            conn.execute(
                f"SELECT {', '.join(PATIENT_COLS)} FROM patients WHERE id = ?", (patient_id,)
            ).fetchone(),
            strict=True,
        )
    )
    lines = _statement_lines(conn, invoice_id, describer)
    paid = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payment_allocations WHERE invoice_id = ?",
        (invoice_id,),
    ).fetchone()[0]
    balance = total - paid
    p = practice
    return {
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
        "guarantor": _guarantor(conn, pat, today),
        "insurance": _insurance_on_file(conn, patient_id, today),
        "lines": lines,
        "total_cents": total,
        "charges_cents": sum(ln["charge_cents"] for ln in lines),
        "insurance_paid_cents": sum(ln["insurance_paid_cents"] for ln in lines),
        "adjusted_cents": sum(ln["adjusted_cents"] for ln in lines),
        "patient_paid_cents": paid,
        "balance_due_cents": balance,
        "aging": _aging(conn, patient_id, invoice_id, balance, today),
    }


def _statement_lines(conn: Database, invoice_id: int, describer: Describer) -> list[dict]:
    """One item per invoice line: a service billed to the patient (its charge), or patient
    responsibility from a claim (the claim line's charge, what insurance paid and adjusted, shown
    once per claim line)."""
    lines = []
    seen_claim_lines: set = set()
    for lid, line_no, cl_id, dos, code, mods, units, desc, amount in conn.execute(
        "SELECT id, line_no, charge_line_id, date_of_service, code, modifiers, units, description,"
        " amount_cents FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
        (invoice_id,),
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
        tr = conn.execute(
            "SELECT a.invoice_id, a.invoice_line_id, i.number, l.charge_line_id"
            " FROM patient_invoice_adjustments x JOIN adjustments a ON a.id = x.adjustment_id"
            " JOIN invoices i ON i.id = a.invoice_id"
            " LEFT JOIN invoice_lines l ON l.id = a.invoice_line_id WHERE x.invoice_line_id = ?",
            (lid,),
        ).fetchone()
        if tr is None:
            item["charge_cents"] = amount
            item["diagnoses"] = _diagnoses_for(conn, cl_id, describer, dos)
            if not item["description"]:
                item["description"] = describer.procedure(code, dos)
        else:
            claim_id, claim_line_id, claim_no, claim_cl = tr
            item["claim"] = claim_no
            item["diagnoses"] = _diagnoses_for(conn, claim_cl, describer, dos)
            key = (claim_id, claim_line_id)
            if key not in seen_claim_lines:
                seen_claim_lines.add(key)
                item.update(_claim_line_amounts(conn, claim_id, claim_line_id))
            proc = describer.procedure(code, dos)
            item["description"] = f"{proc} - {desc}" if proc else desc
        lines.append(item)
    return lines


def _claim_line_amounts(conn: Database, claim_id: int, claim_line_id: int | None) -> dict:
    """A claim line's charge, insurance payments and adjustments (the whole claim when the
    transfer was not posted to a line)."""
    if claim_line_id:
        where, arg = "invoice_line_id = ?", claim_line_id
        charge = conn.execute(
            "SELECT amount_cents FROM invoice_lines WHERE id = ?", (claim_line_id,)
        ).fetchone()[0]
    else:
        where, arg = "invoice_id = ? AND invoice_line_id IS NULL", claim_id
        charge = conn.execute(
            "SELECT total_cents FROM invoices WHERE id = ?", (claim_id,)
        ).fetchone()[0]
    paid = conn.execute(
        "SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a"
        f" JOIN payments p ON p.id = a.payment_id WHERE p.kind = 'insurance' AND a.{where}",
        (arg,),
    ).fetchone()[0]
    adjusted = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM adjustments"
        f" WHERE source != 'transfer' AND {where}",
        (arg,),
    ).fetchone()[0]
    return {"charge_cents": charge, "insurance_paid_cents": paid, "adjusted_cents": adjusted}


def _insurance_on_file(conn: Database, patient_id: int, today: _dt.date) -> list[dict]:
    """The patient's insurance in force today: payer name and the member id's last 4 digits."""
    return [
        {"payer": r[0], "member": mask(r[1])}
        for r in conn.execute(
            "SELECT py.name, c.member_id FROM coverages c JOIN payers py ON py.id = c.payer_id"
            " WHERE c.patient_id = ? AND py.kind != 'self' AND c.effective_from <= ?"
            " AND (c.effective_to IS NULL OR c.effective_to >= ?) ORDER BY c.priority",
            (patient_id, today.isoformat(), today.isoformat()),
        )
    ]


def credit_content(original: dict, *, number: str, issued_on: str, reason: str) -> dict:
    """A credit note for a patient invoice: the original's lines, negated."""
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
    c["lines"] = [{**ln, "amount_cents": -ln["amount_cents"]} for ln in original["lines"]]
    c["total_cents"] = -original["total_cents"]
    c["balance_due_cents"] = 0
    c["aging"] = []
    return c

"""Correspondence and call log per account: a note names a patient (by MRN) or one invoice.

Notes are free text and may hold PHI; they live in the database only and are never copied into
messages or the audit log (the audit row carries the note id and the patient id).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from . import lookup

if TYPE_CHECKING:
    from ..db import Database


MAX_NOTE = 4000


def resolve_target(
    conn: Database, target: str, *, kind: str | None = None
) -> tuple[int, dict | None]:
    """(patient_id, invoice or None) for an MRN or an invoice number. When both exist the clerk
    must say which with kind='patient'|'invoice'."""
    target = (target or "").strip()
    if not target:
        raise BadInput("name a patient (MRN) or an invoice number")
    inv = lookup.find_invoice(conn, target) if kind in (None, "invoice") else None
    pat = (
        conn.execute("SELECT id FROM patients WHERE mrn = ?", (target,)).fetchone()
        if kind in (None, "patient")
        else None
    )
    if inv and pat:
        raise BadInput(
            f"{target!r} is both an invoice number and an MRN: add --invoice or --patient"
        )
    if inv:
        return inv["patient_id"], inv
    if pat:
        return pat[0], None
    if kind == "invoice":
        raise BadInput(f"no invoice {target!r}")
    raise BadInput("no patient with that MRN and no invoice with that number")


def add_note(
    conn: Database,
    target: str,
    text: str,
    *,
    kind: str | None = None,
    follow_up: _dt.date | None = None,
    owner: str | None = None,
) -> dict:
    """A note; with follow_up, a follow-up date and an owner (default: the note's author) that
    the worklist (statements.worklist) shows from that day until it is done."""
    text = (text or "").strip()
    if not text:
        raise BadInput("the note is empty")
    if owner is not None and follow_up is None:
        raise BadInput("--owner goes with --follow-up DATE")
    if len(text) > MAX_NOTE:
        raise BadInput(f"the note is {len(text)} characters; at most {MAX_NOTE}")
    with db.write(conn):
        patient_id, inv = resolve_target(conn, target, kind=kind)
        now = audit.utcnow()
        nid = conn.execute(
            "INSERT INTO account_notes (patient_id, invoice_id, text, author, created_at) VALUES (?,?,?,?,?)",
            (patient_id, inv["id"] if inv else None, text, audit.os_user(), now),
        ).lastrowid
        if follow_up is not None:
            conn.execute(
                "INSERT INTO followups (patient_id, invoice_id, note_id, due_on, owner, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (
                    patient_id,
                    inv["id"] if inv else None,
                    nid,
                    follow_up.isoformat(),
                    (owner or "").strip() or audit.os_user(),
                    now,
                ),
            )
        audit.record(
            conn,
            "note add",
            entity="note",
            ids=[nid],
            detail={"patient_id": patient_id, "invoice": inv["number"] if inv else None},
        )
    row = {
        "note_id": nid,
        "at": now[:19].replace("T", " "),
        "invoice": inv["number"] if inv else None,
        "text": text,
    }
    if follow_up is not None:
        row["follow_up"] = follow_up.isoformat()
    return row


def done(conn: Database, note_id: int, *, on: _dt.date) -> dict:
    """Mark a note's follow-up done (it leaves the worklist)."""
    with db.write(conn):
        row = conn.execute(
            "SELECT id, done_on FROM followups WHERE note_id = ? ORDER BY id DESC LIMIT 1",
            (note_id,),
        ).fetchone()
        if row is None:
            raise BadInput(f"note {note_id} has no follow-up")
        if row[1]:
            raise BadInput(f"note {note_id}'s follow-up was already done on {row[1]}")
        conn.execute("UPDATE followups SET done_on = ? WHERE id = ?", (on.isoformat(), row[0]))
        audit.record(conn, "note done", entity="note", ids=[note_id])
    return {"note_id": note_id, "done_on": on.isoformat()}


def list_notes(
    conn: Database,
    target: str | None = None,
    *,
    kind: str | None = None,
    since: _dt.date | None = None,
) -> list[dict]:
    """Notes newest first; for a patient, also the notes on each of their invoices. Reading
    notes is a PHI read: audited with the patient id and the count."""
    where, params = [], []
    patient_id = None
    if target:
        patient_id, inv = resolve_target(conn, target, kind=kind)
        if inv:
            where.append("n.invoice_id = ?")
            params.append(inv["id"])
        else:
            where.append("n.patient_id = ?")
            params.append(patient_id)
    if since:
        where.append("n.created_at >= ?")
        params.append(since.isoformat())
    rows = conn.execute(
        f"""SELECT n.id, n.created_at, p.mrn, i.number, n.author, n.text FROM account_notes n
            JOIN patients p ON p.id = n.patient_id LEFT JOIN invoices i ON i.id = n.invoice_id
            {"WHERE " + " AND ".join(where) if where else ""} ORDER BY n.created_at DESC, n.id DESC""",
        params,
    )
    out = [
        {
            "note_id": r[0],
            "at": r[1][:19].replace("T", " "),
            "mrn": r[2],
            "invoice": r[3],
            "author": r[4],
            "text": r[5],
        }
        for r in rows
    ]
    with db.write(conn):
        audit.record(
            conn,
            "note list",
            entity="patient",
            ids=[patient_id] if patient_id else None,
            count=len(out),
        )
    return out

"""What is due today across the accounts: the worklist behind `billadmin note list --due`.

Sources, each row with a due date, a kind, the account (MRN), the invoice or plan, an owner
(None: whoever works the list) and what to do:
- follow-up: notes with a follow-up date on or before the day, not done (an owner each);
- denial: claims on the denial worklist (accounts.denials) whose next step's deadline falls
  within DENIAL_DAYS, or has none (write off, bill the patient: due now);
- plan: payment plans with an installment due within 7 days or missed (statements.plans);
- collections: accounts past their final notice, ready to send (statements.collections);
- anything registered in EXTRA_SOURCES ("module:function", called as f(conn, on) and returning
  rows of the same keys): claim rejections from 999/277CA acknowledgements (acks.views).
Ordered by due date, oldest first.
"""

from __future__ import annotations

import datetime as _dt
import importlib
from typing import TYPE_CHECKING

from .. import money
from . import collections, plans, settings

if TYPE_CHECKING:
    from ..db import Database

DENIAL_DAYS = 14
EXTRA_SOURCES: list[str] = ["billadmin.acks.views:worklist_rows"]  # rejected claims (issue 16)
KEYS = ("due_on", "kind", "mrn", "invoice", "owner", "what")


def _followups(conn: Database, on: _dt.date, owner: str | None) -> list[dict]:
    return [
        {
            "due_on": r[0],
            "kind": "follow-up",
            "mrn": r[1],
            "invoice": r[2],
            "owner": r[3],
            "what": f"note {r[4]}: {r[5]}",
        }
        for r in conn.execute(
            "SELECT f.due_on, p.mrn, i.number, f.owner, n.id, n.text FROM followups f"
            " JOIN patients p ON p.id = f.patient_id LEFT JOIN invoices i ON i.id = f.invoice_id"
            " LEFT JOIN account_notes n ON n.id = f.note_id"
            " WHERE f.done_on IS NULL AND f.due_on <= ? AND (? IS NULL OR f.owner = ?)"
            " ORDER BY f.due_on, f.id",
            (on.isoformat(), owner, owner),
        )
    ]


def _denials(conn: Database, on: _dt.date) -> list[dict]:
    from ..accounts import denials

    horizon = (on + _dt.timedelta(days=DENIAL_DAYS)).isoformat()
    return [
        {
            "due_on": d["deadline"] or on.isoformat(),
            "kind": "denial",
            "mrn": d["mrn"],
            "invoice": d["invoice"],
            "owner": None,
            "what": d["next_step"],
        }
        for d in denials.worklist(conn, as_of=on)
        if d["deadline"] is None or d["deadline"] <= horizon
    ]


def _plans(conn: Database, on: _dt.date) -> list[dict]:
    return [
        {
            "due_on": p["next_due_on"],
            "kind": "plan",
            "mrn": p["mrn"],
            "invoice": p["plan"],
            "owner": None,
            "what": f"installment {p['status']}: {money.fmt(p['next_due_cents'])} to collect",
        }
        for p in plans.report(conn, on)
        if p["status"] in ("due", "missed")
    ]


def _collections(conn: Database, on: _dt.date) -> list[dict]:
    after = _dt.timedelta(days=settings.after_days(conn))
    return [
        {
            "due_on": (_dt.date.fromisoformat(c["final_notice_on"]) + after).isoformat(),
            "kind": "collections",
            "mrn": c["mrn"],
            "invoice": None,
            "owner": None,
            "what": "past the final notice: send to collections",
        }
        for c in collections.candidates(conn, on)
    ]


def due(conn: Database, on: _dt.date, *, owner: str | None = None) -> list[dict]:
    """The worklist on a day (module docstring); with owner, only that owner's follow-ups."""
    from ..reads import record_read

    rows = _followups(conn, on, owner)
    if owner is None:
        rows += _denials(conn, on) + _plans(conn, on) + _collections(conn, on)
        for name in EXTRA_SOURCES:
            mod, _, fn = name.partition(":")
            rows += getattr(importlib.import_module(mod), fn)(conn, on)
    rows.sort(key=lambda r: (r["due_on"] or "", r["kind"], r["mrn"] or ""))
    record_read(conn, "note list --due", entity="patient", count=len(rows))
    return rows

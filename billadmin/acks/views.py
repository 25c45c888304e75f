"""What the acknowledgements say, for `ack list`, `ack show` and `ack rejections`.

The rejection worklist: every claim whose state is `rejected` (its latest event), with the
answer that rejected it (the latest rejecting acknowledgement), by whom (clearinghouse or
payer), why in words, what to fix, and how many days it has waited since the answer's date
(STC02 for a 277CA, else the day it was read); oldest first, since the
payer's timely-filing clock keeps running while a rejected claim waits.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

ACK_COLUMNS = ("read_on", "on", "claim", "payer", "kind", "by", "outcome", "why", "fix",
               "payer_claim_number")  # fmt: skip


def _row(r) -> dict:
    read_at, claim, payer, kind, by, outcome, reasons, fixes, pcn, effective_on = r
    return {
        "read_on": read_at[:10],
        "on": effective_on or read_at[:10],
        "claim": claim,
        "payer": payer or "",
        "kind": kind,
        "by": by,
        "outcome": outcome,
        "why": "; ".join(json.loads(reasons)),
        "fix": "; ".join(dict.fromkeys(json.loads(fixes))),
        "payer_claim_number": pcn or "",
    }


_SELECT = (
    "SELECT a.read_at, i.number, p.code, a.kind, a.by, a.outcome, a.reasons, a.fixes,"
    " a.payer_claim_number, a.effective_on FROM claim_acks a JOIN invoices i ON i.id = a.invoice_id"
    " LEFT JOIN payers p ON p.id = i.payer_id"
)


def list_acks(
    conn: Database,
    *,
    claim: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
) -> list[dict]:
    where, args = [], []
    if claim:
        where.append("i.number = ?")
        args.append(claim.strip())
    if outcome:
        where.append("a.outcome = ?")
        args.append(outcome.strip().lower())
    if since:
        where.append("substr(a.read_at, 1, 10) >= ?")
        args.append(since)
    q = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.id"
    return [_row(r) for r in conn.execute(q, args)]


def rejections(conn: Database, as_of: _dt.date) -> list[dict]:
    """The rejection worklist (module docstring)."""
    out = []
    for r in conn.execute(
        _SELECT + " JOIN invoice_status s ON s.invoice_id = i.id AND s.status = 'rejected'"
        " WHERE a.id = (SELECT MAX(a2.id) FROM claim_acks a2 WHERE a2.invoice_id = a.invoice_id"
        " AND a2.outcome = 'rejected')"
        " AND NOT EXISTS (SELECT 1 FROM claim_queue q WHERE q.invoice_id = i.id)"
        " ORDER BY s.at, i.number"
    ):
        row = _row(r)
        row["rejected_on"] = row.pop("on")  # the status date (STC02), else the day read
        row["days"] = (as_of - _dt.date.fromisoformat(row["rejected_on"])).days
        out.append(row)
    return out


def worklist_rows(conn: Database, on: _dt.date) -> list[dict]:
    """Rejected claims for `note list --due` (statements/worklist.py EXTRA_SOURCES)."""
    mrns = dict(
        conn.execute(
            "SELECT i.number, p.mrn FROM invoices i JOIN patients p ON p.id = i.patient_id"
            " JOIN invoice_status s ON s.invoice_id = i.id AND s.status = 'rejected'"
        ).fetchall()
    )
    return [
        {
            "due_on": r["rejected_on"],
            "kind": "rejection",
            "mrn": mrns.get(r["claim"]),
            "invoice": r["claim"],
            "owner": None,
            "what": f"rejected by the {r['by']}: {r['fix'] or r['why']}; then ack resend",
        }
        for r in rejections(conn, on)
    ]

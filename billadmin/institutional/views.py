"""An issued institutional claim as `invoice show` lists it beside the invoice: the UB-04 header
(type of bill, statement period, facility) and its revenue lines, from the content the claim was
issued with (invoice_snapshots; immutable like the invoice)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


def issued_claim(conn: Database, number: str) -> dict | None:
    """{"claim": header row, "lines": revenue line rows} of an issued institutional claim, None
    for any other invoice. Money in cents."""
    row = conn.execute(
        "SELECT s.data FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE i.number = ? AND json_extract(s.data, '$.claim_type') = 'institutional'",
        (number,),
    ).fetchone()
    if row is None:
        return None
    c = json.loads(row[0])
    head = {
        "type_of_bill": c["type_of_bill"],
        "statement_from": c["statement_from"],
        "statement_through": c["statement_through"],
        "facility": c["facility"]["code"],
        "admission_date": (c.get("admission") or {}).get("date"),
        "patient_status": c.get("patient_status"),
    }
    lines = [
        {
            "line_no": n,
            "revenue_code": ln["revenue_code"],
            "hcpcs": ln["code"],
            "modifiers": " ".join(ln["modifiers"]),
            "units": ln["units"],
            "unit_type": ln["unit_type"],
            "charge_cents": ln["charge_cents"],
            "non_covered_cents": ln["non_covered_cents"],
            "line_date": ln["date"],
        }
        for n, ln in enumerate(c["lines"], start=1)
    ]
    return {"claim": head, "lines": lines}

"""Ledger primitives shared by invoicing, posting, reports and `billadmin check`.

An issued invoice is immutable; its content hash is fixed at issue and re-computed by the
integrity check, so a row edited behind billadmin's back (after dropping the triggers) shows.
"""

from __future__ import annotations

import hashlib
import json

INVOICE_FIELDS = (
    "number",
    "kind",
    "patient_id",
    "payer_id",
    "coverage_id",
    "encounter_id",
    "original_invoice_id",
    "frequency_code",
    "issued_on",
    "due_on",
    "filing_deadline",
    "total_cents",
    "copay_cents",
)
LINE_FIELDS = (
    "line_no",
    "charge_line_id",
    "date_of_service",
    "code",
    "modifiers",
    "units",
    "description",
    "amount_cents",
)


def content_hash(invoice: dict, lines: list[dict]) -> str:
    """sha256 over the invoice's fields and its lines in line order (canonical JSON)."""
    payload = {
        "invoice": {k: invoice.get(k) for k in INVOICE_FIELDS},
        "lines": [
            {k: ln.get(k) for k in LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])
        ],
    }
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def stored_content_hash(conn, invoice_id: int) -> str:
    """Recompute the hash from what is stored now."""
    cols = ", ".join(INVOICE_FIELDS)
    row = conn.execute(f"SELECT {cols} FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
    inv = dict(zip(INVOICE_FIELDS, row, strict=True))
    lcols = ", ".join(LINE_FIELDS)
    lines = [
        dict(zip(LINE_FIELDS, r, strict=True))
        for r in conn.execute(
            f"SELECT {lcols} FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
            (invoice_id,),
        )
    ]
    return content_hash(inv, lines)

"""What a payer's answer moved that no invoice carries yet: the balances a clerk says on the phone.

Between an 835 being posted and the next `invoice generate`, money can be owed by someone whose
invoice does not exist yet (docs/claim-states.md, "Responsible party"):

- pending patient responsibility: adjustments with source 'transfer' (CAS group PR) that no
  patient invoice carries (billing set's patient_invoice_adjustments) and that COB did not route
  elsewhere (cob_routes): exactly what the next patient invoice will bill. The patient owes it
  now; `account show` (owes) and `checkin` count it at once.
- pending next payer: transfers routed COB-NEXT-PAYER (billing/cob.py) that no next-payer claim
  carries yet (cob_claims, less those voided with --rebill: cob_rebills): the next payer's
  (insurance), never the patient's.

Crossed-over, QMB and Medicaid holds put the amount back on the claim (an opposite 'cob'
adjustment), so the claim's own balance already shows it; they are in neither list.

`items` gives both per patient, payer and date of service for `report aging` (by default;
`--invoiced-only` leaves them out), which ages them by date of service beside the claims and
statements, and for the KPIs' A/R (reports/kpi.py).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database

PATIENT = None  # the payer_id of a pending patient item

_DOS = (
    "COALESCE(l.date_of_service, e.date_of_service,"
    " (SELECT MIN(x.date_of_service) FROM invoice_lines x WHERE x.invoice_id = i.id), i.issued_on)"
)


def _installed(conn: Database) -> bool:
    names = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name IN ('patient_invoice_adjustments', 'cob_routes', 'cob_claims',"
            " 'cob_rebills')"
        )
    }
    return len(names) == 4


def items(
    conn: Database, *, as_of: _dt.date | None = None, patient_id: int | None = None
) -> list[tuple[int, int | None, str, str, int]]:
    """[(patient_id, payer_id or None for the patient, date of service, date posted, cents)],
    one per pending transfer (module docstring), posted on or before as_of (None: all)."""
    if not _installed(conn):
        return []
    args: dict = {"as_of": as_of.isoformat() if as_of else "9999-12-31", "pid": patient_id}

    def select(payer: str, join: str, where: str) -> list[tuple]:
        return conn.execute(
            f"SELECT i.patient_id, {payer}, {_DOS}, a.created_on, a.amount_cents"
            " FROM adjustments a JOIN invoices i ON i.id = a.invoice_id"
            " LEFT JOIN invoice_lines l ON l.id = a.invoice_line_id"
            f" LEFT JOIN encounters e ON e.id = i.encounter_id {join}"
            " WHERE +a.source = 'transfer' AND i.kind = 'claim' AND +a.created_on <= :as_of"
            " AND (:pid IS NULL OR i.patient_id = :pid) AND NOT EXISTS"
            " (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = a.id)"
            f" AND {where}",
            args,
        ).fetchall()

    patient = select(
        "NULL", "", "NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
    )
    next_payer = select(
        "r.next_payer_id",
        "JOIN cob_routes r ON r.adjustment_id = a.id",
        # as billing.cob.CARRIED: a next-payer claim voided with --rebill carries it no more
        "r.rule = 'COB-NEXT-PAYER' AND NOT EXISTS"
        " (SELECT 1 FROM cob_claims c WHERE c.remit_claim_id = r.remit_claim_id"
        " AND NOT EXISTS (SELECT 1 FROM cob_rebills b WHERE b.invoice_id = c.invoice_id))",
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in patient + next_payer]


def pending(
    conn: Database, *, as_of: _dt.date | None = None, patient_id: int | None = None
) -> dict[str, int]:
    """{'patient_cents': ..., 'insurance_cents': ...}: pending patient responsibility and the
    amounts waiting for the next payer's claim (module docstring)."""
    out = {"patient_cents": 0, "insurance_cents": 0}
    for _pid, payer_id, _dos, _on, cents in items(conn, as_of=as_of, patient_id=patient_id):
        out["patient_cents" if payer_id is PATIENT else "insurance_cents"] += cents
    return out

"""The day sheet: what happened on one day - charges for services that day (by date of
service; an institutional claim's revenue lines by its statement-from date), invoices issued,
payments received (refunds negative), adjustments posted - each listed, then the totals per
section."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .base import Report, audited

if TYPE_CHECKING:
    from ..db import Database


COLS = ["section", "ref", "who", "detail", "amount_cents"]


def compute(conn: Database, day: _dt.date) -> dict[str, list[dict]]:
    d = day.isoformat()
    charges = [
        {
            "section": "charges",
            "ref": r[0],
            "who": r[1],
            "detail": f"{r[2]}: {r[3]}",
            "amount_cents": r[4],
        }
        for r in conn.execute(
            """SELECT e.number, p.mrn, pr.last_name, group_concat(c.code, ' '), SUM(c.charge_cents)
                      FROM encounters e JOIN patients p ON p.id = e.patient_id JOIN providers pr ON
                      pr.id = e.provider_id
                      JOIN charge_lines c ON c.encounter_id = e.id AND c.status != 'void'
                      WHERE e.date_of_service = ? GROUP BY e.id
               UNION ALL
               SELECT e.number, p.mrn, pr.last_name,
                      group_concat(COALESCE(l.hcpcs, 'rev ' || l.revenue_code), ' '),
                      SUM(l.charge_cents)
                      FROM encounters e JOIN patients p ON p.id = e.patient_id JOIN providers pr ON
                      pr.id = e.provider_id
                      JOIN inst_claims k ON k.encounter_id = e.id
                      JOIN inst_lines l ON l.claim_id = k.id
                      WHERE e.date_of_service = ? GROUP BY e.id ORDER BY 1""",
            (d, d),
        )
    ]
    issued = [
        {
            "section": "invoices",
            "ref": r[0],
            "who": r[1] if r[2] == "claim" else r[3],
            "detail": r[2],
            "amount_cents": r[4],
        }
        for r in conn.execute(
            """SELECT i.number, py.code, i.kind, p.mrn, i.total_cents FROM invoices i JOIN patients
                p ON p.id = i.patient_id
           LEFT JOIN payers py ON py.id = i.payer_id WHERE i.issued_on = ? ORDER BY i.number""",
            (d,),
        )
    ]
    payments = [
        {
            "section": "payments",
            "ref": r[0] or f"payment {r[1]}",
            "who": r[2] if r[3] == "insurance" else r[4],
            "detail": " ".join(x for x in (r[3], r[5], r[6]) if x),
            "amount_cents": r[7],
        }
        for r in conn.execute(
            """SELECT rc.number, p.id, py.code, p.kind, pt.mrn, p.method, p.reference, p.amount_cents FROM payments p
           LEFT JOIN receipts rc ON rc.payment_id = p.id LEFT JOIN payers py ON py.id = p.payer_id
           LEFT JOIN patients pt ON pt.id = p.patient_id WHERE p.received_on = ? ORDER BY p.id""",
            (d,),
        )
    ]
    adjustments = [
        {
            "section": "adjustments",
            "ref": r[0],
            "who": r[1] or r[2],
            "detail": " ".join(x for x in (f"{r[3]}-{r[4]}" if r[3] else None, r[5]) if x),
            "amount_cents": r[6],
        }
        for r in conn.execute(
            """SELECT i.number, py.code, pt.mrn, d.group_code, d.reason_code, d.source, SUM(d.amount_cents)
                          FROM adjustments d JOIN invoices i ON i.id = d.invoice_id JOIN patients pt
                          ON pt.id = i.patient_id
                          LEFT JOIN payers py ON py.id = i.payer_id WHERE d.created_on = ?
                          GROUP BY d.invoice_id, d.group_code, d.reason_code, d.source ORDER BY i.number""",
            (d,),
        )
    ]
    sections = {
        "charges": charges,
        "invoices": issued,
        "payments": payments,
        "adjustments": adjustments,
    }
    totals = [
        {
            "section": "total",
            "ref": name,
            "who": None,
            "detail": f"{len(rows)} item(s)",
            "amount_cents": sum(r["amount_cents"] for r in rows),
        }
        for name, rows in sections.items()
    ]
    return {**sections, "totals": totals}


def report(conn: Database, *, day: _dt.date, xlsx: bool = False) -> Report:
    s = compute(conn, day)
    flat = s["charges"] + s["invoices"] + s["payments"] + s["adjustments"] + s["totals"]
    sheets = {"Day sheet": flat}
    if xlsx:
        sheets = {
            "Day totals": s["totals"],
            "Day charges": s["charges"],
            "Day invoices": s["invoices"],
            "Day payments": s["payments"],
            "Day adjustments": s["adjustments"],
        }
    rep = Report("daysheet", f"Day sheet {day}", sheets, {k: COLS for k in sheets}, phi=True)
    return audited(conn, rep)

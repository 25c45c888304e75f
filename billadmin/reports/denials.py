"""Denials posted in a period (default the 90 days ending --to), grouped by CARC category,
payer, procedure code, rendering provider or reason code.

A denial is a remittance CAS classed 'denial' (remit.carc_rules; read through accounts.carc's
temp.denial_rows: denials are not ledger adjustments, their amount stays open on the claim);
a reversal's negative amount nets it out. Per group: claims and lines with a denial, the denied
amount, and its share of all denials in the period. Claim-level denials (no line) count under
code "(claim)".
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from ..accounts import carc
from .base import Chart, Report, default_period, pct

if TYPE_CHECKING:
    from ..db import Database


DIMENSIONS = {
    "category": "COALESCE(k.category, 'other')",
    "payer": "COALESCE(py.code, '(none)')",
    "code": "COALESCE(l.code, '(claim)')",
    "provider": "COALESCE(pr.last_name || ', ' || pr.first_name, '(none)')",
    "carc": "d.group_code || '-' || d.reason_code",
}


def grouped(conn: Database, start: _dt.date, end: _dt.date, by: str) -> list[dict]:
    carc.ensure_temp_table(conn)
    expr = DIMENSIONS[by]
    rows = conn.execute(
        f"""SELECT {expr} AS g, COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_id END),
                   COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_line_id END), SUM(d.amount_cents),
                   MIN(k.meaning)
            FROM temp.denial_rows d LEFT JOIN temp.carc k ON k.code = d.reason_code
            JOIN invoices i ON i.id = d.invoice_id LEFT JOIN payers py ON py.id = i.payer_id
            LEFT JOIN invoice_lines l ON l.id = d.invoice_line_id
            LEFT JOIN encounters e ON e.id = i.encounter_id LEFT JOIN providers pr ON pr.id = e.provider_id
            WHERE d.created_on BETWEEN ? AND ?
            GROUP BY g""",
        (start.isoformat(), end.isoformat()),
    ).fetchall()
    total = sum(r[3] for r in rows)
    out = []
    for g, claims, lines, amt, meaning in sorted(rows, key=lambda r: (-r[3], r[0])):
        row = {
            by: g,
            "claims": claims,
            "lines": lines,
            "denied_cents": amt,
            "share_pct": pct(amt, total),
        }
        if by == "carc":
            row["meaning"] = meaning or carc.describe(g.split("-", 1)[1])[1]
        elif by == "category":
            from ..remit import codes

            row["what_to_do"] = codes.CATEGORIES.get(g)
        out.append(row)
    claims_total = conn.execute(
        """SELECT COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_id END),
                   COUNT(DISTINCT CASE WHEN d.amount_cents > 0 THEN d.invoice_line_id END)
            FROM temp.denial_rows d
            WHERE d.created_on BETWEEN ? AND ?""",
        (start.isoformat(), end.isoformat()),
    ).fetchone()
    out.append(
        {
            by: "TOTAL",
            "claims": claims_total[0],
            "lines": claims_total[1],
            "denied_cents": total,
            "share_pct": pct(total, total),
        }
    )
    return out


def report(
    conn: Database, *, start, end, as_of, by: str = "category", xlsx: bool = False
) -> Report:
    from ..errors import BadInput

    if by not in DIMENSIONS:
        raise BadInput(f"--by must be one of {', '.join(DIMENSIONS)}")
    start, end = default_period(as_of, start, end)
    dims = list(DIMENSIONS) if xlsx else [by]
    sheets = {f"Denials by {d}": grouped(conn, start, end, d) for d in dims}
    rep = Report(
        "denials",
        f"Denials {start} to {end} by {by}",
        sheets,
        main=f"Denials by {by}",
        total_rows={k: len(v) - 1 for k, v in sheets.items()},
    )
    cat = sheets.get("Denials by category")
    if xlsx and cat and len(cat) > 1:
        rep.charts.append(
            Chart(
                "bar",
                "Denials by category",
                "Denied amount by reason category",
                "category",
                ["denied_cents"],
                rows=(0, len(cat) - 1),
                y_title="$",
            )
        )
    return rep

"""Payer mix and what each payer pays per procedure code.

payer-mix, per payer for the period (default the 90 days ending --to): encounters and gross
charges by date of service, attributed to the payer billed for the encounter (its first claim
not voided: a claim voided and billed again, to the right payer say, leaves the visit to the
claim billed again), else PATIENT (self-pay, billed on a patient invoice), else UNBILLED; payments received in the
period by who paid (insurance payments under their payer, patient payments, co-pays and refunds
under PATIENT); open A/R at --to (as in the aging report). Each with its share of the total.

payer-cpt, per procedure code and payer over claim lines with a date of service in the
period (a claim voided, replaced or resubmitted counts only for lines its payer paid: the line
billed again is counted on the claim that took its place): lines billed, lines paid (an
insurance payment posted to the line), lines denied (a denial reason on the line), average
billed; over paid lines the average allowed (paid + the
patient's part, group PR), average, lowest and highest paid, paid as a share of billed, and
the payer's rank for the code by average paid (1 = pays best). Payments posted at claim level
(not to a line) are not in this report.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ..accounts import carc
from .aging import by_payer
from .base import Chart, Report, default_period, pct
from .ledger import SUPERSEDED_SQL

# a claim voided (not replaced: a replacement keeps the payer), row aliased `i`
VOIDED_SQL = (
    "EXISTS (SELECT 1 FROM invoice_events v WHERE v.invoice_id = i.id AND v.status = 'voided')"
)

if TYPE_CHECKING:
    from ..db import Database


def _avg(total: int, n: int) -> int | None:
    if not n:
        return None
    return int((Decimal(total) / n).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def payer_mix(conn: Database, start: _dt.date, end: _dt.date) -> list[dict]:
    p = {"start": start.isoformat(), "end": end.isoformat()}
    payers = {
        r[0]: (r[1], r[2], r[3]) for r in conn.execute("SELECT id, code, name, kind FROM payers")
    }
    acc: dict = defaultdict(
        lambda: {"encounters": 0, "charges_cents": 0, "payments_cents": 0, "ar_cents": 0}
    )

    def key(payer_id):
        return payers[payer_id][0] if payer_id in payers else payer_id

    for grp, n, charges in conn.execute(
        f"""SELECT grp, COUNT(*), SUM(ch) FROM (
                 SELECT COALESCE((SELECT i.payer_id FROM invoices i WHERE i.encounter_id = e.id AND i.kind = 'claim'
                                  ORDER BY {VOIDED_SQL}, i.id LIMIT 1),
                                 CASE WHEN EXISTS (SELECT 1 FROM invoices i WHERE i.encounter_id =
                                 e.id AND i.kind = 'patient')
                                      THEN 'PATIENT' ELSE 'UNBILLED' END) AS grp,
                        (SELECT COALESCE(SUM(c.charge_cents), 0) FROM charge_lines c
                         WHERE c.encounter_id = e.id AND c.status != 'void') AS ch
                 FROM encounters e WHERE e.date_of_service BETWEEN :start AND :end)
               GROUP BY grp""",
        p,
    ):
        a = acc[key(grp)]
        a["encounters"] += n
        a["charges_cents"] += charges
    for kind, payer_id, amt in conn.execute(
        "SELECT kind, payer_id, SUM(amount_cents) FROM payments WHERE received_on BETWEEN :start AND :end"
        " GROUP BY kind, payer_id",
        p,
    ):
        acc[key(payer_id) if kind == "insurance" and payer_id in payers else "PATIENT"][
            "payments_cents"
        ] += amt
    for r in by_payer(conn, end)[:-1]:
        acc[r["payer"]]["ar_cents"] += r["total_cents"]
    tot = {
        k: sum(a[k] for a in acc.values())
        for k in ("encounters", "charges_cents", "payments_cents", "ar_cents")
    }
    names = {v[0]: (v[1], v[2]) for v in payers.values()}
    names.update(
        {
            "PATIENT": ("Patients (self-pay and patient responsibility)", "patient"),
            "UNBILLED": ("Not billed yet", None),
        }
    )
    order = [v[0] for v in sorted(payers.values())] + ["PATIENT", "UNBILLED"]
    rows = []
    for code in sorted(acc, key=lambda c: order.index(c) if c in order else len(order)):
        a = acc[code]
        if not any(a.values()):
            continue
        rows.append(
            {
                "payer": code,
                "payer_name": names.get(code, (code, None))[0],
                "kind": names.get(code, (None, None))[1],
                "encounters": a["encounters"],
                "charges_cents": a["charges_cents"],
                "charges_pct": pct(a["charges_cents"], tot["charges_cents"]),
                "payments_cents": a["payments_cents"],
                "payments_pct": pct(a["payments_cents"], tot["payments_cents"]),
                "ar_cents": a["ar_cents"],
                "ar_pct": pct(a["ar_cents"], tot["ar_cents"]),
            }
        )
    rows.append(
        {
            "payer": "TOTAL",
            "payer_name": None,
            "kind": None,
            "encounters": tot["encounters"],
            "charges_cents": tot["charges_cents"],
            "charges_pct": pct(tot["charges_cents"], tot["charges_cents"]),
            "payments_cents": tot["payments_cents"],
            "payments_pct": pct(tot["payments_cents"], tot["payments_cents"]),
            "ar_cents": tot["ar_cents"],
            "ar_pct": pct(tot["ar_cents"], tot["ar_cents"]),
        }
    )
    return rows


MIX_COLS = [
    "payer",
    "payer_name",
    "kind",
    "encounters",
    "charges_cents",
    "charges_pct",
    "payments_cents",
    "payments_pct",
    "ar_cents",
    "ar_pct",
]


def mix_report(conn: Database, *, start, end, as_of) -> Report:
    start, end = default_period(as_of, start, end)
    rows = payer_mix(conn, start, end)
    n = len(rows) - 1
    charts = [
        Chart(
            "pie", "Payer mix", "Gross charges by payer", "payer", ["charges_cents"], rows=(0, n)
        ),
        Chart(
            "pie",
            "Payer mix",
            "Payments by payer",
            "payer",
            ["payments_cents"],
            rows=(0, n),
            anchor="L24",
        ),
    ]
    return Report(
        "payer-mix",
        f"Payer mix {start} to {end}",
        {"Payer mix": rows},
        {"Payer mix": MIX_COLS},
        charts=charts,
        total_rows={"Payer mix": n},
    )


def payer_cpt(
    conn: Database, start: _dt.date, end: _dt.date, code: str | None = None
) -> list[dict]:
    carc.ensure_temp_table(conn)
    p = {"start": start.isoformat(), "end": end.isoformat(), "code": code}
    payers = dict(conn.execute("SELECT id, code FROM payers"))
    rows = []
    for (
        cpt,
        payer_id,
        lines,
        paid_lines,
        denied_lines,
        billed,
        paid,
        allowed,
        pmin,
        pmax,
        billed_paid,
    ) in conn.execute(
        f"""WITH lp AS (SELECT a.invoice_line_id AS id, SUM(a.amount_cents) AS s FROM payment_allocations a
                            JOIN payments p ON p.id = a.payment_id
                            WHERE p.kind = 'insurance' AND a.invoice_line_id IS NOT NULL GROUP BY a.invoice_line_id),
                     la0 AS (SELECT d.invoice_line_id AS id,
                                   SUM(CASE WHEN d.group_code = 'PR' THEN d.amount_cents ELSE 0 END) AS pr,
                                   0 AS den
                            FROM adjustments d
                            WHERE d.invoice_line_id IS NOT NULL GROUP BY d.invoice_line_id
                            UNION ALL  -- denials stay open: not adjustments (accounts.carc)
                            SELECT d.invoice_line_id, 0, 1 FROM temp.denial_rows d
                            WHERE d.invoice_line_id IS NOT NULL AND d.amount_cents > 0
                            GROUP BY d.invoice_line_id),
                     la AS (SELECT id, SUM(pr) AS pr, MAX(den) AS den FROM la0 GROUP BY id)
                SELECT l.code, i.payer_id, COUNT(*), SUM(COALESCE(lp.s, 0) > 0), SUM(COALESCE(la.den, 0)),
                       SUM(l.amount_cents),
                       SUM(CASE WHEN lp.s > 0 THEN lp.s END), SUM(CASE WHEN lp.s > 0 THEN lp.s +
                       COALESCE(la.pr, 0) END),
                       MIN(CASE WHEN lp.s > 0 THEN lp.s END), MAX(CASE WHEN lp.s > 0 THEN lp.s END),
                       SUM(CASE WHEN lp.s > 0 THEN l.amount_cents END)
                FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
                LEFT JOIN lp ON lp.id = l.id LEFT JOIN la ON la.id = l.id
                WHERE i.kind = 'claim' AND l.date_of_service BETWEEN :start AND :end
                  AND (:code IS NULL OR l.code = :code)
                  AND NOT ({SUPERSEDED_SQL} AND COALESCE(lp.s, 0) <= 0)
                GROUP BY l.code, i.payer_id""",
        p,
    ):
        rows.append(
            {
                "code": cpt,
                "payer": payers.get(payer_id),
                "lines": lines,
                "paid_lines": paid_lines,
                "denied_lines": denied_lines,
                "billed_avg_cents": _avg(billed, lines),
                "allowed_avg_cents": _avg(allowed or 0, paid_lines),
                "paid_avg_cents": _avg(paid or 0, paid_lines),
                "paid_min_cents": pmin,
                "paid_max_cents": pmax,
                "paid_pct": pct(paid or 0, billed_paid or 0),
                "_paid": paid or 0,
            }
        )
    by_code: dict = defaultdict(list)
    for r in rows:
        by_code[r["code"]].append(r)
    out = []
    for cpt in sorted(by_code, key=lambda c: (c is None, c or "")):
        ranked = sorted(
            by_code[cpt],
            key=lambda r: (
                r["paid_avg_cents"] is None,
                -(r["paid_avg_cents"] or 0),
                r["payer"] or "",
            ),
        )
        for i, r in enumerate(ranked, start=1):
            r["rank"] = i if r["paid_avg_cents"] is not None else None
            r.pop("_paid")
            out.append(r)
    return out


CPT_COLS = [
    "code",
    "payer",
    "rank",
    "lines",
    "paid_lines",
    "denied_lines",
    "billed_avg_cents",
    "allowed_avg_cents",
    "paid_avg_cents",
    "paid_min_cents",
    "paid_max_cents",
    "paid_pct",
]


def cpt_report(conn: Database, *, start, end, as_of, code: str | None = None) -> Report:
    start, end = default_period(as_of, start, end)
    rows = payer_cpt(conn, start, end, code)
    return Report(
        "payer-cpt",
        f"Payments per procedure code and payer, {start} to {end}",
        {"Payer by code": rows},
        {"Payer by code": CPT_COLS},
    )

"""Medicare and Medicaid billing per month, compared with commercial payers (HMO included).

Per month and program: claims issued and their charges (a claim voided, replaced or
resubmitted is left out: the visit is billed once, by the claim that took its place, if any);
insurance payments received (under the program of the payer that paid);
contractual adjustments (group CO, contractual reason) and patient responsibility (group PR)
posted; claims answered by a remittance and those with a denial, the denied amount, the denial
rate (denied / answered) and the top denial reason codes by amount; average days to pay (first
insurance payment date - claim issue date, over claims first paid that month). A "total" row
per program covers the whole period (default: the 12 calendar months ending --to).
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ..accounts import carc
from .base import Chart, Report, months, pct
from .ledger import SUPERSEDED_SQL

if TYPE_CHECKING:
    from ..db import Database


PROGRAM = {
    "medicare": "Medicare",
    "medicaid": "Medicaid",
    "commercial": "Commercial",
    "hmo": "Commercial",
}
ORDER = ("Medicare", "Medicaid", "Commercial")
COLS = [
    "month",
    "program",
    "claims",
    "charges_cents",
    "payments_cents",
    "contractual_cents",
    "patient_resp_cents",
    "answered",
    "denied_claims",
    "denied_cents",
    "denial_rate_pct",
    "top_carcs",
    "avg_days_to_pay",
]


def default_start(end: _dt.date) -> _dt.date:
    y, m = end.year, end.month - 11
    while m < 1:
        y, m = y - 1, m + 12
    return _dt.date(y, m, 1)


def _add_claims(conn: Database, p: dict, acc: dict) -> None:
    """Claims issued and their charges, by month of issue; a claim voided, replaced or
    resubmitted is not counted (its credit note cancelled it; its successor is counted)."""
    for m, kind, n, total in conn.execute(
        f"""SELECT substr(i.issued_on, 1, 7), py.kind, COUNT(*), SUM(i.total_cents) FROM invoices i
               JOIN payers py ON py.id = i.payer_id
               WHERE i.kind = 'claim' AND i.issued_on BETWEEN :start AND :end
                 AND NOT {SUPERSEDED_SQL} GROUP BY 1, 2""",
        p,
    ):
        if kind in PROGRAM:
            a = acc[(m, PROGRAM[kind])]
            a["claims"] += n
            a["charges_cents"] += total


def _add_payments(conn: Database, p: dict, acc: dict) -> None:
    """Payer money allocated to claims, by month received, under the program of the payer that
    paid (a crossover payer's money on a claim Medicare was billed is the crossover payer's,
    as payer-mix counts it), else of the claim's payer."""
    # allocations drive the scan (CROSS JOIN): one sequential pass, payments are few and cached
    for m, kind, amt in conn.execute(
        """SELECT substr(p.received_on, 1, 7), py.kind, SUM(a.amount_cents) FROM payment_allocations a
               CROSS JOIN payments p ON p.id = a.payment_id JOIN invoices i ON i.id = a.invoice_id
               JOIN payers py ON py.id = COALESCE(p.payer_id, i.payer_id)
               WHERE p.kind = 'insurance' AND p.received_on BETWEEN :start AND :end GROUP BY 1, 2""",
        p,
    ):
        if kind in PROGRAM:
            acc[(m, PROGRAM[kind])]["payments_cents"] += amt


def _add_adjustments(conn: Database, p: dict, acc: dict) -> None:
    """Contractual, patient-responsibility and denied amounts (by CARC), by month posted."""
    kinds = dict(conn.execute("SELECT id, kind FROM payers"))
    # a year of adjustments is most of the table: scan it (+ turns the date index off) and group
    # by the raw codes; categories are looked up once per code afterwards
    for m, payer_id, group, reason, _source, amt in conn.execute(
        """SELECT substr(d.created_on, 1, 7), i.payer_id, d.group_code, d.reason_code, d.source, SUM(d.amount_cents)
               FROM adjustments d CROSS JOIN invoices i ON i.id = d.invoice_id
               WHERE +d.created_on BETWEEN :start AND :end AND i.kind = 'claim' GROUP BY 1, 2, 3, 4, 5""",
        p,
    ):
        kind = kinds.get(payer_id)
        if kind not in PROGRAM:
            continue
        a = acc[(m, PROGRAM[kind])]
        category = carc.describe(reason)[0] if reason else None
        if group == "CO" and category in ("contractual", "payment_adjustment"):
            a["contractual_cents"] += amt
        elif group == "PR":
            a["patient_resp_cents"] += amt
    # denials are not adjustments (their amount stays open): read them where they are kept
    for m, payer_id, group, reason, amt in conn.execute(
        """SELECT substr(d.created_on, 1, 7), i.payer_id, d.group_code, d.reason_code, SUM(d.amount_cents)
               FROM temp.denial_rows d JOIN invoices i ON i.id = d.invoice_id
               WHERE d.created_on BETWEEN :start AND :end AND i.kind = 'claim' GROUP BY 1, 2, 3, 4""",
        p,
    ):
        kind = kinds.get(payer_id)
        if kind not in PROGRAM:
            continue
        a = acc[(m, PROGRAM[kind])]
        a["denied_cents"] += amt
        a["carcs"][f"{group}-{reason}"] += amt


def _add_answers(conn: Database, p: dict, acc: dict) -> None:
    """Claims answered and claims denied, by month of the answer."""
    for m, kind, answered, denied in conn.execute(
        """WITH post AS (
                  SELECT d.invoice_id, d.created_on AS day, 0 AS den
                  FROM adjustments d
                  WHERE d.source IN ('remit', 'transfer') AND +d.created_on BETWEEN :start AND :end
                  UNION ALL
                  SELECT d.invoice_id, d.created_on, 1 FROM temp.denial_rows d
                  WHERE d.amount_cents > 0 AND d.created_on BETWEEN :start AND :end
                  UNION ALL
                  SELECT a.invoice_id, p.received_on, 0 FROM payment_allocations a CROSS JOIN
                  payments p ON p.id = a.payment_id
                  WHERE p.kind = 'insurance' AND p.received_on BETWEEN :start AND :end)
                SELECT substr(post.day, 1, 7), py.kind, COUNT(DISTINCT post.invoice_id),
                       COUNT(DISTINCT CASE WHEN post.den = 1 THEN post.invoice_id END)
                FROM post JOIN invoices i ON i.id = post.invoice_id JOIN payers py ON py.id = i.payer_id
                WHERE i.kind = 'claim' GROUP BY 1, 2""",
        p,
    ):
        if kind in PROGRAM:
            a = acc[(m, PROGRAM[kind])]
            a["answered"] += answered
            a["denied_claims"] += denied


def _add_pay_days(conn: Database, p: dict, acc: dict) -> None:
    """Days from issue to first payment, by month of that payment."""
    for m, kind, days, n in conn.execute(
        """WITH firstpay AS (SELECT a.invoice_id, MIN(p.received_on) AS day FROM payment_allocations a
                                 JOIN payments p ON p.id = a.payment_id WHERE p.kind = 'insurance'
                                 AND a.amount_cents > 0
                                 GROUP BY a.invoice_id)
               SELECT substr(f.day, 1, 7), py.kind, SUM(julianday(f.day) - julianday(i.issued_on)), COUNT(*)
               FROM firstpay f JOIN invoices i ON i.id = f.invoice_id JOIN payers py ON py.id = i.payer_id
               WHERE f.day BETWEEN :start AND :end AND i.kind = 'claim' GROUP BY 1, 2""",
        p,
    ):
        if kind in PROGRAM:
            a = acc[(m, PROGRAM[kind])]
            a["pay_days"] += int(days)
            a["paid_claims"] += n


def _month_rows(acc: dict, start: _dt.date, end: _dt.date) -> list[dict]:
    """One row per month and program, and a total row per program."""
    rows = []
    labels = [m for m, _, _ in months(start, end)]
    for prog in ORDER:
        total = {"month": "total", "program": prog}
        tot_acc: dict = defaultdict(int)  # counts and cents by key, then the carcs dict
        tot_carcs: dict = defaultdict(int)
        for m in labels:
            a = acc.get((m, prog))
            if not a:
                continue
            rows.append({"month": m, "program": prog, **_finish(a)})
            for k, v in a.items():
                if k == "carcs":
                    for c, x in v.items():
                        tot_carcs[c] += x
                else:
                    tot_acc[k] += v
        if tot_acc:
            tot_acc["carcs"] = tot_carcs
            total.update(_finish(tot_acc))
            rows.append(total)
    rows.sort(key=lambda r: (r["month"] == "total", r["month"], ORDER.index(r["program"])))
    return rows


def compute(conn: Database, start: _dt.date, end: _dt.date) -> list[dict]:
    carc.ensure_temp_table(conn)
    p = {"start": start.isoformat(), "end": end.isoformat()}
    acc: dict = defaultdict(
        lambda: {
            "claims": 0,
            "charges_cents": 0,
            "payments_cents": 0,
            "contractual_cents": 0,
            "patient_resp_cents": 0,
            "answered": 0,
            "denied_claims": 0,
            "denied_cents": 0,
            "carcs": defaultdict(int),
            "pay_days": 0,
            "paid_claims": 0,
        }
    )
    for add in (_add_claims, _add_payments, _add_adjustments, _add_answers, _add_pay_days):
        add(conn, p, acc)
    return _month_rows(acc, start, end)


def _finish(a: dict) -> dict:
    top = sorted(((c, x) for c, x in a["carcs"].items() if x > 0), key=lambda t: (-t[1], t[0]))[:3]
    return {
        "claims": a["claims"],
        "charges_cents": a["charges_cents"],
        "payments_cents": a["payments_cents"],
        "contractual_cents": a["contractual_cents"],
        "patient_resp_cents": a["patient_resp_cents"],
        "answered": a["answered"],
        "denied_claims": a["denied_claims"],
        "denied_cents": a["denied_cents"],
        "denial_rate_pct": pct(a["denied_claims"], a["answered"]),
        "top_carcs": ", ".join(c for c, _ in top) or None,
        "avg_days_to_pay": (Decimal(a["pay_days"]) / a["paid_claims"]).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
        if a["paid_claims"]
        else None,
    }


def report(
    conn: Database,
    *,
    start: _dt.date | None,
    end: _dt.date | None,
    as_of: _dt.date,
    xlsx: bool = False,
) -> Report:
    from ..errors import BadInput

    end = end or as_of
    start = start or default_start(end)
    if start > end:
        raise BadInput(f"--from {start} is after --to {end}")
    rows = compute(conn, start, end)
    sheets = {"Medicare-Medicaid": rows}
    columns = {"Medicare-Medicaid": COLS}
    charts = []
    if xlsx:
        by_month: dict = {}
        for r in rows:
            if r["month"] != "total":
                by_month.setdefault(
                    r["month"], {"month": r["month"], **{f"{p.lower()}_cents": 0 for p in ORDER}}
                )
                by_month[r["month"]][f"{r['program'].lower()}_cents"] = r["payments_cents"]
        sheets["Payments by program"] = list(by_month.values())
        columns["Payments by program"] = ["month"] + [f"{p.lower()}_cents" for p in ORDER]
        if by_month:
            charts.append(
                Chart(
                    "line",
                    "Payments by program",
                    "Insurance payments by month",
                    "month",
                    [f"{p.lower()}_cents" for p in ORDER],
                    y_title="$",
                )
            )
    return Report(
        "medicare",
        f"Medicare and Medicaid vs commercial, {start} to {end}",
        sheets,
        columns,
        charts=charts,
    )

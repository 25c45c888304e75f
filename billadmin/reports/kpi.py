"""Revenue-cycle KPIs for a period (default: the 90 days ending --to), each with its formula.

Formulas (period = --from..--to, A/R taken at the end of --to; see reports.base for dates):
  days_in_ar           = A/R / (gross charges in the period / days in the period)
                         A/R: the aging total as `report aging` prints it: every open balance,
                         denied amounts included, plus what a payer's answer moved that no
                         invoice carries yet (accounts.balances); gross charges: the charge
                         lines (not voided) with a date of service in the period, and the
                         institutional claims' revenue lines (statement-from date).
  clean_claim_rate     = clean claims / adjudicated claims, over original claims (frequency 1)
                         issued in the period that a payer has answered; clean: never denied
                         (no denial reason code on any remittance), never voided or replaced,
                         never rejected by a 999, TA1 or 277CA (acknowledgements, issue 16).
  first_pass_rate      = claims settled by their first remittance / claims first answered in
                         the period; settled: no denial, no second remittance date, and nothing
                         left open on the claim (paid, adjusted or moved to the patient).
  denial_rate          = claims with a denial / claims first answered in the period.
  net_collection_rate  = payments received in the period (payers and patients, refunds netted)
                         / (gross charges in the period - contractual adjustments posted in the
                         period: group CO with a contractual or payment-adjustment reason).
  ar_over_90_pct       = A/R aged over 90 days from the date of service / A/R (the same A/R).
  first_pass_acceptance, days_to_acceptance, rejected: CODE (when claims were acknowledged by
                         a 999, TA1 or 277CA): acks/kpis.py states their formulas.
A remittance is what the 835 posted: insurance payments and adjustments from remittances
(denials are group CO/OA/PI with a denial reason, accounts.carc).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import TYPE_CHECKING

from .. import money
from ..accounts import balances, carc
from .base import Chart, Report, default_period, months, pct, ratio
from .ledger import ITEMS_CTE, age_sql

if TYPE_CHECKING:
    from ..db import Database


FORMULAS = {
    "days_in_ar": "A/R / (gross charges in period / days in period)",
    "clean_claim_rate": "claims never denied, voided or replaced / original claims issued in period and answered",
    "first_pass_rate": "claims settled by their first remittance / claims first answered in period",
    "denial_rate": "claims with a denial / claims first answered in period",
    "net_collection_rate": "payments received / (gross charges - contractual adjustments), in period",
    "ar_over_90_pct": "A/R over 90 days from DOS / A/R",
}

FACTS_SQL = """
WITH post AS (
  SELECT d.invoice_id, d.created_on AS day, d.amount_cents AS amt, 0 AS den
  FROM adjustments d
  WHERE d.source IN ('remit', 'transfer') AND d.created_on <= :end
  UNION ALL
  SELECT d.invoice_id, d.created_on, 0, 1 FROM temp.denial_rows d
  WHERE d.amount_cents > 0 AND d.created_on <= :end
  UNION ALL
  SELECT a.invoice_id, p.received_on, a.amount_cents, 0 FROM payment_allocations a JOIN payments p
  ON p.id = a.payment_id
  WHERE p.kind = 'insurance' AND p.received_on <= :end),
facts AS (SELECT invoice_id, MIN(day) AS first_day, MAX(day) AS last_day, MAX(den) AS denied, SUM(amt) AS settled
          FROM post GROUP BY invoice_id)
SELECT i.issued_on, i.frequency_code, f.first_day, f.last_day, f.denied, i.total_cents - f.settled,
       EXISTS (SELECT 1 FROM invoices o WHERE o.original_invoice_id = i.id),
       EXISTS (SELECT 1 FROM claim_acks k WHERE k.invoice_id = i.id AND k.outcome = 'rejected')
FROM facts f JOIN invoices i ON i.id = f.invoice_id
WHERE i.kind = 'claim' AND (i.issued_on BETWEEN :start AND :end OR f.first_day BETWEEN :start AND :end)
"""


def ar_at(conn: Database, as_of: _dt.date) -> tuple[int, int]:
    """(A/R, A/R over 90 days by DOS) at the end of the day: the aging total as `report aging`
    prints it, so every open balance (denied amounts included) plus what a payer's answer moved
    that no invoice carries yet (accounts.balances), each aged from its date of service."""
    row = conn.execute(
        f"WITH {ITEMS_CTE} SELECT COALESCE(SUM(balance_cents), 0),"
        f" COALESCE(SUM(CASE WHEN {age_sql('dos')} > 90 THEN balance_cents END), 0) FROM items",
        {"as_of": as_of.isoformat()},
    ).fetchone()
    ar, over90 = row[0], row[1]
    for _pid, _payer, dos, _on, cents in balances.items(conn, as_of=as_of):
        ar += cents
        if (as_of - _dt.date.fromisoformat(dos[:10])).days > 90:
            over90 += cents
    return ar, over90


def gross_charges(conn: Database, start: _dt.date, end: _dt.date) -> int:
    """Charge lines (not voided by the end of the period: a line whose invoice a credit note
    voided after `end` still counts, so a later void leaves a closed period's KPIs as they were)
    and institutional claims' revenue lines, by the encounter's date of service (an
    institutional claim's is its statement-from date)."""
    p = (start.isoformat(), end.isoformat())
    return conn.execute(
        "SELECT (SELECT COALESCE(SUM(c.charge_cents), 0) FROM encounters e JOIN charge_lines c"
        " ON c.encounter_id = e.id WHERE e.date_of_service BETWEEN ? AND ? AND (c.status != 'void'"
        " OR EXISTS (SELECT 1 FROM invoice_lines il JOIN invoices cn"
        " ON cn.original_invoice_id = il.invoice_id AND cn.kind = 'credit'"
        " WHERE il.charge_line_id = c.id AND cn.issued_on > ?)))"
        " + (SELECT COALESCE(SUM(l.charge_cents), 0) FROM encounters e JOIN inst_claims k"
        " ON k.encounter_id = e.id JOIN inst_lines l ON l.claim_id = k.id"
        " WHERE e.date_of_service BETWEEN ? AND ?)",
        (*p, p[1], *p),
    ).fetchone()[0]


def flows(conn: Database, start: _dt.date, end: _dt.date) -> tuple[int, int]:
    """(payments received, contractual adjustments posted) in the period."""
    carc.ensure_temp_table(conn)
    p = (start.isoformat(), end.isoformat())
    paid = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payments WHERE received_on BETWEEN ? AND ?", p
    ).fetchone()[0]
    contractual = conn.execute(
        f"SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d LEFT JOIN temp.carc k ON k.code = d.reason_code"
        f" WHERE d.created_on BETWEEN ? AND ? AND {carc.CONTRACTUAL_SQL}",
        p,
    ).fetchone()[0]
    return paid, contractual


def claim_facts(conn: Database, start: _dt.date, end: _dt.date) -> list[tuple]:
    carc.ensure_temp_table(conn)
    return conn.execute(FACTS_SQL, {"start": start.isoformat(), "end": end.isoformat()}).fetchall()


def _claim_counts(facts, start: str, end: str) -> dict[str, int]:
    c = {"issued_answered": 0, "clean": 0, "answered": 0, "settled_first": 0, "denied": 0}
    for issued, freq, first, last, denied, open_, replaced, rejected in facts:
        if start <= issued <= end and freq == "1":
            c["issued_answered"] += 1
            if not denied and not replaced and not rejected:
                c["clean"] += 1
        if start <= first <= end:
            c["answered"] += 1
            if denied:
                c["denied"] += 1
            elif first == last and open_ <= 0:
                c["settled_first"] += 1
    return c


def compute(conn: Database, start: _dt.date, end: _dt.date, *, facts=None) -> dict:
    """Every KPI's numerator, denominator and value for one period."""
    ar, over90 = ar_at(conn, end)
    charges = gross_charges(conn, start, end)
    paid, contractual = flows(conn, start, end)
    days = (end - start).days + 1
    c = _claim_counts(
        facts if facts is not None else claim_facts(conn, start, end),
        start.isoformat(),
        end.isoformat(),
    )
    daily = Decimal(charges) / days
    return {
        "ar_cents": ar,
        "over90_cents": over90,
        "charges_cents": charges,
        "days": days,
        "payments_cents": paid,
        "contractual_cents": contractual,
        **c,
        "days_in_ar": ratio(ar, daily) if charges else None,
        "clean_claim_rate": pct(c["clean"], c["issued_answered"]),
        "first_pass_rate": pct(c["settled_first"], c["answered"]),
        "denial_rate": pct(c["denied"], c["answered"]),
        "net_collection_rate": pct(paid, charges - contractual) if charges > contractual else None,
        "ar_over_90_pct": pct(over90, ar),
    }


def _rows(k: dict) -> list[dict]:
    f = money.fmt
    return [
        {
            "kpi": "days_in_ar",
            "value": k["days_in_ar"],
            "unit": "days",
            "numerator": f"A/R {f(k['ar_cents'])}",
            "denominator": f"charges {f(k['charges_cents'])} / {k['days']} days",
            "formula": FORMULAS["days_in_ar"],
        },
        {
            "kpi": "clean_claim_rate",
            "value": k["clean_claim_rate"],
            "unit": "%",
            "numerator": f"{k['clean']} clean",
            "denominator": f"{k['issued_answered']} issued and answered",
            "formula": FORMULAS["clean_claim_rate"],
        },
        {
            "kpi": "first_pass_rate",
            "value": k["first_pass_rate"],
            "unit": "%",
            "numerator": f"{k['settled_first']} settled first time",
            "denominator": f"{k['answered']} answered",
            "formula": FORMULAS["first_pass_rate"],
        },
        {
            "kpi": "denial_rate",
            "value": k["denial_rate"],
            "unit": "%",
            "numerator": f"{k['denied']} denied",
            "denominator": f"{k['answered']} answered",
            "formula": FORMULAS["denial_rate"],
        },
        {
            "kpi": "net_collection_rate",
            "value": k["net_collection_rate"],
            "unit": "%",
            "numerator": f"payments {f(k['payments_cents'])}",
            "denominator": f"charges {f(k['charges_cents'])} - contractual {f(k['contractual_cents'])}",
            "formula": FORMULAS["net_collection_rate"],
        },
        {
            "kpi": "ar_over_90_pct",
            "value": k["ar_over_90_pct"],
            "unit": "%",
            "numerator": f"over 90 {f(k['over90_cents'])}",
            "denominator": f"A/R {f(k['ar_cents'])}",
            "formula": FORMULAS["ar_over_90_pct"],
        },
    ]


TREND_COLS = [
    "month",
    "days_in_ar",
    "clean_claim_rate",
    "first_pass_rate",
    "denial_rate",
    "net_collection_rate",
    "ar_over_90_pct",
    "ar_cents",
    "charges_cents",
    "payments_cents",
]


def trend(conn: Database, start: _dt.date, end: _dt.date) -> list[dict]:
    """One row per calendar month of the period; claim facts are taken once, as of the period end
    (a claim settled in its first month but reworked later is not first-pass resolved)."""
    facts = claim_facts(conn, start, end)
    out = []
    for label, m1, m2 in months(start, end):
        k = compute(conn, m1, m2, facts=facts)
        out.append({"month": label, **{c: k[c] for c in TREND_COLS[1:]}})
    return out


def report(
    conn: Database,
    *,
    start: _dt.date | None,
    end: _dt.date | None,
    as_of: _dt.date,
    monthly: bool = False,
    xlsx: bool = False,
) -> Report:
    start, end = default_period(as_of, start, end)
    sheets, columns, charts = {}, {}, []
    if monthly:
        sheets["KPI trend"] = trend(conn, start, end)
        columns["KPI trend"] = TREND_COLS
    if not monthly or xlsx:
        sheets["KPI"] = _rows(compute(conn, start, end))
        from ..acks import kpis  # first-pass acceptance, days to acceptance, rejection reasons

        sheets["KPI"] += kpis.rows(conn, start, end)
        columns["KPI"] = ["kpi", "value", "unit", "numerator", "denominator", "formula"]
    if xlsx and not monthly:
        sheets["KPI trend"] = trend(conn, start, end)
        columns["KPI trend"] = TREND_COLS
    if "KPI trend" in sheets and sheets["KPI trend"]:
        charts.append(
            Chart(
                "line",
                "KPI trend",
                "Rates by month (%)",
                "month",
                [
                    "clean_claim_rate",
                    "first_pass_rate",
                    "denial_rate",
                    "net_collection_rate",
                    "ar_over_90_pct",
                ],
                y_title="%",
            )
        )
        charts.append(
            Chart(
                "bar",
                "KPI trend",
                "Days in A/R by month",
                "month",
                ["days_in_ar"],
                y_title="days",
                anchor="L24",
            )
        )
    main = "KPI trend" if monthly else "KPI"
    if xlsx:
        sheets = {"KPI": sheets["KPI"], "KPI trend": sheets["KPI trend"]}
    return Report("kpi", f"KPIs {start} to {end}", sheets, columns, main=main, charts=charts)

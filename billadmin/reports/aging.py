"""A/R aging: open balances by payer (or by patient) in buckets 0-30, 31-60, 61-90, 91-120, 120+.

Age is counted in days from the date of service (``--by dos``, the default) or from the invoice
date (``--by invoice``) to the as-of date. Claims age under their payer; patient invoices under
"PATIENT" (what patients owe). Every non-zero balance is counted, credits (negative) included,
so the TOTAL row equals the sum of open balances = charges - payments - adjustments.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import TYPE_CHECKING

from .base import Chart, Report, pct
from .ledger import BUCKET_KEYS, ITEMS_CTE, age_sql, bucket_sql

if TYPE_CHECKING:
    from ..db import Database


def _grouped(conn: Database, as_of: _dt.date, basis: str, key: str) -> list[tuple]:
    sql = (
        f"WITH {ITEMS_CTE} SELECT {key} AS k, kind = 'claim' AS ins, {bucket_sql(age_sql(basis))} AS b,"
        f" COUNT(*), SUM(balance_cents) FROM items WHERE balance_cents != 0 GROUP BY k, ins, b"
    )
    return conn.execute(sql, {"as_of": as_of.isoformat()}).fetchall()


def _empty() -> dict:
    return {k: 0 for k in BUCKET_KEYS}


def by_payer(conn: Database, as_of: _dt.date, basis: str = "dos") -> list[dict]:
    payers = {r[0]: r[1:] for r in conn.execute("SELECT id, code, name, kind FROM payers")}
    acc: dict = defaultdict(lambda: {"invoices": 0, **_empty()})
    for payer_id, ins, b, n, amt in _grouped(
        conn, as_of, basis, "CASE WHEN kind = 'claim' THEN payer_id END"
    ):
        k = payer_id if ins else "PATIENT"
        acc[k]["invoices"] += n
        acc[k][BUCKET_KEYS[b]] += amt
    rows = []
    for k, v in acc.items():
        code, name, kind = (
            payers.get(k, ("PATIENT", "Patient responsibility", "patient"))
            if k != "PATIENT"
            else ("PATIENT", "Patient responsibility", "patient")
        )
        rows.append({"payer": code, "payer_name": name, "kind": kind, **v})
    rows.sort(key=lambda r: (r["payer"] == "PATIENT", r["payer"]))
    return _with_totals(rows, {"payer": "TOTAL", "payer_name": None, "kind": None})


def _with_totals(rows: list[dict], label: dict) -> list[dict]:
    for r in rows:
        r["total_cents"] = sum(r[k] for k in BUCKET_KEYS)
    grand = sum(r["total_cents"] for r in rows)
    total = {
        **label,
        "invoices": sum(r["invoices"] for r in rows),
        **{k: sum(r[k] for r in rows) for k in BUCKET_KEYS},
        "total_cents": grand,
    }
    for r in rows + [total]:
        r["share_pct"] = pct(r["total_cents"], grand)
    return rows + [total]


def by_patient(conn: Database, as_of: _dt.date, basis: str = "dos") -> list[dict]:
    acc: dict = defaultdict(
        lambda: {"invoices": 0, "insurance_cents": 0, "patient_cents": 0, **_empty()}
    )
    for pid, ins, b, n, amt in _grouped(conn, as_of, basis, "patient_id"):
        a = acc[pid]
        a["invoices"] += n
        a[BUCKET_KEYS[b]] += amt
        a["insurance_cents" if ins else "patient_cents"] += amt
    names = {}
    ids = list(acc)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        names.update(
            {
                r[0]: r[1:]
                for r in conn.execute(
                    "SELECT id, mrn, last_name || ', ' || first_name FROM patients WHERE id IN "
                    f"({','.join('?' * len(chunk))})",
                    chunk,
                )
            }
        )
    rows = [{"mrn": names[p][0], "patient": names[p][1], **v} for p, v in acc.items()]
    rows = _with_totals(rows, {"mrn": "TOTAL", "patient": None})
    total = rows.pop()
    total["insurance_cents"] = sum(r["insurance_cents"] for r in rows)
    total["patient_cents"] = sum(r["patient_cents"] for r in rows)
    rows.sort(key=lambda r: (-r["total_cents"], r["mrn"]))
    return rows + [total]


PAYER_COLS = ["payer", "payer_name", "kind", "invoices", *BUCKET_KEYS, "total_cents", "share_pct"]
PATIENT_COLS = [
    "mrn",
    "patient",
    "invoices",
    "insurance_cents",
    "patient_cents",
    *BUCKET_KEYS,
    "total_cents",
    "share_pct",
]


def report(
    conn: Database, *, as_of: _dt.date, basis: str = "dos", per: str = "payer", xlsx: bool = False
) -> Report:
    """per='payer' or 'patient' picks the printed sheet; the xlsx workbook gets both and a chart."""
    from ..errors import BadInput

    if basis not in ("dos", "invoice"):
        raise BadInput("--by must be dos or invoice")
    if per not in ("payer", "patient"):
        raise BadInput("--per must be payer or patient")
    sheets: dict[str, list[dict]] = {}
    columns = {}
    if per == "payer" or xlsx:
        sheets["Aging by payer"] = by_payer(conn, as_of, basis)
        columns["Aging by payer"] = PAYER_COLS
    if per == "patient" or xlsx:
        sheets["Aging by patient"] = by_patient(conn, as_of, basis)
        columns["Aging by patient"] = PATIENT_COLS
    main = "Aging by payer" if per == "payer" else "Aging by patient"
    rep = Report(
        "aging",
        f"A/R aging as of {as_of} (by {'date of service' if basis == 'dos' else 'invoice date'})",
        sheets,
        columns,
        main=main,
        phi=per == "patient" or xlsx,
    )
    total = sheets[main][-1]
    for name, rows in sheets.items():
        rep.total_rows[name] = len(rows) - 1
    if "Aging by payer" in sheets:
        n = len(sheets["Aging by payer"]) - 1
        rep.charts.append(
            Chart(
                "stacked",
                "Aging by payer",
                "Open A/R by age bucket and payer",
                "payer",
                list(BUCKET_KEYS),
                rows=(0, n),
                from_rows=True,
                y_title="Open balance ($)",
            )
        )
    over90 = total["91-120_cents"] + total["120+_cents"]
    from .. import money

    rep.notes.append(
        f"Open A/R {money.fmt(total['total_cents'], thousands=True)} on {total['invoices']} invoices; "
        f"over 90 days {money.fmt(over90, thousands=True)} ({pct(over90, total['total_cents']) or 0}%)"
    )
    pending = pending_patient_responsibility(conn, as_of)
    if pending:
        rep.notes.append(
            f"Patient responsibility from remittances not on a patient invoice yet: "
            f"{money.fmt(pending, thousands=True)} (not in the aging; `billadmin invoice generate` bills it)"
        )
    return rep


def pending_patient_responsibility(conn: Database, as_of: _dt.date) -> int:
    """PR amounts moved off claims by remittances (adjustments with source 'transfer') that no
    patient invoice carries yet (the billing set's patient_invoice_adjustments): owed by
    patients, but on no invoice, so in no aging bucket."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'patient_invoice_adjustments'"
    ).fetchone():
        return 0
    return conn.execute(
        """SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d
           WHERE +d.source = 'transfer' AND +d.created_on <= ?   -- one sequential pass beats an index probe per row
             AND NOT EXISTS (SELECT 1 FROM patient_invoice_adjustments x WHERE x.adjustment_id = d.id)
             -- routed to a next payer, crossed over or held (billing/cob.py): not the patient's
             AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = d.id)""",
        (as_of.isoformat(),),
    ).fetchone()[0]

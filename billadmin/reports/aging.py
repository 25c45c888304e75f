"""A/R aging: open balances by payer (or by patient) in buckets 0-30, 31-60, 61-90, 91-120, 120+.

Age is counted in days from the date of service (``--by dos``, the default) or from the invoice
date (``--by invoice``) to the as-of date. Claims age under their payer; patient invoices under
"PATIENT" (what patients owe). A claim its payer forwarded to another payer ages under that
payer from the day the forwarding 835 was posted (``crossed_over_to``): a crossover (CLP02
19-21, MA18/MA07/N89, billing/cob.py) leaves the claim waiting for the crossover payer's 835,
and a CLP02 23 ("not our claim, forwarded") for the payer named in NM1*TT; the payer billed has
answered, so what is open is the other payer's to pay (or deny) and the follow-up is with it.
Once the payer billed reverses that answer (CLP02 22 naming it), the claim ages under the payer
billed again: it took its adjudication back, and nothing was forwarded; so does a claim a credit
note cancelled (voided, replaced): it waits on no one, and what is left on it (the money the
payer billed paid, its credit) is that payer's.
Every non-zero balance is counted, credits (negative) included, denied amounts included (a
denial is not posted as a reduction: it stays open on the claim).

By default (``pending``, issue 12) the amounts a payer's answer moved that no invoice carries
yet (accounts.balances) are aged too, so the aging agrees with `account show`, `checkin` and the
patient statement on what each party owes: patient responsibility not on a statement yet in the
PATIENT row, amounts routed to the next payer (COB-NEXT-PAYER) before its claim is issued in
that payer's row, each by its date of service (by the date posted with ``--by invoice``); the
column ``pending`` shows how much of each row they are. So

    TOTAL = sum of every claim's and patient invoice's open balance + the pending items
          = (charges - payments - adjustments) + the pending items.

``pending=False`` (``report aging --invoiced-only``) ages the invoices alone: TOTAL = the sum
of open balances = charges - payments - adjustments, and a note says what waits outside it.
`billadmin check` verifies both totals (reports/invariants.py).
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from typing import TYPE_CHECKING

from ..accounts import balances
from .base import Chart, Report, audited, pct
from .ledger import BUCKET_KEYS, ITEMS_CTE, age_sql, bucket_sql

if TYPE_CHECKING:
    from ..db import Database


def crossed_over_to(conn: Database) -> str | None:
    """SQL (over ITEMS_CTE's items, :as_of) of the payer a claim was forwarded to by an 835
    posted on or before the as-of date (the latest such answer), else NULL; None when the
    tables are not there."""
    have = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name IN ('cob_crossovers', 'remit_claims', 'remit_transactions')"
        )
    }
    if len(have) < 3 or "crossover_payer_id" not in {
        r[1] for r in conn.execute("PRAGMA table_info(remit_claims)")
    }:
        return None
    # CLP02 23 names the payer in NM1*TT: ours when NM109 is its electronic payer id, else
    # when NM103 is its name (case, commas and periods aside; billing.cob.crossover_payer)
    key = "TRIM(UPPER(REPLACE(REPLACE({}, ',', ''), '.', '')))"
    to = (
        "COALESCE(x.next_payer_id, CASE WHEN c.status_code = '23' THEN COALESCE("
        "(SELECT q.id FROM payers q WHERE UPPER(q.x12_payer_id) = UPPER(c.crossover_payer_id)"
        " LIMIT 1), (SELECT q.id FROM payers q"
        f" WHERE {key.format('q.name')} = {key.format('c.crossover_payer')} LIMIT 1)) END)"
    )
    # a forwarding answer the payer has since reversed (CLP02 22 naming it) forwards nothing:
    # the payer took its adjudication back, the claim is its own again; and a claim a credit
    # note cancelled (voided, or replaced) waits on no one: what is left is the billed payer's
    # credit (or debt)
    return (
        "(CASE WHEN EXISTS (SELECT 1 FROM invoices cn WHERE cn.original_invoice_id = items.id"
        " AND cn.kind = 'credit' AND cn.issued_on <= :as_of) THEN NULL ELSE"
        f" (SELECT {to} FROM remit_claims c JOIN remit_transactions t ON t.id = c.transaction_id"
        " LEFT JOIN cob_crossovers x ON x.remit_claim_id = c.id"
        " WHERE c.invoice_id = items.id"
        f" AND COALESCE(t.payment_date, t.production_date) <= :as_of AND {to} IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM remit_claims r JOIN remit_transactions rt"
        " ON rt.id = r.transaction_id WHERE r.reverses_id = c.id"
        " AND COALESCE(rt.payment_date, rt.production_date) <= :as_of)"
        " ORDER BY COALESCE(t.payment_date, t.production_date) DESC, c.id DESC LIMIT 1) END)"
    )


def _grouped(conn: Database, as_of: _dt.date, basis: str, key: str) -> list[tuple]:
    sql = (
        f"WITH {ITEMS_CTE} SELECT {key} AS k, kind = 'claim' AS ins, {bucket_sql(age_sql(basis))} AS b,"
        f" COUNT(*), SUM(balance_cents) FROM items WHERE balance_cents != 0 GROUP BY k, ins, b"
    )
    return conn.execute(sql, {"as_of": as_of.isoformat()}).fetchall()


def _empty() -> dict:
    return {k: 0 for k in BUCKET_KEYS}


def _bucket(as_of: _dt.date, day: str) -> int:
    """ledger.bucket_sql's rule in Python: 0-30, 31-60, 61-90, 91-120, 120+ (below 0: 0-30)."""
    age = (as_of - _dt.date.fromisoformat(day[:10])).days
    return min(4, max(0, (age - 1) // 30))


def _pending(conn: Database, as_of: _dt.date, basis: str) -> list[tuple[int, int | None, int, int]]:
    """[(patient_id, payer_id or None, bucket, cents)] of accounts.balances' pending items."""
    return [
        (pid, payer, _bucket(as_of, dos if basis == "dos" else on), cents)
        for pid, payer, dos, on, cents in balances.items(conn, as_of=as_of)
        if cents
    ]


def by_payer(
    conn: Database, as_of: _dt.date, basis: str = "dos", *, pending: bool = True
) -> list[dict]:
    payers = {r[0]: r[1:] for r in conn.execute("SELECT id, code, name, kind FROM payers")}
    extra = {"pending_cents": 0} if pending else {}
    acc: dict = defaultdict(lambda: {"invoices": 0, **_empty(), **extra})
    xover = crossed_over_to(conn)
    payer = f"COALESCE({xover}, payer_id)" if xover else "payer_id"
    for payer_id, ins, b, n, amt in _grouped(
        conn, as_of, basis, f"CASE WHEN kind = 'claim' THEN {payer} END"
    ):
        k = payer_id if ins else "PATIENT"
        acc[k]["invoices"] += n
        acc[k][BUCKET_KEYS[b]] += amt
    for _pid, payer_id, b, amt in _pending(conn, as_of, basis) if pending else []:
        k = payer_id if payer_id is not None else "PATIENT"
        acc[k][BUCKET_KEYS[b]] += amt
        acc[k]["pending_cents"] += amt
    rows = []
    for k, v in acc.items():
        code, name, kind = (
            payers.get(k, ("PATIENT", "Patient responsibility", "patient"))
            if k != "PATIENT"
            else ("PATIENT", "Patient responsibility", "patient")
        )
        rows.append({"payer": code, "payer_name": name, "kind": kind, **v})
    rows.sort(key=lambda r: (r["payer"] == "PATIENT", r["payer"]))
    return _with_totals(rows, {"payer": "TOTAL", "payer_name": None, "kind": None}, extra)


def _with_totals(rows: list[dict], label: dict, extra: dict | None = None) -> list[dict]:
    # a party whose pending items cancel out in every bucket (a share routed, then the answer
    # that routed it reversed) owes nothing: no row of 0.00
    rows = [r for r in rows if r["invoices"] or any(r[k] for k in BUCKET_KEYS)]
    for r in rows:
        r["total_cents"] = sum(r[k] for k in BUCKET_KEYS)
    grand = sum(r["total_cents"] for r in rows)
    total = {
        **label,
        "invoices": sum(r["invoices"] for r in rows),
        **{k: sum(r[k] for r in rows) for k in BUCKET_KEYS},
        **{k: sum(r[k] for r in rows) for k in extra or {}},
        "total_cents": grand,
    }
    for r in rows + [total]:
        r["share_pct"] = pct(r["total_cents"], grand)
    return rows + [total]


def by_patient(
    conn: Database, as_of: _dt.date, basis: str = "dos", *, pending: bool = True
) -> list[dict]:
    extra = {"pending_cents": 0} if pending else {}
    acc: dict = defaultdict(
        lambda: {"invoices": 0, "insurance_cents": 0, "patient_cents": 0, **_empty(), **extra}
    )
    for pid, ins, b, n, amt in _grouped(conn, as_of, basis, "patient_id"):
        a = acc[pid]
        a["invoices"] += n
        a[BUCKET_KEYS[b]] += amt
        a["insurance_cents" if ins else "patient_cents"] += amt
    for pid, payer_id, b, amt in _pending(conn, as_of, basis) if pending else []:
        a = acc[pid]
        a[BUCKET_KEYS[b]] += amt
        a["patient_cents" if payer_id is None else "insurance_cents"] += amt
        a["pending_cents"] += amt
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
    rows = [{"mrn": names[p][0], "patient_name": names[p][1], **v} for p, v in acc.items()]
    rows = _with_totals(rows, {"mrn": "TOTAL", "patient_name": None}, extra)
    total = rows.pop()
    total["insurance_cents"] = sum(r["insurance_cents"] for r in rows)
    total["patient_cents"] = sum(r["patient_cents"] for r in rows)
    rows.sort(key=lambda r: (-r["total_cents"], r["mrn"]))
    return rows + [total]


PAYER_COLS = ["payer", "payer_name", "kind", "invoices", *BUCKET_KEYS, "total_cents", "share_pct"]
PATIENT_COLS = [
    "mrn",
    "patient_name",
    "invoices",
    "insurance_cents",
    "patient_cents",
    *BUCKET_KEYS,
    "total_cents",
    "share_pct",
]


def report(
    conn: Database,
    *,
    as_of: _dt.date,
    basis: str = "dos",
    per: str = "payer",
    xlsx: bool = False,
    pending: bool = True,
) -> Report:
    """per='payer' or 'patient' picks the printed sheet; the xlsx workbook gets both and a chart.
    pending: age what no invoice carries yet too (the default; module docstring)."""
    from ..errors import BadInput

    if basis not in ("dos", "invoice"):
        raise BadInput("--by must be dos or invoice")
    if per not in ("payer", "patient"):
        raise BadInput("--per must be payer or patient")
    sheets: dict[str, list[dict]] = {}
    columns = {}
    if per == "payer" or xlsx:
        sheets["Aging by payer"] = by_payer(conn, as_of, basis, pending=pending)
        columns["Aging by payer"] = _cols(PAYER_COLS, pending)
    if per == "patient" or xlsx:
        sheets["Aging by patient"] = by_patient(conn, as_of, basis, pending=pending)
        columns["Aging by patient"] = _cols(PATIENT_COLS, pending)
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

    waiting_note = (
        f", {money.fmt(total['pending_cents'], thousands=True)} of it not on an invoice yet"
        if pending and total["pending_cents"]
        else ""
    )
    rep.notes.append(
        f"Open A/R {money.fmt(total['total_cents'], thousands=True)} on {total['invoices']} invoices"
        f"{waiting_note}; over 90 days {money.fmt(over90, thousands=True)}"
        f" ({pct(over90, total['total_cents']) or 0}%)"
    )
    if not pending:
        waiting = balances.pending(conn, as_of=as_of)
        if waiting["patient_cents"]:
            rep.notes.append(
                f"Patient responsibility from remittances not on a patient invoice yet: "
                f"{money.fmt(waiting['patient_cents'], thousands=True)} (not in the aging; "
                "left out by --invoiced-only; `billadmin invoice generate` bills it)"
            )
        if waiting["insurance_cents"]:
            rep.notes.append(
                f"Routed to a next payer whose claim is not issued yet: "
                f"{money.fmt(waiting['insurance_cents'], thousands=True)} (not in the aging; "
                "left out by --invoiced-only; `billadmin invoice generate` bills it)"
            )
    return audited(conn, rep)


def _cols(cols: list[str], pending: bool) -> list[str]:
    return [*cols[:-2], "pending_cents", *cols[-2:]] if pending else cols


def pending_patient_responsibility(conn: Database, as_of: _dt.date) -> int:
    """Patient responsibility moved off claims by remittances that no patient invoice carries
    yet (accounts.balances): owed by patients, on no invoice yet; the aging counts it in the
    PATIENT row unless asked for the invoices only (``pending=False``)."""
    return balances.pending(conn, as_of=as_of)["patient_cents"]

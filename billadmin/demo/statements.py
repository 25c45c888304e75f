"""The demo's statement cycle (issue 19): on each billing day, after `invoice generate`, the
month's statement run; payment plans for a few past-due patients (one of them stops paying);
accounts past their final notice sent to a collection agency, and a recovery on the last day.

The billing loop (practice._step_bill_and_post) pays each run's patient invoices on the next
billing day by invoice number, so nothing here touches an invoice issued today: a plan payment
is made only while the patient's older invoices can take it, and collections take only what
the final notice stated (never today's invoices).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .practice import DemoContext

AGENCY = "Keystone Recovery"
PLANS = 3  # set up on the first billing day with that many past-due patients; the last misses


def month_end(ctx: DemoContext, day: _dt.date, last: bool) -> None:
    """Collections, plan payments, the statement run of `day`, new plans, and (last day) the
    recovery and the summary."""
    from ..statements import run

    conn = ctx.conn
    folder = ctx.out_dir / "statements" / day.isoformat()
    # collections first: an account handed to the agency gets no statement that day
    if not conn.execute("SELECT 1 FROM collection_accounts LIMIT 1").fetchone():
        _send_to_collections(conn, day, ctx.out_dir / "statements")
    if conn.execute("SELECT 1 FROM payment_plans LIMIT 1").fetchone():
        _pay_plans(conn, day)
    run.run(conn, day, out_dir=folder, pdf=last)
    if not conn.execute("SELECT 1 FROM payment_plans LIMIT 1").fetchone():
        _set_up_plans(conn, day)
    if last:
        _recover(conn, day)
        _summarise(ctx, day, folder)


def _older_open(conn, pid: int, day: _dt.date) -> int:
    """What the patient's invoices issued before today still owe (a demo payment stays there)."""
    return conn.execute(
        "SELECT COALESCE(SUM(b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents),"
        " 0) FROM invoice_balances b JOIN invoices i ON i.id = b.invoice_id"
        " WHERE b.patient_id = ? AND b.kind = 'patient' AND i.issued_on < ?"
        " AND b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents > 0",
        (pid, day.isoformat()),
    ).fetchone()[0]


def _set_up_plans(conn, day: _dt.date) -> None:
    """Plans for the first PLANS patients stated 60 or 90 days past due today (by MRN) who owe
    at least 60.00 on older invoices: that amount in three monthly installments."""
    from ..statements import plans

    rows = conn.execute(
        "SELECT s.patient_id, p.mrn FROM statements s JOIN patients p ON p.id = s.patient_id"
        " WHERE s.stated_on = ? AND s.step IN ('60', '90') ORDER BY p.mrn",
        (day.isoformat(),),
    ).fetchall()
    chosen = []
    for pid, mrn in rows:
        total = _older_open(conn, pid, day)
        credit = conn.execute(
            "SELECT COALESCE(SUM(amount_cents), 0) FROM unapplied_credits WHERE patient_id = ?",
            (pid,),
        ).fetchone()[0]
        if total >= 6000 and not credit:
            chosen.append((mrn, total))
    if len(chosen) < PLANS:
        return
    for mrn, total in chosen[:PLANS]:
        monthly = -(-total // 300) * 100  # a third, rounded up to whole dollars
        plans.create(
            conn,
            mrn,
            total_cents=total,
            monthly_cents=min(monthly, total),
            day=min(day.day + 14, 28),
            start=day,
            on=day,
        )


def _pay_plans(conn, day: _dt.date) -> None:
    """Every open plan but the newest pays what it owes by today; the newest stops paying."""
    from ..statements import plans

    rows = conn.execute(
        f"SELECT {', '.join('pp.' + c for c in plans.COLS)}, p.mrn FROM payment_plans pp"
        " JOIN patients p ON p.id = pp.patient_id ORDER BY pp.id"
    ).fetchall()
    for r in rows[:-1]:
        plan = dict(zip(plans.COLS, r[:-1], strict=True))
        s = plans.state(conn, plan, day)
        if s["status"] in ("completed", "cancelled"):
            continue
        due = min(plans.statement_due(conn, plan, day)[0], s["left_cents"])
        if due > 0 and due <= _older_open(conn, plan["patient_id"], day):
            # each installment is its own card charge with its own reference (one reference on
            # every installment reads as the same charge keyed twice: accounts.payments)
            ref = f"DEMO-{plan['number']}-{day:%Y%m%d}"
            plans.pay(conn, r[-1], due, method="card", on=day, reference=ref)


def _send_to_collections(conn, day: _dt.date, folder) -> None:
    """The accounts on the collections list without credit (applying credit could pay an
    invoice issued today)."""
    from ..statements import collections

    ready = [
        c["mrn"]
        for c in collections.candidates(conn, day)
        if not conn.execute(
            "SELECT 1 FROM unapplied_credits WHERE patient_id = ? GROUP BY patient_id"
            " HAVING SUM(amount_cents) != 0",
            (c["patient_id"],),
        ).fetchone()
    ]
    if ready:
        folder.mkdir(parents=True, exist_ok=True)
        collections.send(
            conn,
            day,
            agency=AGENCY,
            out=folder / f"collections-{day.isoformat()}.csv",
            mrns=ready,
        )


def _recover(conn, day: _dt.date) -> None:
    """The agency recovers half of the first account it was sent."""
    from ..statements import collections

    row = conn.execute(
        "SELECT p.mrn, c.amount_cents FROM collection_accounts c"
        " JOIN patients p ON p.id = c.patient_id ORDER BY c.id LIMIT 1"
    ).fetchone()
    if row:
        collections.recover(
            conn, row[0], row[1] // 2, method="check", on=day, reference="DEMO-AGENCY"
        )


def _summarise(ctx: DemoContext, day: _dt.date, folder) -> None:
    from .. import money
    from ..statements import plans

    conn = ctx.conn
    runs, n = conn.execute("SELECT COUNT(DISTINCT run_id), COUNT(*) FROM statements").fetchone()
    steps = dict(
        conn.execute(
            "SELECT step, COUNT(*) FROM statements WHERE stated_on = ? GROUP BY step",
            (day.isoformat(),),
        ).fetchall()
    )
    order = ("current", "30", "60", "90", "final", "plan")
    ctx.summary.steps.append(
        f"Statements run on each billing day ({runs} runs, {n} statements; `billadmin statement"
        f" run`): on {day} "
        + ", ".join(f"{steps.get(s, 0)} {s}" for s in order)
        + f"; PDFs with payment coupons and the mail-house list in {folder}/"
    )
    status = [p["status"] for p in plans.report(conn, day)]
    ctx.summary.steps.append(
        f"Payment plans: {len(status)} set up ("
        + ", ".join(f"{status.count(s)} {s}" for s in sorted(set(status)))
        + "; `billadmin plan list`)"
    )
    sent = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0), MIN(sent_on) FROM collection_accounts"
    ).fetchone()
    back = conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM collection_entries WHERE kind = 'recovery'"
    ).fetchone()[0]
    if sent[0]:
        ctx.summary.steps.append(
            f"Collections: {sent[0]} account(s) past their final notice sent to {AGENCY} on"
            f" {sent[2]}, {money.fmt(sent[1], thousands=True)} written off to bad debt;"
            f" {money.fmt(back, thousands=True)} recovered on {day}"
        )
    ctx.summary.paths["statements"] = folder

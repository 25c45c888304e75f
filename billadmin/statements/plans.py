"""Payment plans: a patient pays what they owe in monthly installments.

Rules:
- A plan names the total, the amount per month, the day of the month (1-28, so every month has
  it) and the start date; installments fall on that day from the start date on, each the
  monthly amount and the last one the rest. Its total may not exceed what the patient owes
  (statements.account, the balance `account show` tells), nor may the patient already have an
  open plan; either is refused (exit 2, nothing written).
- A payment to the plan is a patient payment (accounts.payments.post_payment: applied to the
  oldest open patient invoices, any rest held as credit) linked to the plan. A payment to a
  patient without an open plan (never set up, completed or cancelled) or above what is left on
  the plan is refused (exit 2, nothing written). The payment that reaches the total completes
  the plan.
- Status on a day: completed / cancelled; missed when what was paid is less than the
  installments due more than plan.grace_days ago; due when an installment falls due within the
  next 7 days (or is due and within the grace) and is not yet paid; else current.
- A patient on an open plan gets plan statements (the installment due), never dunning, and is
  never sent to collections.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..accounts import lookup, payments
from ..dates import add_months
from ..errors import BadInput
from . import account, settings

if TYPE_CHECKING:
    from ..db import Database

COLS = ("id", "number", "patient_id", "total_cents", "monthly_cents", "day", "start_on")
DUE_SOON_DAYS = 7


def _status(conn: Database, plan_id: int) -> str:
    return conn.execute(
        "SELECT status FROM plan_events WHERE plan_id = ? ORDER BY id DESC LIMIT 1", (plan_id,)
    ).fetchone()[0]


def open_plan(conn: Database, patient_id: int) -> dict | None:
    for r in conn.execute(
        f"SELECT {', '.join(COLS)} FROM payment_plans WHERE patient_id = ? ORDER BY id DESC",
        (patient_id,),
    ).fetchall():
        if _status(conn, r[0]) == "open":
            return dict(zip(COLS, r, strict=True))
    return None


def schedule(plan: dict) -> list[tuple[_dt.date, int]]:
    """[(due date, amount)]: the installments (module rules)."""
    start = _dt.date.fromisoformat(plan["start_on"])
    first = start.replace(day=plan["day"])
    if first < start:
        first = add_months(first, 1)
    out, left, n = [], plan["total_cents"], 0
    while left > 0:
        amount = min(plan["monthly_cents"], left)
        out.append((add_months(first, n), amount))
        left -= amount
        n += 1
    return out


def paid_cents(conn: Database, plan_id: int) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM plan_payments WHERE plan_id = ?", (plan_id,)
    ).fetchone()[0]


def state(conn: Database, plan: dict, on: _dt.date) -> dict:
    """Where a plan stands on a day (module rules): paid, left, missed, next installment."""
    status = _status(conn, plan["id"])
    paid = paid_cents(conn, plan["id"])
    grace = settings.grace_days(conn)
    sched = schedule(plan)
    due_late = sum(a for d, a in sched if d + _dt.timedelta(days=grace) < on)
    due_now = sum(a for d, a in sched if d <= on + _dt.timedelta(days=DUE_SOON_DAYS))
    missed = max(due_late - paid, 0)
    # the first installment not fully paid, and what is due by then (or by today when later)
    cum, next_on = 0, None
    for d, a in sched:
        cum += a
        if cum > paid:
            next_on = d
            break
    next_cents = 0
    if next_on is not None:
        by = max(on, next_on)
        next_cents = max(sum(a for d, a in sched if d <= by) - paid, 0)
    if status == "open":
        if missed:
            status = "missed"
        elif due_now > paid:
            status = "due"
        else:
            status = "current"
    return {
        "plan": plan["number"],
        "status": status,
        "total_cents": plan["total_cents"],
        "monthly_cents": plan["monthly_cents"],
        "day": plan["day"],
        "start_on": plan["start_on"],
        "installments": len(sched),
        "paid_cents": paid,
        "left_cents": plan["total_cents"] - paid,
        "missed_cents": missed,
        "next_due_on": next_on.isoformat() if next_on else None,
        "next_due_cents": next_cents,
    }


def statement_due(conn: Database, plan: dict, on: _dt.date) -> tuple[int, _dt.date | None]:
    """What a plan statement dated `on` asks for, and by when: every installment due up to the
    first one falling on or after `on`, less what was paid (missed installments included)."""
    sched = schedule(plan)
    paid = paid_cents(conn, plan["id"])
    by = next((d for d, _ in sched if d >= on), sched[-1][0] if sched else None)
    if by is None:
        return 0, None
    return max(sum(a for d, a in sched if d <= by) - paid, 0), by


def create(
    conn: Database,
    mrn: str,
    *,
    monthly_cents: int,
    day: int,
    start: _dt.date,
    total_cents: int | None = None,
    on: _dt.date,
) -> dict:
    """Set up a plan (module rules). total None: the whole balance owed."""
    if monthly_cents <= 0:
        raise BadInput("--monthly must be more than 0.00")
    if not 1 <= day <= 28:
        raise BadInput("--day must be a day of the month from 1 to 28")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        owes = account.owed(conn, pat["id"], on).balance_cents
        total = owes if total_cents is None else total_cents
        if total <= 0:
            raise BadInput(f"plan for patient {pat['id']}: the total must be more than 0.00")
        if total > owes:
            raise BadInput(
                f"plan for patient {pat['id']}: total {money.fmt(total)} is more than the balance"
                f" {money.fmt(owes)} ({money.fmt(total - owes)} too much)"
            )
        if monthly_cents > total:
            raise BadInput(
                f"--monthly {money.fmt(monthly_cents)} is more than the total {money.fmt(total)}"
            )
        existing = open_plan(conn, pat["id"])
        if existing:
            raise BadInput(
                f"patient {pat['id']} already has open plan {existing['number']}; cancel it first"
            )
        n = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM payment_plans").fetchone()[0]
        now = audit.utcnow()
        plan_id = conn.execute(
            "INSERT INTO payment_plans (id, number, patient_id, total_cents, monthly_cents, day,"
            " start_on, created_on, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                n,
                f"PP{n:06d}",
                pat["id"],
                total,
                monthly_cents,
                day,
                start.isoformat(),
                on.isoformat(),
                now,
            ),
        ).lastrowid
        conn.execute(
            "INSERT INTO plan_events (plan_id, status, on_date, note, at) VALUES (?,?,?,?,?)",
            (plan_id, "open", on.isoformat(), "set up", now),
        )
        audit.record(
            conn,
            "plan create",
            entity="payment_plans",
            ids=[plan_id],
            detail={"patient_id": pat["id"], "total_cents": total, "monthly_cents": monthly_cents},
        )
        plan = dict(
            zip(
                COLS,
                (n, f"PP{n:06d}", pat["id"], total, monthly_cents, day, start.isoformat()),
                strict=True,
            )
        )
        return {"mrn": pat["mrn"], **state(conn, plan, on)}


def pay(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    reference: str | None = None,
) -> dict:
    """A payment to the patient's open plan (module rules); one transaction, audited."""
    if amount_cents <= 0:
        raise BadInput("the payment must be more than 0.00")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        plan = open_plan(conn, pat["id"])
        if plan is None:
            last = conn.execute(
                "SELECT number FROM payment_plans WHERE patient_id = ? ORDER BY id DESC LIMIT 1",
                (pat["id"],),
            ).fetchone()
            raise BadInput(
                f"plan {last[0]} is closed; it takes no payment (post it with `payment post`)"
                if last
                else f"patient {pat['id']} has no payment plan"
            )
        left = plan["total_cents"] - paid_cents(conn, plan["id"])
        if amount_cents > left:
            raise BadInput(
                f"plan {plan['number']}: payment {money.fmt(amount_cents)} is more than the"
                f" {money.fmt(left)} left on it ({money.fmt(amount_cents - left)} too much)"
            )
        post = payments.post_payment(
            conn, mrn, amount_cents, method=method, on=on, reference=reference, credit=True
        )
        conn.execute(
            "INSERT INTO plan_payments (plan_id, payment_id, amount_cents, paid_on)"
            " VALUES (?,?,?,?)",
            (plan["id"], post.payment_id, amount_cents, on.isoformat()),
        )
        if amount_cents == left:
            conn.execute(
                "INSERT INTO plan_events (plan_id, status, on_date, note, at) VALUES (?,?,?,?,?)",
                (
                    plan["id"],
                    "completed",
                    on.isoformat(),
                    f"paid in full ({post.receipt})",
                    audit.utcnow(),
                ),
            )
        audit.record(
            conn,
            "plan pay",
            entity="payment_plans",
            ids=[plan["id"]],
            detail={"payment_id": post.payment_id, "amount_cents": amount_cents},
        )
        return {"mrn": pat["mrn"], "receipt": post.receipt, **state(conn, plan, on)}


def cancel(conn: Database, number: str, *, on: _dt.date, reason: str) -> dict:
    """Close an open plan without it being paid (the patient goes back to dunning)."""
    with db.write(conn):
        row = conn.execute(
            f"SELECT {', '.join(COLS)} FROM payment_plans WHERE number = ?",
            ((number or "").strip().upper(),),
        ).fetchone()
        if row is None:
            raise BadInput(f"no payment plan {number.strip()}")
        plan = dict(zip(COLS, row, strict=True))
        if _status(conn, plan["id"]) != "open":
            raise BadInput(f"plan {plan['number']} is already {_status(conn, plan['id'])}")
        conn.execute(
            "INSERT INTO plan_events (plan_id, status, on_date, note, at) VALUES (?,?,?,?,?)",
            (plan["id"], "cancelled", on.isoformat(), reason or "cancelled", audit.utcnow()),
        )
        audit.record(conn, "plan cancel", entity="payment_plans", ids=[plan["id"]])
        return state(conn, plan, on)


def report(conn: Database, on: _dt.date, *, status: str | None = None) -> list[dict]:
    """Every plan's state on a day (module rules), soonest due first; optionally one status."""
    from ..reads import record_read

    out = []
    for r in conn.execute(
        f"SELECT {', '.join('pp.' + c for c in COLS)}, p.mrn FROM payment_plans pp"
        " JOIN patients p ON p.id = pp.patient_id ORDER BY pp.id"
    ).fetchall():
        plan = dict(zip(COLS, r[:-1], strict=True))
        s = state(conn, plan, on)
        if status and s["status"] != status:
            continue
        out.append({"mrn": r[-1], **s})
    out.sort(key=lambda x: (x["next_due_on"] is None, x["next_due_on"] or "", x["plan"]))
    record_read(conn, "plan list", entity="payment_plans", count=len(out))
    return out

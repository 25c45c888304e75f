"""Payment plans: a patient pays what they owe in monthly installments.

Rules:
- A plan names the total, the amount per month, the day of the month (1-28, so every month has
  it) and the start date; installments fall on that day from the start date on, each the
  monthly amount and the last one the rest. Its total may not exceed what the patient owes
  (statements.account, the balance `account show` tells), nor may the patient already have an
  open plan; either is refused (exit 2, nothing written).
- What a plan covers: what the patient owed on the day it was set up, i.e. the patient invoices
  issued by then, the patient responsibility (an 835's transfer) posted by then, pending or
  invoiced later, and a visit one of those invoices billed and a later one bills again (a
  rebill). A claim's transfers posted later net against its share of then: a reversal counts
  on the plan in full, a correction up to what the reversals took off, so the claim's share on
  the plan is never more than it was on the set-up day (50.00 reversed and corrected to 30.00:
  30.00 on the plan; to 70.00: 50.00 on it, 20.00 outside). A patient invoice issued later is
  covered line by line: a rebilled line whole, a line billing transfers for their part on the
  plan; money off such an invoice (a payment, credit, a credit note) takes its covered part
  first. Everything else billed after that day is owed outside the plan: the plan statement
  asks for it in full beside the installments (statements.run), it never raises the plan.
- What is left on a plan follows the balance: the total less what the patient paid toward it,
  never more than what they owe now on what it covers (the open amounts as account.owed
  spreads them, credit paying the oldest first; a claim's pending transfers netted). What else
  took that off is counted as paid up to what the patient paid by other routes since the set-up
  (`payment post`, money at check-in, less refunds), but for what of it was posted to invoices
  the plan does not cover at all (`payment post --invoice`), and the rest as credited (the
  payer's credit, a write-off, a void). Paid money counts against the
  installments from the first; what was credited shortens the plan from its end (installments
  of the monthly amount on the total less what was credited), so no installment asked for, and
  no plan statement's installment, is more than what is left. On a plan for part of the
  balance, what was taken off outside the plan takes off the part it does not cover first.
- A payment to the plan is a patient payment (accounts.payments.post_payment: applied to the
  oldest open patient invoices, any rest held as credit) linked to the plan. A payment to a
  patient without an open plan (never set up, completed or cancelled) or above what is left on
  the plan is refused (exit 2, nothing written). The payment that reaches what is left
  completes the plan.
- Nothing left (the patient owes nothing on what it covers, whatever the route): the plan is
  completed, never missed, with the reason "nothing left owed on it". `plan list` says so at
  once; the completion is recorded (a plan_events row, as a plan payment records its own) by
  the next write that acts on the plan: the void that caused it (billing.lifecycle; not a
  void --rebill, whose visit the next run bills again, on the plan), a
  statement run, `plan create` for the patient. A recorded completion stands: what the patient
  owes later is owed outside it.
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
from ..accounts import balances, lookup, payments
from ..dates import add_months
from ..errors import BadInput
from . import account, settings

if TYPE_CHECKING:
    from ..db import Database

COLS = (
    "id",
    "number",
    "patient_id",
    "total_cents",
    "monthly_cents",
    "day",
    "start_on",
    "created_on",
    "created_at",
)
DUE_SOON_DAYS = 7
NOTHING_OWED = "nothing left owed on it"


def _last_event(conn: Database, plan_id: int) -> tuple[str, str | None]:
    return conn.execute(
        "SELECT status, note FROM plan_events WHERE plan_id = ? ORDER BY id DESC LIMIT 1",
        (plan_id,),
    ).fetchone()


def _status(conn: Database, plan_id: int) -> str:
    return _last_event(conn, plan_id)[0]


def _recorded_open(conn: Database, patient_id: int) -> dict | None:
    """The patient's plan whose last recorded event is 'open' (it may owe nothing now)."""
    for r in conn.execute(
        f"SELECT {', '.join(COLS)} FROM payment_plans WHERE patient_id = ? ORDER BY id DESC",
        (patient_id,),
    ).fetchall():
        if _status(conn, r[0]) == "open":
            return dict(zip(COLS, r, strict=True))
    return None


def open_plan(conn: Database, patient_id: int) -> dict | None:
    """The patient's open plan that still has something left on it (module rules)."""
    plan = _recorded_open(conn, patient_id)
    if plan is None or _standing(conn, plan)["left_cents"] <= 0:
        return None
    return plan


def _shares(conn: Database, plan: dict) -> list[tuple[int, str, int, int, int | None]]:
    """[(claim invoice id, posted on, cents, cents on the plan, patient invoice line or None:
    pending)]: the patient's share of every claim (transfers COB did not route elsewhere, as
    accounts.balances) and what of each the plan covers (module rules): all of one posted by the
    set-up day; of a later one on a claim with a share by then, a reversal (negative) in full
    and the rest up to what the reversals took off; of any other, nothing."""
    if not balances._installed(conn):
        return []
    since = plan["created_on"]
    rows = conn.execute(
        "SELECT a.invoice_id, a.created_on, a.amount_cents, (SELECT x.invoice_line_id FROM"
        " patient_invoice_adjustments x WHERE x.adjustment_id = a.id) FROM adjustments a"
        " JOIN invoices i ON i.id = a.invoice_id WHERE a.source = 'transfer' AND i.kind = 'claim'"
        " AND i.patient_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM cob_routes r WHERE r.adjustment_id = a.id)"
        " ORDER BY a.created_on, a.id",
        (plan["patient_id"],),
    ).fetchall()
    had = {c for c, on, _, _ in rows if on <= since}
    room: dict[int, int] = {}
    for c, on, cents, _ in rows:
        if c in had and on > since and cents < 0:
            room[c] = room.get(c, 0) - cents
    out = []
    for claim, on, cents, line in rows:
        if on <= since or (claim in had and cents < 0):
            covered = cents
        elif claim in had:
            covered = min(cents, room.get(claim, 0))
            room[claim] = room.get(claim, 0) - covered
        else:
            covered = 0
        out.append((claim, on, cents, covered, line))
    return out


def _outside(conn: Database, plan: dict, shares: list[tuple]) -> dict[int, tuple[int, int]]:
    """{patient invoice id: (its lines, the part of them the plan does not cover)} for the
    invoices issued after the set-up day (module rules): a line billing a charge an invoice of
    then billed (a rebill) is covered; of a line carrying shares, their part on the plan."""
    since = plan["created_on"]
    on_line: dict[int, int] = {}
    for *_, covered, line in shares:
        if line is not None:
            on_line[line] = on_line.get(line, 0) + covered
    out: dict[int, tuple[int, int]] = {}
    for inv, line, cents, rebill in conn.execute(
        "SELECT i.id, l.id, l.amount_cents, EXISTS (SELECT 1 FROM invoice_lines o"
        " JOIN invoices oi ON oi.id = o.invoice_id WHERE o.charge_line_id = l.charge_line_id"
        " AND oi.kind = 'patient' AND oi.issued_on <= ?) FROM invoices i"
        " JOIN invoice_lines l ON l.invoice_id = i.id"
        " WHERE i.patient_id = ? AND i.kind = 'patient' AND i.issued_on > ?",
        (since, plan["patient_id"], since),
    ):
        covered = cents if rebill else min(max(on_line.get(line, 0), 0), max(cents, 0))
        total, outside = out.get(inv, (0, 0))
        out[inv] = (total + cents, outside + cents - covered)
    return out


def covered_owed(conn: Database, plan: dict) -> int:
    """What the patient owes now on what the plan covers (module rules): the open items as
    account.owed spreads them (credit paying the oldest first; a claim's pending shares netted),
    each less its part outside the plan (money off an item takes its covered part first)."""
    shares = _shares(conn, plan)
    outside = _outside(conn, plan, shares)
    invs = [i for i in payments.patient_invoices(conn, plan["patient_id"]) if not i["voided"]]
    credit = payments.credit_balance(conn, plan["patient_id"])
    credit += sum(-i["balance_cents"] for i in invs if i["balance_cents"] < 0)
    items = [  # (date, invoice, cents, of which outside the plan)
        (i["issued_on"], i["number"], i["balance_cents"], outside.get(i["id"], (0, 0))[1])
        for i in invs
        if i["balance_cents"] > 0
    ]
    pending: dict[int, list] = {}
    for claim, on, cents, covered, line in shares:
        if line is None:
            p = pending.setdefault(claim, [on, 0, 0])
            p[0], p[1], p[2] = min(p[0], on), p[1] + cents, p[2] + covered
    for on, cents, covered in pending.values():
        if cents > 0:
            items.append((on, "", cents, cents - min(max(covered, 0), cents)))
        else:
            credit -= cents  # a reversal of a share already billed: the patient owes less
    items.sort(key=lambda x: (x[0], x[1]))
    owed = 0
    for _on, _number, cents, out in items:
        take = min(max(credit, 0), cents)
        credit -= take
        owed += max(cents - take - out, 0)
    return owed


def _paid_elsewhere(conn: Database, plan: dict) -> int:
    """The patient's money since the set-up that did not go through `plan pay`: payments and
    co-pays less refunds, but for what of them went to invoices the plan does not cover at all."""
    outside = _outside(conn, plan, _shares(conn, plan))
    off = sorted(i for i, (total, out) in outside.items() if out == total)
    marks = ",".join("?" * len(off))
    return conn.execute(
        "SELECT COALESCE(SUM(p.amount_cents - COALESCE((SELECT SUM(a.amount_cents) FROM"
        f" payment_allocations a WHERE a.payment_id = p.id AND a.invoice_id IN ({marks})), 0)), 0)"
        " FROM payments p WHERE p.patient_id = ?"
        " AND p.kind IN ('patient', 'copay', 'refund')"
        " AND (p.received_on > ? OR (p.received_on = ? AND p.created_at >= ?))"
        " AND NOT EXISTS (SELECT 1 FROM plan_payments x WHERE x.payment_id = p.id)",
        (*off, plan["patient_id"], plan["created_on"], plan["created_on"], plan["created_at"]),
    ).fetchone()[0]


def _standing(conn: Database, plan: dict, status: str = "open") -> dict:
    """paid, credited and left (module rules); a completed plan has nothing left."""
    total = plan["total_cents"]
    through = paid_cents(conn, plan["id"])
    if status == "completed":
        left = 0
    else:
        left = max(min(total - through, covered_owed(conn, plan)), 0)
    other = total - through - left
    paid = through + min(other, max(_paid_elsewhere(conn, plan), 0))
    return {"paid_cents": paid, "credited_cents": other - (paid - through), "left_cents": left}


def schedule(plan: dict, total_cents: int | None = None) -> list[tuple[_dt.date, int]]:
    """[(due date, amount)]: the installments of total_cents (default the plan's total; module
    rules)."""
    start = _dt.date.fromisoformat(plan["start_on"])
    first = start.replace(day=plan["day"])
    if first < start:
        first = add_months(first, 1)
    out, left, n = [], plan["total_cents"] if total_cents is None else total_cents, 0
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
    """Where a plan stands on a day (module rules): paid, credited, left, missed, next
    installment, and for a closed plan why."""
    status, note = _last_event(conn, plan["id"])
    st = _standing(conn, plan, status)
    paid = st["paid_cents"]
    grace = settings.grace_days(conn)
    sched = schedule(plan, plan["total_cents"] - st["credited_cents"])
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
        note = None
        if st["left_cents"] <= 0:
            status, note, missed, next_on, next_cents = "completed", NOTHING_OWED, 0, None, 0
        elif missed:
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
        "credited_cents": st["credited_cents"],
        "left_cents": st["left_cents"],
        "missed_cents": missed,
        "next_due_on": next_on.isoformat() if next_on else None,
        "next_due_cents": next_cents,
        "note": note,
    }


def statement_due(conn: Database, plan: dict, on: _dt.date) -> tuple[int, _dt.date | None]:
    """What a plan statement dated `on` asks for, and by when: every installment due up to the
    first one falling on or after `on`, less what was paid (missed installments included);
    never more than what is left (module rules)."""
    st = _standing(conn, plan, _status(conn, plan["id"]))
    sched = schedule(plan, plan["total_cents"] - st["credited_cents"])
    by = next((d for d, _ in sched if d >= on), sched[-1][0] if sched else None)
    if by is None:
        return 0, None
    return max(sum(a for d, a in sched if d <= by) - st["paid_cents"], 0), by


def settle(conn: Database, plan: dict, on: _dt.date, why: str | None = None) -> bool:
    """Record the completion of an open plan with nothing left on it (module rules), inside the
    caller's write transaction; why: what ended it, kept in the note. True when recorded."""
    if _status(conn, plan["id"]) != "open" or _standing(conn, plan)["left_cents"] > 0:
        return False
    note = NOTHING_OWED + (f" ({why})" if why else "")
    conn.execute(
        "INSERT INTO plan_events (plan_id, status, on_date, note, at) VALUES (?,?,?,?,?)",
        (plan["id"], "completed", on.isoformat(), note, audit.utcnow()),
    )
    audit.record(
        conn, "plan complete", entity="payment_plans", ids=[plan["id"]], detail={"note": note}
    )
    return True


def settle_patient(conn: Database, patient_id: int, on: _dt.date, why: str | None = None) -> None:
    """settle() the patient's open plan, if any (a void, inside its transaction)."""
    plan = _recorded_open(conn, patient_id)
    if plan is not None:
        settle(conn, plan, on, why)


def settle_all(conn: Database, on: _dt.date) -> int:
    """settle() every open plan (a statement run, inside its transaction); how many ended."""
    ended = 0
    for r in conn.execute(f"SELECT {', '.join(COLS)} FROM payment_plans ORDER BY id").fetchall():
        ended += settle(conn, dict(zip(COLS, r, strict=True)), on)
    return ended


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
        existing = _recorded_open(conn, pat["id"])
        if existing and not settle(conn, existing, on):
            raise BadInput(
                f"patient {pat['id']} already has open plan {existing['number']}; cancel it first"
            )
        n = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM payment_plans").fetchone()[0]
        now = audit.utcnow()
        plan = dict(
            zip(
                COLS,
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
                strict=True,
            )
        )
        plan_id = conn.execute(
            f"INSERT INTO payment_plans ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})",
            tuple(plan.values()),
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
        return {"mrn": pat["mrn"], **state(conn, plan, on)}


def pay(
    conn: Database,
    mrn: str,
    amount_cents: int,
    *,
    method: str | None,
    on: _dt.date,
    reference: str | None = None,
    again: bool = False,
) -> dict:
    """A payment to the patient's open plan (module rules); one transaction, audited.
    ``again``: a second payment, not the same one keyed twice (accounts.payments)."""
    if amount_cents <= 0:
        raise BadInput("the payment must be more than 0.00")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        plan = _recorded_open(conn, pat["id"])
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
        left = _standing(conn, plan)["left_cents"]
        if left <= 0:
            raise BadInput(
                f"plan {plan['number']} is completed: {NOTHING_OWED}; it takes no payment"
                " (post it with `payment post`)"
            )
        if amount_cents > left:
            raise BadInput(
                f"plan {plan['number']}: payment {money.fmt(amount_cents)} is more than the"
                f" {money.fmt(left)} left on it ({money.fmt(amount_cents - left)} too much)"
            )
        post = payments.post_payment(
            conn,
            mrn,
            amount_cents,
            method=method,
            on=on,
            reference=reference,
            credit=True,
            again=again,
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
        if _standing(conn, plan)["left_cents"] <= 0:
            raise BadInput(f"plan {plan['number']} is already completed ({NOTHING_OWED})")
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

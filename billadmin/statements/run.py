"""The statement run: one statement per patient who owes, recorded, rendered and listed for the
mail house.

Rules:
- Who gets one: every patient whose balance (statements.account: the balance `account show`
  tells) is at least the practice's minimum (settings), unless a statement hold is in force or
  the account went to collections. A zero or credit balance gets none (credits are listed by
  `statement credits`). A patient on an open payment plan gets a plan statement whatever the
  minimum, never a dunning step: it asks for the installments due by the next due date (by the
  usual due date when every installment is past) plus any balance the plan does not cover.
- What it says: every open item with its open amount, the payments and adjustments since the
  patient's last statement, the aging of the balance, the dunning message of its step
  (settings.STEPS/TEXTS: by the age of the oldest unpaid item), and a tear-off coupon with the
  amount due (the balance; on a plan the installment due) and the date to pay by (the
  practice's invoice.due_days after the statement date).
- Cycles: with several cycle days (settings) a run with --cycle-day states only that cycle.
- Recorded: each statement (its content, step and balance) is stored, append-only; the next
  run's "since" is the last statement's date. A run is idempotent per date and cycle: running
  it again records nothing and writes the same files again from the stored content. A run
  dated before the latest run is refused (exit 2, nothing written).
- Files (after the statements are recorded): one PDF per statement and one mail-house list
  (CSV or XLSX) with the addresses, amounts and file names, all created 0600.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit, db
from ..errors import BadInput
from . import account, plans, settings

if TYPE_CHECKING:
    from ..db import Database

PRACTICE_KEYS = ("name", "address1", "address2", "city", "state", "zip", "phone", "tax_id")
MAIL_COLUMNS = (
    "statement",
    "account",
    "name",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "stated_on",
    "step",
    "balance_cents",
    "amount_due_cents",
    "pay_by",
    "file",
)


@dataclass
class RunResult:
    run_on: str
    cycle_day: int | None
    again: bool = False
    statements: list[dict] = field(default_factory=list)  # the summary rows
    skipped: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def on_hold(conn: Database, patient_id: int) -> bool:
    row = conn.execute(
        "SELECT action FROM statement_holds WHERE patient_id = ? ORDER BY id DESC LIMIT 1",
        (patient_id,),
    ).fetchone()
    return bool(row and row[0] == "hold")


def set_hold(conn: Database, mrn: str, *, hold: bool, reason: str, on: _dt.date) -> dict:
    """Hold (or release) a patient's statements: a dispute, a bankruptcy, a pending appeal."""
    from ..accounts import lookup

    reason = (reason or "").strip()
    if hold and not reason:
        raise BadInput("--reason is required for a hold")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        if on_hold(conn, pat["id"]) == hold:
            raise BadInput(f"patient {pat['id']} is {'already' if hold else 'not'} on hold")
        conn.execute(
            "INSERT INTO statement_holds (patient_id, action, reason, on_date, os_user, at)"
            " VALUES (?,?,?,?,?,?)",
            (
                pat["id"],
                "hold" if hold else "release",
                reason or "released",
                on.isoformat(),
                audit.os_user(),
                audit.utcnow(),
            ),
        )
        audit.record(
            conn,
            "statement hold" if hold else "statement release",
            entity="patient",
            ids=[pat["id"]],
        )
    return {"mrn": pat["mrn"], "on_hold": hold, "on": on.isoformat()}


def _practice(conn: Database) -> dict:
    from ..billing.practice import get

    prac = get(conn)
    if prac is None:
        raise BadInput("the practice is not set up: run `billadmin practice set` first")
    return prac


def _content(
    conn: Database,
    pid: int,
    owed: account.Owed,
    plan: dict | None,
    *,
    number: str,
    on: _dt.date,
    since: str | None,
    prac: dict,
) -> dict:
    from ..billing.content import PATIENT_COLS
    from ..billing.practice import SETTINGS
    from ..billing.statement import _guarantor

    pat = dict(
        zip(
            PATIENT_COLS,
            conn.execute(
                f"SELECT {', '.join(PATIENT_COLS)} FROM patients WHERE id = ?", (pid,)
            ).fetchone(),
            strict=True,
        )
    )
    step = settings.PLAN_STEP if plan else owed.step
    pstate = plans.state(conn, plan, on) if plan else None
    due_days = int(prac.get("due_days") or SETTINGS["due_days"][1])
    pay_by = (on + _dt.timedelta(days=due_days)).isoformat()
    if plan:
        # the installments due, plus what the plan does not cover (charges since it was set up)
        due, by = plans.statement_due(conn, plan, on)
        left = plans.state(conn, plan, on)["left_cents"]
        outside = max(owed.balance_cents - left, 0)
        amount_due = min(due + outside, owed.balance_cents)
        if by is not None and by >= on:
            pay_by = by.isoformat()
    else:
        amount_due = owed.balance_cents
    items = [
        {
            "date": it["date"][:10],
            "invoice": it["invoice"],
            "description": (
                f"Invoice {it['invoice']}"
                if it["kind"] == "invoice"
                else f"Your share after insurance, service of {it['date_of_service']}"
                " (to be invoiced)"
            ),
            "amount_cents": it["amount_cents"],
            "open_cents": it["open_cents"],
            "days": it["days"],
        }
        for it in owed.items
    ]
    return {
        "kind": "statement",
        "title": "Final notice" if step == "final" else "Statement",
        "number": number,
        "issued_on": on.isoformat(),
        "since_on": since,
        "step": step,
        "message": settings.text(conn, step),
        "practice": {k: prac.get(k) for k in PRACTICE_KEYS},
        "pay_instructions": prac.get("pay_instructions") or "",
        "account": pat["mrn"],
        "guarantor": _guarantor(conn, pat, on),
        "items": items,
        "activity": account.activity(conn, pid, since, on),
        "aging": owed.aging(),
        "credit_cents": owed.credit_cents,
        "balance_cents": owed.balance_cents,
        "amount_due_cents": amount_due,
        "pay_by": pay_by,
        "plan": pstate,
    }


def _skip_reason(conn: Database, pid: int, owed: account.Owed, plan, minimum: int) -> str | None:
    if owed.balance_cents == 0:
        return "zero"
    if owed.balance_cents < 0:
        return "credit"
    if on_hold(conn, pid):
        return "hold"
    if plan is None and owed.balance_cents < minimum:
        return "under_minimum"
    return None


def _summary(row: dict, c: dict) -> dict:
    return {
        "statement": c["number"],
        "mrn": c["account"],
        "step": c["step"],
        "oldest_days": row["oldest_days"],
        "balance_cents": c["balance_cents"],
        "amount_due_cents": c["amount_due_cents"],
        "pay_by": c["pay_by"],
        "file": row.get("file"),
    }


def run(
    conn: Database,
    on: _dt.date,
    *,
    out_dir: Path,
    cycle_day: int | None = None,
    mail_format: str = "csv",
    pdf: bool = True,
) -> RunResult:
    """Record and render the statements of `on` (module rules)."""
    if mail_format not in ("csv", "xlsx"):
        raise BadInput("--mail-house must be csv or xlsx")
    res = RunResult(on.isoformat(), cycle_day)
    with db.write(conn):
        days = settings.cycle_days(conn)
        if cycle_day is not None and cycle_day not in days:
            raise BadInput(
                f"--cycle-day {cycle_day} is not one of the practice's cycle days"
                f" ({','.join(map(str, days))}); set them with `statement config --cycle-days`"
            )
        prior = conn.execute(
            "SELECT id FROM statement_runs WHERE run_on = ? AND cycle_day IS ?",
            (on.isoformat(), cycle_day),
        ).fetchone()
        if prior:
            res.again = True
            run_id = prior[0]
        else:
            later = conn.execute(
                "SELECT MAX(run_on) FROM statement_runs WHERE run_on > ?", (on.isoformat(),)
            ).fetchone()[0]
            if later:
                raise BadInput(
                    f"statements were already run on {later}; a run may not be dated before it"
                )
            run_id = _record(conn, on, cycle_day, days, out_dir, res)
    rows = conn.execute(
        "SELECT id, number, content, oldest_days FROM statements WHERE run_id = ? ORDER BY number",
        (run_id,),
    ).fetchall()
    _write_files(conn, rows, out_dir, on, mail_format, pdf, res)
    return res


def _record(
    conn: Database,
    on: _dt.date,
    cycle_day: int | None,
    days: list[int],
    out_dir: Path,
    res: RunResult,
) -> int:
    """Insert the run and its statements (inside the caller's transaction)."""
    from ..outfile import absolute

    prac = _practice(conn)
    minimum = settings.minimum_cents(conn)
    plans.settle_all(conn, on)  # plans nothing is owed on any more are completed, recorded
    now = audit.utcnow()
    run_id = conn.execute(
        "INSERT INTO statement_runs (run_on, cycle_day, out_dir, os_user, created_at)"
        " VALUES (?,?,?,?,?)",
        (on.isoformat(), cycle_day, str(absolute(out_dir)), audit.os_user(), now),
    ).lastrowid
    assert run_id is not None
    n = conn.execute("SELECT COALESCE(MAX(id), 0) FROM statements").fetchone()[0]
    pending = account.pending_by_patient(conn)
    for pid in account.candidates(conn):
        if cycle_day is not None and days[pid % len(days)] != cycle_day:
            continue
        owed = account.owed(conn, pid, on, pending=pending.get(pid, []))
        plan = plans.open_plan(conn, pid)
        why = _skip_reason(conn, pid, owed, plan, minimum)
        if why:
            res.skipped[why] = res.skipped.get(why, 0) + 1
            continue
        since = conn.execute(
            "SELECT MAX(stated_on) FROM statements WHERE patient_id = ?", (pid,)
        ).fetchone()[0]
        n += 1
        number = f"S{n:07d}"
        c = _content(conn, pid, owed, plan, number=number, on=on, since=since, prac=prac)
        conn.execute(
            "INSERT INTO statements (id, number, run_id, patient_id, stated_on, since_on, step,"
            " plan_id, balance_cents, oldest_days, content, file, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                n,
                number,
                run_id,
                pid,
                on.isoformat(),
                since,
                c["step"],
                plan["id"] if plan else None,
                owed.balance_cents,
                owed.oldest_days,
                json.dumps(c, sort_keys=True),
                f"{number}.pdf",
                now,
            ),
        )
    count = conn.execute("SELECT COUNT(*) FROM statements WHERE run_id = ?", (run_id,)).fetchone()[
        0
    ]
    audit.record(
        conn,
        "statement run",
        entity="statement_runs",
        ids=[run_id],
        count=count,
        detail={"run_on": on.isoformat(), "cycle_day": cycle_day, "skipped": res.skipped},
    )
    return run_id


def _write_files(
    conn, rows, out_dir: Path, on: _dt.date, mail_format: str, pdf: bool, res: RunResult
) -> None:
    """The PDFs and the mail-house list, from the stored content (the same on a rerun)."""
    from .. import formats, outfile
    from . import pdf as pdf_mod

    out_dir.mkdir(parents=True, exist_ok=True)
    outfile.warn_if_shared_folder(out_dir)
    mail = []
    for _sid, number, text, oldest in rows:
        c = json.loads(text)
        row = {"oldest_days": oldest, "file": f"{number}.pdf" if pdf else None}
        res.statements.append(_summary(row, c))
        if pdf:
            # one PHI note for the run (the mail-house list's), not one per statement
            with outfile.PrivateFile(
                outfile.inside(out_dir, f"{number}.pdf"), "wb", phi=False, warn=False
            ) as pf:
                pf.handle.write(pdf_mod.render(c))
            res.files.append(pf.path)
        g = c["guarantor"]
        mail.append(
            {
                "statement": number,
                "account": c["account"],
                "name": g["name"],
                **{k: g.get(k) for k in ("address1", "address2", "city", "state", "zip")},
                "stated_on": c["issued_on"],
                "step": c["step"],
                "balance_cents": c["balance_cents"],
                "amount_due_cents": c["amount_due_cents"],
                "pay_by": c["pay_by"],
                "file": row["file"],
            }
        )
    if not rows:
        return
    name = outfile.inside(out_dir, f"mail-house-{on.isoformat()}.{mail_format}")
    if mail_format == "csv":
        formats.write_csv_file(name, mail, MAIL_COLUMNS)
    else:
        formats.write_xlsx(name, {"Statements": mail}, {"Statements": MAIL_COLUMNS})
    res.files.append(name)


def credits(conn: Database, on: _dt.date) -> list[dict]:
    """Patients owed money (a credit balance) and the refund to make: what they are owed, at
    most what accounts.payments may refund (unapplied credit and overpaid invoices). A patient
    with charges not billed yet (a visit before its run, one voided with --rebill) is left out:
    what they hold (a co-pay, what the voided invoice was paid) is for the invoice the next run
    issues, and refunding it would have them pay it twice."""
    from ..accounts import payments

    unbilled = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT e.patient_id FROM charge_lines c JOIN encounters e"
            " ON e.id = c.encounter_id WHERE c.status = 'unbilled'"
        )
    }
    out = []
    for pid in account.candidates(conn):
        if pid in unbilled:
            continue
        owed = account.owed(conn, pid, on)
        if owed.balance_cents >= 0:
            continue
        credit, over = payments.refundable(conn, pid)
        refundable = max(credit, 0) + sum(-i["balance_cents"] for i in over)
        mrn = conn.execute("SELECT mrn FROM patients WHERE id = ?", (pid,)).fetchone()[0]
        out.append(
            {
                "mrn": mrn,
                "credit_cents": -owed.balance_cents,
                "refund_cents": min(-owed.balance_cents, refundable),
                "overpaid_invoices": " ".join(i["number"] for i in over) or None,
            }
        )
    from ..reads import record_read

    record_read(conn, "statement credits", entity="patient", count=len(out))
    return out


def list_statements(
    conn: Database, *, mrn: str | None = None, since: _dt.date | None = None
) -> list[dict]:
    """Statements recorded, newest first (a PHI read: audited with the count)."""
    from ..reads import record_read

    where, args = [], []
    if mrn:
        from ..accounts import lookup

        where.append("s.patient_id = ?")
        args.append(lookup.patient(conn, mrn)["id"])
    if since:
        where.append("s.stated_on >= ?")
        args.append(since.isoformat())
    rows = [
        {
            "statement": r[0],
            "mrn": r[1],
            "stated_on": r[2],
            "since_on": r[3],
            "step": r[4],
            "oldest_days": r[5],
            "balance_cents": r[6],
            "file": r[7],
        }
        for r in conn.execute(
            "SELECT s.number, p.mrn, s.stated_on, s.since_on, s.step, s.oldest_days,"
            " s.balance_cents, s.file FROM statements s JOIN patients p ON p.id = s.patient_id"
            f" {'WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY s.stated_on DESC, s.number DESC",
            args,
        )
    ]
    record_read(conn, "statement list", entity="statements", count=len(rows))
    return rows

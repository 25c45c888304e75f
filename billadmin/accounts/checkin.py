"""Check-in at the front desk: is the patient covered today, what co-pay is due, take it.

Rules: the coverage used is the one active on the visit date (effective_from <= date and no
effective_to or effective_to >= date) with the lowest priority number (primary first). The
clerk is warned when there is none (lapsed or not yet started) and when the primary coverage
ends within 30 days. The co-pay due is that coverage's co-pay. A co-pay taken is a payment of
kind 'copay' with a receipt number, held as patient credit until the patient invoice that
carries it is issued. One co-pay per patient per visit date: a second is refused (use
`billadmin payment post --credit` for other money). The patient balance told at the desk is
the open patient invoices plus the patient responsibility a payer moved to the patient that no
statement carries yet (accounts.balances), as `account show` counts it; what the patient owes
now (`patient_owes`) is that balance less the patient's unapplied credit, a co-pay just taken
included (`account show`'s patient_owes, the one figure the clerk tells the patient).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput, Conflict, NotFound
from . import balances, lookup, payments

if TYPE_CHECKING:
    from ..db import Database


EXPIRY_WARNING_DAYS = 30
# the payer's last 271 answer older than this (or none): the desk is told to ask again
ELIGIBILITY_DAYS = 30

COV_COLS = (
    "id",
    "payer_id",
    "member_id",
    "group_number",
    "priority",
    "effective_from",
    "effective_to",
    "copay_cents",
)


@dataclass
class CheckinResult:
    row: dict
    warnings: list[str] = field(default_factory=list)


def coverages_on(conn: Database, patient_id: int, on: _dt.date) -> tuple[list[dict], list[dict]]:
    """(active on the date ordered by priority, all coverages)."""
    rows = [
        dict(zip(COV_COLS, r, strict=True))
        for r in conn.execute(
            f"SELECT {', '.join(COV_COLS)} FROM coverages WHERE patient_id = ? ORDER BY priority, effective_from DESC",
            (patient_id,),
        )
    ]
    d = on.isoformat()
    active = [
        c
        for c in rows
        if c["effective_from"] <= d and (not c["effective_to"] or c["effective_to"] >= d)
    ]
    return active, rows


def _payer_code(conn: Database, payer_id: int) -> str:
    """The code of a payer a coverage row points to (a foreign key: it exists)."""
    p = lookup.payer_by_id(conn, payer_id)
    if p is None:
        raise NotFound(f"payer {payer_id} of a coverage is gone")
    return p["code"]


def _coverage_status(
    conn: Database, primary: dict | None, allcov: list[dict], on: _dt.date, warnings: list[str]
) -> str:
    """active, expiring (within EXPIRY_WARNING_DAYS), lapsed, not_started or none; the warning
    the desk should act on is appended."""
    status = "active"
    if primary is None:
        ended = [c for c in allcov if c["effective_to"] and c["effective_to"] < on.isoformat()]
        future = [c for c in allcov if c["effective_from"] > on.isoformat()]
        if ended:
            last = max(ended, key=lambda c: c["effective_to"])
            code = _payer_code(conn, last["payer_id"])
            status = "lapsed"
            warnings.append(
                f"coverage lapsed: the {code} coverage ended {last['effective_to']}; ask for current "
                "insurance or treat the visit as self-pay"
            )
        elif future:
            status = "not_started"
            warnings.append(
                f"coverage not yet in effect: starts {min(c['effective_from'] for c in future)}"
            )
        else:
            status = "none"
            warnings.append("no insurance on file: self-pay visit")
    elif primary["effective_to"]:
        left = (_dt.date.fromisoformat(primary["effective_to"]) - on).days
        if left <= EXPIRY_WARNING_DAYS:
            status = "expiring"
            warnings.append(
                f"coverage expires in {left} day{'s' if left != 1 else ''} "
                f"({primary['effective_to']}): ask for the renewed card"
            )
    return status


def _collect_copay(
    conn: Database,
    pat: dict,
    on: _dt.date,
    collect_cents: int,
    method: str | None,
    reference: str | None,
    primary: dict | None,
    row: dict,
    warnings: list[str],
) -> None:
    """Record the co-pay taken at the desk (once per visit date) as a receipt and patient
    credit; row gets the amount, method and receipt."""
    copay_due = row["copay_due_cents"]
    dup = conn.execute(
        "SELECT r.number FROM receipts r JOIN payments p ON p.id = r.payment_id"
        " WHERE r.patient_id = ? AND p.kind = 'copay' AND r.service_date = ?",
        (pat["id"], on.isoformat()),
    ).fetchone()
    if dup:
        raise Conflict(
            f"a co-pay was already taken for this visit date (receipt {dup[0]}); "
            "use `billadmin payment post --credit` for other money (--again if it has this"
            " co-pay's amount and method)"
        )
    if copay_due and collect_cents > copay_due:
        warnings.append(
            f"collected {money.fmt(collect_cents)} is more than the co-pay due {money.fmt(copay_due)}"
        )
    elif not copay_due:
        warnings.append("no co-pay is due on this coverage; the amount is held as patient credit")
    pid, receipt = payments._insert_payment(
        conn,
        kind="copay",
        patient_id=pat["id"],
        amount=collect_cents,
        method=method,
        reference=reference,
        on=on,
        service_date=on.isoformat(),
        coverage_id=primary["id"] if primary else None,
    )
    payments._credit_row(conn, pid, pat["id"], collect_cents, "copay", on)
    row.update(
        collected_cents=collect_cents,
        method=method,
        receipt=receipt,
        credit_cents=row["credit_cents"] + collect_cents,
    )


def _last_271(
    conn: Database, pid: int, primary, payer, on: _dt.date, days: int, warnings: list[str]
) -> dict:
    """The payer's last eligibility answer (271) for the primary coverage: its date, status and
    co-pay; a warning when there is none within `days` days, or it says inactive."""
    from ..eligibility import answers

    last = answers.latest(conn, pid, primary["id"]) if primary else None
    out = {
        "eligibility_checked": last["answered_on"] if last else None,
        "eligibility_status": last["status"] if last else None,
        "eligibility_copay_cents": last["copay_cents"] if last else None,
    }
    if primary is None or (payer and payer["kind"] == "self"):
        return out
    age = answers.days_old(last, on)
    if age is None or age > days:
        warnings.append(
            f"no eligibility answer (271) from the payer within {days} days: ask with"
            " `billadmin eligibility request`"
        )
    elif last and last["status"] != "active":
        warnings.append(
            f"the payer's eligibility answer of {last['answered_on']} says {last['status']}"
        )
    return out


def checkin(
    conn: Database,
    mrn: str,
    on: _dt.date,
    *,
    collect_cents: int | None = None,
    method: str | None = None,
    reference: str | None = None,
    eligibility_days: int = ELIGIBILITY_DAYS,
) -> CheckinResult:
    """Confirm coverage, show the co-pay due and record the co-pay collected (audited PHI read)."""
    if collect_cents is not None:
        method = payments.check_method(method)
        if collect_cents <= 0:
            raise BadInput(f"--collect must be more than 0.00 (got {money.fmt(collect_cents)})")
    elif method:
        raise BadInput("--method without --collect: nothing to record")
    with db.write(conn):
        pat = lookup.patient(conn, mrn)
        active, allcov = coverages_on(conn, pat["id"], on)
        warnings: list[str] = []
        primary = active[0] if active else None
        payer = lookup.payer_by_id(conn, primary["payer_id"]) if primary else None
        status = _coverage_status(conn, primary, allcov, on, warnings)
        copay_due = primary["copay_cents"] if primary else 0
        row = {
            "date": on.isoformat(),
            "mrn": pat["mrn"],
            "patient": f"{pat['last_name']}, {pat['first_name']}",
            "coverage_status": status,
            "payer": payer["code"] if payer else None,
            "payer_name": payer["name"] if payer else None,
            "member_id": primary["member_id"] if primary else None,
            "effective_from": primary["effective_from"] if primary else None,
            "effective_to": primary["effective_to"] if primary else None,
            "secondary": ", ".join(_payer_code(conn, c["payer_id"]) for c in active[1:]) or None,
            "copay_due_cents": copay_due,
            "collected_cents": 0,
            "method": None,
            "receipt": None,
            "patient_balance_cents": sum(
                i["balance_cents"]
                for i in payments.patient_invoices(conn, pat["id"])
                if not i["voided"]
            )
            + balances.pending(conn, patient_id=pat["id"])["patient_cents"],
            "credit_cents": payments.credit_balance(conn, pat["id"]),
        }
        row.update(_last_271(conn, pat["id"], primary, payer, on, eligibility_days, warnings))
        if collect_cents is not None:
            _collect_copay(conn, pat, on, collect_cents, method, reference, primary, row, warnings)
        # the one figure to tell the patient: what they owe less the credit they hold (a co-pay
        # just taken included), as `account show`'s patient_owes; below zero it is theirs
        row["patient_owes_cents"] = row["patient_balance_cents"] - row["credit_cents"]
        audit.record(
            conn,
            "checkin",
            entity="patient",
            ids=[pat["id"]],
            detail={
                "coverage_status": status,
                "collected_cents": row["collected_cents"],
                "receipt": row["receipt"],
            },
        )
    return CheckinResult(row, warnings)

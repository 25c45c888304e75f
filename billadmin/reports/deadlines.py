"""Deadlines: timely filing and coverage expiry.

timely-filing (as of --as-of): charges not billed yet, and claims issued that no payer has
answered (no remittance posting: the payer may never have received them) and that still have
something open, whose filing deadline is within --within days (default 30) or already past. A
claim's amount is its open balance (what the deadline puts at risk); a claim the clerk wrote
off in full (a timely-filing write-off, say) has nothing left to file and is not listed. The deadline is the claim's
stored filing deadline, else the payer's limit from the date of service (accounts.rules); the
payer of an unbilled encounter is the primary coverage active on its date of service
(self-pay has no deadline). Past-deadline rows first, then by deadline.

coverage-expiring (as of --as-of): coverages ending within --within days (default 30), and
those that ended in the last --within days with no other coverage of the same priority active
now (lapsed). Patients with an upcoming visit (an encounter dated on or after --as-of) first,
soonest visit first; then by end date. When the payer answered an eligibility request (271) for
the coverage, its latest active/inactive answer's plan end date is used instead of the stored one
(ends_per says which), with the answer's date and status beside it.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from ..accounts import rules as payer_rules
from .base import Report, audited

if TYPE_CHECKING:
    from ..db import Database


FILING_COLS = [
    "state",
    "days_left",
    "deadline",
    "what",
    "encounter",
    "invoice",
    "mrn",
    "patient",
    "payer",
    "date_of_service",
    "amount_cents",
    "rule",
]


def timely_filing(conn: Database, as_of: _dt.date, within: int = 30) -> list[dict]:
    rules = payer_rules.all_rules(conn)
    out = []
    limit = as_of + _dt.timedelta(days=within)

    def add(what, enc, inv, mrn, name, payer_id, dos, amount, stored=None):
        r = rules.get(payer_id)
        deadline: _dt.date | None
        if stored:
            deadline = _dt.date.fromisoformat(stored)
            rule = "claim's filing deadline"
        else:
            deadline = r.filing_deadline(_dt.date.fromisoformat(dos)) if r else None
            rule = r.filing_rule if r else "none"
        if deadline is None or deadline > limit:
            return
        days = (deadline - as_of).days
        out.append(
            {
                "state": "past" if days < 0 else "due",
                "days_left": days,
                "deadline": deadline.isoformat(),
                "what": what,
                "encounter": enc,
                "invoice": inv,
                "mrn": mrn,
                "patient": name,
                "payer": r.code if r else None,
                "date_of_service": dos,
                "amount_cents": amount,
                "rule": rule,
            }
        )

    for enc, mrn, name, dos, payer_id, amount in conn.execute(
        """SELECT e.number, p.mrn, p.last_name || ', ' || p.first_name, e.date_of_service,
                      (SELECT c.payer_id FROM coverages c WHERE c.patient_id = e.patient_id AND
                      c.effective_from <= e.date_of_service
                         AND (c.effective_to IS NULL OR c.effective_to >= e.date_of_service)
                       ORDER BY c.priority, c.effective_from DESC LIMIT 1),
                      SUM(cl.charge_cents)
               FROM (SELECT DISTINCT encounter_id FROM charge_lines WHERE status = 'unbilled') u
               JOIN encounters e ON e.id = u.encounter_id JOIN patients p ON p.id = e.patient_id
               JOIN charge_lines cl ON cl.encounter_id = e.id AND cl.status = 'unbilled'
               GROUP BY e.id"""
    ):
        if payer_id is not None:
            add("unbilled charges", enc, None, mrn, name, payer_id, dos, amount)
    # invoices drive the scan (CROSS JOIN keeps that order): one pass in rowid order beats a lookup per patient
    for number, enc, mrn, name, payer_id, dos, amount, stored in conn.execute(
        """SELECT i.number, e.number, p.mrn, p.last_name || ', ' || p.first_name, i.payer_id,
                      COALESCE(e.date_of_service, (SELECT MIN(date_of_service) FROM invoice_lines l
                      WHERE l.invoice_id = i.id),
                               i.issued_on),
                      (SELECT b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents
                       FROM invoice_balances b WHERE b.invoice_id = i.id), i.filing_deadline
               FROM invoices i CROSS JOIN patients p ON p.id = i.patient_id LEFT JOIN encounters e
               ON e.id = i.encounter_id
               WHERE i.kind = 'claim' AND (i.filing_deadline IS NULL OR i.filing_deadline <= :limit)
                 AND NOT EXISTS (SELECT 1 FROM invoices c WHERE c.original_invoice_id = i.id)
                 AND NOT EXISTS (SELECT 1 FROM adjustments d WHERE d.invoice_id = i.id AND d.source
                 IN ('remit', 'transfer'))
                 AND NOT EXISTS (SELECT 1 FROM remit_claims r WHERE r.invoice_id = i.id
                                 AND r.outcome IN ('paid', 'partially_paid', 'denied'))
                 AND NOT EXISTS (SELECT 1 FROM payment_allocations a JOIN payments y ON y.id = a.payment_id
                                 WHERE a.invoice_id = i.id AND y.kind = 'insurance')""",
        {"limit": limit.isoformat()},
    ):
        if amount > 0:  # nothing open (written off in full): nothing to file
            add("claim not answered", enc, number, mrn, name, payer_id, dos, amount, stored)
    out.sort(key=lambda r: (r["deadline"], r["encounter"] or "", r["invoice"] or ""))
    return out


COVERAGE_COLS = [
    "state",
    "days_left",
    "effective_to",
    "mrn",
    "patient",
    "phone",
    "payer",
    "member_id",
    "priority",
    "next_visit",
    "last_visit",
    "ends_per",
    "eligibility_checked",
    "eligibility_status",
]

# the latest answer per coverage that says anything of its dates (a rejected one does not)
_LAST_271 = """(SELECT a.coverage_id, a.answered_on, a.status, a.plan_end FROM eligibility_answers a
    WHERE a.id = (SELECT a2.id FROM eligibility_answers a2 WHERE a2.coverage_id = a.coverage_id
                  AND a2.status IN ('active', 'inactive')
                  ORDER BY a2.answered_on DESC, a2.id DESC LIMIT 1))"""


def coverage_expiring(conn: Database, as_of: _dt.date, within: int = 30) -> list[dict]:
    d = as_of.isoformat()
    hi = (as_of + _dt.timedelta(days=within)).isoformat()
    lo = (as_of - _dt.timedelta(days=within)).isoformat()
    out = []
    for row in conn.execute(
        """SELECT COALESCE(l.plan_end, c.effective_to),
                      p.mrn, p.last_name || ', ' || p.first_name, p.phone, py.code, c.member_id, c.priority,
                      (SELECT MIN(e.date_of_service) FROM encounters e WHERE e.patient_id =
                      c.patient_id AND e.date_of_service >= :d),
                      (SELECT MAX(e.date_of_service) FROM encounters e WHERE e.patient_id =
                      c.patient_id AND e.date_of_service < :d),
                      EXISTS (SELECT 1 FROM coverages o WHERE o.patient_id = c.patient_id AND o.id != c.id
                              AND o.priority = c.priority AND o.effective_from <= :d
                              AND (o.effective_to IS NULL OR o.effective_to >= :d)),
                      CASE WHEN l.plan_end IS NULL THEN 'records' ELSE '271' END, l.answered_on, l.status
               FROM coverages c JOIN patients p ON p.id = c.patient_id JOIN payers py ON py.id = c.payer_id
               LEFT JOIN """
        + _LAST_271
        + """ l ON l.coverage_id = c.id
               WHERE COALESCE(l.plan_end, c.effective_to) BETWEEN :lo AND :hi""",
        {"d": d, "lo": lo, "hi": hi},
    ):
        to, mrn, name, phone, payer, member, priority, nxt, last, replaced, per, checked, st = row
        days = (_dt.date.fromisoformat(to) - as_of).days
        if days < 0 and replaced:
            continue
        if days >= 0 and replaced:
            state = "renewed"
        else:
            state = "expiring" if days >= 0 else "lapsed"
        out.append(
            {
                "state": state,
                "days_left": days,
                "effective_to": to,
                "mrn": mrn,
                "patient": name,
                "phone": phone,
                "payer": payer,
                "member_id": member,
                "priority": priority,
                "next_visit": nxt,
                "last_visit": last,
                "ends_per": per,
                "eligibility_checked": checked,
                "eligibility_status": st,
            }
        )
    out.sort(
        key=lambda r: (r["next_visit"] is None, r["next_visit"] or "", r["effective_to"], r["mrn"])
    )
    return out


def filing_report(conn: Database, *, as_of: _dt.date, within: int = 30) -> Report:
    rows = timely_filing(conn, as_of, within)
    past = sum(1 for r in rows if r["state"] == "past")
    rep = Report(
        "timely-filing",
        f"Timely filing as of {as_of} (within {within} days)",
        {"Timely filing": rows},
        {"Timely filing": FILING_COLS},
        phi=True,
    )
    rep.notes.append(f"{len(rows) - past} due within {within} days, {past} past the deadline")
    return audited(conn, rep)


def coverage_report(conn: Database, *, as_of: _dt.date, within: int = 30) -> Report:
    rows = coverage_expiring(conn, as_of, within)
    rep = Report(
        "coverage-expiring",
        f"Coverage ending within {within} days of {as_of}",
        {"Coverage expiring": rows},
        {"Coverage expiring": COVERAGE_COLS},
        phi=True,
    )
    rep.notes.append(
        f"{sum(r['state'] == 'expiring' for r in rows)} expiring, {sum(r['state'] == 'lapsed' for r in rows)} "
        f"lapsed, {sum(r['next_visit'] is not None for r in rows)} with an upcoming visit"
    )
    return audited(conn, rep)

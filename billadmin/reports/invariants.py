"""The aging invariant for `billadmin check`: three ways of adding up what is owed agree.

Kept apart from ledger.py (the balances) because it reads the aging report, which itself is
built on ledger.py: ledger <- aging <- invariants, no cycle.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .. import money
from ..accounts import balances
from ..findings import Finding
from .aging import by_patient, by_payer
from .ledger import ledger_totals

if TYPE_CHECKING:
    from ..db import Database


def invariant_findings(conn: Database, as_of: _dt.date | None = None) -> list[Finding]:
    """For `billadmin check`: the ways of adding up what is owed agree.

    - the invoiced-only aging (by payer and by patient) = the sum of every claim's and patient
      invoice's open balance in the invoice_balances view (denied amounts included) = charges -
      payments - adjustments;
    - the aging as printed by default (by payer and by patient) = those open balances + what a
      payer's answer moved that no invoice carries yet (accounts.balances: patient
      responsibility before its statement, the next payer's share before its claim).

    Each side that disagrees is one finding, showing both figures."""
    if as_of is None:
        as_of = _whole_ledger(conn)
    view = _open_balances(conn)
    sides = {
        "aging --invoiced-only by payer": by_payer(conn, as_of, pending=False)[-1]["total_cents"],
        "aging --invoiced-only by patient": by_patient(conn, as_of, pending=False)[-1][
            "total_cents"
        ],
        "charges - payments - adjustments": ledger_totals(conn, as_of)["balance_cents"],
    }
    out = [
        _finding(name, total, view, "open balances")
        for name, total in sides.items()
        if total != view
    ]
    # the default aging adds exactly what no invoice carries yet, on top of the same-dated
    # invoiced-only aging (a difference in the invoices themselves is reported once, above)
    waiting = balances.pending(conn, as_of=as_of)
    extra = waiting["patient_cents"] + waiting["insurance_cents"]
    for per, fn in (("payer", by_payer), ("patient", by_patient)):
        base = sides[f"aging --invoiced-only by {per}"]
        total = fn(conn, as_of)[-1]["total_cents"]
        if total != base + extra:
            out.append(
                _finding(
                    f"aging by {per}",
                    total,
                    base + extra,
                    f"open balances {money.fmt(base)} + not yet invoiced {money.fmt(extra)} =",
                )
            )
    return out


def patient_findings(conn: Database) -> list[Finding]:
    """For `billadmin check` (LEDGER-PATIENT-CHARGED): what each patient was charged never goes
    below zero. A patient's charges are their patient invoices' totals, less credit notes and
    adjustments (write-offs), plus the patient responsibility an 835 moved that no patient
    invoice carries yet (accounts.balances, negative when a payer's reversal took back a share
    already billed). Below zero, the patient would be owed money they never paid (account show's
    patient_owes, the statement, the PATIENT aging row): only the patient's own payments may
    take what they owe below zero (an overpayment, refunded or kept as credit)."""
    charged: dict[int, int] = dict(
        conn.execute(
            "SELECT patient_id, SUM(total_cents + credited_cents - adjusted_cents)"
            " FROM invoice_balances WHERE kind = 'patient' GROUP BY patient_id"
        ).fetchall()
    )
    waiting: dict[int, int] = {}
    for pid, payer_id, _dos, _on, cents in balances.items(conn):
        if payer_id is balances.PATIENT:
            waiting[pid] = waiting.get(pid, 0) + cents
    out = []
    for pid in sorted(set(charged) | set(waiting)):
        invoiced, pending = charged.get(pid, 0), waiting.get(pid, 0)
        if invoiced + pending < 0:
            out.append(
                Finding(
                    "LEDGER-PATIENT-CHARGED",
                    "error",
                    f"patient id {pid}: charged {money.fmt(invoiced + pending)} (patient invoices"
                    f" less credit notes and write-offs {money.fmt(invoiced)} + not on an invoice"
                    f" yet {money.fmt(pending)}): {money.fmt(-invoiced - pending)} the patient"
                    " would be owed without having paid it",
                    source="reports.ledger",
                )
            )
    return out


def _whole_ledger(conn: Database) -> _dt.date:
    """Today, or the latest date on the ledger when that is later (an 835's payment date, BPR16,
    is often an EFT effective date a few days ahead of the file; credit applied with a later
    `--date` counts from that day, payment_allocations.applied_on)."""
    latest = conn.execute(
        "SELECT MAX(d) FROM (SELECT MAX(issued_on) AS d FROM invoices UNION ALL"
        " SELECT MAX(received_on) FROM payments UNION ALL SELECT MAX(created_on) FROM adjustments"
        " UNION ALL SELECT MAX(applied_on) FROM payment_allocations)"
    ).fetchone()[0]
    return max(_dt.date.today(), _dt.date.fromisoformat(latest) if latest else _dt.date.today())


def _open_balances(conn: Database) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(total_cents + credited_cents - paid_cents - adjusted_cents), 0)"
        " FROM invoice_balances"
    ).fetchone()[0]


def aging_line(conn: Database) -> str:
    """What `billadmin check` says when the invariant holds: the aging total as the sum it is
    (open balances of every claim and patient invoice, denied amounts included, plus what no
    invoice carries yet), figures only (no patient is named)."""
    waiting = balances.pending(conn, as_of=_whole_ledger(conn))
    extra = waiting["patient_cents"] + waiting["insurance_cents"]
    view = _open_balances(conn)
    f = lambda c: money.fmt(c, thousands=True)  # noqa: E731
    return (
        f"Aging {f(view + extra)} = open balances of every claim and patient invoice {f(view)}"
        f" (denied amounts included) + not on an invoice yet {f(extra)}"
    )


def _finding(name: str, total: int, want: int, what: str) -> Finding:
    d = total - want
    return Finding(
        "AGING-BALANCE",
        "error",
        f"{name} {money.fmt(total)} != {what} {money.fmt(want)} "
        f"({money.fmt(abs(d))} too {'much' if d > 0 else 'little'})",
        source="reports.ledger",
    )

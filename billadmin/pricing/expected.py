"""What each claim line should be allowed, and the 835 lines allowed less (underpayments).

Expected allowed = the payer's contract for the line's code (and first modifier) on its date
of service, times its units. The contractual adjustment an 835 should carry (CAS group CO) is
the charge less that amount. A remittance line is underpaid when the amount the payer allowed
(AMT*B6 on the 835 line; without it, the charge less the line's CO adjustments: X12 835
005010X221A1, 2110 AMT and CAS) is below the expected amount by more than the tolerance.
Medicare's locality, facility rate, multiple-procedure reduction and 2% sequestration are not
modelled: load Medicare's contract as the amounts your MAC publishes for your locality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .prices import Allowed, contract_allowed

if TYPE_CHECKING:
    from ..db import Database

EXPECTED_COLUMNS = [
    "invoice",
    "line",
    "date_of_service",
    "payer",
    "code",
    "modifier",
    "units",
    "charge_cents",
    "expected_allowed_cents",
    "expected_contractual_cents",
    "basis",
]
UNDERPAID_COLUMNS = [
    "invoice",
    "line",
    "date_of_service",
    "payer",
    "code",
    "units",
    "expected_allowed_cents",
    "allowed_835_cents",
    "short_by_cents",
    "paid_cents",
    "basis",
]


def _memo(conn: Database):
    """contract_allowed cached for one report (a practice repeats a few hundred combinations)."""
    memo: dict[tuple, Allowed | None] = {}

    def get(pid: int, code: str, mod: str, dos: str) -> Allowed | None:
        key = (pid, code, mod, dos)
        if key not in memo:
            memo[key] = contract_allowed(conn, pid, code, mod, dos)
        return memo[key]

    return get


def _first_mod(mods: str | None) -> str:
    parts = [m.strip().upper() for m in (mods or "").replace(":", ",").split(",") if m.strip()]
    return parts[0] if parts else ""


def expected_lines(
    conn: Database, *, invoice: str | None = None, since: str | None = None
) -> list[dict]:
    """Each claim line (invoices of kind 'claim') with its expected allowed amount."""

    sql = (
        "SELECT i.number, l.line_no, COALESCE(l.date_of_service, ''), p.code, i.payer_id, l.code,"
        " l.modifiers, l.units, l.amount_cents FROM invoice_lines l JOIN invoices i"
        " ON i.id = l.invoice_id JOIN payers p ON p.id = i.payer_id WHERE i.kind = 'claim'"
    )
    args: list = []
    if invoice:
        sql += " AND i.number = ?"
        args.append(invoice)
    if since:
        sql += " AND l.date_of_service >= ?"
        args.append(since)
    out = []
    allowed_on = _memo(conn)
    for number, ln, dos, payer, pid, code, mods, units, charge in conn.execute(
        sql + " ORDER BY i.id, l.line_no", args
    ):
        mod = _first_mod(mods)
        got = allowed_on(pid, code or "", mod, dos) if dos else None
        exp = got.cents * (units or 1) if got else None
        out.append(
            {
                "invoice": number,
                "line": ln,
                "date_of_service": dos,
                "payer": payer,
                "code": code,
                "modifier": mod,
                "units": units,
                "charge_cents": charge,
                "expected_allowed_cents": exp,
                "expected_contractual_cents": charge - exp if exp is not None else None,
                "basis": got.basis if got else "no contract row on the date of service",
            }
        )
    return out


def underpaid(conn: Database, *, tolerance_cents: int = 0) -> list[dict]:
    """835 lines whose allowed amount is below the contract's expected amount."""

    rows = conn.execute(
        "SELECT i.number, il.line_no, COALESCE(il.date_of_service, rl.service_from, ''), p.code,"
        " i.payer_id, il.code, il.modifiers, il.units, rl.charge_cents, rl.paid_cents,"
        " rl.allowed_cents, (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a"
        " WHERE a.claim_id = rl.claim_id AND a.line_id = rl.id AND a.group_code = 'CO')"
        " FROM remit_lines rl JOIN invoice_lines il ON il.id = rl.invoice_line_id"
        " JOIN invoices i ON i.id = il.invoice_id JOIN payers p ON p.id = i.payer_id"
        " ORDER BY i.id, il.line_no, rl.id"
    ).fetchall()
    out = []
    allowed_on = _memo(conn)
    for number, ln, dos, payer, pid, code, mods, units, charge, paid, allowed, co in rows:
        got = allowed_on(pid, code or "", _first_mod(mods), dos) if dos else None
        if got is None or paid == 0 and allowed in (None, 0):
            continue  # no contract, or a denial (reported by the denial reports instead)
        exp = got.cents * (units or 1)
        seen = allowed if allowed is not None else charge - co
        if exp - seen > tolerance_cents:
            out.append(
                {
                    "invoice": number,
                    "line": ln,
                    "date_of_service": dos,
                    "payer": payer,
                    "code": code,
                    "units": units,
                    "expected_allowed_cents": exp,
                    "allowed_835_cents": seen,
                    "short_by_cents": exp - seen,
                    "paid_cents": paid,
                    "basis": got.basis,
                }
            )
    return out

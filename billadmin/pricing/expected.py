"""What each claim line should be allowed, and the 835 lines allowed less (underpayments).

Expected allowed, per claim line on its date of service:
- a Medicare payer (payer kind 'medicare') with the fee schedule loaded (`codes mpfs-load`) and
  the practice's locality set: the MPFS amount with the facility/non-facility rate, the multiple
  procedure reduction and the lower of charge and fee (pricing.medicare states the rules); its
  expected payment is 80% of that less the 2% sequestration (deductible aside);
- otherwise (and for a Medicare line without an MPFS amount) the payer's contract for the
  line's code (and first modifier), times its units.
The contractual adjustment an 835 should carry (CAS group CO) is the charge less the allowed.
A remittance line is underpaid when the amount the payer allowed (AMT*B6 on the 835 line;
without it, the charge less the line's CO adjustments other than CO-253, sequestration, which
reduces the payment, not the allowed: X12 835 005010X221A1, 2110 AMT and CAS) is below the
expected amount by more than the tolerance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .medicare import Expected, Pricer
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
    "expected_paid_cents",
    "expected_sequestration_cents",
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
NO_CONTRACT = "no contract row on the date of service"

# one claim's lines with what pricing needs: the place of service is the encounter's
_LINES_SQL = (
    "SELECT il.id, il.line_no, COALESCE(il.date_of_service, ''), il.code, il.modifiers,"
    " il.units, il.amount_cents, i.payer_id, p.kind, p.code,"
    " COALESCE(e1.place_of_service, e2.place_of_service, '')"
    " FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id"
    " LEFT JOIN payers p ON p.id = i.payer_id"
    " LEFT JOIN charge_lines cl ON cl.id = il.charge_line_id"
    " LEFT JOIN encounters e1 ON e1.id = cl.encounter_id"
    " LEFT JOIN encounters e2 ON e2.id = i.encounter_id"
    " WHERE il.invoice_id = ? ORDER BY il.line_no"
)


def _first_mod(mods: str | None) -> str:
    parts = [m.strip().upper() for m in (mods or "").replace(":", ",").split(",") if m.strip()]
    return parts[0] if parts else ""


class Expectations:
    """Expected amounts per claim line, computed once per invoice (a report asks line by line;
    the multiple procedure reduction needs the claim's other lines)."""

    def __init__(self, conn: Database):
        self.conn = conn
        self._pricer: Pricer | None = None
        self._contract: dict[tuple, Allowed | None] = {}
        self._invoices: dict[int, dict[int, tuple[Expected | None, str]]] = {}

    def _allowed(self, pid: int, code: str, mod: str, dos: str, pos: str) -> Allowed | None:
        key = (pid, code, mod, dos, pos)
        if key not in self._contract:
            self._contract[key] = contract_allowed(self.conn, pid, code, mod, dos, pos=pos)
        return self._contract[key]

    def invoice(self, invoice_id: int) -> dict[int, tuple[Expected | None, str]]:
        """invoice line id -> (expected or None, why none)."""
        if invoice_id not in self._invoices:
            self._invoices[invoice_id] = self._compute(invoice_id)
        return self._invoices[invoice_id]

    def line(self, invoice_id: int, line_id: int) -> Expected | None:
        return self.invoice(invoice_id).get(line_id, (None, ""))[0]

    def _compute(self, invoice_id: int) -> dict[int, tuple[Expected | None, str]]:
        lines = [
            {
                "id": lid,
                "line_no": n,
                "dos": dos,
                "code": code or "",
                "modifiers": mods,
                "units": units,
                "charge_cents": charge,
                "payer_id": pid,
                "kind": kind,
                "pos": pos,
            }
            for lid, n, dos, code, mods, units, charge, pid, kind, _p, pos in self.conn.execute(
                _LINES_SQL, (invoice_id,)
            )
        ]
        medicare: dict[int, Expected | None] = {}
        if lines and lines[0]["kind"] == "medicare":
            if self._pricer is None:
                self._pricer = Pricer(self.conn)
            medicare = self._pricer.claim([ln for ln in lines if ln["dos"]])
        out: dict[int, tuple[Expected | None, str]] = {}
        for ln in lines:
            got = medicare.get(ln["id"])
            if got is not None:
                out[ln["id"]] = (got, "")
                continue
            allowed = (
                self._allowed(
                    ln["payer_id"], ln["code"], _first_mod(ln["modifiers"]), ln["dos"], ln["pos"]
                )
                if ln["dos"] and ln["payer_id"] is not None
                else None
            )
            if allowed is not None:
                out[ln["id"]] = (Expected(allowed.cents * (ln["units"] or 1), allowed.basis), "")
            else:
                why = ln.get("why")
                out[ln["id"]] = (None, f"{why}; {NO_CONTRACT}" if why else NO_CONTRACT)
        return out


def expected_lines(
    conn: Database, *, invoice: str | None = None, since: str | None = None
) -> list[dict]:
    """Each claim line (invoices of kind 'claim') with its expected allowed amount."""

    sql = (
        "SELECT i.id, i.number, p.code FROM invoices i JOIN payers p ON p.id = i.payer_id"
        " WHERE i.kind = 'claim'"
    )
    args: list = []
    if invoice:
        sql += " AND i.number = ?"
        args.append(invoice)
    if since:
        sql += " AND EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id"
        sql += " AND l.date_of_service >= ?)"
        args.append(since)
    out = []
    exp = Expectations(conn)
    for iid, number, payer in conn.execute(sql + " ORDER BY i.id", args).fetchall():
        found = exp.invoice(iid)
        for lid, ln, dos, code, mods, units, charge in conn.execute(
            "SELECT id, line_no, COALESCE(date_of_service, ''), code, modifiers, units,"
            " amount_cents FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no",
            (iid,),
        ).fetchall():
            if since and dos < since:
                continue
            got, why = found.get(lid, (None, NO_CONTRACT))
            a = got.allowed_cents if got else None
            out.append(
                {
                    "invoice": number,
                    "line": ln,
                    "date_of_service": dos,
                    "payer": payer,
                    "code": code,
                    "modifier": _first_mod(mods),
                    "units": units,
                    "charge_cents": charge,
                    "expected_allowed_cents": a,
                    "expected_contractual_cents": charge - a if a is not None else None,
                    "expected_paid_cents": got.paid_cents if got else None,
                    "expected_sequestration_cents": got.sequestration_cents if got else None,
                    "basis": got.basis if got else why,
                }
            )
    return out


def underpaid(conn: Database, *, tolerance_cents: int = 0) -> list[dict]:
    """835 lines whose allowed amount is below the expected amount (contract or MPFS)."""

    rows = conn.execute(
        "SELECT i.id, il.id, i.number, il.line_no,"
        " COALESCE(il.date_of_service, rl.service_from, ''), p.code, il.code, il.units,"
        " rl.charge_cents, rl.paid_cents, rl.allowed_cents,"
        " (SELECT COALESCE(SUM(a.amount_cents), 0) FROM remit_adjustments a"
        " WHERE a.claim_id = rl.claim_id AND a.line_id = rl.id AND a.group_code = 'CO'"
        " AND a.reason_code != '253')"
        " FROM remit_lines rl JOIN invoice_lines il ON il.id = rl.invoice_line_id"
        " JOIN invoices i ON i.id = il.invoice_id JOIN payers p ON p.id = i.payer_id"
        " ORDER BY i.id, il.line_no, rl.id"
    ).fetchall()
    out = []
    exp = Expectations(conn)
    for iid, lid, number, ln, dos, payer, code, units, charge, paid, allowed, co in rows:
        got = exp.line(iid, lid)
        if got is None or paid == 0 and allowed in (None, 0):
            continue  # nothing expected, or a denial (reported by the denial reports instead)
        seen = allowed if allowed is not None else charge - co
        if got.allowed_cents - seen > tolerance_cents:
            out.append(
                {
                    "invoice": number,
                    "line": ln,
                    "date_of_service": dos,
                    "payer": payer,
                    "code": code,
                    "units": units,
                    "expected_allowed_cents": got.allowed_cents,
                    "allowed_835_cents": seen,
                    "short_by_cents": got.allowed_cents - seen,
                    "paid_cents": paid,
                    "basis": got.basis,
                }
            )
    return out

"""The monthly price-change analysis: codes whose charge or contract price changed in a month.

A change is a charge master or payer contract row taking effect in the month for a code that
had a price the day before (a code priced for the first time is listed with no old price). The
old and new prices are the unit prices in force the day before and on the day it takes effect
(a contract percentage resolved against its base on each day). Volume is the units billed in
the month before: every charge line not removed for a charge (by date of service), the claim
lines of that payer for a contract. Revenue impact = (new - old) x that volume: what the month
before would have brought at the new price.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from .base import Chart, Report, pct

if TYPE_CHECKING:
    from ..db import Database

COLUMNS = [
    "kind",
    "payer",
    "code",
    "modifier",
    "effective",
    "old_price_cents",
    "new_price_cents",
    "change_cents",
    "change_pct",
    "units_month_before",
    "revenue_impact_cents",
]


def month_bounds(month: str) -> tuple[_dt.date, _dt.date]:
    """'2026-10' -> (2026-10-01, 2026-10-31); BadInput for anything else."""
    from ..errors import BadInput

    try:
        first = _dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise BadInput(f"--month: YYYY-MM (got {month!r})") from None
    nxt = (first.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
    return first, nxt - _dt.timedelta(days=1)


def _prev_month(first: _dt.date) -> tuple[str, str]:
    last = first - _dt.timedelta(days=1)
    return last.replace(day=1).isoformat(), last.isoformat()


def price_changes(conn: Database, month: str) -> Report:
    from ..pricing.prices import charge_price, contract_allowed

    first, last = month_bounds(month)
    p_from, p_to = _prev_month(first)
    rows: list[dict] = []
    for code, mod, eff in conn.execute(
        "SELECT code, modifier, effective_from FROM charge_master"
        " WHERE effective_from BETWEEN ? AND ? ORDER BY code, modifier, effective_from",
        (first.isoformat(), last.isoformat()),
    ).fetchall():
        day_before = (_dt.date.fromisoformat(eff) - _dt.timedelta(days=1)).isoformat()
        old = charge_price(conn, code, mod, day_before)
        new = charge_price(conn, code, mod, eff)
        units = conn.execute(
            "SELECT COALESCE(SUM(l.units), 0) FROM charge_lines l JOIN encounters e"
            " ON e.id = l.encounter_id WHERE l.code = ? AND l.status != 'void'"
            " AND (? = '' OR COALESCE(l.modifier1, '') = ?)"
            " AND e.date_of_service BETWEEN ? AND ?",
            (code, mod, mod, p_from, p_to),
        ).fetchone()[0]
        rows.append(_row("charge", None, code, mod, eff, old, new, units))
    for pid, payer, code, mod, eff in conn.execute(
        "SELECT c.payer_id, p.code, c.code, c.modifier, c.effective_from FROM payer_contracts c"
        " JOIN payers p ON p.id = c.payer_id WHERE c.effective_from BETWEEN ? AND ?"
        " ORDER BY p.code, c.code, c.modifier, c.effective_from",
        (first.isoformat(), last.isoformat()),
    ).fetchall():
        day_before = (_dt.date.fromisoformat(eff) - _dt.timedelta(days=1)).isoformat()
        o = contract_allowed(conn, pid, code, mod, day_before)
        n = contract_allowed(conn, pid, code, mod, eff)
        units = conn.execute(
            "SELECT COALESCE(SUM(l.units), 0) FROM invoice_lines l JOIN invoices i"
            " ON i.id = l.invoice_id WHERE i.kind = 'claim' AND i.payer_id = ? AND l.code = ?"
            " AND (? = '' OR l.modifiers = ? OR l.modifiers LIKE ? || ',%')"
            " AND l.date_of_service BETWEEN ? AND ?",
            (pid, code, mod, mod, mod, p_from, p_to),
        ).fetchone()[0]
        rows.append(
            _row(
                "contract",
                payer,
                code,
                mod,
                eff,
                o.cents if o else None,
                n.cents if n else None,
                units,
            )
        )
    from .. import money

    total = sum(r["revenue_impact_cents"] or 0 for r in rows)
    notes = [
        f"{len(rows):,} price change(s) taking effect in {month}; volume is the units of"
        f" {p_from[:7]}; revenue impact at that volume: {money.fmt(total, thousands=True)}"
    ]
    if not rows:
        notes = [f"no charge master or contract price takes effect in {month}"]
    charts = []
    if rows:
        charts.append(
            Chart(
                "bar",
                "changes",
                f"Revenue impact of the {month} price changes",
                "code",
                ["revenue_impact_cents"],
                y_title="dollars a month",
            )
        )
    return Report(
        "price-changes",
        f"Price changes {month}",
        {"changes": rows},
        {"changes": COLUMNS},
        charts=charts,
        notes=notes,
    )


def _row(kind, payer, code, mod, eff, old, new, units) -> dict:
    change = new - old if old is not None and new is not None else None
    return {
        "kind": kind,
        "payer": payer,
        "code": code,
        "modifier": mod,
        "effective": eff,
        "old_price_cents": old,
        "new_price_cents": new,
        "change_cents": change,
        "change_pct": pct(change, old) if change is not None and old else None,
        "units_month_before": units,
        "revenue_impact_cents": change * units if change is not None else None,
    }


def expected_report(
    conn: Database, *, invoice: str | None = None, since: str | None = None
) -> Report:
    """Each claim line's expected allowed amount and contractual adjustment (pricing.expected)."""
    from ..pricing import expected

    rows = expected.expected_lines(conn, invoice=invoice, since=since)
    missing = sum(1 for r in rows if r["expected_allowed_cents"] is None)
    notes = [f"{len(rows):,} claim line(s); {missing:,} without a contract row on their date"]
    return Report(
        "contract-expected",
        "Expected allowed per claim line",
        {"lines": rows},
        {"lines": expected.EXPECTED_COLUMNS},
        notes=notes,
    )


def underpaid_report(conn: Database, *, tolerance_cents: int = 0) -> Report:
    """835 lines allowed below the payer's contract (pricing.expected.underpaid)."""
    from .. import money
    from ..pricing import expected

    rows = expected.underpaid(conn, tolerance_cents=tolerance_cents)
    short = sum(r["short_by_cents"] for r in rows)
    return Report(
        "underpaid-contracts",
        "Remittance lines allowed below contract",
        {"underpaid": rows},
        {"underpaid": expected.UNDERPAID_COLUMNS},
        notes=[
            f"{len(rows):,} line(s) allowed below contract, {money.fmt(short, thousands=True)} in all"
        ],
    )

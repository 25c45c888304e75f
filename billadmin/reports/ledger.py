"""Balances as of a date, computed from the core ledger in one pass per table.

An invoice's balance = total + credit notes - payments allocated - adjustments (the shared
invoice_balances view), counting only what is dated on or before ``as_of`` (an allocation by its
applied_on, else its payment's received_on). Credit notes are
not items of their own: they reduce the invoice they credit. Every invoice with a non-zero
balance is an open item, negative ones (overpaid) included, so the aging total always equals
charges - payments - adjustments in the ledger.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..db import Database


# One row per invoice issued on or before :as_of: id, kind, patient_id, payer_id, encounter_id,
# dos (encounter date, else the earliest line date, else the issue date), issued_on, balance_cents
ITEMS_CTE = """
paid AS (SELECT a.invoice_id, SUM(a.amount_cents) AS s FROM payment_allocations a
         JOIN payments p ON p.id = a.payment_id WHERE COALESCE(a.applied_on, p.received_on) <= :as_of
         GROUP BY a.invoice_id),
adj AS (SELECT invoice_id, SUM(amount_cents) AS s FROM adjustments WHERE created_on <= :as_of GROUP BY invoice_id),
cred AS (SELECT original_invoice_id AS invoice_id, SUM(total_cents) AS s FROM invoices
         WHERE kind = 'credit' AND original_invoice_id IS NOT NULL AND issued_on <= :as_of GROUP BY
         original_invoice_id),
items AS (
  SELECT i.id, i.kind, i.patient_id, i.payer_id, i.encounter_id, i.issued_on,
         COALESCE(e.date_of_service, (SELECT MIN(l.date_of_service) FROM invoice_lines l WHERE l.invoice_id = i.id),
                  i.issued_on) AS dos,
         i.total_cents + COALESCE(cred.s, 0) - COALESCE(paid.s, 0) - COALESCE(adj.s, 0) AS balance_cents
  FROM invoices i
  LEFT JOIN paid ON paid.invoice_id = i.id LEFT JOIN adj ON adj.invoice_id = i.id LEFT JOIN cred ON
  cred.invoice_id = i.id
  LEFT JOIN encounters e ON e.id = i.encounter_id
  WHERE i.kind != 'credit' AND i.issued_on <= :as_of)
"""

# a claim (row aliased `i`) that a credit note or a new claim took the place of: voided (its
# charges cancelled), replaced or resubmitted (its successor carries them); counted by the
# reports of claims billed once, through its successor (docs/claim-states.md)
SUPERSEDED_SQL = (
    "EXISTS (SELECT 1 FROM invoice_events v WHERE v.invoice_id = i.id"
    " AND v.status IN ('voided', 'replaced', 'corrected'))"
)

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
BUCKET_KEYS = tuple(f"{b}_cents" for b in BUCKETS)


def bucket_sql(age: str) -> str:
    """SQL giving the bucket index 0..4 of an age in days (0-30, 31-60, 61-90, 91-120, 120+; ages
    below 0 count as 0-30). One reference to the age, so its date expression is evaluated once."""
    return f"MIN(4, MAX(0, ({age} - 1) / 30))"


def age_sql(basis: str) -> str:
    col = {"dos": "dos", "invoice": "issued_on"}[basis]
    return f"CAST(julianday(:as_of) - julianday({col}) AS INTEGER)"


def open_items(conn: Database, as_of: _dt.date, *, basis: str = "dos") -> list[tuple]:
    """[(invoice_id, kind, patient_id, payer_id, bucket, balance_cents)] for non-zero balances."""
    sql = (
        f"WITH {ITEMS_CTE} SELECT id, kind, patient_id, payer_id, {bucket_sql(age_sql(basis))}, balance_cents"
        f" FROM items WHERE balance_cents != 0"
    )
    return conn.execute(sql, {"as_of": as_of.isoformat()}).fetchall()


def ledger_totals(conn: Database, as_of: _dt.date) -> dict[str, int]:
    """charges (invoice totals + credit notes), payments allocated, adjustments, and
    charges - payments - adjustments, as of the date: the other side of the aging invariant."""
    d = {"as_of": as_of.isoformat()}
    charges = conn.execute(
        "SELECT COALESCE(SUM(total_cents), 0) FROM invoices WHERE kind != 'credit' AND issued_on <= :as_of",
        d,
    ).fetchone()[0]
    credits = conn.execute(
        """SELECT COALESCE(SUM(c.total_cents), 0) FROM invoices c JOIN invoices o ON o.id = c.original_invoice_id
           WHERE c.kind = 'credit' AND c.issued_on <= :as_of AND o.kind != 'credit' AND o.issued_on <= :as_of""",
        d,
    ).fetchone()[0]
    paid = conn.execute(
        """SELECT COALESCE(SUM(a.amount_cents), 0) FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
           JOIN invoices i ON i.id = a.invoice_id WHERE COALESCE(a.applied_on, p.received_on) <= :as_of AND i.kind !=
           'credit' AND i.issued_on <= :as_of""",
        d,
    ).fetchone()[0]
    adjusted = conn.execute(
        """SELECT COALESCE(SUM(d.amount_cents), 0) FROM adjustments d JOIN invoices i ON i.id = d.invoice_id
           WHERE d.created_on <= :as_of AND i.kind != 'credit' AND i.issued_on <= :as_of""",
        d,
    ).fetchone()[0]
    return {
        "charges_cents": charges + credits,
        "payments_cents": paid,
        "adjustments_cents": adjusted,
        "balance_cents": charges + credits - paid - adjusted,
    }

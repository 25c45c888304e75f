"""CARC meanings and categories for account work, from the remittance domain (remit.codes).

SQL over a million adjustments needs the categories in the database: :func:`ensure_temp_table`
copies remit.codes into a TEMP table per connection (nothing is written to the file).

Denials are not ledger adjustments (remit.carc_rules): a denied amount stays open on the claim
and is read from remit_adjustments (class 'denial', on a posted remit claim). The TEMP view
``temp.denial_rows`` gives every denial in the shape of an adjustment row (invoice_id,
invoice_line_id, group_code, reason_code, amount_cents, created_on, in_ledger). Databases posted
before the classes existed hold their denials as adjustments (source 'remit', group CO/OA/PI,
a CARC with a denial category): the view includes those with in_ledger = 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..remit import codes

if TYPE_CHECKING:
    from ..db import Database


# The clerk's next step per denial category (issue 7: correct and resubmit, appeal, bill patient,
# write off). Categories not listed: appeal.
NEXT_STEP = {
    "missing_information": "correct and resubmit",
    "coding": "correct and resubmit",
    "provider": "correct and resubmit",
    "coordination_of_benefits": "correct and resubmit",
    "eligibility": "bill patient",
    "non_covered": "bill patient",
    "duplicate": "write off",
}


def describe(code: str) -> tuple[str, str]:
    """(category, meaning) of a CARC."""
    return codes.describe("CARC", code)


def describe_rarc(code: str) -> tuple[str, str]:
    return codes.describe("RARC", code)


def is_denial(group: str | None, reason: str | None) -> bool:
    if not group or not reason:
        return False
    return codes.is_denial(group, reason)


def ensure_temp_table(conn: Database) -> None:
    """temp.carc(code, category, meaning, denial) for joins; idempotent per connection."""
    if conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'carc'").fetchone():
        return
    conn.execute(
        "CREATE TEMP TABLE carc (code TEXT PRIMARY KEY, category TEXT NOT NULL, meaning TEXT NOT NULL,"
        " denial INTEGER NOT NULL)"
    )
    conn.conn.executemany(
        "INSERT INTO temp.carc VALUES (?,?,?,?)",
        [(c, cat, m, int(cat in codes.DENIAL_CATEGORIES)) for c, cat, m in codes.CARC],
    )
    conn.execute(
        f"""CREATE TEMP VIEW denial_rows AS
        SELECT c.invoice_id AS invoice_id, rl.invoice_line_id AS invoice_line_id,
               ra.group_code AS group_code, ra.reason_code AS reason_code,
               ra.amount_cents AS amount_cents,
               COALESCE(ra.posted_on, t.payment_date, t.production_date) AS created_on,
               0 AS in_ledger
        FROM remit_adjustments ra JOIN remit_claims c ON c.id = ra.claim_id
        JOIN remit_transactions t ON t.id = c.transaction_id
        LEFT JOIN remit_lines rl ON rl.id = ra.line_id
        WHERE ra.class = 'denial' AND ra.adjustment_id IS NULL AND c.invoice_id IS NOT NULL
          AND c.outcome IN ('paid', 'partially_paid', 'denied', 'reversed')
        UNION ALL
        SELECT d.invoice_id, d.invoice_line_id, d.group_code, d.reason_code, d.amount_cents,
               d.created_on, 1
        FROM adjustments d LEFT JOIN temp.carc k ON k.code = d.reason_code
        WHERE {LEGACY_DENIAL_SQL}
          AND NOT EXISTS (SELECT 1 FROM remit_adjustments x
                          WHERE x.adjustment_id = d.id AND x.class IS NOT NULL)"""
    )


# A denial posted as an adjustment before the posting classes (row aliased `d`, joined
# `LEFT JOIN temp.carc k ON k.code = d.reason_code`); new denials are in temp.denial_rows only.
LEGACY_DENIAL_SQL = (
    "(d.source = 'remit' AND d.group_code IN ('CO','OA','PI') AND COALESCE(k.denial, 1) = 1)"
)
# contractual: CO with a contractual or payment-adjustment category (fee-schedule write-down, sequestration)
CONTRACTUAL_SQL = "(d.group_code = 'CO' AND k.category IN ('contractual','payment_adjustment'))"

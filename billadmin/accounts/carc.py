"""CARC meanings and categories for account work, from the remittance domain (remit.codes).

SQL over a million adjustments needs the categories in the database: :func:`ensure_temp_table`
copies remit.codes into a TEMP table per connection (nothing is written to the file). The rule
for a denial is remit.codes.is_denial: group CO/OA/PI (never PR, never CR) with a CARC whose
category is a denial category; a CARC not in the table counts as 'other', a denial.
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


# SQL predicate for a denial adjustment row aliased `d`, joined `LEFT JOIN temp.carc k ON k.code = d.reason_code`
DENIAL_SQL = (
    "(d.source = 'remit' AND d.group_code IN ('CO','OA','PI') AND COALESCE(k.denial, 1) = 1)"
)
# contractual: CO with a contractual or payment-adjustment category (fee-schedule write-down, sequestration)
CONTRACTUAL_SQL = "(d.group_code = 'CO' AND k.category IN ('contractual','payment_adjustment'))"

"""The practice's statement settings, kept in the settings table beside the practice's others.

- statement.minimum: a balance under it gets no statement (default 5.00; a plan still gets one).
- statement.cycle_days: the days of the month statements go out, e.g. "1,15" (default "1").
  With several cycle days each patient belongs to one cycle (patient id modulo the number of
  days), so `statement run --cycle-day 15` states only that cycle's patients.
- statement.text.<step>: the message printed for a dunning step (defaults in TEXTS).
- collections.after_days: days after a final notice before the account goes to collections
  (default 30).
- plan.grace_days: days after an installment's due date before it counts as missed (default 10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import audit, db, money
from ..errors import BadInput

if TYPE_CHECKING:
    from ..db import Database

# Dunning steps by the age of the oldest unpaid item (days since the invoice was issued, or since
# a payer's answer moved the amount to the patient): 30/60/90 past due, then a final notice at
# 120 days, the last statement before collections (collections.py).
STEPS = (("current", 0), ("30", 30), ("60", 60), ("90", 90), ("final", 120))
PLAN_STEP = "plan"

TEXTS = {
    "current": "Thank you for choosing us. This statement shows what you owe on your account.",
    "30": "Your account is past due. Please pay the balance due, or call us with any question.",
    "60": "Your account is 60 days past due. Please pay now, or call us to set up a payment plan.",
    "90": "Your account is 90 days past due. Please pay now; if you cannot pay it all, call us"
    " today to set up a payment plan.",
    "final": "FINAL NOTICE: your account is 120 days past due. Unless it is paid, or a payment"
    " plan is set up, within 30 days it will be sent to a collection agency.",
    "plan": "You are on a payment plan. Please pay the installment due by the date shown.",
}

DEFAULTS = {
    "statement.minimum": "5.00",
    "statement.cycle_days": "1",
    "collections.after_days": "30",
    "plan.grace_days": "10",
}


def _get(conn: Database, key: str) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row:
        return row[0]
    if key.startswith("statement.text."):
        return TEXTS[key.removeprefix("statement.text.")]
    return DEFAULTS[key]


def minimum_cents(conn: Database) -> int:
    return money.parse_cents(_get(conn, "statement.minimum"), allow_negative=False)


def cycle_days(conn: Database) -> list[int]:
    return [int(x) for x in _get(conn, "statement.cycle_days").split(",") if x.strip()]


def after_days(conn: Database) -> int:
    return int(_get(conn, "collections.after_days"))


def grace_days(conn: Database) -> int:
    return int(_get(conn, "plan.grace_days"))


def text(conn: Database, step: str) -> str:
    return _get(conn, f"statement.text.{step}")


def step_for(days: int) -> str:
    """The dunning step for the age in days of the oldest unpaid item (STEPS)."""
    out = STEPS[0][0]
    for name, start in STEPS:
        if days >= start:
            out = name
    return out


def show(conn: Database) -> list[dict]:
    keys = list(DEFAULTS) + [f"statement.text.{s}" for s in TEXTS]
    return [{"setting": k, "value": _get(conn, k)} for k in keys]


def _check(key: str, value: str) -> str:
    value = (value or "").strip()
    if key == "statement.minimum":
        try:
            return money.fmt(money.parse_cents(value, allow_negative=False))
        except ValueError as e:
            raise BadInput(f"--minimum: {e}") from None
    if key == "statement.cycle_days":
        try:
            days = sorted({int(x) for x in value.split(",") if x.strip()})
        except ValueError:
            raise BadInput("--cycle-days: days of the month 1-28, comma-separated") from None
        if not days or any(not 1 <= d <= 28 for d in days):
            raise BadInput("--cycle-days: days of the month 1-28, comma-separated")
        return ",".join(str(d) for d in days)
    if key in ("collections.after_days", "plan.grace_days"):
        if not value.isdigit() or int(value) > 365:
            raise BadInput(f"{key}: a number of days from 0 to 365")
        return str(int(value))
    if not value or len(value) > 600:
        raise BadInput(f"{key}: the text must have 1 to 600 characters")
    return value


def set_many(conn: Database, values: dict[str, str]) -> list[dict]:
    """Set settings (keys of DEFAULTS or statement.text.<step>), checked first; audited."""
    checked = {}
    for key, value in values.items():
        if key not in DEFAULTS and key.removeprefix("statement.text.") not in TEXTS:
            raise BadInput(f"unknown statement setting {key}")
        checked[key] = _check(key, value)
    with db.write(conn):
        for key, value in checked.items():
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        audit.record(conn, "statement config", entity="settings", detail={"keys": sorted(checked)})
    return show(conn)

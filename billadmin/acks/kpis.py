"""Acknowledgement KPIs for `report kpi` (reports/kpi.py adds these rows when any claim was
acknowledged).

Formulas (period = --from..--to; a claim's send date is its billing run's day):
  first_pass_acceptance = claims accepted with no rejection before or after
                          / claims first sent in the period that a 999, TA1 or 277CA accepted
                          or rejected (a claim with only 'received' answers is not counted)
  days_to_acceptance    = mean days from a claim's first send to its first acceptance (the
                          277CA status date, else the day read), over claims accepted in period
  rejected: CODE        = claims rejected in the period for that reason (the first rejecting
                          status: 277CA category:code, 999 IK5, TA1 note), in words
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from . import codes

if TYPE_CHECKING:
    from ..db import Database

FORMULAS = {
    "first_pass_acceptance": "claims accepted with no rejection / claims first sent in period and"
    " accepted or rejected by a 999, TA1 or 277CA",
    "days_to_acceptance": "mean days from first send to first acceptance, claims accepted in period",
    "rejected": "claims rejected in period for this reason (first rejecting status)",
}

_CLAIMS = """
SELECT i.id,
  (SELECT MIN(COALESCE(b.issued_on, substr(f.created_at, 1, 10))) FROM invoice_files f
   LEFT JOIN billing_runs b ON b.id = f.run_id WHERE f.invoice_id = i.id AND f.kind = 'x12'),
  (SELECT MIN(COALESCE(a.effective_on, substr(a.read_at, 1, 10))) FROM claim_acks a
   WHERE a.invoice_id = i.id AND a.outcome = 'accepted'),
  EXISTS (SELECT 1 FROM claim_acks a WHERE a.invoice_id = i.id AND a.outcome = 'rejected')
FROM invoices i WHERE i.kind = 'claim' AND EXISTS
  (SELECT 1 FROM claim_acks a WHERE a.invoice_id = i.id AND a.outcome IN ('accepted', 'rejected'))
"""


def _reason(kind: str, cs: list[str]) -> str:
    for c in cs:
        if c.startswith(("TA1:", "IK5:", "AK9:")):
            return c
        p = c.split(":")
        if c.startswith("line "):
            p = p[1:]
        if p and p[0] in ("A3", "A6", "A7", "A8"):
            return f"{p[0]}:{p[1]}"
    return f"{kind} (no code)"


def _words(reason: str) -> str:
    kind, _, code = reason.partition(":")
    if kind == "TA1":
        return "file rejected: " + codes.TA1_NOTES.get(code, code)
    if kind in ("IK5", "AK9"):
        return "transaction set rejected by the 999"
    return codes.explain(kind, code) if code else reason


def rows(conn: Database, start: _dt.date, end: _dt.date) -> list[dict]:
    """The KPI rows (module docstring); none when no claim was ever acknowledged."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'claim_acks'").fetchone():
        return []
    s, e = start.isoformat(), end.isoformat()
    sent = first = 0
    days: list[int] = []
    for _iid, sent_on, accepted_on, rejected in conn.execute(_CLAIMS):
        if sent_on and s <= sent_on <= e:
            sent += 1
            first += 1 if accepted_on and not rejected else 0
        if accepted_on and s <= accepted_on <= e and sent_on:
            days.append(
                (_dt.date.fromisoformat(accepted_on) - _dt.date.fromisoformat(sent_on)).days
            )
    reasons: Counter[str] = Counter()
    seen: set[int] = set()
    for iid, kind, cs in conn.execute(
        "SELECT invoice_id, kind, codes FROM claim_acks WHERE outcome = 'rejected'"
        " AND COALESCE(effective_on, substr(read_at, 1, 10)) BETWEEN ? AND ? ORDER BY id",
        (s, e),
    ):
        if iid not in seen:
            seen.add(iid)
            reasons[_reason(kind, json.loads(cs))] += 1
    if not sent and not days and not reasons:
        return []
    one = Decimal("0.1")
    mean = (Decimal(sum(days)) / len(days)).quantize(one, ROUND_HALF_UP) if days else None
    rate = (Decimal(first * 100) / sent).quantize(one, ROUND_HALF_UP) if sent else None
    out: list[dict] = [
        {
            "kpi": "first_pass_acceptance",
            "value": rate,
            "unit": "%",
            "numerator": f"{first} accepted first time",
            "denominator": f"{sent} sent and acknowledged",
            "formula": FORMULAS["first_pass_acceptance"],
        },
        {
            "kpi": "days_to_acceptance",
            "value": mean,
            "unit": "days",
            "numerator": f"{sum(days)} days",
            "denominator": f"{len(days)} accepted",
            "formula": FORMULAS["days_to_acceptance"],
        },
    ]
    for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(
            {
                "kpi": f"rejected: {reason}",
                "value": n,
                "unit": "claims",
                "numerator": _words(reason),
                "denominator": "",
                "formula": FORMULAS["rejected"],
            }
        )
    return out

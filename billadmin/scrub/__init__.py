"""The claim scrubber: every unbilled charge line checked against the code sets, NCCI edits and
claim rules before it is billed. Errors are data: ``check`` returns every finding.

    from billadmin.scrub import check
    findings = check(conn, encounter_ids=[12, 13], as_of=datetime.date(2026, 11, 26))

Rule ids are stable and documented (``billadmin codes rules``); see ``rules.py`` for each rule
and its source.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..findings import Finding
from . import institutional as _institutional  # registers the INST-* rules (837I claims)

if TYPE_CHECKING:
    from ..db import Database


def check(
    conn: Database,
    *,
    encounter_ids: list[int] | None = None,
    as_of: _dt.date | None = None,
    rules: Iterable[str] | None = None,
) -> list[Finding]:
    """Scrub the unbilled charge lines (status 'unbilled') of these encounters (None = all).

    Each Finding carries rule, severity ("error" | "warning"), message, encounter (number),
    encounter_id, line (line number, None for encounter-level findings) and source. ``as_of`` is
    "today" for future-DOS and timely-filing checks. ``rules`` limits the run to those rule ids.
    """
    from .engine import check_db

    day = as_of or _dt.date.today()
    found = check_db(conn, encounter_ids=encounter_ids, as_of=day, rules=rules)
    # unbilled institutional claims (837I) of the scope get the INST-* rules
    return found + _institutional.check_unbilled(
        conn, encounter_ids=encounter_ids, as_of=day, rules=rules
    )


def rules_table() -> list[dict]:
    """Every rule: id, severity, level, summary, source (for `billadmin codes rules`)."""
    from .rules import RULES

    return [
        {
            "rule": r.id,
            "severity": r.severity,
            "scope": r.level,
            "checks": r.summary,
            "source": r.source,
        }
        for r in RULES.values()
    ]


__all__ = ["check", "rules_table", "Finding"]

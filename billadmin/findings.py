"""Findings: errors as data. A check returns every finding; the command prints them all and
exits 1 if any has severity "error" (beancount/beangulp style)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    rule: str  # stable id, documented (e.g. "ICD-BILLABLE")
    severity: str  # "error" | "warning"
    message: str  # what is wrong and how to fix it; never a PHI value
    encounter: str | None = None  # encounter number
    line: int | None = None  # charge line number within the encounter
    source: str | None = (
        None  # what the rule rests on (code set + version, NCCI quarter, CMS manual section)
    )
    encounter_id: int | None = None

    def as_row(self) -> dict:
        return asdict(self)


def has_errors(findings) -> bool:
    return any(f.severity == "error" for f in findings)

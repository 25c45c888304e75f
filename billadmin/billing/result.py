"""What one `invoice generate` run reports: what it issued, what it held and why, the files it
wrote and where its time went."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding

# progress(step) when a step starts; progress("pyx12 segments checked", done, total) on the way
Progress = Callable[..., None]


def silent(_step: str, _done: int | None = None, _total: int | None = None) -> None:
    """The progress callback when nobody is watching."""


@dataclass
class Held:
    encounter: str
    encounter_id: int
    findings: list[Finding]

    def rows(self) -> list[dict]:
        return [
            {"encounter": self.encounter, "rule": f.rule, "line": f.line, "message": f.message}
            for f in self.findings
            if f.severity == "error"
        ]


@dataclass
class RunResult:
    out_dir: Path
    dry_run: bool
    run_id: int | None = None
    issued: list[dict] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped_zero: int = 0
    warnings: int = 0
    held_file: Path | None = None
    cob: list[dict] = field(default_factory=list)  # next-payer routing: billed, held, waiting
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # for the clerk (an earlier run's files)

    def summary(self) -> list[dict]:
        """Per file: what it carries (the table a clerk reads)."""
        groups: dict[tuple, dict] = {}
        for r in self.issued:
            key = (r["kind"], r["bill_to"], r["file"] if r["kind"] != "patient" else "")
            g = groups.setdefault(
                key,
                {
                    "kind": r["kind"],
                    "bill_to": r["bill_to"],
                    "invoices": 0,
                    "first": r["number"],
                    "last": r["number"],
                    "total_cents": 0,
                    "file": key[2],
                },
            )
            g["invoices"] += 1
            g["first"] = min(g["first"], r["number"])
            g["last"] = max(g["last"], r["number"])
            g["total_cents"] += r["total_cents"]
        if any(r["kind"] == "patient" for r in self.issued):
            pdfs = sum(1 for r in self.issued if r["kind"] == "patient" and r["file"])
            for g in groups.values():
                if g["kind"] == "patient":
                    g["file"] = f"{pdfs} PDF(s)" if pdfs else "(no balance due)"
        return list(groups.values())

    def add_timing(self, key: str, since: float) -> None:
        """Add the seconds since `since` (time.perf_counter) to the step's total."""
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - since

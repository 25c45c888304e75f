"""`billadmin demo`: a synthetic practice run through every pipeline step.

The demo sits on top of the domains (it drives ingest, billing, remit, reconcile, scrub and
reports the way a clerk would); no domain imports it.

  practice.py - the seeded practice (providers, payers, patients, encounters), its import files
                and the pipeline (run_demo, demo_steps)
  remits.py   - the payers' 835 answers (primary, crossover and secondary) and the bank
                deposit file
  clerk.py    - the clerk's corrections and write-offs between billing days, and the summary
                of coordination of benefits and of the clerk's work
  scrub.py    - the NCCI PTP excerpt and the scrub step
  reports.py  - the month-end reports step
"""

from .practice import (
    CITIES,
    FEES,
    FIRST,
    FIRST_F,
    FIRST_M,
    HEADERS,
    LAST,
    PATTERNS,
    PAYERS,
    PRACTICE,
    PROVIDERS,
    SEED,
    STREETS,
    DemoContext,
    DemoData,
    DemoSummary,
    billing_days,
    demo_steps,
    generate,
    run_demo,
    write_files,
)

__all__ = [
    "CITIES",
    "FEES",
    "FIRST",
    "FIRST_F",
    "FIRST_M",
    "HEADERS",
    "LAST",
    "PATTERNS",
    "PAYERS",
    "PRACTICE",
    "PROVIDERS",
    "SEED",
    "STREETS",
    "DemoContext",
    "DemoData",
    "DemoSummary",
    "billing_days",
    "demo_steps",
    "generate",
    "run_demo",
    "write_files",
]

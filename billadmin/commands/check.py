"""`billadmin check`: the nightly integrity check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, note, open_db

AnchorOpt = Annotated[
    Path | None,
    typer.Option(
        "--anchor",
        metavar="FILE",
        help="Also compare with this copy of the audit anchor (shipped off the machine nightly).",
    ),
]


def check(fmt: FormatOpt = Format.table, output: OutputOpt = None, anchor: AnchorOpt = None):
    """Nightly integrity check: SQLite, audit chain and anchor, ledger seals, invoices, numbering.

    Checks SQLite integrity, foreign keys, the keyed audit chain against its anchor, the sealed
    ledger rows, the protective triggers, invoices unchanged since issue and their files,
    invoice and receipt numbering, audited amounts and the ledger invariants.

    Prints every failure; exit 1 if any, 0 when all pass. Made for the nightly script.

    Example:
        billadmin --db practice.db check || mail -s "billadmin check failed" billing@example.org
        billadmin --db practice.db check --anchor /mnt/offsite/practice.anchor
    """
    from .. import audit, db, integrity, render
    from ..errors import DatabaseUnavailable

    conn = open_db()
    findings = integrity.run_checks(conn, str(anchor) if anchor else None)
    try:
        with db.write(conn):
            audit.record(conn, "check", count=len(findings))
    except DatabaseUnavailable as e:
        if not findings:
            raise
        note(f"Note: this check was not recorded in the audit log: {e.message}")
    if findings:
        render.emit(
            [f.as_row() for f in findings],
            fmt=fmt,
            output=output,
            columns=["rule", "severity", "message"],
            title="billadmin check",
        )
        note(f"{len(findings)} problem(s) found")
        raise typer.Exit(1)
    note(
        "All checks passed: integrity, foreign keys, audit chain and anchor, ledger seals,"
        " triggers, invoices and their files, numbering, allocations"
    )
    from ..reports.invariants import aging_line

    note(aging_line(conn))

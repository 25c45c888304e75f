"""`billadmin check`: the nightly integrity check."""

from __future__ import annotations

from ..formats import Format
from . import FormatOpt, OutputOpt, note, open_db


def check(fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """Nightly integrity check: SQLite, audit chain, invoices, numbering.

    Checks SQLite integrity, foreign keys, the audit chain, invoices unchanged since issue, numbering
    and the ledger invariants.

    Prints every failure; exit 1 if any, 0 when all pass. Made for the nightly script.

    Example:
        billadmin --db practice.db check || mail -s "billadmin check failed" billing@example.org
    """
    import typer

    from .. import audit, db, integrity, render

    conn = open_db()
    findings = integrity.run_checks(conn)
    with db.write(conn):
        audit.record(conn, "check", count=len(findings))
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
        "All checks passed: integrity, foreign keys, audit chain, invoices, numbering, allocations"
    )

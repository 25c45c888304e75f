"""`billadmin export`: data leaving the practice, with the minimum necessary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import group, note, open_db

app = group("Export data for analysis without identifying patients.")


@app.command("deidentified")
def export_deidentified(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="FILE.csv or FILE.xlsx to write (created 0600).")
    ],
    date_from: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="First date of service.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Last date of service.")
    ] = None,
):
    """Claim lines and payments with HIPAA Safe Harbor de-identification applied.

    Names, addresses, phone numbers, member ids, MRNs and claim numbers are removed; dates become
    years; ages over 89 become "90+"; ZIP codes keep 3 digits (000 for small areas); patients and
    claims get stable random keys. Audited.

    Example:
        billadmin export deidentified --from 2026-01-01 --to 2026-06-30 -o claims-h1.csv
    """
    from .. import audit, dates, db, deid, render
    from ..errors import BadInput

    for name, value in (("--from", date_from), ("--to", date_to)):
        dates.parse_option(value or None, name)
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise BadInput("-o must name a .csv or .xlsx file")
    conn = open_db()
    with db.write(conn):
        rows = deid.deidentified_rows(conn, date_from=date_from, date_to=date_to)
        audit.record(
            conn,
            "export deidentified",
            entity="claim_line",
            count=len(rows),
            detail={"from": date_from, "to": date_to, "file": output.name},
        )
    render.emit(
        rows,
        fmt="xlsx" if suffix == ".xlsx" else "csv",
        output=output,
        columns=deid.COLUMNS,
        title="deidentified",
        phi=False,
    )
    note(f"Wrote {len(rows)} de-identified claim lines to {output} (mode 0600)")

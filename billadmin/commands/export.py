"""`billadmin export`: data leaving the practice, with the minimum necessary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format
from . import group, note, open_db

app = group("Export data for analysis without identifying patients.")


@app.command("deidentified")
def export_deidentified(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="FILE (.csv, .json or .xlsx) to write instead of stdout (0600)."
        ),
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="table, csv, json or xlsx (default: from -o's suffix, else csv).",
            show_default=False,
        ),
    ] = None,
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
        billadmin export deidentified --from 2026-01-01 -f json | jq length
    """
    from .. import dates, deid, render
    from ..errors import BadInput

    for name, value in (("--from", date_from), ("--to", date_to)):
        dates.parse_option(value or None, name)
    if fmt is None:
        by_suffix = {".csv": Format.csv, ".json": Format.json, ".xlsx": Format.xlsx}
        suffix = output.suffix.lower() if output else ".csv"
        if suffix not in by_suffix:
            raise BadInput("-o: name a .csv, .json or .xlsx file, or give --format")
        fmt = by_suffix[suffix]
    if fmt is Format.xlsx and output is None:
        raise BadInput("--format xlsx needs -o FILE.xlsx")
    rows = deid.export_deidentified(
        open_db(),
        date_from=date_from,
        date_to=date_to,
        destination=output.name if output else "stdout",
    )
    render.emit(rows, fmt=fmt, output=output, columns=deid.COLUMNS, title="deidentified", phi=False)
    if output:
        note(f"Wrote {len(rows)} de-identified claim lines to {output} (mode 0600)")

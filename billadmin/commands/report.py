"""`billadmin report NAME`: A/R, KPIs, payer analyses, denials, the day sheet, deadlines."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import FormatOpt, OutputOpt, group, note, open_db
from ..render import Format

app = group("Reports: aging, kpi, medicare, payer-mix, payer-cpt, denials, daysheet, timely-filing, coverage-expiring.")

AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", help="Balances at the end of this day; default today.")]
FromOpt = Annotated[Optional[str], typer.Option("--from", metavar="DATE", help="First day of the period.")]
ToOpt = Annotated[Optional[str], typer.Option("--to", metavar="DATE", help="Last day of the period (default --as-of).")]
ReportFormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format: table, csv, json, xlsx (needs -o).")]


def _dates(as_of, start=None, end=None):
    from .. import dates
    from ..accounts.inputs import day

    return day(as_of, "--as-of", dates.today()), day(start, "--from"), day(end, "--to")


def _out(conn, rep, fmt, output) -> None:
    """Print or write the report; a report naming patients is recorded as a PHI read."""
    from .. import audit, db
    from ..reports import output as out

    if rep.phi:
        with db.write(conn):
            audit.record(conn, f"report {rep.name}", entity="report", count=len(rep.rows),
                         detail={"phi_read": True, "format": Format(fmt).value})
    out.emit(rep, fmt, output)
    for n in rep.notes:
        note(n)
    if output and str(output) != "-":
        note(f"Wrote {output}" + (" (contains PHI: created 0600)" if rep.phi else ""))


@app.command("aging")
def report_aging(
    as_of: AsOfOpt = None,
    by: Annotated[str, typer.Option("--by", help="Age from the date of service (dos) or the invoice date (invoice).")] = "dos",
    per: Annotated[str, typer.Option("--per", help="Rows per payer (default) or per patient.")] = "payer",
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Open balances by payer or patient in buckets 0-30, 31-60, 61-90, 91-120, 120+ days.

    Claims age under their payer, patient invoices under PATIENT. Every non-zero balance is
    counted (credits too), so TOTAL = sum of open balances = charges - payments - adjustments.
    xlsx: both views and a stacked chart of the buckets by payer.

    Example:
        billadmin report aging
        billadmin report aging --as-of 2026-10-31 --by invoice --per patient -f csv -o aging.csv
        billadmin report aging -f xlsx -o aging.xlsx
    """
    from ..reports import aging

    today, _, _ = _dates(as_of)
    conn = open_db()
    rep = aging.report(conn, as_of=today, basis=by, per=per, xlsx=Format(fmt) is Format.xlsx)
    _out(conn, rep, fmt, output)

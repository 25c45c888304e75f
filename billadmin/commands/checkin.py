"""`billadmin checkin`: coverage check and co-pay at the front desk."""

from __future__ import annotations

from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, note, open_db


def checkin(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    date: Annotated[
        str | None,
        typer.Option("--date", metavar="DATE", help="Visit date (YYYY-MM-DD); default today."),
    ] = None,
    collect: Annotated[
        str | None,
        typer.Option("--collect", metavar="AMOUNT", help="Co-pay taken now, e.g. 25.00."),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="How it was paid: cash, card, check.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Check number or card slip reference.")
    ] = None,
    eligibility_days: Annotated[
        int,
        typer.Option("--eligibility-days", metavar="DAYS", help="Warn when the last 271 is older."),
    ] = 30,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Check a patient in: coverage today, co-pay due, receipt.

    Confirms an active coverage today, shows the co-pay due, and takes it with a receipt.

    Warns when the coverage has lapsed or ends within 30 days, and when the payer's last
    eligibility answer (271, shown with its date and co-pay) is older than --eligibility-days.
    A co-pay taken is held as the patient's credit until the patient invoice that carries it is
    issued. One co-pay per visit date. The check-in is recorded in the audit log (it shows coverage details).

    Example:
        billadmin checkin 0100007
        billadmin checkin 0100007 --collect 25.00 --method card
        billadmin checkin 0100007 --date 2026-11-20 --collect 20 --method check --reference 1042
    """
    from .. import dates, money, render
    from ..accounts import checkin as domain
    from ..dates import parse_option
    from .options import amount, warn

    on = parse_option(date, "--date", dates.today())
    cents = amount(collect, "--collect")
    conn = open_db()
    res = domain.checkin(
        conn, mrn, on, collect_cents=cents, method=method, reference=reference,
        eligibility_days=eligibility_days,
    )  # fmt: skip
    for w in res.warnings:
        warn(w)
    render.emit(res.row, fmt=fmt, output=output, single=True, title="Check-in")
    if res.row["receipt"]:
        note(
            f"Co-pay {money.fmt(res.row['collected_cents'])} recorded, receipt {res.row['receipt']}"
        )

"""`billadmin statement`: monthly patient statements with dunning, holds, credit balances."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Patient statements: monthly runs, dunning, holds, credits.\n\nPatient statements: a run "
    "states every open balance with its dunning step; holds, credit balances, settings."
)

DateOpt = Annotated[
    str | None, typer.Option("--date", metavar="DATE", help="Statement date; default today.")
]


@app.command("run")
def statement_run(
    date: DateOpt = None,
    cycle_day: Annotated[
        int | None,
        typer.Option("--cycle-day", metavar="DAY", help="Only this billing cycle's patients."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Output folder (default ./statements/DATE)."),
    ] = None,
    mail_house: Annotated[
        str, typer.Option("--mail-house", help="The mail-house list: csv or xlsx.")
    ] = "csv",
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Record without PDFs.")] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """State every patient balance: one PDF each with a payment coupon, and a mail-house list.

    Patients with a zero or credit balance, a hold, or a balance under the practice's minimum
    get none; the message follows the age of the oldest unpaid item (current, 30, 60, 90 days
    past due, final notice at 120); a patient on a payment plan gets a plan statement. Running
    the same date again records nothing new and writes the same files.

    Example:
        billadmin statement run --date 2026-12-01
        billadmin statement run --date 2026-12-15 --cycle-day 15 --mail-house xlsx
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import run

    on = parse_option(date, "--date", today())
    res = run.run(
        open_db(),
        on,
        out_dir=out or Path("statements") / on.isoformat(),
        cycle_day=cycle_day,
        mail_format=mail_house,
        pdf=not no_pdf,
    )
    render.emit(
        res.statements,
        fmt=fmt,
        output=output,
        columns=[
            "statement",
            "mrn",
            "step",
            "oldest_days",
            "balance_cents",
            "amount_due_cents",
            "pay_by",
            "file",
        ],
        title=f"Statements {res.run_on}",
    )
    skipped = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in sorted(res.skipped.items()))
    again = " (already run on this date: nothing new recorded)" if res.again else ""
    note(
        f"{len(res.statements)} statement(s){again}" + (f"; skipped: {skipped}" if skipped else "")
    )
    if res.files:
        note(f"Files in {res.files[0].parent}/")


@app.command("list")
def statement_list(
    mrn: Annotated[str | None, typer.Argument(metavar="[MRN]", help="Only this patient.")] = None,
    since: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="Stated on or after.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the statements recorded, newest first.

    Example:
        billadmin statement list 0100007
        billadmin statement list --from 2026-11-01 -f csv
    """
    from .. import render
    from ..dates import parse_option
    from ..statements import run

    rows = run.list_statements(open_db(), mrn=mrn, since=parse_option(since, "--from"))
    render.emit(rows, fmt=fmt, output=output, title="Statements")


@app.command("credits")
def statement_credits(
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List patients with a credit balance and the refund to make.

    Example:
        billadmin statement credits
        billadmin statement credits -f csv -o refunds.csv
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import run

    rows = run.credits(open_db(), parse_option(date, "--date", today()))
    render.emit(rows, fmt=fmt, output=output, title="Credit balances")
    note(f"{len(rows)} patient(s) with a credit balance; refund with `billadmin payment refund`")


@app.command("hold")
def statement_hold(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why: a dispute, bankruptcy, an appeal pending.")
    ] = "",
    release: Annotated[bool, typer.Option("--release", help="Release the hold.")] = False,
    date: DateOpt = None,
):
    """Hold a patient's statements (or release the hold with --release).

    Example:
        billadmin statement hold 0100007 --reason "disputes the 11/02 visit"
        billadmin statement hold 0100007 --release
    """
    from ..dates import parse_option, today
    from ..statements import run

    row = run.set_hold(
        open_db(),
        mrn,
        hold=not release,
        reason=reason,
        on=parse_option(date, "--date", today()),
    )
    note("Statements released" if release else f"Statements on hold from {row['on']}")


@app.command("config")
def statement_config(
    minimum: Annotated[
        str | None, typer.Option("--minimum", help="No statement under this balance.")
    ] = None,
    cycle_days: Annotated[
        str | None, typer.Option("--cycle-days", help="Cycle days of the month, e.g. 1,15.")
    ] = None,
    collections_after: Annotated[
        str | None,
        typer.Option("--collections-after", help="Days after a final notice before collections."),
    ] = None,
    grace: Annotated[
        str | None, typer.Option("--plan-grace", help="Days before a plan installment is missed.")
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option(
            "--text",
            metavar="STEP=TEXT",
            help="The message of a step: current, 30, 60, 90, final or plan.",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show or set the statement settings: minimum, cycle days, dunning texts.

    Example:
        billadmin statement config
        billadmin statement config --minimum 10.00 --cycle-days 1,15
        billadmin statement config --text "60=Please call us about your balance."
    """
    from .. import render
    from ..errors import BadInput
    from ..statements import settings

    values = {}
    for key, v in (
        ("statement.minimum", minimum),
        ("statement.cycle_days", cycle_days),
        ("collections.after_days", collections_after),
        ("plan.grace_days", grace),
    ):
        if v is not None:
            values[key] = v
    for t in text or []:
        step, sep, body = t.partition("=")
        if not sep or step.strip() not in settings.TEXTS:
            raise BadInput(f"--text: STEP=TEXT with STEP one of {', '.join(settings.TEXTS)}")
        values[f"statement.text.{step.strip()}"] = body
    conn = open_db()
    rows = settings.set_many(conn, values) if values else settings.show(conn)
    render.emit(rows, fmt=fmt, output=output, title="Statement settings", phi=False)

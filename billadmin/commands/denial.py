"""`billadmin denial`: the denial worklist."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Denied claims: what is at stake, by when, what to do.\n\nDenied and partially denied claims: "
    "what is at stake, by when, what to do."
)


@app.command("list")
def denial_list(
    payer: Annotated[
        str | None, typer.Option("--payer", help="Only this payer's claims (code).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="Denied on or after.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="DATE", help="Count days left from this date; default today."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """The denial worklist, soonest deadline first, with the suggested next step.

    A claim is listed while its denied amount (remittance adjustments in group CO/OA/PI with
    a denial reason code) is above zero. The next step follows the reason's category: missing
    information or coding -> correct and resubmit; eligibility or non-covered -> bill patient;
    duplicate -> write off; others -> appeal. The appeal deadline is the remittance date plus
    the payer's appeal limit (`billadmin payer set --appeal-days`, default 120).

    Medicare and other payers that correct by reopening (`billadmin payer set --corrections
    reopening`, Medicare's default) take no corrected claim (frequency 7): a correctable denial
    says "request a reopening", due one year from the determination (42 CFR 405.980(b)(1)),
    or appeal. Medicare CO-16 with MA130 (unprocessable, no appeal rights) says "resubmit as a
    new claim": `billadmin charge correct`, then `billadmin invoice resubmit`.

    Example:
        billadmin denial list
        billadmin denial list --payer KEY -f csv -o denials.csv
    """
    from .. import dates, money, render
    from ..accounts import denials
    from ..dates import parse_option

    today = parse_option(as_of, "--as-of", dates.today())
    rows = denials.worklist(
        open_db(), as_of=today, payer=payer, since=parse_option(since, "--from")
    )
    cols = [
        "invoice",
        "mrn",
        "patient",
        "payer",
        "date_of_service",
        "denied_on",
        "denial",
        "carcs",
        "category",
        "meaning",
        "rarcs",
        "at_stake_cents",
        "appeal_deadline",
        "next_step",
        "deadline",
        "days_left",
    ]
    if Format(fmt) is Format.table:  # what fits a terminal; CSV/JSON carry every column
        cols = [
            "invoice",
            "patient",
            "payer",
            "date_of_service",
            "denied_on",
            "carcs",
            "category",
            "at_stake_cents",
            "next_step",
            "deadline",
            "days_left",
        ]
    render.emit(rows, fmt=fmt, output=output, columns=cols, title="Denial worklist")
    note(
        f"{len(rows)} denied claim(s), {money.fmt(sum(r['at_stake_cents'] for r in rows), thousands=True)} at stake"
    )

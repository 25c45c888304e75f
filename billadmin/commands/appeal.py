"""`billadmin appeal`: appeals of denied claims, with their letters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Appeals of denied claims, with PDF letters.\n\nAppeals of denied claims: create (with a PDF letter), list, update."
)

DateOpt = Annotated[
    str | None,
    typer.Option("--date", metavar="DATE", help="Date of this action; default today."),
]


@app.command("create")
def appeal_create(
    invoice: Annotated[str, typer.Argument(metavar="INVOICE", help="The denied claim's number.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why the claim should be paid (goes into the letter).")
    ],
    letter: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Letter PDF path (default appeal-NUMBER-LEVEL.pdf)."),
    ] = None,
    late: Annotated[
        bool, typer.Option("--late", help="Appeal although the deadline has passed (good cause).")
    ] = False,
    date: DateOpt = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Output format: table, csv, json.")
    ] = Format.table,
):
    """Open an appeal for a denied claim and write the appeal letter (PDF).

    The deadline is the remittance date plus the payer's appeal limit; after it the appeal is
    refused unless --late. The letter is addressed to the payer and names the claim, the
    denial codes with their meanings, and the reason. The appeal starts as a draft: mark it
    submitted when it is sent.

    Example:
        billadmin appeal create C000123 --reason "Modifier 25 applies: separate E/M documented" -o appeal.pdf
        billadmin appeal update 1 --status submitted
    """
    from .. import dates, render
    from ..accounts import appeals
    from ..dates import parse_option

    on = parse_option(date, "--date", dates.today())
    row = appeals.create(open_db(), invoice, reason, on=on, letter=letter, late=late)
    render.emit(row, fmt=fmt, single=True, title="Appeal")
    note(
        f"Appeal #{row['appeal']} (level {row['level']}) for {row['invoice']}: deadline {row['deadline']}; "
        f"letter {row['letter']}"
    )


@app.command("list")
def appeal_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="open, draft, submitted, won, lost or withdrawn."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Count days left from this date."),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List appeals by deadline.

    Example:
        billadmin appeal list --status open
    """
    from .. import dates, render
    from ..accounts import appeals
    from ..dates import parse_option

    rows = appeals.list_appeals(
        open_db(), status=status, as_of=parse_option(as_of, "--as-of", dates.today())
    )
    render.emit(rows, fmt=fmt, output=output, title="Appeals")


@app.command("update")
def appeal_update(
    appeal_id: Annotated[
        int, typer.Argument(metavar="ID", help="Appeal number (from appeal list).")
    ],
    status: Annotated[str, typer.Option("--status", help="submitted, won, lost or withdrawn.")],
    text: Annotated[
        str | None,
        typer.Option("--note", help="A note on this step (e.g. the payer's reference)."),
    ] = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Move an appeal on: submitted, then won or lost (or withdrawn).

    Example:
        billadmin appeal update 1 --status submitted --note "faxed 14 pages"
        billadmin appeal update 1 --status won
    """
    from .. import dates, render
    from ..accounts import appeals
    from ..dates import parse_option
    from .options import warn

    row = appeals.update(
        open_db(), appeal_id, status, on=parse_option(date, "--date", dates.today()), note=text
    )
    if row.pop("warning", None):
        warn(f"appeal #{appeal_id} was submitted after its deadline {row['deadline']}")
    render.emit(row, fmt=fmt, output=output, single=True, title="Appeal")
    note(f"Appeal #{appeal_id} is now {row['status']}")

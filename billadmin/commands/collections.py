"""`billadmin collections`: accounts past their final notice, handed to an agency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import Format
from . import AgainOpt, FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Collections: past final notice, agency hand-off, recoveries.\n\nCollections: "
    "the accounts past their final notice, sent to an agency and written off, recoveries."
)

DateOpt = Annotated[str | None, typer.Option("--date", metavar="DATE", help="Default today.")]


@app.command("list")
def collections_list(
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the accounts ready for collections: past their final notice, still owing.

    Example:
        billadmin collections list
        billadmin collections list --date 2027-02-01 -f csv
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import collections

    rows = collections.list_candidates(open_db(), parse_option(date, "--date", today()))
    render.emit(rows, fmt=fmt, output=output, title="Ready for collections")


@app.command("send")
def collections_send(
    agency: Annotated[str, typer.Option("--agency", help="The collection agency's name.")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE.csv", help="The agency's file.")],
    mrn: Annotated[
        list[str] | None, typer.Argument(metavar="[MRN]...", help="Only these patients.")
    ] = None,
    layout: Annotated[
        Path | None,
        typer.Option("--layout", metavar="FILE.toml", help="The agency's columns ([columns])."),
    ] = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Send the collections list to an agency: write the balances off to bad debt, export them.

    Example:
        billadmin collections send --agency "Keystone Recovery" --out agency-2027-02.csv
        billadmin collections send 0100007 --agency "Keystone Recovery" --out k.csv --layout k.toml
    """
    from .. import money, render
    from ..dates import parse_option, today
    from ..statements import collections

    rows = collections.send(
        open_db(),
        parse_option(date, "--date", today()),
        agency=agency,
        out=out,
        layout=layout,
        mrns=mrn or None,
    )
    render.emit(rows, fmt=fmt, output=output, title="Sent to collections")
    total = sum(r["written_off_cents"] for r in rows)
    note(f"{len(rows)} account(s) sent, {money.fmt(total)} written off to bad debt; file {out}")


@app.command("recover")
def collections_recover(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    amount_: Annotated[str, typer.Argument(metavar="AMOUNT", help="Amount the agency sent.")],
    method: Annotated[
        str | None, typer.Option("--method", help="cash, card, check, eft or other.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="The agency's check or remittance number.")
    ] = None,
    again: AgainOpt = False,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Post money an agency recovered: the bad-debt write-off reversed that much, and paid.

    Example:
        billadmin collections recover 0100007 60.00 --method check --reference 5521
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import collections
    from .options import amount

    row = collections.recover(
        open_db(),
        mrn,
        amount(amount_, "AMOUNT"),
        method=method,
        reference=reference,
        on=parse_option(date, "--date", today()),
        again=again,
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Recovery")

"""`billadmin account`: the whole account of one patient."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, open_db

app = group(
    "A patient's whole account, as explained on the phone.\n\nA patient's account: coverages, "
    "encounters, invoices, payments, balances, notes."
)


@app.command("show")
def account_show(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="DATE", help="Coverage status on this date; default today."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show a patient's whole account, as a clerk explains it on the phone.

    Balances are split: insurance (open claims), patient (open patient invoices), the
    patient's unapplied credit, and what the patient owes now. Every call is recorded in the
    audit log as a read of PHI.

    Example:
        billadmin account show 0100007
        billadmin account show 0100007 -f json -o account.json
        billadmin account show 0100007 -f xlsx -o account.xlsx
    """
    from ..accounts import view
    from ..dates import parse_option

    sections = view.account(open_db(), mrn, as_of=parse_option(as_of, "--as-of"))
    emit_sections(sections, fmt, output, single_first=True)


def emit_sections(sections: dict, fmt, output, *, single_first: bool = False) -> None:
    """Several titled tables as one output: one table each, one JSON object, CSV blocks
    headed by `# name`, or one xlsx sheet each."""
    import contextlib
    import json
    import sys

    from .. import render

    fmt = Format(fmt)
    if fmt is Format.xlsx:
        if not output:
            from ..errors import BadInput

            raise BadInput("--format xlsx needs -o FILE.xlsx")
        render.write_xlsx(output, {k.capitalize(): v for k, v in sections.items()})
        return
    fh = (
        render.private_open(output, "w", encoding="utf-8", newline="")
        if output and str(output) != "-"
        else None
    )
    try:
        with contextlib.redirect_stdout(fh) if fh else contextlib.nullcontext():
            out = sys.stdout
            if fmt is Format.json:
                data: dict[str, list[dict] | dict | None] = {
                    k: render.to_json_rows(v) for k, v in sections.items()
                }
                if single_first:
                    first = next(iter(sections))
                    rows = data[first]
                    data[first] = rows[0] if rows else None
                json.dump(data, out, indent=2, default=str)
                out.write("\n")
                return
            for i, (name, rows) in enumerate(sections.items()):
                if fmt is Format.csv:
                    if i:
                        out.write("\n")
                    out.write(f"# {name}\n")
                    render.write_csv(rows, None, out)
                elif single_first and i == 0 and rows:
                    render.emit(rows[0], fmt=fmt, single=True, title=name.capitalize())
                elif rows:
                    render.emit(rows, fmt=fmt, title=name.capitalize())
                else:
                    out.write(f"{name.capitalize()}: none\n")
    finally:
        if fh:
            fh.close()

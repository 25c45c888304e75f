"""`billadmin charge`: list, correct and remove an encounter's charge lines."""

from __future__ import annotations

from typing import Annotated

import typer

from ..dates import parse_option
from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Charge lines: list, correct, remove (billed ones too).\n\nAn encounter's charge lines and "
    "diagnoses: list them, correct them, remove a line."
)

EncounterArg = Annotated[
    str, typer.Argument(metavar="ENCOUNTER", help="The encounter number, e.g. E000123.")
]
ReasonOpt = Annotated[
    str,
    typer.Option(
        "--reason", help="Why (required once the encounter is billed; kept with the correction)."
    ),
]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", metavar="DATE", help="The day of the correction; default today."),
]


@app.command("list")
def charge_list(encounter: EncounterArg, fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """List an encounter's lines with their status and the claim that billed them.

    Example:
        billadmin charge list E000123
        billadmin charge list E000123 -f json
    """
    from .. import render
    from ..billing import corrections

    conn = open_db()
    data = corrections.charge_list(conn, encounter)
    render.emit(
        data["lines"],
        fmt=fmt,
        output=output,
        title=f"Encounter {data['encounter']}",
        columns=[
            "line_no",
            "code",
            "modifiers",
            "dx_pointers",
            "units",
            "charge_cents",
            "status",
            "claim",
            "claim_status",
        ],
    )
    note(f"diagnoses: {', '.join(data['diagnoses']) or '(none)'}")


@app.command("correct")
def charge_correct(
    encounter: EncounterArg,
    line: Annotated[
        int | None,
        typer.Option("--line", metavar="N", help="The line to change (needed if it has several)."),
    ] = None,
    code: Annotated[str | None, typer.Option("--code", help="New CPT/HCPCS code.")] = None,
    modifier: Annotated[
        list[str] | None,
        typer.Option(
            "--modifier",
            help="The line's modifiers, replacing its current ones (repeat, or 25,59; - clears).",
        ),
    ] = None,
    units: Annotated[int | None, typer.Option("--units", help="New units (1 or more).")] = None,
    pointers: Annotated[
        str | None, typer.Option("--pointers", help="Diagnosis pointers, e.g. 1,2.")
    ] = None,
    charge: Annotated[
        str | None, typer.Option("--charge", metavar="AMOUNT", help="New charge, e.g. 120.00.")
    ] = None,
    dx: Annotated[
        list[str] | None,
        typer.Option(
            "--dx", help="The encounter's diagnoses, replacing them, first one first (repeat)."
        ),
    ] = None,
    reason: ReasonOpt = "",
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Correct a line (code, modifiers, units, pointers, charge) or the encounter's diagnoses.

    An unbilled line is billed as corrected by the next `invoice generate`. A billed encounter
    needs --reason; its claim is never changed: replace it afterwards (`invoice replace`,
    frequency 7), or resubmit it when Medicare returned it unprocessable (`invoice resubmit`).
    A line a voided claim billed cannot be corrected (exit 2).

    Example:
        billadmin charge correct E000123 --line 1 --modifier 25 --reason "CO-16 M51: modifier 25"
        billadmin charge correct E000123 --dx E11.65 --dx I10 --reason "MA130: diagnosis"
        billadmin charge correct E000124 --line 2 --units 2
    """
    from .. import render
    from ..billing import corrections

    conn = open_db()
    change = corrections.LineChange(
        code=code, modifiers=modifier, units=units, pointers=pointers, charge=charge
    )
    res = corrections.correct(
        conn,
        encounter,
        line=line,
        change=change,
        dx=dx,
        reason=reason,
        on=parse_option(on, "--date"),
    )
    step = res.pop("next")
    render.emit(res, fmt=fmt, output=output, single=True, title="Corrected")
    note(f"encounter {res['encounter']}: {step}")


@app.command("remove")
def charge_remove(
    encounter: EncounterArg,
    line: Annotated[int, typer.Option("--line", metavar="N", help="The line to remove.")],
    reason: ReasonOpt = "",
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Remove a line: it is never billed, and a replacement claim leaves it out.

    Example:
        billadmin charge remove E000123 --line 2
        billadmin charge remove E000123 --line 2 --reason "CO-97: bundled, billed in error"
    """
    from .. import render
    from ..billing import corrections

    conn = open_db()
    res = corrections.remove(
        conn,
        encounter,
        line,
        reason=reason,
        on=parse_option(on, "--date"),
    )
    step = res.pop("next")
    render.emit(res, fmt=fmt, output=output, single=True, title="Removed")
    note(f"encounter {res['encounter']}: {step}")

"""`billadmin note`: the correspondence and call log of an account. (Module named notes.py: `note`
is the status-message helper in commands/__init__.py, and importing a submodule of that name
would replace it.)"""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, open_db
from . import note as status_note

app = group("Account notes: calls, letters, promises to pay.")

InvoiceFlag = Annotated[
    bool, typer.Option("--invoice", help="TARGET is an invoice number (when it could be both).")
]
PatientFlag = Annotated[
    bool, typer.Option("--patient", help="TARGET is an MRN (when it could be both).")
]


def from_stdin(value: str | None, what: str) -> str | None:
    """PHI need not sit in argv (where `ps` and shell history show it): "-" reads the value from
    standard input, and so does a missing value when stdin is not a terminal. Returns None when
    neither applies (the caller decides whether the value was required)."""
    import sys

    if value is not None and value != "-":
        return value
    if value is None and sys.stdin.isatty():
        return None
    text = sys.stdin.read().strip()
    if not text:
        from ..errors import BadInput

        raise BadInput(f"{what}: standard input was empty")
    return text


def _kind(invoice: bool, patient: bool):
    from ..errors import BadInput

    if invoice and patient:
        raise BadInput("give --invoice or --patient, not both")
    return "invoice" if invoice else ("patient" if patient else None)


@app.command("add")
def note_add(
    target: Annotated[
        str, typer.Argument(metavar="MRN|INVOICE", help="The patient's MRN or an invoice number.")
    ],
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="[TEXT]",
            help="What was said or sent (quote it); - or none reads it from standard input.",
        ),
    ] = None,
    invoice: InvoiceFlag = False,
    patient: PatientFlag = False,
    follow_up: Annotated[
        str | None,
        typer.Option("--follow-up", metavar="DATE", help="Put it on the worklist from this day."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who follows it up (default: you).")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Add a note to a patient's account or to one invoice, with a follow-up date and owner.

    Example:
        billadmin note add 0100007 "Called about statement; will pay 40.00 on the 15th"
        billadmin note add C000123 "Payer rep: resubmit with modifier 25, ref 88123"
        billadmin note add 0100007 - < call-notes.txt
        billadmin note add C000123 "Call payer if unpaid" --follow-up 2026-12-15 --owner ann
    """
    from .. import render
    from ..accounts import notes
    from ..dates import parse_option
    from ..errors import BadInput

    body = from_stdin(text, "note text")
    if body is None:
        raise BadInput("give the note's TEXT, or - to read it from standard input")
    row = notes.add_note(
        open_db(),
        target,
        body,
        kind=_kind(invoice, patient),
        follow_up=parse_option(follow_up, "--follow-up"),
        owner=owner,
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Note")
    status_note(f"Note {row['note_id']} added")


@app.command("list")
def note_list(
    target: Annotated[
        str | None,
        typer.Argument(metavar="[MRN|INVOICE]", help="Only this patient's or invoice's notes."),
    ] = None,
    invoice: InvoiceFlag = False,
    patient: PatientFlag = False,
    since: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="Notes written on or after.")
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due", help="The worklist: follow-ups, denials, plans, collections due by --date."
        ),
    ] = False,
    date: Annotated[
        str | None, typer.Option("--date", metavar="DATE", help="With --due: default today.")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="With --due: only this owner's follow-ups.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List notes, newest first (a patient's list includes the notes on their invoices).

    With --due, the worklist instead: what is due today across follow-ups, denials, payment
    plans and collections.

    Example:
        billadmin note list 0100007
        billadmin note list --from 2026-11-01 -f csv
        billadmin note list --due --owner ann
    """
    from .. import render
    from ..accounts import notes
    from ..dates import parse_option, today

    if due:
        from ..statements import worklist

        rows = worklist.due(open_db(), parse_option(date, "--date", today()), owner=owner)
        render.emit(rows, fmt=fmt, output=output, columns=list(worklist.KEYS), title="Due")
        return

    rows = notes.list_notes(
        open_db(), target, kind=_kind(invoice, patient), since=parse_option(since, "--from")
    )
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        columns=["note_id", "at", "mrn", "invoice", "author", "text"],
        title="Notes",
    )


@app.command("done")
def note_done(
    note_id: Annotated[int, typer.Argument(metavar="NOTE", help="The note's id.")],
    date: Annotated[
        str | None, typer.Option("--date", metavar="DATE", help="Default today.")
    ] = None,
):
    """Mark a note's follow-up done: it leaves the worklist.

    Example:
        billadmin note done 42
    """
    from ..accounts import notes
    from ..dates import parse_option, today

    notes.done(open_db(), note_id, on=parse_option(date, "--date", today()))
    status_note(f"Follow-up of note {note_id} done")

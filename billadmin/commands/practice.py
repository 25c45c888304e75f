"""`billadmin practice`: the billing practice claims are sent from."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "The billing practice: NPI, tax id, address, EDI ids.\n\nThe billing practice: name, NPI, tax "
    "id, address, clearinghouse ids."
)


def _opt(help_: str, metavar: str = "TEXT"):
    return typer.Option(help=help_, metavar=metavar, show_default=False)


@app.command("show")
def practice_show(fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """Show the practice settings used on every claim and patient invoice.

    Example:
        billadmin practice show
        billadmin practice show --format json
    """
    from .. import render
    from ..billing import practice
    from ..errors import NotFound

    conn = open_db()
    p = practice.get(conn)
    if p is None:
        raise NotFound(
            "the practice is not set up: run `billadmin practice set --name ... --npi ... --tax-id ...`"
        )
    render.emit(p, fmt=fmt, output=output, single=True, title="Practice")


@app.command("set")
def practice_set(
    name: Annotated[str | None, _opt("Practice (billing provider) name.")] = None,
    npi: Annotated[str | None, _opt("Group NPI (10 digits, check digit verified).", "NPI")] = None,
    tax_id: Annotated[str | None, _opt("Federal tax id (EIN, 9 digits).", "EIN")] = None,
    taxonomy: Annotated[
        str | None, _opt("Billing provider taxonomy code, e.g. 207Q00000X.", "CODE")
    ] = None,
    address1: Annotated[
        str | None, _opt("Street address (no PO box for the billing provider).")
    ] = None,
    address2: Annotated[str | None, _opt("Suite, floor.")] = None,
    city: Annotated[str | None, _opt("City.")] = None,
    state: Annotated[str | None, _opt("Two-letter state code.", "ST")] = None,
    zip_: Annotated[
        str | None,
        typer.Option("--zip", help="ZIP+4, e.g. 43215-1234.", metavar="ZIP", show_default=False),
    ] = None,
    phone: Annotated[str | None, _opt("Billing office phone (10 digits).", "PHONE")] = None,
    contact_name: Annotated[str | None, _opt("EDI contact name for the clearinghouse.")] = None,
    submitter_id: Annotated[
        str | None, _opt("Submitter id from the clearinghouse enrolment (ISA06).", "ID")
    ] = None,
    receiver_id: Annotated[str | None, _opt("Receiver (clearinghouse) id (ISA08).", "ID")] = None,
    receiver_name: Annotated[str | None, _opt("Receiver (clearinghouse) name.")] = None,
    usage: Annotated[str | None, _opt("837P files for production (P) or test (T).", "P|T")] = None,
    due_days: Annotated[
        int | None, _opt("Days until a patient invoice is due (default 30).", "DAYS")
    ] = None,
    pay_instructions: Annotated[
        str | None, _opt("Extra 'how to pay' text for patient invoices (e.g. a web address).")
    ] = None,
    long_claims: Annotated[
        str | None,
        _opt(
            "An encounter of more than 50 lines (the 837P's limit): split it into several claims"
            " or hold it (default hold).",
            "split|hold",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Set or change the practice settings (validated: NPI check digit, 9-digit tax id, address).

    The first time, name, NPI, tax id and the full address are required; later, give only what
    changes. Every problem is listed at once and nothing is saved until all are fixed.

    Example:
        billadmin practice set --name "Riverbend Family Medicine" --npi 1748392010 --tax-id 81-2345678 \\
            --address1 "1200 River Road" --city Columbus --state OH --zip 43215-1234 --phone 614-555-0100
        billadmin practice set --submitter-id RBFM01 --receiver-id CLEARHOUSE01 --receiver-name "Demo Clearinghouse"
        billadmin practice set --long-claims split
    """
    from .. import render
    from ..billing import practice

    changes = {
        "name": name,
        "npi": npi,
        "tax_id": tax_id,
        "taxonomy": taxonomy,
        "address1": address1,
        "address2": address2,
        "city": city,
        "state": state,
        "zip": zip_,
        "phone": phone,
        "contact_name": contact_name,
        "submitter_id": submitter_id,
        "receiver_id": receiver_id,
        "receiver_name": receiver_name,
        "usage": usage,
        "due_days": None if due_days is None else str(due_days),
        "pay_instructions": pay_instructions,
        "long_claims": long_claims,
    }
    conn = open_db()
    p = practice.update(conn, changes)
    render.emit(p, fmt=fmt, output=output, single=True, title="Practice")
    missing = [k for k in practice.FOR_CLAIMS if not p.get(k)]
    if missing:
        note(
            f"Before claims can be sent, also set: {', '.join('--' + k.replace('_', '-') for k in missing)}"
        )
    else:
        note("Practice saved")

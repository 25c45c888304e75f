"""`billadmin facility`: the institutional billing providers (hospital departments) 837I
claims are sent from, beside the professional practice."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Facilities that bill 837I/UB-04: NPI, type of facility.\n\nInstitutional billing providers"
    " (hospital departments) beside the practice: NPI, tax id, address, type of facility."
)


def _opt(help_: str, metavar: str = "TEXT"):
    return typer.Option(help=help_, metavar=metavar, show_default=False)


@app.command("set")
def facility_set(
    code: Annotated[str, typer.Argument(help="Our short code for the facility, e.g. RGH.")],
    name: Annotated[str | None, _opt("Facility (billing provider) name.")] = None,
    npi: Annotated[
        str | None, _opt("Facility NPI (10 digits, check digit verified).", "NPI")
    ] = None,
    tax_id: Annotated[str | None, _opt("Federal tax id (EIN, 9 digits).", "EIN")] = None,
    taxonomy: Annotated[str | None, _opt("Taxonomy code, e.g. 282N00000X.", "CODE")] = None,
    facility_type: Annotated[
        str | None,
        _opt(
            "Type of facility, the first digit of its types of bill (1 hospital, 2 SNF, ...).",
            "DIGIT",
        ),
    ] = None,
    address1: Annotated[str | None, _opt("Street address.")] = None,
    address2: Annotated[str | None, _opt("Suite, floor.")] = None,
    city: Annotated[str | None, _opt("City.")] = None,
    state: Annotated[str | None, _opt("Two-letter state code.", "ST")] = None,
    zip_: Annotated[
        str | None,
        typer.Option("--zip", help="ZIP+4, e.g. 43215-1000.", metavar="ZIP", show_default=False),
    ] = None,
    phone: Annotated[str | None, _opt("Billing office phone (10 digits).", "PHONE")] = None,
):
    """Set up or change a facility (validated like the practice: NPI, tax id, ZIP+4).

    The first time, name, NPI, tax id, type of facility and the full address are required; the
    837I's submitter and receiver ids are the practice's (`billadmin practice set`).

    Example:
        billadmin facility set RGH --name "Riverside General" --npi 1234567893 \\
            --tax-id 31-1234567 --facility-type 1 --address1 "100 River Rd" \\
            --city Columbus --state OH --zip 43215-1000
        billadmin facility set RGH --phone 614-555-0199
    """
    from ..institutional.store import save_facility

    conn = open_db()
    fid = save_facility(
        conn,
        code,
        {
            "name": name,
            "npi": npi,
            "tax_id": tax_id,
            "taxonomy": taxonomy,
            "facility_type": facility_type,
            "address1": address1,
            "address2": address2,
            "city": city,
            "state": state,
            "zip": zip_,
            "phone": phone,
        },
    )
    note(f"Facility {code.strip().upper()} saved (id {fid})")


@app.command("list")
def facility_list(fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """List the facilities.

    Example:
        billadmin facility list --format csv
    """
    from dataclasses import asdict

    from .. import render
    from ..institutional.model import facilities

    conn = open_db()
    rows = [asdict(f) for f in facilities(conn).values()]
    render.emit(rows, fmt=fmt, output=output, title="Facilities", phi=False)

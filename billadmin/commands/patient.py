"""`billadmin patient ...`: list, show (audited PHI read) and compare a registration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, group, note, open_db
from .import_ import DateFmtOpt, EncodingOpt, MapOpt, ProfileOpt, SheetOpt

app = group(
    "Patients: list, show, compare a registration file.\n\nPatients: list, show, and compare a "
    "registration file with the records."
)


@app.command("list")
def patient_list(
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-s", help="An MRN, or part of a name; - reads it from standard input."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N patients.")] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List patients with their current primary payer.

    Example:
        billadmin patient list --search garcia
        billadmin patient list -f csv -o patients.csv
    """
    from .. import patients, render

    conn = open_db()
    if search == "-":  # the term need not sit in argv
        from .notes import from_stdin

        search = from_stdin(search, "--search")
    rows = patients.patient_list(conn, search=search, limit=limit)
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Patients",
        columns=[
            "id",
            "mrn",
            "last_name",
            "first_name",
            "dob",
            "sex",
            "city",
            "state",
            "primary_payer",
        ],
    )
    note(f"{len(rows)} patient{'s' if len(rows) != 1 else ''}")


@app.command("show")
def patient_show(
    mrn: Annotated[
        str,
        typer.Argument(help="The patient's MRN (or internal id with --id).", show_default=False),
    ],
    by_id: Annotated[bool, typer.Option("--id", help="MRN is the internal patient id.")] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show one patient with coverages and activity (recorded in the audit log as a PHI read).

    Example:
        billadmin patient show 0100007
        billadmin patient show --id 12 -f json
    """
    from .. import patients, render

    conn = open_db()
    rec = patients.patient_show(conn, mrn, by_id=by_id)
    if fmt == "json" or getattr(fmt, "value", None) == "json":
        render.emit(rec, fmt=fmt, output=output, single=True)
        return
    covs = rec.pop("coverages")
    render.emit(rec, fmt=fmt, output=output, single=True, title=f"Patient {rec['id']}")
    if covs and output is None:
        render.emit(
            covs,
            fmt=fmt,
            title="Coverages",
            columns=[
                "id",
                "priority",
                "payer",
                "payer_name",
                "member_id",
                "group_number",
                "relationship",
                "effective_from",
                "effective_to",
                "copay_cents",
                "active",
            ],
        )


@app.command("compare")
def patient_compare(
    file: Annotated[
        Path,
        typer.Argument(
            help="Registration file (.csv or .xlsx), patients columns plus optional Payer Code, Member ID, Group.",
            show_default=False,
        ),
    ],
    sheet: SheetOpt = None,
    encoding: EncodingOpt = "utf-8",
    map_file: MapOpt = None,
    profile: ProfileOpt = None,
    date_format: DateFmtOpt = None,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Also list rows where nothing changed.")
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Compare a registration file with the records: new patients, changed fields, likely duplicates.

    Writes nothing. Changed fields are named, never shown. Likely duplicates: the same name
    and date of birth under another MRN, or the same member id on another patient.

    Example:
        billadmin patient compare front-desk-2026-11-26.xlsx
        billadmin patient compare registrations.csv -f csv -o review.csv
    """
    from .. import render
    from ..ingest.compare import compare_patients
    from ..ingest.engine import ImportOptions

    conn = open_db()
    opts = ImportOptions(
        sheet=sheet, encoding=encoding, map_file=map_file, profile=profile, date_format=date_format
    )
    result = compare_patients(conn, file, opts)
    rows = [r for r in result.rows if all_rows or r["status"] != "same" or r["duplicate_of"]]
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title=f"Compare {result.file}",
        columns=["row", "status", "mrn", "patient_id", "fields", "duplicate_of", "reason"],
    )
    if result.ignored_columns:
        note("Ignored columns: " + ", ".join(result.ignored_columns))
    c = result.counts()
    note(
        f"{len(result.rows)} rows: {c['new']} new, {c['changed']} changed, {c['same']} same, "
        f"{c['invalid']} invalid, {c['duplicates']} with likely duplicates"
    )


@app.command("coverage-set")
def patient_coverage_set(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.", show_default=False)],
    payer: Annotated[str, typer.Argument(help="The coverage's payer code.", show_default=False)],
    msp_type: Annotated[
        str | None,
        typer.Option(
            "--msp-type",
            metavar="CODE",
            help="Medicare secondary payer type (SBR05): 12 13 14 15 16 41 42 43 47; - clears.",
        ),
    ] = None,
    qmb: Annotated[
        bool | None,
        typer.Option("--qmb/--no-qmb", help="A Qualified Medicare Beneficiary (or not)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="DATE", help="The coverage's Effective From, if it has several."
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Set a coverage's Medicare secondary payer type (SBR05) or QMB flag (audited).

    With Medicare secondary, the COB claim to Medicare carries SBR05 (held as COB-MSP-TYPE
    without it). A QMB beneficiary is never billed Medicare cost-sharing (held as COB-QMB).

    Example:
        billadmin patient coverage-set 0100007 MCR --msp-type 12
        billadmin patient coverage-set 0100007 MCR --qmb
    """
    from .. import render
    from ..billing import coverage_facts
    from ..dates import parse_option

    conn = open_db()
    res = coverage_facts.set_facts(
        conn,
        mrn,
        payer,
        msp_type=msp_type,
        qmb=qmb,
        effective_from=parse_option(since, "--from"),
    )
    render.emit(res, fmt=fmt, output=output, single=True, title="Coverage")

"""`billadmin import ...`: load patients, payers, providers, coverage, charges and fee schedules
from CSV or XLSX, all or nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..ingest.specs import KINDS, columns_help
from . import group, note, state

app = group(
    "Import patients, payers, coverage, charges, fees (CSV/XLSX).\n\nImport patients, payers, "
    "providers, coverage, charges, fee schedules (CSV or XLSX)."
)

FileArg = Annotated[Path, typer.Argument(help="The .csv or .xlsx file.", show_default=False)]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="XLSX sheet name (default: the first visible sheet)."),
]
EncodingOpt = Annotated[
    str,
    typer.Option(
        "--encoding",
        help="CSV encoding: utf-8 (with or without BOM) or cp1252 for Excel's Windows CSV. Never guessed.",
    ),
]
MapOpt = Annotated[
    Path | None,
    typer.Option(
        "--map",
        metavar="FILE.toml",
        help="Map source headers to fields and set date formats (see docs).",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Read another system's export as it is: synthea (patients, payers, coverage = payer_transitions.csv).",
    ),
]
DateFmtOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        metavar="FORMAT",
        help="Dates not in YYYY-MM-DD: MM/DD/YYYY, DD/MM/YYYY, YYYYMMDD or a strftime format with %Y.",
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate and report what would change; write nothing.")
]
SkipOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Write the valid rows; rejected rows go to --rejects FILE with a reason column.",
    ),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        metavar="FILE.csv",
        help="Where --skip-invalid writes rejected rows (created 0600: it holds PHI).",
    ),
]
UpdateOpt = Annotated[
    bool,
    typer.Option(
        "--update",
        help="Apply rows whose key exists with different values; old and new values go to the audit log.",
    ),
]

LineDxOpt = Annotated[
    bool,
    typer.Option(
        "--line-diagnoses",
        help="Each line's Dx1-Dx12 are its own diagnoses (no Pointers column): the encounter's "
        "list is their union, pointers are computed.",
    ),
]

PROGRESS_MIN_BYTES = 512 * 1024  # about 5,000 rows: smaller files finish before a bar helps


def _progress_bar(path: Path):
    """A rich progress bar on stderr for big files when stderr is a terminal and not --quiet."""
    if state.quiet or not sys.stderr.isatty():
        return None, None
    try:
        if path.stat().st_size < PROGRESS_MIN_BYTES:
            return None, None
    except OSError:
        return None, None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    prog = Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    task = prog.add_task(path.name, total=None)

    def update(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total or None)

    return prog, update


def run(
    kind: str,
    file: Path,
    *,
    sheet,
    encoding,
    map_file,
    profile,
    date_format,
    dry_run,
    skip_invalid,
    rejects,
    update,
    today=None,
    line_diagnoses=False,
) -> None:
    from ..ingest.engine import ImportOptions, run_import

    opts = ImportOptions(
        sheet=sheet,
        encoding=encoding,
        map_file=map_file,
        profile=profile,
        date_format=date_format,
        line_diagnoses=line_diagnoses,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        rejects=rejects,
        update=update,
        today=today,
    )
    conn = open_db()
    prog, cb = _progress_bar(file)
    try:
        if prog:
            with prog:
                result = run_import(conn, kind, file, opts, progress=cb)
        else:
            result = run_import(conn, kind, file, opts)
    finally:
        conn.close()
    report(result)
    if result.conflict_count:
        raise typer.Exit(1)


def open_db():
    from . import open_db as _open

    return _open()


def report(result) -> None:
    """Status for people, on stderr: no values from the file, only rows, columns and ids."""
    if result.previous_batch:
        pb = result.previous_batch
        note(
            f"Note: this file (sha256 {result.sha256[:12]}...) was imported before as batch {pb['id']} "
            f"on {pb['at'][:19].replace('T', ' ')} UTC; rows are compared again"
        )
    if result.ignored_columns:
        note("Ignored columns: " + ", ".join(result.ignored_columns))
    for c in result.conflicts:
        note(f"  conflict: {c}")
    if result.conflict_count > len(result.conflicts):
        note(f"  ... and {result.conflict_count - len(result.conflicts)} more conflicts")
    if result.rejected:
        for p in result.problems[:50]:
            note(f"  rejected: {p}")
        if result.problem_count > 50:
            note(f"  ... and {result.problem_count - 50} more problems")
        if result.rejects_path:
            note(
                f"Rejected rows written to {result.rejects_path} (with a reason column); fix them and import that file"
            )
    note(result.summary() + (f" (batch {result.batch_id})" if result.batch_id else ""))
    if result.conflict_count:
        verb = "would not be" if result.dry_run else "were not"
        fixable = result.conflict_count - result.update_refused
        then = (
            "then rerun with --update to apply"
            if fixable
            else "--update would not apply them either (see each row's note)"
        )
        note(f"{result.conflict_count} conflicting rows {verb} applied: check them, {then}")


EXAMPLES = {
    "patients": "billadmin import patients registrations.csv\n    billadmin import patients "
    "export.xlsx --sheet Patients --date-format MM/DD/YYYY\n"
    "    billadmin import patients ../synthea/patients.csv --profile synthea",
    "payers": "billadmin import payers payers.csv\n    billadmin import payers ../synthea/payers.csv --profile synthea",
    "providers": "billadmin import providers providers.csv",
    "coverage": "billadmin import coverage coverage.csv --dry-run\n"
    "    billadmin import coverage ../synthea/payer_transitions.csv --profile synthea",
    "charges": "billadmin import charges charges.csv\n"
    "    billadmin import charges charges.csv --skip-invalid --rejects rejects.csv\n"
    "    billadmin import charges ehr-lines.csv --line-diagnoses",
    "fee-schedule": "billadmin import fee-schedule fees.xlsx\n    billadmin import fee-schedule fees-2027.csv --update",
    "auths": "billadmin import auths authorizations.csv",
}
SUMMARIES = {
    "patients": "Import patients (key: MRN).",
    "payers": "Import payers (key: payer code).",
    "providers": "Import rendering providers (key: NPI, check digit verified).",
    "coverage": "Import insurance coverage (key: MRN + payer + member id + effective from).",
    "charges": "Import charge lines; encounters and their diagnoses are created from the lines.",
    "fee-schedule": 'Import a fee schedule (key: payer or "default" + code + modifier + effective from).',
    "auths": "Import prior authorizations and referrals (key: payer code + number).",
}


def _make(kind: str):
    def command(
        file: FileArg,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = "utf-8",
        map_file: MapOpt = None,
        profile: ProfileOpt = None,
        date_format: DateFmtOpt = None,
        dry_run: DryRunOpt = False,
        skip_invalid: SkipOpt = False,
        rejects: RejectsOpt = None,
        update: UpdateOpt = False,
        line_diagnoses: LineDxOpt = False,
    ):
        run(
            kind,
            file,
            sheet=sheet,
            encoding=encoding,
            map_file=map_file,
            profile=profile,
            date_format=date_format,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            rejects=rejects,
            update=update,
            line_diagnoses=line_diagnoses,
        )

    if kind != "charges":  # --line-diagnoses is the charge file's shape only
        import inspect

        sig = inspect.signature(command, eval_str=True)
        params = [p for p in sig.parameters.values() if p.name != "line_diagnoses"]
        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    command.__name__ = "import_" + kind.replace("-", "_")
    command.__doc__ = (
        f"{SUMMARIES[kind]}\n\n"
        "Every row is checked first: any invalid row stops the import with the list of problems "
        "(row, column, reason) and nothing is written, unless --skip-invalid. Rows whose key exists "
        "unchanged are counted, changed ones are reported as conflicts (exit 1) unless --update.\n\n"
        f"{columns_help(kind)}\n\n"
        f"\b\nExample:\n    {EXAMPLES[kind]}\n"
    )
    return command


for _kind in KINDS:
    app.command(_kind)(_make(_kind))


@app.command("institutional")
def import_institutional(
    file: FileArg,
    sheet: SheetOpt = None,
    encoding: EncodingOpt = "utf-8",
    date_format: DateFmtOpt = None,
    dry_run: DryRunOpt = False,
    correct: Annotated[
        bool,
        typer.Option(
            "--correct",
            help="Claims already imported are corrected (their data replaced, the old kept in"
            " history); a billed one then goes to the payer with `invoice replace`.",
        ),
    ] = False,
):
    """Import a hospital's institutional claims (837I/UB-04), one row per revenue line.

    Each row names its claim (key: the claim column, the patient control number); the claim's
    header values (type of bill, statement period, admission, attending NPI, diagnoses,
    procedures, condition/occurrence/value codes) go on its first row and may repeat unchanged
    on the others. Any problem stops the import with every problem listed (row, column, reason)
    and nothing is written (exit 2). Columns and list cells: docs/institutional.md; a
    spreadsheet with every column and two example claims: `billadmin import template
    institutional`.

    \b
    Example:
        billadmin import template institutional -o ub04.xlsx
        billadmin import institutional ub04-export.csv
        billadmin import institutional ub04-export.csv --dry-run --date-format MM/DD/YYYY
        billadmin import institutional corrected-ip26001.csv --correct
    """
    from ..institutional.ingest import import_file

    conn = open_db()
    try:
        result = import_file(
            conn,
            file,
            encoding=encoding,
            sheet=sheet,
            date_format=date_format,
            dry_run=dry_run,
            correct=correct,
        )
    finally:
        conn.close()
    if result.previous_batch:
        note(
            f"Note: this file (sha256 {result.sha256[:12]}...) was imported before as batch"
            f" {result.previous_batch}"
        )
    note(result.summary() + (f" (batch {result.batch_id})" if result.batch_id else ""))


@app.command("template")
def import_template(
    kind: Annotated[
        str,
        typer.Argument(
            help="patients, payers, providers, coverage, charges, fee-schedule or institutional.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="FILE.csv or FILE.xlsx (default: CSV header on stdout)."
        ),
    ] = None,
):
    """Write an empty file with the default headers of KIND, for the front desk to fill.

    The XLSX template formats ID, code and date columns as Text, so Excel keeps leading zeros
    and does not turn long numbers into 1.2E+15. The institutional template also holds two
    example claims of made-up data (an outpatient endoscopy, an inpatient stay: one row per
    revenue line) and, in XLSX, a "columns" sheet describing each column.

    Example:
        billadmin import template patients -o new-patients.xlsx
        billadmin import template charges > charges.csv
        billadmin import template institutional -o ub04.xlsx
    """
    if output is not None and output.suffix.lower() not in (".csv", ".xlsx"):
        from ..errors import BadInput

        raise BadInput("-o takes FILE.csv or FILE.xlsx")
    if kind == "institutional":
        from ..institutional.template import write_template as write_institutional

        write_institutional(output, fh=sys.stdout)
        if output is not None:
            note(f"Wrote {output} (institutional headers and two example claims)")
        return
    from ..ingest.engine import write_template

    write_template(kind, output, fh=sys.stdout)
    if output is not None:
        note(f"Wrote {output} ({kind} headers)")

"""`billadmin eligibility ...`: 270 requests, 271 answers, differences with the coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Eligibility: 270 requests, 271 answers, coverage corrections.\n\nAsk payers whether "
    "patients are covered (X12 270), read their answers (271), and apply what changed."
)


@app.command("request")
def eligibility_request(
    appointments: Annotated[
        Path | None,
        typer.Option(
            "--appointments",
            metavar="FILE",
            help="Appointment list (CSV/XLSX: mrn or patient_id, date, time, provider_npi, payer).",
        ),
    ] = None,
    expiring: Annotated[
        int | None,
        typer.Option(
            "--expiring", metavar="DAYS", help="Ask about coverage ending within DAYS days."
        ),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="DATE", help="Appointment day to ask about; default tomorrow."
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="DATE", help="Today, for --expiring.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the 270 files.")
    ] = Path("."),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List whom it would ask; write nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Write 270 eligibility requests: tomorrow's appointments, or coverage about to end.

    One file per payer, each checked before it is written; what was asked is recorded so the
    payer's 271 is matched by its trace number. Rows not asked say why (no active coverage,
    self-pay, a payer without an X12 payer id).

    Example:
        billadmin eligibility request --appointments schedule-2026-11-27.csv --out outbox
        billadmin eligibility request --expiring 30 --out outbox
    """
    import datetime as _dt

    from .. import dates, render
    from ..eligibility import send
    from ..errors import BadInput

    if (appointments is None) == (expiring is None):
        raise BadInput("give --appointments FILE or --expiring DAYS (one of them)")
    today = dates.parse_option(as_of, "--as-of", dates.today())
    conn = open_db()
    skipped_days = 0
    if appointments is not None:
        day = dates.parse_option(date, "--date", today + _dt.timedelta(days=1))
        wanted, skipped_days = send.from_appointments(conn, appointments, day)
    else:
        assert expiring is not None
        if expiring < 0:
            raise BadInput("--expiring must be 0 or more days")
        wanted = send.from_expiring(conn, today, expiring)
    res = send.send(conn, wanted, out, dry_run=dry_run)
    render.emit(
        res.rows,
        fmt=fmt,
        output=output,
        title="Eligibility requests" + (" (dry run)" if dry_run else ""),
        columns=["row", "mrn", "service_date", "payer", "trace", "file", "skipped"],
    )
    if skipped_days:
        note(f"{skipped_days} appointment(s) of other days left out")
    asked = sum(1 for r in res.rows if not r["skipped"])
    verb = "would ask" if dry_run else "asked"
    files = len({r["payer"] for r in res.rows if not r["skipped"]}) if dry_run else len(res.files)
    note(f"{verb} about {asked} coverage(s) in {files} file(s); {len(res.rows) - asked} not asked")


@app.command("import")
def eligibility_import(
    file: Annotated[Path, typer.Argument(help="A 271 file from the payer or clearinghouse.")],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Read a 271 eligibility response: status, plan dates, co-pay, deductible, corrections.

    Each answer is matched to our 270 by its trace number and compared with the stored
    coverage; the differing fields are named (see them with `eligibility show`, write them with
    `eligibility apply`). Answers that match nothing we sent are reported by control and trace
    number, and the command exits 1. The same file again changes nothing.

    Example:
        billadmin eligibility import inbox/271-20261126.x12
    """
    from .. import render
    from ..eligibility import answers
    from .options import warn

    conn = open_db()
    res = answers.import_file(conn, file)
    if res.duplicate:
        note(f"{res.file}: already read; nothing changed")
        return
    render.emit(
        res.rows,
        fmt=fmt,
        output=output,
        title=f"Eligibility answers in {res.file}",
        columns=[
            "answer", "mrn", "coverage_id", "payer", "status", "reason", "copay_cents",
            "differences", "corrected",
        ],
    )  # fmt: skip
    for u in res.unknown:
        warn(u)
    note(f"{len(res.rows)} answer(s) recorded, {len(res.unknown)} not matched")
    if res.unknown:
        raise typer.Exit(1)


@app.command("show")
def eligibility_show(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show a patient's 271 answers and how the latest differs from the stored coverage.

    Both sides of each difference are shown (recorded in the audit log as a PHI read).

    Example:
        billadmin eligibility show 0100007
    """
    from .. import render
    from ..eligibility import answers

    conn = open_db()
    rows, diffs = answers.show(conn, mrn)
    if fmt == Format.json:  # one document: the answers and the latest one's differences
        render.emit({"answers": rows, "differences": diffs}, fmt=fmt, output=output, single=True)
        return
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Eligibility answers",
        columns=[
            "answer", "answered_on", "payer", "status", "reason", "plan_begin", "plan_end",
            "copay_cents", "coinsurance_pct", "deductible_cents", "deductible_remaining_cents",
            "differences", "applied",
        ],
    )  # fmt: skip
    if diffs and output is None:
        render.emit(diffs, fmt=fmt, title="Differences")
    if not rows:
        note("no eligibility answer for this patient")


@app.command("apply")
def eligibility_apply(
    answer: Annotated[int, typer.Argument(metavar="ANSWER", help="The answer number.")],
    fields: Annotated[
        list[str] | None,
        typer.Option("--field", metavar="FIELD", help="Only this field (repeatable)."),
    ] = None,
):
    """Write the payer's values from a 271 answer to the coverage and patient (audited).

    Every differing field by default (dates, co-pay, member id, group, names, birth dates), or
    only those given with --field; one transaction, one audit row.

    Example:
        billadmin eligibility apply 12
        billadmin eligibility apply 12 --field effective_to --field copay
    """
    from ..eligibility import answers

    conn = open_db()
    done = answers.apply(conn, answer, fields or None)
    note(f"answer {answer}: applied {', '.join(done)}")

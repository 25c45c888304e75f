"""`billadmin ack ...`: acknowledgements (TA1, 999, 277CA), the rejection worklist, resends
and claim status requests (276/277)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Acknowledgements: 999 and 277CA, rejections, claim status.\n\nRead what the clearinghouse "
    "and the payer answered about our claims (TA1, 999, 277CA, 277), work the rejections and "
    "send them again, and ask about claims with no answer (276)."
)


@app.command("import")
def ack_import(
    files: Annotated[list[Path], typer.Argument(help="TA1, 999, 277CA or 277 files.")],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Read acknowledgements and move the claims they name to accepted or rejected.

    Each file is matched to what we sent by its control numbers (TA1: our ISA13; 999: our
    GS06 and ST02; 277CA: our claim numbers) and recorded; a malformed file is refused whole
    (exit 2, nothing written), the same file again changes nothing. Exits 1 when a claim was
    rejected or something matched nothing we sent, for nightly scripts.

    Example:
        billadmin ack import inbox/999-000000012.x12 inbox/277CA-20261127.x12
    """
    from .. import render
    from ..acks import imports
    from .options import warn

    conn = open_db()
    results = [imports.import_file(conn, f) for f in files]
    rows = []
    for res in results:
        if res.duplicate:
            note(f"{res.file}: already read; nothing changed")
        rows += [{"file": res.file, **r} for r in res.rows]
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Acknowledgements",
        columns=["file", "kind", "claim", "by", "outcome", "state", "why"],
    )
    rejected = unknown = 0
    for res in results:
        for n in res.notes:
            note(f"{res.file}: {n}")
        for u in res.unknown:
            warn(f"{res.file}: {u}")
        rejected += res.rejected
        unknown += len(res.unknown)
    note(f"{len(rows)} answer(s) recorded, {rejected} rejection(s), {unknown} not matched")
    if rejected or unknown:
        raise typer.Exit(1)


@app.command("list")
def ack_list(
    claim: Annotated[
        str | None, typer.Option("--claim", help="Only this claim's answers (claim number).")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option("--outcome", help="accepted, rejected, received, pending, finalized, ..."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="Read on or after.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Every acknowledgement and claim status answer read, oldest first.

    Example:
        billadmin ack list --claim C000123
        billadmin ack list --outcome rejected -f csv -o rejected.csv
    """
    from .. import render
    from ..acks import views
    from ..dates import parse_option

    start = parse_option(since, "--from")
    rows = views.list_acks(
        open_db(), claim=claim, outcome=outcome, since=start.isoformat() if start else None
    )
    render.emit(rows, fmt=fmt, output=output, title="Acknowledgements",
                columns=list(views.ACK_COLUMNS))  # fmt: skip


@app.command("rejections")
def ack_rejections(
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="DATE", help="Count days from this date.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """The rejection worklist: what was rejected, by whom, why, what to fix; oldest first.

    After the fix (the coverage's member id, the patient's birth date, the referring
    provider...), `ack resend CLAIM` queues the claim; the next `invoice generate` sends it.

    Example:
        billadmin ack rejections
        billadmin ack resend C000123
    """
    from .. import dates, render
    from ..acks import views

    today = dates.parse_option(as_of, "--as-of", dates.today())
    rows = views.rejections(open_db(), today)
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        title="Rejected claims",
        columns=["claim", "payer", "rejected_on", "days", "by", "why", "fix"],
    )
    note(f"{len(rows)} rejected claim(s) to fix and send again")


@app.command("resend")
def ack_resend(
    claims: Annotated[list[str], typer.Argument(help="Rejected claim numbers.")],
):
    """Queue rejected claims to be sent again: same claim number, frequency 1.

    The claim's parties (subscriber, patient, payer, provider) and recorded claim fields are
    read again, so the fix made since the rejection goes out; its lines and amounts stay.
    The next `invoice generate` writes it into a new 837P; its history shows both sends.

    Example:
        billadmin ack resend C000123
    """
    from ..billing import resend

    conn = open_db()
    for number in claims:
        r = resend.resend(conn, number)
        what = ", ".join(r["changed"]) or "nothing changed since it was sent"
        note(f"{r['claim']}: queued for the next 837P (frequency 1); changed: {what}")


@app.command("status-request")
def ack_status_request(
    days: Annotated[
        int, typer.Option("--days", help="Ask about claims sent at least DAYS days ago.")
    ] = 30,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the 276 files.")
    ] = Path("."),
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="DATE", help="Today; default today.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the claims it would ask about; write nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Write 276 claim status requests for claims with no answer after DAYS days.

    A claim still sent or accepted (no 835, no rejection) whose latest send is DAYS days old
    or more (the payer's `ack status-rule` when set), and not asked about within DAYS days, is
    asked about; one file per payer, each
    checked before it is written. Read the payer's 277 with `ack import`; `ack list --claim`
    shows it.

    Example:
        billadmin ack status-request --days 30 --out outbox
        billadmin ack import inbox/277-KEY-20261201.x12
    """
    from .. import dates, render
    from ..acks import status

    today = dates.parse_option(as_of, "--as-of", dates.today())
    res = status.request(open_db(), out, days=days, today=today, dry_run=dry_run)
    render.emit(
        res.rows,
        fmt=fmt,
        output=output,
        title="Claim status requests" + (" (dry run)" if dry_run else ""),
        columns=["claim", "payer", "sent_on", "trace", "file", "skipped"],
    )
    asked = sum(1 for r in res.rows if not r["skipped"])
    verb = "would ask" if dry_run else "asked"
    note(f"{verb} about {asked} claim(s) in {len(res.files)} file(s);"
         f" {len(res.rows) - asked} skipped")  # fmt: skip


@app.command("status-rule")
def ack_status_rule(
    code: Annotated[str, typer.Argument(metavar="CODE", help="Payer code, e.g. KEY.")],
    days: Annotated[int, typer.Argument(help="Days to wait after a send before asking.")],
):
    """Set how long a payer's claims wait before a 276 asks about them (audited).

    `ack status-request` uses the payer's rule instead of --days.

    Example:
        billadmin ack status-rule MCR 45
    """
    from ..acks import status

    r = status.set_rule(open_db(), code, days)
    note(f"Payer {r['payer']}: claim status asked {r['days']} day(s) after a send")

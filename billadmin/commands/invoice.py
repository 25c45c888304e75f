"""`billadmin invoice`: generate claims (837P) and patient invoices (PDF), validate X12, void,
replace, list, show, export."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ..dates import parse_option
from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Claims as X12 837P, patient invoices as PDF, voids.\n\nInvoices: claims as X12 837P and "
    "patient invoices as PDF, and their lifecycle."
)


HELD_SHOWN = 40


@contextmanager
def _status():
    """On a terminal (and not --quiet): a spinner naming the step `invoice generate` is on, with
    the time since it began, and a bar of the segments pyx12 has checked on a large run. Yields
    the progress callback (None otherwise)."""
    import sys

    from . import state

    if state.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class Bar(BarColumn):  # a bar only for what is counted (pyx12's segments)
        def render(self, task):
            return Text("") if task.total is None else super().render(task)

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        Bar(bar_width=24),
        TextColumn("{task.fields[n]}"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as prog:
        main = prog.add_task("starting", total=None, n="")
        counts: dict[str, TaskID] = {}

        def say(step: str, done: int | None = None, total: int | None = None) -> None:
            if done is None:
                prog.update(main, description=step)
                return
            if step not in counts:
                counts[step] = prog.add_task(step, total=total, n="")
            prog.update(counts[step], completed=done, total=total, n=f"{done:,} of {total:,}")

        yield say


def _print_held(held, held_file) -> None:
    from collections import Counter

    rows = [r for h in held for r in h.rows()]
    by_rule = Counter(r["rule"] for r in rows)
    note("  by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())))
    for r in rows[:HELD_SHOWN]:
        where = f" line {r['line']}" if r["line"] else ""
        note(f"  held {r['encounter']}{where}: {r['rule']}: {r['message']}")
    if len(rows) > HELD_SHOWN:
        note(
            f"  ... {len(rows) - HELD_SHOWN} more"
            + (f": all of them in {held_file}" if held_file else "")
        )
    elif held_file:
        note(f"  (also in {held_file})")


@app.command("generate")
def invoice_generate(
    through: Annotated[
        str | None,
        typer.Option(
            "--through", metavar="DATE", help="Bill services up to this date (default today)."
        ),
    ] = None,
    payer: Annotated[
        str | None, typer.Option("--payer", metavar="CODE", help="Only claims to this payer.")
    ] = None,
    claims_only: Annotated[
        bool, typer.Option("--claims-only", help="Only insurance claims.")
    ] = False,
    patients_only: Annotated[
        bool, typer.Option("--patients-only", help="Only patient invoices.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Output folder (default ./out/YYYY-MM-DD)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be issued; write nothing.")
    ] = False,
    no_pdf: Annotated[
        bool, typer.Option("--no-pdf", help="Issue patient invoices without writing their PDFs.")
    ] = False,
    no_xlsx: Annotated[
        bool, typer.Option("--no-xlsx", help="Write invoices.csv but not invoices.xlsx.")
    ] = False,
    cob_for: Annotated[
        list[str] | None,
        typer.Option(
            "--cob",
            metavar="CLAIM",
            help="Bill only these claims' next payers (COB); refused if the payer's 835 is not posted.",
        ),
    ] = None,
    pyx12: Annotated[
        bool,
        typer.Option(
            "--pyx12",
            help="Also validate every 837 with pyx12, the reference validator (much slower).",
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Bill everything ready: one 837P per payer, patient invoice PDFs, invoices.csv/.xlsx.

    Takes unbilled charge lines up to --through, runs the scrubber, holds encounters with an
    error (listed with their findings), and issues the rest: a claim per insured encounter
    (primary coverage on the date of service), a patient invoice per self-pay patient or
    patient responsibility from remittances. What a payer's 835 left for a next payer goes to
    it as a COB claim (secondary, then tertiary; docs/cob.md), listed with what waits on a
    crossover or is held from the patient (QMB, Medicaid). Institutional claims (`import
    institutional`) go on one 837I per payer and facility (docs/institutional.md). Every 837P
    and 837I is validated before it is written, by the validator compiled from pyx12's 005010
    maps (pyx12's verdicts, many times faster; docs/x12-validation.md); --pyx12 runs pyx12
    itself as well. Running it again bills nothing new.
    Exit 0: all billed; 1: some encounters held; 2: bad input or an 837P failed validation
    (nothing issued); 3: database busy, or what it bills kept changing while it was prepared
    (nothing issued; retry).

    Example:
        billadmin invoice generate
        billadmin invoice generate --through 2026-11-30 --payer MCR --out claims/
        billadmin invoice generate --dry-run --format json
        billadmin invoice generate --cob C000123
    """
    from .. import money, render
    from ..billing import generate as gen
    from ..errors import BadInput
    from ..scrub import check as scrub_check

    if claims_only and patients_only:
        raise BadInput("--claims-only and --patients-only exclude each other")
    conn = open_db()
    with _status() as say:
        res = gen.generate(
            conn,
            through=parse_option(through or None, "--through"),
            payer=payer,
            claims=not patients_only,
            patients=not claims_only,
            out_dir=out,
            dry_run=dry_run,
            pdf=not no_pdf,
            xlsx=not no_xlsx,
            scrub=scrub_check,
            progress=say,
            pyx12=pyx12,
            cob_for=cob_for or None,
        )
    for text in res.notes:  # an earlier run's files put in place (or lost)
        note(text)
    if fmt is Format.table:
        rows = res.summary()
        if rows:
            render.emit(
                rows,
                fmt=fmt,
                output=output,
                columns=["kind", "bill_to", "invoices", "first", "last", "total_cents", "file"],
                title="Would issue (dry run)" if dry_run else "Issued",
            )
    else:
        render.emit(
            res.issued,
            fmt=fmt,
            output=output,
            columns=["number", "kind", "bill_to", "encounter", "total_cents", "file"],
        )
    new = [r for r in res.issued if not r.get("queued")]
    queued = len(res.issued) - len(new)  # voids and replacements issued earlier, sent now
    n_claims = sum(1 for r in new if r["kind"] != "patient")
    n_pat = len(new) - n_claims
    total = sum(r["total_cents"] for r in new)
    verb = "Would issue" if dry_run else "Issued"
    if res.issued:
        parts = (
            [
                f"{verb} {n_claims} claim(s) and {n_pat} patient invoice(s), total {money.fmt(total, thousands=True)}"
            ]
            if new
            else []
        )
        if queued:
            parts.append(
                f"{'would send' if dry_run else 'sent'} {queued} void(s)/replacement(s) queued by invoice void|replace"
            )
        if not dry_run:
            parts.append(f"files in {res.out_dir}/")
        text = "; ".join(parts)
        note(text[0].upper() + text[1:])
    else:
        note("Nothing new to bill")
    if res.skipped_zero:
        note(f"{res.skipped_zero} patient(s) skipped: nothing owed")
    for r in res.cob:  # next payers (COB): billed, held, waiting, and why
        amount = money.fmt(r["amount_cents"], thousands=True)
        to = f" -> {r['next_payer']}" if r["next_payer"] else ""
        note(f"COB {r['claim']}{to} {amount} [{r['rule']}] {r['note']}".rstrip())
    if res.warnings:
        note(f"{res.warnings} scrubber warning(s): see billadmin codes check")
    if res.held:
        note(f"{len(res.held)} encounter(s) held (not billed) until corrected:")
        _print_held(res.held, res.held_file if not dry_run else None)
        raise typer.Exit(1)


@app.command("validate")
def invoice_validate(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="X12 837P, 837I, 835, 999 or 277CA files."),
    ],
    pyx12: Annotated[
        bool,
        typer.Option(
            "--pyx12", help="Also run pyx12, the reference validator: both verdicts shown."
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Validate X12 files (837P, 837I, 835, 999, 277CA) against their implementation guide.

    Runs the validator compiled from pyx12's 005010 maps (the verdicts pyx12 gives, many times
    faster) and, apart, the guides' balancing rules pyx12 lacks (column rules: CLM02 against the
    lines, COB amounts, 835 CLP/SVC/BPR); --pyx12 runs pyx12 itself as well and shows both
    verdicts. Prints one row per file and every problem found (segment number, segment and
    element, rule). A UTF-8 byte-order mark is accepted. Exit 1 if any file is invalid (by either
    validator) or breaks a balancing rule, 2 if a file cannot be read.

    Example:
        billadmin invoice validate out/2026-11-26/*.edi
        billadmin invoice validate ../shared/data/x12/835/*.edi --format json
        billadmin invoice validate out/2026-11-26/837P-KEY-000000002.edi --pyx12
    """
    from dataclasses import asdict

    from .. import render
    from ..errors import BadInput
    from ..x12 import compiled_rules, validate

    for f in files:
        if not f.is_file():
            raise BadInput(f"{f}: no such file")
    checked = compiled_rules.check_paths(files)
    verdicts = [v for v, _ in checked]
    oracle = validate.validate_paths(files) if pyx12 else [None] * len(verdicts)
    columns = ["file", "transaction", "version", "segments", "valid", "problems", "rules"]
    if pyx12:
        columns += ["pyx12_valid", "pyx12_problems"]
    rows = []
    for (v, found), o in zip(checked, oracle, strict=True):
        row = v.as_dict() if fmt is Format.json else v.as_row()
        row["rules"] = [asdict(p) for p in found] if fmt is Format.json else len(found)
        if o is not None:
            if fmt is Format.json:
                row["pyx12"] = o.as_dict()
            else:
                row["pyx12_valid"], row["pyx12_problems"] = o.valid, len(o.problems)
        rows.append(row)
    if fmt is Format.json:
        render.emit(rows, fmt=fmt, output=output)
    else:
        render.emit(rows, fmt=fmt, output=output, columns=columns)
    bad = 0
    for (v, found), o in zip(checked, oracle, strict=True):
        for p in v.problems[:200]:
            note(f"{v.name}: {p}")
        for p in found[:200]:
            note(f"{v.name}: {p}")
        if o is not None and not o.valid:
            for p in o.problems[:200]:
                note(f"{o.name}: pyx12: {p}")
        if o is not None and o.valid != v.valid:
            note(f"{v.name}: the compiled validator and pyx12 disagree")
        bad += not v.valid or bool(found) or (o is not None and not o.valid)
    if bad:
        note(f"{bad} of {len(verdicts)} file(s) invalid")
        raise typer.Exit(1)
    note(f"{len(verdicts)} file(s) valid")


@app.command("void")
def invoice_void(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="Invoice number, e.g. C000123.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why it is voided (kept with the invoice's history).")
    ] = "",
    rebill: Annotated[
        bool,
        typer.Option("--rebill", help="Put its charge lines back to unbilled (bill them again)."),
    ] = False,
    payer_claim_number: Annotated[
        str | None,
        typer.Option(
            "--payer-claim-number",
            metavar="ICN",
            help="The payer's claim number, when no remittance gave it.",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Void an issued invoice with a credit note; a claim already sent is voided on the next 837P.

    The credit note (CN...) takes off what is open on a claim (a patient invoice's total less
    what write-offs took off; what the patient paid on it is held as their credit, applied to
    the rebilled invoice or refunded). A claim that was sent goes out again on
    the next `invoice generate` with frequency code 8 and the payer's claim number (REF*F8). A
    claim a payer already answered is refused (exit 2) until its claim number is known (from
    its 835 or --payer-claim-number): payers reject a void they cannot match.

    Example:
        billadmin invoice void C000123 --reason "billed to the wrong payer" --rebill
        billadmin invoice void P000045 --reason "service not rendered"
    """
    from .. import render
    from ..billing import lifecycle

    conn = open_db()
    res = lifecycle.void(
        conn, number, reason=reason, rebill=rebill, payer_claim_number_=payer_claim_number
    )
    render.emit(res, fmt=fmt, output=output, single=True, title="Voided")
    if res["sent_as_void"]:
        note(
            f"{res['number']} will be voided at the payer by the next `billadmin invoice generate` (frequency 8"
            + (
                ", REF*F8)"
                if res["payer_claim_number_known"]
                else "; never adjudicated, so no REF*F8)"
            )
        )


@app.command("replace")
def invoice_replace(
    number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="The claim to replace, e.g. C000123.")
    ],
    payer_claim_number: Annotated[
        str | None,
        typer.Option(
            "--payer-claim-number",
            metavar="ICN",
            help="The payer's claim number, when no remittance gave it.",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Replace a claim after its lines were corrected: a new claim with frequency code 7.

    The encounter's current lines and diagnoses are scrubbed and billed on a new claim number;
    the original's open amount moves to it once (credit note). It goes out on the next
    `invoice generate`.
    Exit 1 (nothing issued) if the encounter still has errors.

    Example:
        billadmin invoice replace C000123
        billadmin invoice replace C000123 --payer-claim-number 2026123456789
    """
    from .. import render
    from ..billing import lifecycle
    from ..scrub import check as scrub_check

    conn = open_db()
    res = lifecycle.replace(conn, number, scrub=scrub_check, payer_claim_number_=payer_claim_number)
    render.emit(res, fmt=fmt, output=output, single=True, title="Replaced")
    note(
        f"{res['replacement']} replaces {res['number']}; it goes out on the next `billadmin invoice generate`"
    )


@app.command("resubmit")
def invoice_resubmit(
    number: Annotated[
        str,
        typer.Argument(metavar="NUMBER", help="The claim returned unprocessable, e.g. C000123."),
    ],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Resubmit a claim returned unprocessable (Medicare MA130) as a new claim.

    MA130 claims have no appeal rights: correct the encounter (`billadmin charge correct`), then
    resubmit. The encounter's current lines and diagnoses are scrubbed and billed on a new claim
    number with frequency code 1 (not a replacement: no REF*F8); the original's open amount
    moves to it once (credit note) and its state becomes 'corrected'. Exit 1 (nothing issued)
    if the encounter still has errors; exit 2 for a claim that is not unprocessable.

    Example:
        billadmin charge correct E000123 --dx E11.65 --reason "MA130: invalid diagnosis"
        billadmin invoice resubmit C000123
    """
    from .. import render
    from ..billing import lifecycle
    from ..scrub import check as scrub_check

    conn = open_db()
    res = lifecycle.resubmit(conn, number, scrub=scrub_check)
    render.emit(res, fmt=fmt, output=output, single=True, title="Resubmitted")
    note(
        f"{res['replacement']} is a new claim for {res['number']}; it goes out on the next"
        " `billadmin invoice generate`"
    )


@app.command("list")
def invoice_list(
    kind: Annotated[str | None, typer.Option("--kind", help="claim, patient or credit.")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Current status: issued, sent, paid, partially_paid, denied, voided, replaced, ...",
        ),
    ] = None,
    payer: Annotated[
        str | None, typer.Option("--payer", metavar="CODE", help="Only this payer's claims.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Issued on or after this date.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many rows.")] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List issued invoices with their balance and current status.

    Example:
        billadmin invoice list --kind claim --status sent --payer KEY
        billadmin invoice list --since 2026-11-01 --format csv -o invoices.csv
    """
    from .. import render
    from ..billing import lifecycle

    conn = open_db()
    rows = lifecycle.list_invoices(
        conn,
        kind=kind,
        status=status,
        payer=payer,
        since=parse_option(since or None, "--since"),
        limit=limit,
    )
    render.emit(rows, fmt=fmt, output=output, columns=lifecycle.LIST_COLUMNS, title="Invoices")


@app.command("show")
def invoice_show(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="Invoice number.")],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show one invoice: totals and balance, lines, status history and files.

    Example:
        billadmin invoice show C000123
        billadmin invoice show P000045 --format json
    """
    from .. import render
    from ..billing import lifecycle
    from ..institutional import views as inst_views

    conn = open_db()
    data = lifecycle.show(conn, number)
    inst = inst_views.issued_claim(conn, data["number"])  # an 837I claim: its UB-04 lines
    if fmt is Format.json:
        render.emit(
            {**data, "institutional": inst} if inst else data, fmt=fmt, output=output, single=True
        )
        return
    head = {k: v for k, v in data.items() if k not in ("lines", "history", "files", "payers")}
    if fmt is Format.csv:
        render.emit(data["lines"], fmt=fmt, output=output)
        return
    render.emit(head, fmt=fmt, output=output, single=True, title=f"Invoice {data['number']}")
    render.emit(data["lines"], fmt=fmt, output=output, title="Lines")
    if inst:
        render.emit(inst["claim"], fmt=fmt, output=output, single=True, title="Institutional claim")
        render.emit(inst["lines"], fmt=fmt, output=output, title="Revenue lines")
    if data.get("payers"):
        render.emit(data["payers"], fmt=fmt, output=output, title="Per payer")
    render.emit(data["history"], fmt=fmt, output=output, title="Status history")
    if data["files"]:
        render.emit(data["files"], fmt=fmt, output=output, title="Files")


@app.command("export")
def invoice_export(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="Invoice number.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="pdf, x12, csv, cms1500, cms1500-data, ub04 or ub04-data."
        ),
    ] = "pdf",
    output: OutputOpt = None,
):
    """Re-render an issued invoice as PDF, X12 837P, CSV or a CMS-1500 paper claim from the
    content it was issued with.

    The X12 is the claim as sent, apart from the envelope's dates; the PDF is byte-identical.
    cms1500 is the claim on the CMS-1500 (02/12) form's grid with the box numbers in red, for
    reading or plain paper; cms1500-data prints the values only, for the red form itself.
    ub04 and ub04-data do the same for an institutional claim on the UB-04 (CMS-1450).
    Writes to -o FILE, else to NUMBER.pdf / NUMBER.edi / NUMBER.csv / NUMBER-cms1500.pdf
    / NUMBER-ub04.pdf.

    Example:
        billadmin invoice export P000045 --format pdf -o reprint.pdf
        billadmin invoice export C000123 --format x12
        billadmin invoice export C000123 --format cms1500-data -o to-print.pdf
    """
    from ..billing import lifecycle
    from ..render import private_open

    conn = open_db()
    data, name = lifecycle.export(conn, number, fmt)
    if fmt.lower().startswith(("cms1500", "ub04")) and (why := lifecycle.paper_note(conn, number)):
        note(why)
    path = Path(output) if output else Path(name)
    if str(path) == "-":
        import sys

        sys.stdout.buffer.write(data)
    else:
        with private_open(path, "wb") as fh:
            fh.write(data)
        note(f"Wrote {path}")


def _amount(text: str, number: str) -> int:
    from .. import money
    from ..errors import BadInput

    try:
        return money.parse_cents(text, allow_negative=False)
    except money.MoneyError as e:
        raise BadInput(f"{number.strip()}: AMOUNT {e}") from None


DateOpt = Annotated[
    str | None, typer.Option("--date", metavar="DATE", help="Posting date; default today.")
]


@app.command("writeoff")
def invoice_writeoff(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="Claim or patient invoice.")],
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="Amount to write off, e.g. 20.00.")
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="small-balance, bad-debt (collections), courtesy, timely-filing, contractual,"
            " denial-writeoff, qmb or charity.",
        ),
    ] = "",
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Write off part or all of an invoice's open balance, with a reason (one ledger entry).

    Refused (exit 2, nothing written) when the amount is more than the open balance or the
    invoice is voided, replaced or closed. Undo with `invoice writeoff-undo`.

    Example:
        billadmin invoice writeoff C000123 20.00 --reason contractual
        billadmin invoice writeoff P000045 2.40 --reason small-balance --date 2026-05-01
    """
    import datetime as dt

    from .. import render
    from ..accounts import adjust

    row = adjust.writeoff(
        open_db(),
        number,
        _amount(amount, number),
        reason,
        on=parse_option(on, "--date", dt.date.today()),
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Write-off")
    note(f"{row['invoice']}: written off, entry {row['entry']}")


@app.command("writeoff-undo")
def invoice_writeoff_undo(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The invoice written off.")],
    entry: Annotated[int, typer.Argument(metavar="ENTRY", help="The write-off's entry number.")],
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Undo a write-off with the opposite entry (the write-off itself stays in the ledger).

    Example:
        billadmin invoice writeoff-undo C000123 41
    """
    import datetime as dt

    from .. import render
    from ..accounts import adjust

    row = adjust.undo_writeoff(
        open_db(), number, entry, on=parse_option(on, "--date", dt.date.today())
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Write-off undone")


@app.command("to-patient")
def invoice_to_patient(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The denied claim.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Amount to move, e.g. 90.00.")],
    on: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Move a denied amount to the patient, where the patient may be billed (ABN, GA).

    Only an eligibility, non-covered or benefit-limit denial, or a medical-necessity denial
    with an ABN (GA), moves. Refused for a medical-necessity denial without an ABN (GZ) and
    for denials the provider must work (CO-16 missing information, CO-97 bundling, coding,
    authorization, timely filing...): the provider's liability.

    Example:
        billadmin invoice to-patient C000123 90.00
    """
    import datetime as dt

    from .. import render
    from ..accounts import adjust

    row = adjust.to_patient(
        open_db(),
        number,
        _amount(amount, number),
        on=parse_option(on, "--date", dt.date.today()),
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Moved to the patient")

"""`billadmin remit`: read payers' 835 remittances, post them against our claims, list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Payers' 835 remittances: show, import (post), list.\n\nPayers' 835 remittances: show, import "
    "(post payments and adjustments), list."
)

FilesArg = Annotated[list[Path], typer.Argument(help="X12 835 files.", show_default=False)]


def _read_835s(files) -> tuple[list, dict, list]:
    """Parse and balance-check each file: (documents, differences by transaction, the
    unbalanced ones); a file that is not a readable 835 is BadInput listing every problem."""
    from ..errors import BadInput
    from ..remit import balance, parse

    docs, problems, diffs = [], [], {}
    for f in files:
        rf = parse.parse_file(f)
        for i in rf.errors:
            problems.append(f"{rf.name}: {i}")
        for w in rf.warnings:
            note(f"Warning: {rf.name}: {w}")
        for tx in rf.transactions:
            diffs[id(tx)] = balance.check_transaction(tx)
        docs.append(rf)
    unbalanced = [
        (rf.name, d)
        for rf in docs
        for tx in rf.transactions
        for d in diffs[id(tx)]
        if d.severity == "error"
    ]
    if problems:
        raise BadInput(f"{len(problems)} problem(s) reading the 835 input", details=problems)
    return docs, diffs, unbalanced


def _show_tables(docs: list, diffs: dict, fmt, output) -> None:
    """Per file: its transactions, its claims and lines, Medicare's inpatient/outpatient
    adjudication (MIA/MOA) and its PLB adjustments if any."""
    from .. import render
    from ..remit import recoup, views

    for rf in docs:
        txs = [views.transaction_row(rf, tx, diffs[id(tx)]) for tx in rf.transactions]
        render.emit(
            txs,
            fmt=fmt,
            output=output,
            title=f"{rf.name}: transactions",
            columns=[
                "st",
                "payer",
                "trace_number",
                "method",
                "payment_date",
                "amount_cents",
                "claims",
                "claims_paid_cents",
                "plb_cents",
                "balance",
            ],
        )
        render.emit(
            views.claim_line_rows(rf),
            fmt=fmt,
            output=output,
            title=f"{rf.name}: claims and lines",
            columns=[
                "claim",
                "line",
                "code",
                "status",
                "charge_cents",
                "paid_cents",
                "patient_resp_cents",
                "adjusted_cents",
                "adjustments",
                "remarks",
                "balance",
            ],
        )
        adjudication = views.adjudication_rows(rf)
        if adjudication:
            render.emit(
                adjudication,
                fmt=fmt,
                output=output,
                title=f"{rf.name}: {views.ADJUDICATION_TITLE} (MIA/MOA)",
            )
        plb = [
            {
                "trace_number": tx.trace_number,
                "provider": p.provider_id,
                "reason": p.reason,
                "reference": recoup.shown_reference(p.reference),
                "amount_cents": p.amount_cents,
            }
            for tx in rf.transactions
            for p in tx.plb
        ]
        if plb:
            render.emit(
                plb,
                fmt=fmt,
                output=output,
                title=f"{rf.name}: provider-level adjustments (PLB)",
            )


@app.command("show")
def remit_show(
    files: FilesArg,
    totals: Annotated[
        bool,
        typer.Option(
            "--totals", help="Only each transaction's totals and balance check (large files)."
        ),
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Show what an 835 says, without posting: totals, each claim and line, the balance check.

    patient_resp is the CAS group PR (deductible, coinsurance, co-pay); adjusted the other CAS
    groups (CO, OA, PI, CR: what the payer took off that the patient does not owe), the same
    amounts `remit list --claims` shows. A claim Medicare adjudicated as inpatient (MIA) or
    outpatient (MOA) gets a block of what it computed (DRG, outlier, PPS capital, HCPCS payable,
    ESRD amounts, covered days, rate): informational, the posted money is the CLP, CAS and SVC.
    Exit 0 when every transaction balances, 1 when the balance check finds differences, 2 when
    the file is not a readable 835.

    Example:
        billadmin remit show era-2026-03-14.835
        billadmin remit show era-2026-03-14.835 --format json | jq '.transactions[0].claims[0]'
        billadmin remit show --totals big-payer-file.835
    """
    from .. import render
    from ..errors import BadInput
    from ..remit import views

    docs, diffs, unbalanced = _read_835s(files)
    if totals:
        if fmt is Format.xlsx:
            raise BadInput("remit show prints table, csv or json")
        rows = [
            views.transaction_row(rf, tx, diffs[id(tx)]) for rf in docs for tx in rf.transactions
        ]
        render.emit(
            rows,
            fmt=fmt,
            output=output,
            title="835 transactions",
            columns=[
                "file",
                "st",
                "payer",
                "trace_number",
                "method",
                "payment_date",
                "amount_cents",
                "claims",
                "claims_paid_cents",
                "plb_cents",
                "balance",
            ],
        )
    elif fmt is Format.json:
        data = [views.show_document(rf) for rf in docs]
        render.emit(
            data[0] if len(data) == 1 else data, fmt=fmt, output=output, single=len(data) == 1
        )
    elif fmt is Format.csv:
        rows = [dict(file=rf.name, **r) for rf in docs for r in views.claim_line_rows(rf)]
        render.emit(rows, fmt=fmt, output=output)
    elif fmt is Format.xlsx:
        raise BadInput("remit show prints table, csv or json")
    else:
        _show_tables(docs, diffs, fmt, output)
    if unbalanced:
        for name, d in unbalanced:
            note(f"Does not balance: {name}: {d}")
        raise typer.Exit(1)
    note(
        f"{len(docs)} file(s), {sum(len(rf.transactions) for rf in docs)} transaction(s): every amount balances"
    )


@app.command("import")
def remit_import(
    files: FilesArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and match everything, post nothing.")
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Post 835 remittances: payments, adjustments, patient responsibility, claim status.

    Every file is read and balance-checked first; a file that does not balance refuses the whole
    call (exit 2, nothing posted). Claims are matched by CLP01 to our claim numbers; claims we
    never issued are kept as unmatched. A payer's trace number (TRN02) posts once: the same one
    again is "already posted" (exit 1). Patient responsibility (PR) becomes the patient's to
    bill on the next patient invoice. A PLB recoupment (WO, 72) whose reference names one of
    our claims is allocated to that claim; any other PLB stays provider-level; each is listed.

    Example:
        billadmin remit import inbox/*.835
        billadmin remit import --dry-run era-2026-03-14.835
    """
    from .. import render
    from ..remit import post

    conn = open_db()
    res = post.import_files(conn, files, dry_run=dry_run)
    for w in res.warnings:
        note(f"Warning: {w}")
    render.emit(
        [t.row() for t in res.transactions],
        fmt=fmt,
        output=output,
        title="835 import" + (" (dry run: nothing posted)" if dry_run else ""),
        columns=[
            "file",
            "trace_number",
            "payer",
            "amount_cents",
            "result",
            "claims",
            "matched",
            "unmatched_claims",
            "posted_cents",
            "unmatched_cents",
            "plb_cents",
            "note",
        ],
    )
    by_outcome: dict[str, int] = {}
    for c in res.claims:
        by_outcome[c.outcome] = by_outcome.get(c.outcome, 0) + 1
    for c in res.unmatched:
        note(
            f"{c.outcome.replace('_', ' ')}: claim {c.claim_number} in {c.file} (trace {c.trace_number}), "
            f"paid {c.paid_cents / 100:.2f}: {c.note}"
        )
    for u in res.undone:
        note(f"Would post: {u}" if dry_run else u)
    for c in res.claims:
        if c.final_state:
            note(
                f"{c.claim_number} is {c.final_state}: the payer's answer ({c.outcome}) is posted,"
                f" the claim stays {c.final_state}"
            )
    for p in res.plb:
        ref = f" {p.reference}" if p.reference else ""
        note(f"PLB {p.reason}{ref} {p.amount_cents / 100:.2f} (trace {p.trace_number}): {p.note}")
    posted = [t for t in res.transactions if t.result in ("posted", "would post")]
    verb = "Would post" if dry_run else "Posted"
    note(
        f"{verb} {len(posted)} transaction(s), {sum(t.posted_cents for t in posted) / 100:,.2f}; claims: "
        + (", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(by_outcome.items())) or "none")
    )
    if res.already_posted:
        for t in res.already_posted:
            note(f"Already posted: {t.file}: {t.note}")
        raise typer.Exit(1)


@app.command("list")
def remit_list(
    claims: Annotated[
        bool, typer.Option("--claims", help="List claim payments instead of transactions.")
    ] = False,
    plb: Annotated[
        bool,
        typer.Option(
            "--plb", help="List provider-level adjustments (PLB): recouped from a claim or not."
        ),
    ] = False,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="With --claims: paid, partially_paid, denied, reversed, unmatched, duplicate, not_posted.",
        ),
    ] = None,
    trace: Annotated[
        str | None, typer.Option("--trace", help="Only this trace (check/EFT) number.")
    ] = None,
    payer: Annotated[
        str | None,
        typer.Option(
            "--payer", help="Payer code (as the payer column shows it), or part of its name."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Payment date on or after DATE."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most N rows (newest first).")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List posted remittances (newest first), their claim payments (--claims) or PLBs (--plb).

    payer is our payer's code when the 835's payer is one of ours (by electronic payer id or
    name), else the payer's name as the 835 spells it. With --claims, patient_resp is the CAS
    group PR and adjusted the other CAS groups (CO, OA, PI, CR), as in `remit show`: for a
    claim that balances, charge = paid + patient_resp + adjusted.

    Example:
        billadmin remit list --since 2026-03-01
        billadmin remit list --claims --outcome denied -f csv -o denied.csv
        billadmin remit list --plb --payer KEY
    """
    from .. import dates, render
    from ..errors import BadInput
    from ..remit import views

    if since:
        since = dates.iso(dates.parse_option(since, "--since"))
    if outcome and not claims:
        raise BadInput("--outcome applies to --claims")
    if claims and plb:
        raise BadInput("--claims and --plb list different things: choose one")
    conn = open_db()
    if plb:
        rows = views.list_plb(conn, trace=trace, payer=payer, since=since, limit=limit)
        render.emit(
            rows, fmt=fmt, output=output, columns=views.PLB_COLUMNS, title="Provider adjustments"
        )
    elif claims:
        rows = views.list_claims(conn, outcome=outcome, trace=trace, limit=limit)
        render.emit(
            rows,
            fmt=fmt,
            output=output,
            title="Claim payments from 835s",
            columns=views.CLAIM_TABLE_COLUMNS if fmt is Format.table else views.CLAIM_COLUMNS,
        )
    else:
        rows = views.list_transactions(conn, trace=trace, payer=payer, since=since, limit=limit)
        render.emit(
            rows, fmt=fmt, output=output, columns=views.TRANSACTION_COLUMNS, title="835 remittances"
        )

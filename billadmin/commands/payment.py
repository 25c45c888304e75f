"""`billadmin payment`: patient payments, refunds, credit, and the payment list."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import AgainOpt, FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Patient payments and refunds: post, refund, list.\n\nPatient payments and refunds: post, "
    "refund, apply-credit, list; a payer's paper EOB (eob) and refunds to payers (refund-payer)."
)

MethodOpt = Annotated[str | None, typer.Option("--method", help="cash, card, check, eft or other.")]
ReferenceOpt = Annotated[
    str | None, typer.Option("--reference", help="Check number, card slip or transaction id.")
]
DateOpt = Annotated[
    str | None,
    typer.Option("--date", metavar="DATE", help="Date received (YYYY-MM-DD); default today."),
]


def _show(post, fmt, output):
    from .. import money, render

    rows = post.rows()
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        columns=["receipt", "invoice", "applied_cents", "balance_after_cents"],
        title=f"Receipt {post.receipt}",
    )
    if post.kind == "refund":
        note(f"Refund {money.fmt(-post.amount_cents)} recorded, receipt {post.receipt}")
    else:
        applied = sum(a["amount_cents"] for a in post.allocations)
        extra = f"; {money.fmt(applied)} applied to invoices" if post.pending_cents else ""
        if post.pending_cents:
            extra += (
                f"; {money.fmt(post.pending_cents)} held for the pending patient share"
                " (applied when `invoice generate` bills it)"
            )
        if post.credit_cents > post.pending_cents:
            extra += f"; {money.fmt(post.credit_cents - post.pending_cents)} kept as credit"
        note(f"Payment {money.fmt(post.amount_cents)} recorded, receipt {post.receipt}{extra}")


@app.command("post")
def payment_post(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Amount received, e.g. 45.00.")],
    method: MethodOpt = None,
    invoice: Annotated[
        str | None,
        typer.Option(
            "--invoice", help="Apply to this patient invoice only (default: oldest first)."
        ),
    ] = None,
    reference: ReferenceOpt = None,
    date: DateOpt = None,
    credit: Annotated[
        bool,
        typer.Option(
            "--credit",
            help="Keep what is over what the patient owes as patient credit instead of refusing.",
        ),
    ] = False,
    again: AgainOpt = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Record a patient payment, applied to the oldest open patient invoices first.

    The patient may pay what they owe now (as `account show` and `checkin` say): the open patient
    invoices plus a share a payer's answer moved to them that no invoice carries yet, less their
    credit. The part for that pending share is held as their credit and applied when `invoice
    generate` bills it.

    Refused, nothing written (exit 2): zero or negative amounts, more than the patient owes now
    (or the --invoice's balance; --credit keeps the rest as credit), a voided invoice, an
    insurance claim (payer money comes by remittance), and the same payment keyed twice: the
    patient already has a payment (or co-pay), not refunded in full, with the same --reference
    and method, or, without a reference, the same amount, method and date (--again posts a
    genuine second payment; with --invoice, one that paid only other invoices is another part
    of a split check).

    Example:
        billadmin payment post 0100007 45.00 --method card
        billadmin payment post 0100007 20.00 --method check --reference 1043 --invoice P000012
        billadmin payment post 0100007 100.00 --method cash --credit
        billadmin payment post 0100007 45.00 --method card --again
    """
    from .. import dates
    from ..accounts import payments
    from ..dates import parse_option
    from .options import amount as parse_amount

    cents = parse_amount(amount, "AMOUNT")
    on = parse_option(date, "--date", dates.today())
    post = payments.post_payment(
        open_db(),
        mrn,
        cents,
        method=method,
        on=on,
        invoice_number=invoice,
        reference=reference,
        credit=credit,
        again=again,
    )
    _show(post, fmt, output)


@app.command("refund")
def payment_refund(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Amount paid back, e.g. 20.00.")],
    method: MethodOpt = None,
    invoice: Annotated[
        str | None, typer.Option("--invoice", help="Refund this overpaid patient invoice only.")
    ] = None,
    reference: ReferenceOpt = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Pay a patient back from their credit balance or an overpaid patient invoice.

    Takes the unapplied credit first, then overpaid invoices oldest first; never more than
    the patient has to their credit.

    Example:
        billadmin payment refund 0100007 20.00 --method check --reference 5501
    """
    from .. import dates
    from ..accounts import payments
    from ..dates import parse_option
    from .options import amount as parse_amount

    cents = parse_amount(amount, "AMOUNT")
    on = parse_option(date, "--date", dates.today())
    post = payments.refund(
        open_db(), mrn, cents, method=method, on=on, invoice_number=invoice, reference=reference
    )
    _show(post, fmt, output)


@app.command("eob")
def payment_eob(
    claim: Annotated[str, typer.Argument(metavar="CLAIM", help="Our claim number, e.g. C000123.")],
    paid: Annotated[str, typer.Option("--paid", metavar="AMOUNT", help="What the payer paid.")],
    adjust: Annotated[
        list[str] | None,
        typer.Option(
            "--adjust",
            "--cas",
            metavar="GROUP-CARC:AMOUNT",
            help="An adjustment as the EOB prints it, e.g. CO-45:50.00 or PR-2:30.00 (repeat).",
        ),
    ] = None,
    reference: Annotated[
        str, typer.Option("--reference", help="The check or EOB number (required).")
    ] = "",
    payer_claim_number: Annotated[
        str | None,
        typer.Option("--payer-claim-number", metavar="ICN", help="The payer's claim number."),
    ] = None,
    payer: Annotated[
        str | None,
        typer.Option(
            "--payer",
            metavar="CODE",
            help="Whose EOB this is (payer code); default: the claim's payer, or the"
            " crossover payer a crossed-over claim waits on.",
        ),
    ] = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Post a payer's paper EOB for one claim, as `remit import` posts an 835.

    Paid plus the adjustments must equal the claim's charge. Contractual adjustments reduce the
    balance, PR moves to the next payer or the patient, denials stay open.

    A crossed-over claim waits on the crossover payer's EOB; Medicare's own (a late or
    corrected one) is posted with --payer and Medicare's code.

    Example:
        billadmin payment eob C000123 --paid 120.00 --adjust CO-45:50.00 --adjust PR-2:30.00 --reference 88123
        billadmin payment eob C000123 --paid 0.00 --adjust CO-45:150.00 --reference 77 --payer MCR
    """
    from .. import dates, render
    from ..dates import parse_option
    from ..remit import post
    from .options import amount as parse_amount

    cents = parse_amount(paid, "--paid")
    cas = [post.parse_cas(a) for a in adjust or []]
    on = parse_option(date, "--date", dates.today())
    res = post.post_eob(
        open_db(),
        claim,
        paid_cents=cents,
        cas=cas,
        reference=reference,
        on=on,
        payer_claim_number=payer_claim_number,
        payer=payer,
    )
    render.emit(
        [c.__dict__ for c in res.claims],
        fmt=fmt,
        output=output,
        columns=[
            "claim_number",
            "outcome",
            "charge_cents",
            "paid_cents",
            "adjusted_cents",
            "patient_resp_cents",
        ],
        title="Paper EOB posted",
    )


@app.command("refund-payer")
def payment_refund_payer(
    claim: Annotated[str, typer.Argument(metavar="CLAIM", help="Our claim number, e.g. C000123.")],
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="Amount sent back to the payer, e.g. 110.00.")
    ],
    method: MethodOpt = None,
    reference: ReferenceOpt = None,
    date: DateOpt = None,
    payer: Annotated[
        str | None,
        typer.Option(
            "--payer",
            metavar="CODE",
            help="The payer refunded when it is not the claim's own (a crossover or secondary"
            " payer that paid on the claim).",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Refund a payer's overpayment of a claim (its credit: the claim's balance below zero).

    Recorded as a negative payment from the payer refunded (the claim's payer, or --payer)
    allocated to the claim; never more than the credit on the claim nor more than that payer
    paid on it. A payer that recoups by PLB on a later 835 needs no refund: `remit import`
    allocates the recoupment to the claim it names.

    Example:
        billadmin payment refund-payer C000123 110.00 --method check --reference 5120
        billadmin payment refund-payer C000123 15.00 --payer MCD --method eft
    """
    from .. import dates, money, render
    from ..accounts import refunds
    from ..dates import parse_option
    from .options import amount as parse_amount

    cents = parse_amount(amount, "AMOUNT")
    on = parse_option(date, "--date", dates.today())
    row = refunds.refund_payer(
        open_db(), claim, cents, method=method, on=on, reference=reference, payer=payer
    )
    render.emit(row, fmt=fmt, output=output, title="Refund to the payer", single=True)
    note(
        f"Refund {money.fmt(cents)} to {row['payer'] or 'the payer'} recorded on {row['claim']};"
        f" balance now {money.fmt(row['balance_after_cents'])}"
    )


@app.command("apply-credit")
def payment_apply_credit(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Apply the patient's credit (co-pays, overpayments) to open patient invoices, oldest first.

    Example:
        billadmin payment apply-credit 0100007
    """
    from .. import dates, money, render
    from ..accounts import payments
    from ..dates import parse_option

    on = parse_option(date, "--date", dates.today())
    rows = payments.apply_credit_for(open_db(), mrn, on)
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        columns=["invoice", "payment_id", "amount_cents"],
        title="Credit applied",
    )
    note(
        f"Applied {money.fmt(sum(r['amount_cents'] for r in rows))} of credit to "
        f"{len({r['invoice'] for r in rows})} invoice(s)"
    )


@app.command("list")
def payment_list(
    mrn: Annotated[
        str | None, typer.Argument(metavar="[MRN]", help="Only this patient's payments.")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="insurance, patient, copay or refund.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="Received on or after.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Received on or before.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many, newest first.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List payments, newest first, with receipt, what they paid and any credit kept.

    Example:
        billadmin payment list 0100007
        billadmin payment list --kind copay --from 2026-11-01 -f csv -o copays.csv
    """
    from .. import render
    from ..accounts import payments
    from ..dates import parse_option

    rows = payments.list_payments(
        open_db(),
        mrn=mrn,
        kind=kind,
        since=parse_option(since, "--from"),
        until=parse_option(until, "--to"),
        limit=limit,
    )
    render.emit(rows, fmt=fmt, output=output, title="Payments")

"""`billadmin plan`: payment plans (monthly installments) and the report of plans due."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import AgainOpt, FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Payment plans: set up, pay, report due, missed, completed.\n\nPayment plans: a patient "
    "pays what they owe in monthly installments; plan statements instead of dunning."
)

DateOpt = Annotated[str | None, typer.Option("--date", metavar="DATE", help="Default today.")]
COLUMNS = [
    "plan",
    "mrn",
    "status",
    "total_cents",
    "monthly_cents",
    "paid_cents",
    "credited_cents",
    "left_cents",
    "missed_cents",
    "next_due_on",
    "next_due_cents",
]


@app.command("create")
def plan_create(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    monthly: Annotated[str, typer.Option("--monthly", help="Amount per month.")],
    day: Annotated[int, typer.Option("--day", help="Day of the month it is due (1-28).")],
    start: Annotated[str, typer.Option("--start", metavar="DATE", help="First month from.")],
    total: Annotated[
        str | None, typer.Option("--total", help="Plan total (default: the whole balance).")
    ] = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Set up a payment plan; its total may not exceed what the patient owes.

    Example:
        billadmin plan create 0100007 --monthly 50.00 --day 15 --start 2026-12-01
        billadmin plan create 0100007 --total 300.00 --monthly 100.00 --day 1 --start 2027-01-01
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import plans
    from .options import amount

    row = plans.create(
        open_db(),
        mrn,
        monthly_cents=amount(monthly, "--monthly"),
        day=day,
        start=parse_option(start, "--start", today()),
        total_cents=amount(total, "--total"),
        on=parse_option(date, "--date", today()),
    )
    render.emit(row, fmt=fmt, output=output, single=True, title=f"Plan {row['plan']}")
    note(f"Plan {row['plan']} set up: {row['installments']} installment(s)")


@app.command("pay")
def plan_pay(
    mrn: Annotated[str, typer.Argument(metavar="MRN", help="The patient's MRN.")],
    amount_: Annotated[str, typer.Argument(metavar="AMOUNT", help="Amount received.")],
    method: Annotated[
        str | None, typer.Option("--method", help="cash, card, check, eft or other.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Check number or transaction id.")
    ] = None,
    again: AgainOpt = False,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Record a payment to the patient's open plan (refused when no plan is open).

    Example:
        billadmin plan pay 0100007 50.00 --method card
    """
    from .. import render
    from ..dates import parse_option, today
    from ..statements import plans
    from .options import amount

    row = plans.pay(
        open_db(),
        mrn,
        amount(amount_, "AMOUNT"),
        method=method,
        reference=reference,
        on=parse_option(date, "--date", today()),
        again=again,
    )
    render.emit(row, fmt=fmt, output=output, single=True, title=f"Plan {row['plan']}")
    note(f"Payment recorded, receipt {row['receipt']}; plan {row['status']}")


@app.command("cancel")
def plan_cancel(
    number: Annotated[str, typer.Argument(metavar="PLAN", help="The plan number, e.g. PP000001.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it ends.")] = "cancelled",
    date: DateOpt = None,
):
    """Close an open plan unpaid: the patient goes back to the dunning cycle.

    Example:
        billadmin plan cancel PP000001 --reason "stopped paying"
    """
    from ..dates import parse_option, today
    from ..statements import plans

    plans.cancel(open_db(), number, on=parse_option(date, "--date", today()), reason=reason)
    note(f"Plan {number.strip().upper()} cancelled")


@app.command("list")
def plan_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only: due, missed, current, completed or cancelled."),
    ] = None,
    date: DateOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Report the plans: due (within 7 days), missed, current, completed, cancelled.

    What is left follows the balance: paid counts every payment since the set-up (`plan pay`,
    `payment post`, check-in), credited what the payer, a write-off or a void took off; a plan
    nothing is owed on is completed, the reason in its note (csv and json).

    Example:
        billadmin plan list --status missed
        billadmin plan list --date 2026-12-20 -f csv
    """
    from .. import render
    from ..dates import parse_option, today
    from ..errors import BadInput
    from ..statements import plans

    if status and status not in ("due", "missed", "current", "completed", "cancelled"):
        raise BadInput("--status must be due, missed, current, completed or cancelled")
    rows = plans.report(open_db(), parse_option(date, "--date", today()), status=status)
    cols = COLUMNS if Format(fmt) is Format.table else [*COLUMNS, "note"]
    render.emit(rows, fmt=fmt, output=output, columns=cols, title="Payment plans")

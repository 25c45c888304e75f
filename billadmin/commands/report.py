"""`billadmin report NAME`: A/R, KPIs, payer analyses, denials, the day sheet, deadlines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..render import Format
from . import OutputOpt, group, note, open_db

if TYPE_CHECKING:
    from ..db import Database


app = group(
    "Reports: A/R aging, KPIs, Medicare, payer mix, denials.\n\nReports: A/R aging, KPIs, Medicare, "
    "payer mix and pay per code, denials, day sheet, deadlines."
)

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", metavar="DATE", help="Balances at the end of this day; default today."),
]
FromOpt = Annotated[
    str | None, typer.Option("--from", metavar="DATE", help="First day of the period.")
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE", help="Last day of the period (default --as-of)."),
]
ReportFormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="Output format: table, csv, json, xlsx (needs -o).")
]


def _dates(as_of, start=None, end=None):
    from .. import dates
    from ..dates import parse_option

    return (
        parse_option(as_of, "--as-of", dates.today()),
        parse_option(start, "--from"),
        parse_option(end, "--to"),
    )


def _out(conn: Database, rep, fmt, output) -> None:
    """Print or write the report (a report naming patients recorded its own PHI read)."""
    from .. import render

    render.emit_report(rep, fmt, output)
    for n in rep.notes:
        note(n)
    if output and str(output) != "-":
        note(f"Wrote {output}")  # a report naming patients also got render's PHI note


@app.command("aging")
def report_aging(
    as_of: AsOfOpt = None,
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Age from the date of service (dos) or the invoice date (invoice)."
        ),
    ] = "dos",
    per: Annotated[
        str, typer.Option("--per", help="Rows per payer (default) or per patient.")
    ] = "payer",
    pending: Annotated[
        bool,
        typer.Option(
            "--pending/--invoiced-only",
            help="Also age what an 835 moved that no invoice carries yet (patient responsibility"
            " before its statement, the next payer's share before its claim): the default, as"
            " account show and checkin count it; --invoiced-only ages the invoices alone.",
        ),
    ] = True,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Open balances by payer or patient in buckets 0-30, 31-60, 61-90, 91-120, 120+ days.

    Claims age under their payer (denied amounts included), patient invoices under PATIENT,
    and what a payer's answer moved that is on no invoice yet under whoever owes it (column
    pending), so TOTAL = sum of open balances (credits too) + those pending amounts. With
    --invoiced-only, TOTAL = sum of open balances = charges - payments - adjustments.
    xlsx: both views and a stacked chart of the buckets by payer.

    Example:
        billadmin report aging
        billadmin report aging --as-of 2026-10-31 --by invoice --per patient -f csv -o aging.csv
        billadmin report aging --invoiced-only
        billadmin report aging -f xlsx -o aging.xlsx
    """
    from ..reports import aging

    today, _, _ = _dates(as_of)
    conn = open_db()
    rep = aging.report(
        conn, as_of=today, basis=by, per=per, xlsx=Format(fmt) is Format.xlsx, pending=pending
    )
    _out(conn, rep, fmt, output)


@app.command("kpi")
def report_kpi(
    as_of: AsOfOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    monthly: Annotated[
        bool, typer.Option("--monthly", help="One row per month of the period (the trend).")
    ] = False,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Revenue-cycle KPIs for a period (default the 90 days ending --to), with their formulas.

    \b
    days_in_ar          = A/R / (gross charges in period / days in period)
    clean_claim_rate    = claims never denied, voided or replaced
                          / original claims issued in period and answered by the payer
    first_pass_rate     = claims settled by their first remittance
                          / claims first answered in period
    denial_rate         = claims with a denial reason code / claims first answered in period
    net_collection_rate = payments received / (gross charges - contractual adjustments)
    ar_over_90_pct      = A/R over 90 days from the date of service / A/R
    A/R is the aging total at the end of --to; gross charges are charge lines by date of
    service; denials are remittance adjustments in group CO/OA/PI with a denial reason;
    contractual adjustments are group CO with a contractual reason (e.g. CO-45).
    xlsx: the KPIs, the monthly trend and its charts.

    \b
    Example:
        billadmin report kpi
        billadmin report kpi --from 2026-06-01 --to 2026-11-30 --monthly
        billadmin report kpi --monthly -f xlsx -o kpi.xlsx
    """
    from ..reports import kpi

    today, s, e = _dates(as_of, start, end)
    conn = open_db()
    rep = kpi.report(
        conn, start=s, end=e, as_of=today, monthly=monthly, xlsx=Format(fmt) is Format.xlsx
    )
    _out(conn, rep, fmt, output)


@app.command("medicare")
def report_medicare(
    as_of: AsOfOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Medicare and Medicaid billing per month, compared with commercial payers.

    Per month and program: claims and charges issued, insurance payments, contractual
    adjustments, patient responsibility, claims answered and denied, denial rate, top denial
    codes, average days to pay (first payment - issue date); a total row per program.
    Default period: the 12 calendar months ending --to.

    Example:
        billadmin report medicare
        billadmin report medicare --from 2026-01-01 --to 2026-06-30 -f xlsx -o medicare.xlsx
    """
    from ..reports import medicare

    today, s, e = _dates(as_of, start, end)
    conn = open_db()
    _out(
        conn,
        medicare.report(conn, start=s, end=e, as_of=today, xlsx=Format(fmt) is Format.xlsx),
        fmt,
        output,
    )


@app.command("payer-mix")
def report_payer_mix(
    as_of: AsOfOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Charges, payments and open A/R by payer, with each payer's share.

    Charges by date of service under the payer billed for the encounter (else PATIENT for
    self-pay, else UNBILLED); payments by who paid; A/R at --to. Default period: the 90 days
    ending --to. xlsx: pie charts of charges and payments.

    Example:
        billadmin report payer-mix
        billadmin report payer-mix --from 2026-01-01 --to 2026-12-31 -f xlsx -o mix.xlsx
    """
    from ..reports import mix

    today, s, e = _dates(as_of, start, end)
    conn = open_db()
    _out(conn, mix.mix_report(conn, start=s, end=e, as_of=today), fmt, output)


@app.command("payer-cpt")
def report_payer_cpt(
    as_of: AsOfOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    code: Annotated[str | None, typer.Option("--code", help="Only this procedure code.")] = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """What each payer pays per procedure code, ranked (1 = pays best).

    Over claim lines with a date of service in the period (default the 90 days ending --to):
    lines billed, paid and denied; average billed, allowed (paid + patient part) and paid,
    lowest and highest paid, paid as a share of billed.

    Example:
        billadmin report payer-cpt --code 99213
        billadmin report payer-cpt -f csv -o payer-cpt.csv
    """
    from ..reports import mix

    today, s, e = _dates(as_of, start, end)
    conn = open_db()
    _out(conn, mix.cpt_report(conn, start=s, end=e, as_of=today, code=code), fmt, output)


@app.command("denials")
def report_denials(
    as_of: AsOfOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    by: Annotated[
        str, typer.Option("--by", help="category, payer, code, provider or carc.")
    ] = "category",
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Denials posted in the period, grouped by reason category, payer, code, provider or CARC.

    Default period: the 90 days ending --to. xlsx: one sheet per grouping and a chart by
    category.

    Example:
        billadmin report denials
        billadmin report denials --by payer --from 2026-10-01 --to 2026-10-31
    """
    from ..reports import denials

    today, s, e = _dates(as_of, start, end)
    conn = open_db()
    _out(
        conn,
        denials.report(conn, start=s, end=e, as_of=today, by=by, xlsx=Format(fmt) is Format.xlsx),
        fmt,
        output,
    )


@app.command("daysheet")
def report_daysheet(
    date: Annotated[
        str | None, typer.Option("--date", metavar="DATE", help="The day (default today).")
    ] = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """One day's charges (by date of service), invoices issued, payments and adjustments, with totals.

    Example:
        billadmin report daysheet --date 2026-11-20
    """
    from ..reports import daysheet

    day, _, _ = _dates(date)
    conn = open_db()
    _out(conn, daysheet.report(conn, day=day, xlsx=Format(fmt) is Format.xlsx), fmt, output)


WithinOpt = Annotated[
    int, typer.Option("--within", min=0, max=3650, help="Days ahead to look (default 30).")
]


@app.command("timely-filing")
def report_timely_filing(
    as_of: AsOfOpt = None,
    within: WithinOpt = 30,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Unbilled charges and unanswered claims near or past their timely-filing deadline.

    The deadline is the payer's limit from the date of service (`billadmin payer list`);
    rows past it come first.

    Example:
        billadmin report timely-filing --within 14
    """
    from ..reports import deadlines

    today, _, _ = _dates(as_of)
    conn = open_db()
    _out(conn, deadlines.filing_report(conn, as_of=today, within=within), fmt, output)


@app.command("coverage-expiring")
def report_coverage_expiring(
    as_of: AsOfOpt = None,
    within: WithinOpt = 30,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Coverages ending soon or just lapsed, patients with upcoming visits first.

    Example:
        billadmin report coverage-expiring --within 30 -f csv -o renewals.csv
    """
    from ..reports import deadlines

    today, _, _ = _dates(as_of)
    conn = open_db()
    _out(conn, deadlines.coverage_report(conn, as_of=today, within=within), fmt, output)


@app.command("price-changes")
def report_price_changes(
    month: Annotated[
        str, typer.Option("--month", metavar="YYYY-MM", help="The month the prices change.")
    ],
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Codes whose charge or contract price changed in a month, and the revenue impact.

    Old and new unit price, the units billed the month before, and the impact at that volume
    ((new - old) x units). xlsx: a bar chart of the impact per code.

    Example:
        billadmin report price-changes --month 2026-10
        billadmin report price-changes --month 2026-10 -f xlsx -o price-changes.xlsx
    """
    from ..reports import price_changes

    conn = open_db()
    _out(conn, price_changes.price_changes(conn, month), fmt, output)


@app.command("contract-expected")
def report_contract_expected(
    invoice: Annotated[
        str | None, typer.Option("--invoice", help="Only this claim number.")
    ] = None,
    start: FromOpt = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Each claim line's expected allowed amount under the payer's contract.

    Also the contractual adjustment an 835 should carry (charge - expected allowed).

    Example:
        billadmin report contract-expected --from 2026-10-01
    """
    from ..dates import parse_option
    from ..reports import price_changes

    s = parse_option(start, "--from")
    conn = open_db()
    rep = price_changes.expected_report(conn, invoice=invoice, since=s.isoformat() if s else None)
    _out(conn, rep, fmt, output)


@app.command("underpaid-contracts")
def report_underpaid_contracts(
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="Differences up to this amount are ignored.")
    ] = "0.00",
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Remittance lines the payer allowed below its contract (underpayments).

    Allowed = the 835 line's AMT*B6, else its charge less its CO adjustments; expected = the
    contract on the date of service times the units.

    Example:
        billadmin report underpaid-contracts --tolerance 0.50
    """
    from .. import money
    from ..errors import BadInput
    from ..reports import price_changes

    try:
        tol = money.parse_cents(tolerance, allow_negative=False)
    except money.MoneyError as e:
        raise BadInput(f"--tolerance: {e}") from None
    conn = open_db()
    _out(conn, price_changes.underpaid_report(conn, tolerance_cents=tol), fmt, output)

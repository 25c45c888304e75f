"""`billadmin payer`: per-payer filing, appeal and corrected-claim limits."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Payers and their filing, appeal and correction limits.\n\nPayer rules: timely filing, appeal "
    "and corrected-claim limits."
)


@app.command("list")
def payer_list(fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """List payers with the deadlines billadmin applies to them (defaults marked).

    Defaults: Medicare and Medicaid 12 months from the date of service (42 CFR 424.44,
    447.45), other payers 90 days until set; appeals 120 days from the remittance date.

    Example:
        billadmin payer list
    """
    from .. import render
    from ..accounts import rules

    render.emit(rules.rule_rows(open_db()), fmt=fmt, output=output, title="Payer rules")


@app.command("set")
def payer_set(
    code: Annotated[str, typer.Argument(metavar="CODE", help="Payer code, e.g. KEY.")],
    timely_filing_days: Annotated[
        int | None,
        typer.Option(
            "--timely-filing-days", help="Initial claims within N days of the date of service."
        ),
    ] = None,
    timely_filing_months: Annotated[
        int | None,
        typer.Option(
            "--timely-filing-months",
            help="Initial claims within N calendar months of the date of service.",
        ),
    ] = None,
    appeal_days: Annotated[
        int | None,
        typer.Option("--appeal-days", help="Appeals within N days of the remittance date."),
    ] = None,
    corrected_claim_days: Annotated[
        int | None,
        typer.Option(
            "--corrected-claim-days", help="Corrected claims within N days of the remittance date."
        ),
    ] = None,
    no_corrected: Annotated[
        bool,
        typer.Option(
            "--no-corrected-claim-days",
            help="Corrected claims follow the timely-filing limit again.",
        ),
    ] = False,
    paper: Annotated[
        bool | None,
        typer.Option(
            "--paper/--electronic",
            help="Its claims printed by invoice generate (CMS-1500; institutional ones on the"
            " UB-04), or sent electronically (837P, 837I).",
            show_default=False,
        ),
    ] = None,
    corrections: Annotated[
        str | None,
        typer.Option(
            "--corrections",
            metavar="reopening|replacement",
            help="How it corrects a claim it adjudicated: a reopening you request (Medicare's"
            " default) or a replacement claim, frequency 7 (every other payer's default).",
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Set a payer's timely-filing, appeal or corrected-claim limit, that it takes paper
    claims, or how it corrects adjudicated claims (audited).

    Example:
        billadmin payer set KEY --timely-filing-days 180 --appeal-days 180
        billadmin payer set MCR --timely-filing-months 12
        billadmin payer set SUM --corrected-claim-days 90
        billadmin payer set AUTO1 --paper
        billadmin payer set MCR --corrections reopening
    """
    from .. import render
    from ..accounts import rules

    row = rules.set_rules(
        open_db(),
        code,
        filing_days=timely_filing_days,
        filing_months=timely_filing_months,
        appeal_days=appeal_days,
        corrected_claim_days=corrected_claim_days,
        clear_corrected=no_corrected,
        claim_media=None if paper is None else ("paper" if paper else "electronic"),
        corrections=corrections,
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Payer rules")
    note(f"Payer {row['payer']} updated")


@app.command("carc-rule")
def payer_carc_rule(
    code: Annotated[str, typer.Argument(metavar="CODE", help="Payer code, e.g. KEY.")],
    group_carc: Annotated[
        str, typer.Argument(metavar="GROUP-CARC", help="CAS group and reason, e.g. CO-97.")
    ],
    cls: Annotated[
        str,
        typer.Argument(
            metavar="CLASS",
            help="contractual, prior_payer, duplicate, patient, denial, or default (remove).",
        ),
    ],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Set how this payer's 835s post a CAS code: its class overrides the built-in table.

    contractual reduces the balance, patient moves it to the patient, denial leaves it open
    for the clerk to work, prior_payer and duplicate explain without posting. Applies to
    835s posted from now on (audited).

    Example:
        billadmin payer carc-rule KEY CO-97 contractual
        billadmin payer carc-rule KEY CO-97 default
    """
    from .. import render
    from ..accounts import rules

    row = rules.set_carc_rule(open_db(), code, group_carc, cls)
    render.emit(row, fmt=fmt, output=output, single=True, title="CAS classification")
    note(f"Payer {row['payer']}: {row['group']}-{row['carc']} posts as {row['class']}")


@app.command("carc-rules")
def payer_carc_rules(
    code: Annotated[
        str | None, typer.Argument(metavar="[CODE]", help="Payer code; default every payer.")
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the payers' CAS classification overrides next to the built-in class.

    Example:
        billadmin payer carc-rules KEY
    """
    from .. import render
    from ..accounts import rules

    render.emit(
        rules.carc_rule_rows(open_db(), code), fmt=fmt, output=output, title="CAS classification"
    )

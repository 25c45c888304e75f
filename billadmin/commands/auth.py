"""`billadmin auth`: prior authorizations and referrals, and the payer rules that need them."""

from __future__ import annotations

from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Prior authorizations and referrals: add, list, expiring.\n\nThe register of what payers "
    "authorized (codes, dates, visits), the payer rules that require an authorization, an NDC "
    "or a referring provider, and what is about to run out."
)

PayerOpt = Annotated[str, typer.Option("--payer", metavar="CODE", help="The payer's code.")]


@app.command("add")
def auth_add(
    payer: PayerOpt,
    mrn: Annotated[str, typer.Option("--mrn", help="The patient's MRN.")],
    number: Annotated[
        str, typer.Option("--number", help="The payer's authorization (or referral) number.")
    ],
    codes: Annotated[
        str,
        typer.Option(
            "--codes", help='Codes covered: "97110,97140", a range "97110-97546", or "J*".'
        ),
    ],
    valid_from: Annotated[str, typer.Option("--from", metavar="DATE", help="First day valid.")],
    valid_to: Annotated[str, typer.Option("--to", metavar="DATE", help="Last day valid.")],
    visits: Annotated[
        int | None,
        typer.Option(
            "--visits", help="Visits allowed (leave out when unlimited).", show_default=False
        ),
    ] = None,
    used: Annotated[
        int, typer.Option("--used", help="Visits already used before it was recorded here.")
    ] = 0,
    referral: Annotated[
        bool,
        typer.Option("--referral", help="A referral number (REF*9F), not a prior authorization."),
    ] = False,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Record a payer's prior authorization (or referral) for a patient (audited).

    Example:
        billadmin auth add --payer BVHMO --mrn 0100007 --number PA12345 --codes 97110,97140 \\
            --from 2026-09-01 --to 2026-11-30 --visits 8
    """
    from .. import render
    from ..auths import register
    from ..dates import parse_option

    row = register.add(
        open_db(),
        payer=payer,
        mrn=mrn,
        number=number,
        codes=codes,
        valid_from=parse_option(valid_from, "--from"),
        valid_to=parse_option(valid_to, "--to"),
        visits=visits,
        used_before=used,
        kind="referral" if referral else "prior_auth",
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Authorization")


@app.command("list")
def auth_list(
    payer: Annotated[
        str | None, typer.Option("--payer", metavar="CODE", help="Only this payer's.")
    ] = None,
    active_on: Annotated[
        str | None,
        typer.Option("--active-on", metavar="DATE", help="Only those valid on this day."),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """List the authorizations with their visits used and left.

    Example:
        billadmin auth list
        billadmin auth list --payer BVHMO --active-on 2026-11-26 --format csv
    """
    from .. import render
    from ..auths import register
    from ..dates import parse_option

    rows = register.auth_list(
        open_db(), payer=payer, active_on=parse_option(active_on, "--active-on")
    )
    render.emit(rows, fmt=fmt, output=output, columns=register.LIST_COLUMNS, title="Authorizations")


@app.command("expiring")
def auth_expiring(
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="DATE", help="Today; default today.")
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Ending within this many days.")] = 30,
    visits_left: Annotated[
        int, typer.Option("--visits-left", help="Or with at most this many visits left.")
    ] = 2,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Authorizations ending soon or nearly used up: ask the payer before the next visit.

    Exit 1 when any is listed.

    Example:
        billadmin auth expiring
        billadmin auth expiring --days 14 --visits-left 1
    """
    from .. import dates, render
    from ..auths import register

    rows = register.expiring(
        open_db(),
        as_of=dates.parse_option(as_of, "--as-of", dates.today()),
        days=days,
        visits_left=visits_left,
    )
    render.emit(
        rows,
        fmt=fmt,
        output=output,
        columns=(*register.LIST_COLUMNS, "why"),
        title="Authorizations expiring or nearly used up",
    )
    if rows:
        note(f"{len(rows)} authorization(s) to renew or extend")
        raise typer.Exit(1)


@app.command("require")
def auth_require(
    payer: PayerOpt,
    requirement: Annotated[
        str,
        typer.Argument(
            metavar="WHAT", help="auth (prior authorization), ndc, or referring (provider)."
        ),
    ],
    codes: Annotated[
        str, typer.Option("--codes", help='The codes: "97110,97140", "97110-97546", "J*".')
    ],
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Record that a payer requires an authorization, an NDC or a referring provider for codes.

    The scrubber then holds such lines without one (AUTH-*, NDC-MISSING, REF-MISSING).

    Example:
        billadmin auth require auth --payer BVHMO --codes 97110-97546
        billadmin auth require ndc --payer KEY --codes "J*"
    """
    from .. import render
    from ..auths import register

    row = register.require(open_db(), payer=payer, requirement=requirement, codes=codes)
    render.emit(row, fmt=fmt, output=output, single=True, title="Requirement", phi=False)


@app.command("requirements")
def auth_requirements(fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """List what payers require: the built-in rules and each payer's recorded ones.

    Example:
        billadmin auth requirements
    """
    from .. import render
    from ..auths import register

    rows = register.requirement_list(open_db())
    render.emit(rows, fmt=fmt, output=output, title="Payer requirements", phi=False)

"""`billadmin provider`: the rendering providers named on claims."""

from __future__ import annotations

from typing import Annotated

import typer

from ..formats import Format
from . import FormatOpt, OutputOpt, group, open_db

app = group(
    "Rendering providers: list, show, set.\n\nThe rendering providers claims name (loaded with "
    "`billadmin import providers`)."
)

NpiArg = Annotated[str, typer.Argument(metavar="NPI", help="The provider's 10-digit NPI.")]


@app.command("list")
def provider_list(
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    active_only: Annotated[
        bool, typer.Option("--active", help="Only providers who are active.")
    ] = False,
):
    """List the rendering providers, active or not.

    Example:
        billadmin provider list
        billadmin provider list --active --format csv
    """
    from .. import providers, render

    rows = providers.provider_list(open_db(), include_inactive=not active_only)
    render.emit(rows, fmt=fmt, output=output, title="Providers", phi=False)


@app.command("show")
def provider_show(npi: NpiArg, fmt: FormatOpt = Format.table, output: OutputOpt = None):
    """Show one provider.

    Example:
        billadmin provider show 1234567893
    """
    from .. import providers, render

    row = providers.provider_get(open_db(), npi)
    render.emit(row, fmt=fmt, output=output, single=True, title="Provider", phi=False)


@app.command("set")
def provider_set(
    npi: NpiArg,
    first_name: Annotated[
        str | None, typer.Option("--first-name", help="Given name.", show_default=False)
    ] = None,
    last_name: Annotated[
        str | None,
        typer.Option("--last-name", help="Last (or organization) name.", show_default=False),
    ] = None,
    taxonomy: Annotated[
        str | None,
        typer.Option(
            "--taxonomy", metavar="CODE", help="NUCC taxonomy, e.g. 207Q00000X.", show_default=False
        ),
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive",
            help="Keep the provider on new work, or take them off it.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Change a provider's name, taxonomy or active flag (audited; the NPI is the key).

    Example:
        billadmin provider set 1234567893 --taxonomy 207Q00000X
        billadmin provider set 1234567893 --inactive
    """
    from .. import providers, render

    row = providers.provider_set(
        open_db(),
        npi,
        first_name=first_name,
        last_name=last_name,
        taxonomy=taxonomy,
        active=active,
    )
    render.emit(row, fmt=fmt, output=output, single=True, title="Provider", phi=False)

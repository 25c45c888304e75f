"""Command groups: thin Typer modules that parse options, call one domain function, render.

Shared here: the global state set by the root callback, the option types every listing command
takes, and the database opener.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ..formats import Format


@dataclass
class State:
    db_path: str | None = None
    quiet: bool = False


state = State()

FormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format: table, csv, json (xlsx for reports)."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to FILE instead of stdout (created 0600)."),
]
# a patient payment that repeats one already posted is refused as keyed twice (accounts.payments)
AgainOpt = Annotated[
    bool,
    typer.Option(
        "--again",
        help="This is a second payment, not the same one keyed twice: post it even though"
        " the patient has one with the same reference and method (or, without a reference,"
        " the same amount, method and date).",
    ),
]


def open_db(*, create: bool = False):
    from .. import db

    return db.connect(state.db_path, create=create)


def note(text: str) -> None:
    """A status note on stderr, silenced by --quiet."""
    import sys

    if not state.quiet:
        sys.stderr.write(text.rstrip("\n") + "\n")


def group(name_help: str) -> typer.Typer:
    """A command group with the house settings."""
    return typer.Typer(
        help=name_help, no_args_is_help=True, rich_markup_mode=None, add_completion=False
    )

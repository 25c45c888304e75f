"""`billadmin demo`: build the demo practice and run the main job on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import note, state


def demo(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Pretend today is this date (YYYY-MM-DD); default today.",
        ),
    ] = None,
):
    """Build the synthetic demo practice and run the main job on it.

    Replaces ./billadmin-demo.db (or --db PATH) and runs every pipeline step.

    Uses --db when given, else ./billadmin-demo.db (never $BILLADMIN_DB, so a real database is
    not replaced by accident).

    Example:
        billadmin demo
        billadmin --db /tmp/demo.db demo --as-of 2026-06-30
    """
    from .. import dates
    from .. import demo as demo_mod

    day = dates.parse_option(as_of or None, "--as-of")
    path = Path(state.db_path or "billadmin-demo.db")
    summary = demo_mod.run_demo(path, as_of=day)
    for step in summary.steps:
        note(f"- {step}")
    note(f"Demo database: {summary.db_path}  (try: billadmin --db {summary.db_path} patient list)")

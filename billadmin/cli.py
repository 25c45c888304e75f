"""Root of the command line: global options and one add_typer per command group. Nothing else."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .commands import state
from .commands import check, db as db_cmd, demo, export, init
from .commands import reconcile, remit
from .commands import account, appeal, checkin, denial, notes, payer, payment, report  # accounts (issue 7)
from .commands import import_, patient  # import and patients (issue 3)
from .commands import invoice, practice  # invoices and the practice (issue 5)
from .commands import codes  # code sets and the scrubber (issue 4)


def _keep_examples(cmd) -> None:
    """Click rewraps help paragraphs; a paragraph after a \\b line is printed as written, so
    every command's Example block keeps its one-command-per-line layout."""
    if cmd.help and "Example" in cmd.help and "\b" not in cmd.help:
        cmd.help = cmd.help.replace("Example:\n", "\b\nExample:\n").replace("Examples:\n", "\b\nExamples:\n")
    for sub in getattr(cmd, "commands", {}).values():
        _keep_examples(sub)


class _Root(TyperGroup):
    """Turns errors into one `Error: ...` line on stderr and the contract's exit code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _keep_examples(self)

    def invoke(self, ctx):
        from . import audit
        from .errors import BillAdminError, DatabaseBusy, DatabaseUnavailable

        audit.current_command = " ".join(a for a in sys.argv[1:3] if not a.startswith("-")) or "billadmin"
        try:
            return super().invoke(ctx)
        except BillAdminError as e:
            err = e
        except Exception as e:
            from .db import is_busy_error, is_db_error

            msg = str(e).lower()
            if not is_db_error(e):
                raise
            if is_busy_error(e):
                err = DatabaseBusy("database is busy: another billadmin held the lock too long; try again")
            elif "readonly" in msg or "read-only" in msg:
                err = DatabaseUnavailable("cannot write: the database or its directory is read-only; nothing was written")
            elif "disk" in msg and "full" in msg:
                err = DatabaseUnavailable("cannot write: the disk is full; nothing was written")
            elif "not a database" in msg or "malformed" in msg:
                err = DatabaseUnavailable("cannot open database: not a billadmin database, or damaged")
            else:
                raise
        if os.environ.get("BILLADMIN_DEBUG"):
            raise err
        sys.stderr.write(f"Error: {err.message}\n")
        for d in err.details:
            sys.stderr.write(f"  {d}\n")
        raise typer.Exit(err.exit_code)


def _version(value: bool):
    if value:
        typer.echo(f"billadmin {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=_Root,
    help="Medical billing from the terminal: patients, codes, claims, remittances, reports.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    db: Annotated[Optional[str], typer.Option("--db", metavar="PATH", help="Database file (default $BILLADMIN_DB, else ./billadmin.db).", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or status notes on stderr.")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None,
):
    """Medical billing from the terminal, over one local SQLite file."""
    state.db_path = db
    state.quiet = quiet


app.command("init")(init.init)
app.command("demo")(demo.demo)
app.command("check")(check.check)
app.command("checkin")(checkin.checkin)
# Command groups, one add_typer each (registered here, defined in commands/<group>.py):
app.add_typer(db_cmd.app, name="db")
app.add_typer(export.app, name="export")
app.add_typer(remit.app, name="remit")
app.add_typer(reconcile.app, name="reconcile")
app.add_typer(payment.app, name="payment")
app.add_typer(account.app, name="account")
app.add_typer(notes.app, name="note")
app.add_typer(payer.app, name="payer")
app.add_typer(denial.app, name="denial")
app.add_typer(appeal.app, name="appeal")
app.add_typer(report.app, name="report")
app.add_typer(import_.app, name="import")
app.add_typer(patient.app, name="patient")
app.add_typer(invoice.app, name="invoice")
app.add_typer(practice.app, name="practice")
app.add_typer(codes.app, name="codes")


def main():
    try:
        app()
    except Exception as e:  # the last resort: never a traceback for the user
        if os.environ.get("BILLADMIN_DEBUG"):
            raise
        sys.stderr.write(f"Error: internal error ({type(e).__name__}); rerun with BILLADMIN_DEBUG=1 for details\n")
        sys.exit(1)

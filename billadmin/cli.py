"""Root of the command line: global options, the top-level commands, and the command groups
(registered by name in GROUPS and loaded lazily). Nothing else."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from .commands import state

# Command groups in the order a billing office meets them. Each lives in commands/<module>.py
# as a Typer app; it is imported and built only when its name is on the command line (or for
# --help, where only its one-line help is read), so start-up does not pay for every group.
# name: (module, one-line summary; a test keeps it equal to the group's own first help line)
GROUPS = {
    "import": ("import_", "Import patients, payers, coverage, charges, fees (CSV/XLSX)."),
    "patient": ("patient", "Patients: list, show, compare a registration file."),
    "practice": ("practice", "The billing practice: NPI, tax id, address, EDI ids."),
    "facility": ("facility", "Facilities that bill 837I/UB-04: NPI, type of facility."),
    "payer": ("payer", "Payers and their filing, appeal and correction limits."),
    "provider": ("provider", "Rendering providers: list, show, set."),
    "codes": ("codes", "Code sets (ICD-10-CM, HCPCS, CPT, NCCI, MUE), the scrubber."),
    "charge": ("charge", "Charge lines: list, correct, remove (billed ones too)."),
    "auth": ("auth", "Prior authorizations and referrals: add, list, expiring."),
    "invoice": ("invoice", "Claims as X12 837P, patient invoices as PDF, voids."),
    "eligibility": ("eligibility", "Eligibility: 270 requests, 271 answers, coverage corrections."),
    "ack": ("ack", "Acknowledgements: 999 and 277CA, rejections, claim status."),
    "remit": ("remit", "Payers' 835 remittances: show, import (post), list."),
    "reconcile": ("reconcile", "Reconcile reports, claims against 835s and deposits."),
    "payment": ("payment", "Patient payments and refunds: post, refund, list."),
    "account": ("account", "A patient's whole account, as explained on the phone."),
    "note": ("notes", "Account notes: calls, letters, promises to pay."),
    "denial": ("denial", "Denied claims: what is at stake, by when, what to do."),
    "appeal": ("appeal", "Appeals of denied claims, with PDF letters."),
    "statement": ("statement", "Patient statements: monthly runs, dunning, holds, credits."),
    "plan": ("plan", "Payment plans: set up, pay, report due, missed, completed."),
    "collections": ("collections", "Collections: past final notice, agency hand-off, recoveries."),
    "report": ("report", "Reports: A/R aging, KPIs, Medicare, payer mix, denials."),
    "export": ("export", "Export data for analysis without identifying patients."),
    "db": ("db", "Encrypt, decrypt, re-key and back up the database file."),
}


def _group_app(name: str):
    import importlib

    return importlib.import_module(f"billadmin.commands.{GROUPS[name][0]}").app


def _keep_examples(cmd) -> None:
    """Click rewraps help paragraphs; a paragraph after a \\b line is printed as written, so
    every command's Example block keeps its one-command-per-line layout."""
    if cmd.help and "Example" in cmd.help and "\b" not in cmd.help:
        cmd.help = cmd.help.replace("Example:\n", "\b\nExample:\n").replace(
            "Examples:\n", "\b\nExamples:\n"
        )
    for sub in getattr(cmd, "commands", {}).values():
        _keep_examples(sub)


class _Root(TyperGroup):
    """Turns errors into one `Error: ...` line on stderr and the contract's exit code."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _keep_examples(self)

    def list_commands(self, ctx):
        order = ["init", "demo"] + list(GROUPS)
        order.insert(order.index("payment"), "checkin")
        order.insert(order.index("export"), "check")
        return order + [c for c in super().list_commands(ctx) if c not in order]

    def get_command(self, ctx, name):
        if name in GROUPS:
            cmd = typer.main.get_group(_group_app(name))
            cmd.name = name
            _keep_examples(cmd)
            return _audit_path(cmd)
        single = super().get_command(ctx, name)
        return _audit_path(single) if single is not None else None

    def format_commands(self, ctx, formatter):
        """The command list from each group's one-line help, without building the groups."""
        rows = []
        width = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            if name in GROUPS:
                text = GROUPS[name][1]
            else:
                cmd = super().get_command(ctx, name)
                text = cmd.get_short_help_str(width) if cmd is not None else ""
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        from . import audit
        from .errors import BillAdminError, DatabaseBusy, DatabaseUnavailable

        audit.current_command = "billadmin"  # each command names itself (_audit_path)
        try:
            return super().invoke(ctx)
        except BillAdminError as e:
            err = e
        except Exception as e:
            from .db import is_busy_error, is_db_error

            msg = str(e).lower()
            if isinstance(e, OSError) and _file_error(e):
                err = _file_error(e)
            elif not is_db_error(e):
                raise
            elif is_busy_error(e):
                err = DatabaseBusy(
                    "database is busy: another billadmin held the lock too long; try again"
                )
            elif "readonly" in msg or "read-only" in msg:
                err = DatabaseUnavailable(
                    "cannot write: the database or its directory is read-only; nothing was written"
                )
            elif "disk" in msg and "full" in msg:
                err = DatabaseUnavailable("cannot write: the disk is full; nothing was written")
            elif "not a database" in msg or "malformed" in msg:
                err = DatabaseUnavailable(
                    "cannot open database: not a billadmin database, or damaged"
                )
            else:
                raise
        if os.environ.get("BILLADMIN_DEBUG"):
            raise err
        sys.stderr.write(f"Error: {err.message}\n")
        for d in err.details:
            sys.stderr.write(f"  {d}\n")
        raise typer.Exit(err.exit_code)


def _audit_path(cmd):
    """The audit log names a command by its parsed path ("invoice generate"), set as the command
    runs; never from argv, where `--db practice.db` or a search term would stand."""
    if getattr(cmd, "_audit_path", False):
        return cmd
    cmd._audit_path = True
    for sub in getattr(cmd, "commands", {}).values():
        _audit_path(sub)
    if not hasattr(cmd, "commands"):
        inner = cmd.invoke

        def invoke(ctx, _inner=inner):
            from . import audit

            names, c = [], ctx
            while c.parent is not None:
                names.append(c.info_name)
                c = c.parent
            audit.current_command = " ".join(reversed(names)) or "billadmin"
            return _inner(ctx)

        cmd.invoke = invoke
    return cmd


def _file_error(e: OSError):
    """An output file (claims, PDFs, reports) could not be written because the disk is full or
    read-only: one line and exit 3, like the database's own SQLITE_FULL. None for other errors.
    Only the folder is named: file names are ours, the folder is the one the user gave."""
    import errno

    from .errors import DatabaseUnavailable

    if e.errno is None:
        return None
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the file system is read-only",
    }.get(e.errno)
    if why is None:
        return None
    where = f"in {os.path.dirname(e.filename) or '.'}" if isinstance(e.filename, str) else "a file"
    return DatabaseUnavailable(
        f"cannot write {where}: {why}; make room (or choose another folder) and run it again"
    )


def _version(value: bool):
    if value:
        from . import __version__  # package metadata: read only when asked for

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
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file (default $BILLADMIN_DB, else ./billadmin.db).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or status notes on stderr.")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = None,
):
    """Medical billing from the terminal, over one local SQLite file."""
    state.db_path = db
    state.quiet = quiet


from .commands import check, checkin, demo, init  # noqa: E402  (single commands: light modules)

app.command("init")(init.init)
app.command("demo")(demo.demo)
app.command("checkin")(checkin.checkin)
app.command("check")(check.check)


def main():
    try:
        app()
    except Exception as e:  # the last resort: never a traceback for the user
        if os.environ.get("BILLADMIN_DEBUG"):
            raise
        sys.stderr.write(
            f"Error: internal error ({type(e).__name__}); rerun with BILLADMIN_DEBUG=1 for details\n"
        )
        sys.exit(1)

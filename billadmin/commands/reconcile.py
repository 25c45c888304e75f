"""`billadmin reconcile`: compare two reports, or claims against remittances and deposits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..render import Format
from . import FormatOpt, OutputOpt, group, note, open_db

app = group(
    "Reconcile reports, claims against 835s and deposits.\n\nReconcile reports against each other, "
    "and claims against 835s and bank deposits."
)

DETAIL_COLUMNS = [
    "category",
    "key",
    "row_a",
    "amount_a_cents",
    "row_b",
    "amount_b_cents",
    "difference_cents",
]
# The Matched sheet lists this many pairs by default: openpyxl writes ~10,000 rows a second,
# so a million matched pairs would take minutes (the differences are always listed in full)
MATCHED_SHEET_ROWS = 20_000
SUMMARY_COLUMNS = [
    "category",
    "count_a",
    "total_a_cents",
    "count_b",
    "total_b_cents",
    "difference_cents",
]


def _fmt_for(fmt: Format, output: Path | None) -> Format:
    if output is not None and fmt is Format.table:
        suffix = output.suffix.lower()
        return {".xlsx": Format.xlsx, ".csv": Format.csv, ".json": Format.json}.get(suffix, fmt)
    return fmt


def _money_opt(value: str, name: str) -> int:
    from .. import money
    from ..errors import BadInput

    try:
        cents = money.parse_cents(value, allow_negative=False)
    except money.MoneyError as e:
        raise BadInput(f"{name}: {e}") from None
    return cents


def _limited(rows: list[dict], limit: int, key: str = "category") -> tuple[list[dict], int]:
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        n = seen.get(r[key], 0)
        if n < limit:
            out.append(r)
        seen[r[key]] = n + 1
    return out, len(rows) - len(out)


@app.command("reports")
def reconcile_reports(
    file_a: Annotated[
        Path,
        typer.Argument(
            metavar="A", help="First report (CSV or XLSX), e.g. the ERP invoicing export."
        ),
    ],
    file_b: Annotated[
        Path,
        typer.Argument(
            metavar="B", help="Second report (CSV or XLSX), e.g. the CMS invoicing report."
        ),
    ],
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key", help='Key column(s) in A: "Invoice No" or "Invoice No,Line" (repeatable).'
        ),
    ] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="Amount column in A.")] = None,
    key_b: Annotated[
        list[str] | None,
        typer.Option("--key-b", help="Key column(s) in B when named differently."),
    ] = None,
    amount_b: Annotated[
        str | None, typer.Option("--amount-b", help="Amount column in B when named differently.")
    ] = None,
    sheet_a: Annotated[
        str | None,
        typer.Option("--sheet-a", help="Sheet of an XLSX A (default: the first visible)."),
    ] = None,
    sheet_b: Annotated[str | None, typer.Option("--sheet-b", help="Sheet of an XLSX B.")] = None,
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance", help='Amounts this close count as matched: "0.50", or "1%" of A.'
        ),
    ] = None,
    strip_zeros: Annotated[
        bool,
        typer.Option(
            "--strip-zeros",
            help="Ignore leading zeros in the numbers of keys (000123 = 123, C000123 = C123).",
        ),
    ] = False,
    group_a: Annotated[
        bool,
        typer.Option("--group-a", help="Sum A's rows of each key first (lines to invoices)."),
    ] = False,
    group_b: Annotated[
        bool, typer.Option("--group-b", help="Sum B's rows of each key first.")
    ] = False,
    matched_rows: Annotated[
        int,
        typer.Option(
            "--matched-rows",
            metavar="N",
            help="-o x.xlsx: list at most N matched pairs on the Matched sheet (0: every pair).",
        ),
    ] = MATCHED_SHEET_ROWS,
    map_file: Annotated[
        Path | None,
        typer.Option(
            "--map",
            metavar="FILE.toml",
            help="Per side: key rules (strip prefix, regex, pad), grouping, columns.",
        ),
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of CSV inputs (e.g. cp1252).")
    ] = "utf-8",
    limit: Annotated[
        int, typer.Option("--limit", help="Table format: at most N rows per category on screen.")
    ] = 50,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Compare two reports by key and amount: matched, amount differs, only in A or B, duplicates.

    Keys are trimmed and upper-cased (and with --strip-zeros lose leading zeros); amounts follow
    the money rules. Differences are A - B. Reports at different grains: --group-a/--group-b sum
    a side's rows of each key first (matches then say many-to-one or one-to-many); --map
    FILE.toml declares per side how keys are written (strip prefix, regex, pad). -o result.xlsx
    writes a Summary sheet and one sheet per category. Exit 0 when fully reconciled, 1 when
    there are differences, 2 on bad input. With a database each run is kept (`billadmin
    reconcile history`); without one the result is written and nothing kept.

    Example:
        billadmin reconcile reports jde-march.csv cms-march.xlsx --key "Invoice No" \\
            --key-b "Claim Number" --amount "Net Amount" --amount-b "Billed" --strip-zeros -o march.xlsx
        billadmin reconcile reports jde-lines.csv cms-claims.csv --map jde-cms.toml --tolerance 1%
    """
    from ..errors import BadInput
    from ..reconcile import keymap, reports

    rmap = keymap.load_map(map_file) if map_file else None
    ma = rmap.a if rmap else keymap.SideMap()
    mb = rmap.b if rmap else keymap.SideMap()
    keys_a = reports.split_columns(key) or ma.key or []
    keys_b = reports.split_columns(key_b) or mb.key or keys_a
    amount_a = amount or ma.amount
    amount_b = amount_b or mb.amount or amount_a
    if not keys_a:
        raise BadInput("--key names no column (give --key, or key in the --map file's [a])")
    if not amount_a or not amount_b:
        raise BadInput("--amount names no column (give --amount, or amount in the --map file)")
    if len(keys_a) != len(keys_b):
        raise BadInput(f"--key has {len(keys_a)} column(s) but --key-b has {len(keys_b)}")
    tol, bp = reports.parse_tolerance(
        tolerance if tolerance is not None else (rmap.tolerance if rmap else None) or "0.00"
    )
    fmt = _fmt_for(fmt, output)
    if fmt is Format.xlsx and output is None:
        raise BadInput("--format xlsx needs -o FILE.xlsx")
    conn = _history_db()
    a = reports.Side("A", file_a, keys_a, amount_a, sheet=sheet_a, encoding=encoding)
    b = reports.Side("B", file_b, keys_b, amount_b, sheet=sheet_b, encoding=encoding)
    a.group, a.rule = group_a or ma.group, ma.rule
    b.group, b.rule = group_b or mb.group, mb.rule
    res = reports.reconcile_files(
        a, b, tolerance_cents=tol, tolerance_bp=bp, strip_zeros=strip_zeros
    )
    code = 1 if res.differences else 0
    summary = res.summary_rows()
    run_id = None
    if conn is not None:
        from .. import db

        with db.write(conn):
            run_id = _record_reports(conn, a, b, res, summary, code, tol, bp, strip_zeros)
    if matched_rows < 0:
        raise BadInput("--matched-rows is 0 (every pair) or more")
    opts = (tol, bp, strip_zeros, matched_rows)
    _reports_output(res, summary, run_id, a, b, opts, fmt, output, limit)
    t = res.summary
    grains = ""
    if a.group or b.group:
        g = reports.grain_counts(res, a, b)
        grains = " (" + ", ".join(f"{n:,} {k}" for k, n in sorted(g.items())) + ")"
    note(
        (f"Run {run_id}: " if run_id is not None else "")
        + f"{t['matched'].count_a:,} matched{grains}, {t['amount_differs'].count_a:,} amount differs, "
        f"{t['only_in_a'].count_a:,} only in A, {t['only_in_b'].count_b:,} only in B, "
        f"{t['duplicate_in_a'].count_a + t['duplicate_in_b'].count_b:,} duplicate rows; "
        f"net difference {res.net_difference_cents / 100:,.2f}"
    )
    if conn is None:
        note(
            "No database here: the result was written and no history kept (with a database,"
            " `billadmin reconcile history` lists each run)"
        )
    if code:
        raise typer.Exit(code)


def _history_db():
    """The database that keeps the history, or None when there is none (a one-off comparison
    of two files needs none): the database file does not exist."""
    from .. import db
    from . import state

    if not db.resolve_path(state.db_path).exists():
        return None
    return open_db()


def _record_reports(conn, a, b, res, summary, code, tol, bp, strip_zeros) -> int:
    from ..reconcile import output as out_mod

    options = {"tolerance_cents": tol, "strip_zeros": strip_zeros}
    if bp:
        options["tolerance_percent"] = f"{bp / 100:.2f}"
    return out_mod.record_run(
        conn,
        kind="reports",
        inputs=[a.record(), b.record()],
        options=options,
        summary=summary,
        differences=res.differences,
        net_difference_cents=res.net_difference_cents,
        exit_code=code,
    )


def _reports_output(res, summary, run_id, a, b, opts, fmt, output, limit) -> None:
    """The comparison as an xlsx workbook, JSON, CSV rows, or the summary and the differences
    as tables; with grouped sides each row says its grain (column "match")."""
    from itertools import islice

    from .. import render
    from ..reconcile import output as out_mod
    from ..reconcile import reports
    from ..reconcile.engine import CATEGORIES

    tol, bp, strip_zeros, cap = opts
    code = 1 if res.differences else 0
    cols = DETAIL_COLUMNS
    rows = res.rows
    matched = res.matched_rows
    if a.group or b.group:
        cols = [*DETAIL_COLUMNS, "match"]
        rows = [{**r, "match": reports.grain(r, a, b)} for r in res.rows]

        def matched():
            for r in res.matched_rows():
                r["match"] = reports.grain(r, a, b)
                yield r

    if fmt is Format.xlsx and output is not None:
        info = [
            ("Run", run_id if run_id is not None else "not kept (no database)"),
            ("A", f"{a.file} ({a.rows} rows, sha256 {a.sha256})"),
            ("B", f"{b.file} ({b.rows} rows, sha256 {b.sha256})"),
            ("Key", f"A {', '.join(a.key)} / B {', '.join(b.key)}"),
            ("Amount", f"A {a.amount} / B {b.amount}; difference = A - B"),
            ("Tolerance", f"{bp / 100:.2f}%" if bp else f"{tol / 100:.2f}"),
            ("Leading zeros ignored", "yes" if strip_zeros else "no"),
        ]
        for side in (a, b):
            if side.group:
                info.append((f"{side.label} summed per key", f"{side.rows} rows"))
            if side.rule:
                info.append((f"{side.label} key rule", side.rule.describe()))
        n_matched = res.summary["matched"].count_a
        left_out = n_matched - cap if cap and n_matched > cap else 0
        sheets: list[tuple] = []
        for c in CATEGORIES:
            if c == "matched":
                more = (
                    f"... and {left_out:,} more matched pairs not listed (the first {cap:,} of"
                    f" {n_matched:,}; --matched-rows 0 lists every pair, slowly)"
                    if left_out
                    else ""
                )
                sheets.append((out_mod.SHEET_TITLES[c], cols, islice(matched(), cap or None), more))
            else:
                crows = [r for r in rows if r["category"] == c]
                sheets.append((out_mod.SHEET_TITLES[c], cols, crows))
        out_mod.write_workbook(output, info, summary, SUMMARY_COLUMNS, sheets)
        if left_out:
            note(
                f"The Matched sheet lists the first {cap:,} of {n_matched:,} matched pairs"
                " (--matched-rows N, 0 for all)"
            )
        note(f"Wrote {output} (Summary and {len(CATEGORIES)} category sheets, mode 0600)")
    elif fmt is Format.json:
        doc = {
            "run_id": run_id,
            "result": "reconciled" if code == 0 else "differences",
            "inputs": [a.record(), b.record()],
            "summary": summary,
            "rows": rows,
        }
        if a.group or b.group:
            doc["matched_by_grain"] = reports.grain_counts(res, a, b)
        render.emit(doc, fmt=fmt, output=output, single=True)
    elif fmt is Format.csv:
        render.emit(rows, fmt=fmt, output=output, columns=cols)
    else:
        render.emit(
            summary,
            fmt=fmt,
            output=output,
            columns=SUMMARY_COLUMNS,
            title=f"Reconciliation {a.file} (A) vs {b.file} (B)",
        )
        if rows:
            shown, hidden = _limited(rows, limit)
            render.emit(shown, fmt=fmt, output=output, columns=cols, title="Differences (A - B)")
            if hidden:
                note(f"{hidden} more row(s) not shown: use -o result.xlsx or --format csv for all")


def _bank_date_notes(side, day, since_day) -> None:
    """Which bank rows the --as-of/--since window left out, or that none were (no --date)."""
    from .. import dates

    if side and side.date and side.outside_dates:
        note(
            f"{side.outside_dates} bank row(s) dated after {day.isoformat()}"
            + (f" or before {since_day.isoformat()}" if since_day else "")
            + " left out"
        )
    elif side and not side.date and day < dates.today():
        note(
            "Note: bank rows are not limited by date: with --date COLUMN, deposits after "
            f"{day.isoformat()} are left out"
        )


def _remits_output(res, summary, run_id, day, days, side, fmt, output, limit) -> None:
    """The reconciliation as an xlsx workbook, JSON, CSV rows, or the summary and the rows that
    need attention as tables."""
    from .. import render
    from ..reconcile import output as out_mod
    from ..reconcile import remits

    code = 1 if res.differences else 0
    if fmt is Format.xlsx and output is not None:
        info = [("Run", run_id), ("As of", day.isoformat()), ("Unpaid after", f"{days} days")]
        if side:
            info.append(("Deposits", f"{side.file} ({side.rows} rows, sha256 {side.sha256})"))
        cats = [s["category"] for s in summary if not s["payer"]]
        sheets = [
            (
                out_mod.SHEET_TITLES[c],
                remits.COLUMNS,
                res.matched_deposits
                if c == "deposit_matched"
                else res.paid
                if c == "paid"
                else [r for r in res.rows if r["category"] == c],
            )
            for c in cats
        ]
        out_mod.write_workbook(output, info, summary, remits.SUMMARY_COLUMNS, sheets)
        note(f"Wrote {output} (Summary and {len(sheets)} category sheets, mode 0600)")
    elif fmt is Format.json:
        render.emit(
            {
                "run_id": run_id,
                "as_of": day.isoformat(),
                "result": "reconciled" if code == 0 else "differences",
                "summary": summary,
                "rows": res.rows,
            },
            fmt=fmt,
            output=output,
            single=True,
        )
    elif fmt is Format.csv:
        render.emit(res.rows, fmt=fmt, output=output, columns=remits.COLUMNS)
    else:
        render.emit(
            summary,
            fmt=fmt,
            output=output,
            columns=remits.SUMMARY_COLUMNS,
            title=f"Claims and remittances as of {day}",
        )
        if res.rows:
            shown, hidden = _limited(res.rows, limit)
            render.emit(
                shown, fmt=fmt, output=output, columns=remits.COLUMNS, title="Needs attention"
            )
            if hidden:
                note(f"{hidden} more row(s) not shown: use -o result.xlsx or --format csv for all")


def _payer_patterns(values: list[str]) -> dict[str, str]:
    """--payer-pattern CODE=REGEX (repeatable) -> {CODE: REGEX}, each checked."""
    import re

    from ..errors import BadInput

    out = {}
    for v in values:
        code, eq, rx = v.partition("=")
        if not eq or not code.strip() or not rx:
            raise BadInput(f"--payer-pattern {v!r}: write CODE=REGEX, e.g. AET=AETNA\\s+AS01")
        try:
            re.compile(rx)
        except re.error as e:
            raise BadInput(f"--payer-pattern {code}: not a regular expression: {e}") from None
        out[code.strip()] = rx
    return out


@app.command("remits")
def reconcile_remits(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Reconcile as of DATE (default today)."),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", help="Claims unanswered this many days after issue are unpaid.")
    ] = 30,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only 835s paid on or after DATE (denied, unknown, deposits).",
        ),
    ] = None,
    deposits: Annotated[
        Path | None,
        typer.Option(
            "--deposits", help="Bank deposits file (CSV or XLSX) to match 835 payments against."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Deposits: the column holding the trace (EFT/check) number."),
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Deposits: the amount column.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Deposits: sheet of an XLSX file.")
    ] = None,
    date_col: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="COLUMN",
            help="Deposits: the date column; rows after --as-of (or before --since) are left out.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            metavar="FMT",
            help="Deposits: format of --date when not YYYY-MM-DD, e.g. MM/DD/YYYY.",
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            metavar="COLUMN",
            help="Deposits: the description column (names the payer of a deposit without a trace).",
        ),
    ] = None,
    payer_col: Annotated[
        str | None,
        typer.Option("--payer", metavar="COLUMN", help="Deposits: a column naming the payer."),
    ] = None,
    window: Annotated[
        int,
        typer.Option(
            "--window",
            metavar="DAYS",
            help="Deposits without a trace: days between the 835's payment date and the deposit.",
        ),
    ] = 5,
    payer_pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--payer-pattern",
            metavar="CODE=REGEX",
            help="Deposits: descriptions matching REGEX name payer CODE (repeatable).",
        ),
    ] = None,
    card_pattern: Annotated[
        str | None,
        typer.Option(
            "--card-pattern",
            metavar="REGEX",
            help="Deposits: descriptions of card batches (default CARD, MERCHANT, VISA, ...).",
        ),
    ] = None,
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="Differences this small are not reported.")
    ] = "0.00",
    strip_zeros: Annotated[
        bool, typer.Option("--strip-zeros", help="Ignore leading zeros in trace numbers.")
    ] = False,
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of a CSV deposits file.")
    ] = "utf-8",
    limit: Annotated[
        int, typer.Option("--limit", help="Table format: at most N rows per category on screen.")
    ] = 50,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Claims issued against 835 postings: unpaid, underpaid, denied, unknown; and deposits.

    Every figure is as it stood on --as-of (the ledger's events up to that day). Paid: claim
    payments. Unpaid: no 835 answer --days after issue, per payer. Underpaid: allowed below the
    fee schedule (a secondary's OA-23 counts as allowed). Denied: status denied, with reason
    codes. Unknown: 835 claims we could not post. With --deposits, each 835 payment (by its
    TRN02 trace number) is matched to the bank file; rows without a trace by payer, amount and
    --window days (single, several 835s in one deposit, one 835 in several deposits), card
    batches against the day's card payments; the rest is listed as not from an 835. Exit 0
    when nothing needs attention, 1 otherwise, 2 on bad input. Kept in history.

    Example:
        billadmin reconcile remits --as-of 2026-03-31 --deposits bank-march.csv --key "EFT Trace" --amount Credit
        billadmin reconcile remits --as-of 2026-03-31 --deposits bank.csv --key "EFT Trace" --amount Credit \\
            --date Date --description Description --window 5
    """
    from .. import dates, db
    from ..errors import BadInput
    from ..reconcile import output as out_mod
    from ..reconcile import remits, reports

    day = dates.parse_option(as_of or None, "--as-of", dates.today())
    since_day = dates.parse_option(since or None, "--since")
    tol = _money_opt(tolerance, "--tolerance")
    side = None
    if deposits is not None:
        if not key or not amount:
            raise BadInput("--deposits needs --key (trace number column) and --amount")
        side = reports.Side(
            "deposits",
            deposits,
            [key],
            amount,
            sheet=sheet,
            encoding=encoding,
            date=date_col,
            date_format=date_format,
            description=description,
            payer=payer_col,
        )
    elif (
        key
        or amount
        or sheet
        or date_col
        or date_format
        or description
        or payer_col
        or payer_pattern
    ):
        raise BadInput(
            "--key, --amount, --sheet, --date, --date-format, --description, --payer and"
            " --payer-pattern apply to --deposits"
        )
    if window < 0:
        raise BadInput("--window is a number of days, 0 or more")
    patterns = _payer_patterns(payer_pattern or [])
    if card_pattern is not None:
        import re

        try:
            re.compile(card_pattern)
        except re.error as e:
            raise BadInput(f"--card-pattern is not a regular expression: {e}") from None
    fmt = _fmt_for(fmt, output)
    if fmt is Format.xlsx and output is None:
        raise BadInput("--format xlsx needs -o FILE.xlsx")
    conn = open_db()
    res = remits.reconcile_remits(
        conn,
        as_of=day,
        days=days,
        tolerance_cents=tol,
        deposit_side=side,
        since=since_day,
        strip_zeros=strip_zeros,
        window_days=window,
        payer_patterns=patterns,
        **({"card_pattern": card_pattern} if card_pattern is not None else {}),
    )
    for n in res.notes:
        note(f"Note: {n}")
    _bank_date_notes(side, day, since_day)
    code = 1 if res.differences else 0
    summary = res.summary_rows()
    inputs = (
        [
            {
                "side": "deposits",
                "file": side.path.name,
                "path": str(side.path),
                "sha256": side.sha256,
                "rows": side.rows,
            }
        ]
        if side
        else []
    )
    with db.write(conn):
        run_id = out_mod.record_run(
            conn,
            kind="remits",
            inputs=inputs,
            options={
                "as_of": day.isoformat(),
                "days": days,
                "since": since_day,
                "tolerance_cents": tol,
                "deposit_date_column": date_col,
                "window_days": window,
            },
            summary=summary,
            differences=res.differences,
            net_difference_cents=res.net_difference_cents,
            exit_code=code,
        )
    _remits_output(res, summary, run_id, day, days, side, fmt, output, limit)
    counts = {s["category"]: s["count"] for s in summary if not s["payer"]}
    note(f"Run {run_id}: " + ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in counts.items()))
    if code:
        raise typer.Exit(code)


@app.command("history")
def reconcile_history(
    kind: Annotated[str | None, typer.Option("--kind", help="reports or remits.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most N runs (newest first).")] = 20,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
):
    """Past reconciliation runs, newest first: inputs (with sha256), matched, differences, trend.

    Example:
        billadmin reconcile history --kind reports --limit 7
    """
    from .. import render
    from ..errors import BadInput
    from ..reconcile import output as out_mod

    if kind and kind not in ("reports", "remits"):
        raise BadInput("--kind is reports or remits")
    conn = open_db()
    render.emit(
        out_mod.history(conn, kind=kind, limit=limit),
        fmt=fmt,
        output=output,
        columns=out_mod.HISTORY_COLUMNS,
        title="Reconciliation runs",
    )

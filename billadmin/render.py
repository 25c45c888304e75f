"""One shared way to print rows: table (rich), csv, json, xlsx.

Rows are dicts from the domain. Money travels as integer cents in keys ending ``_cents``; on
output the key loses the suffix and the value becomes "123.45" (JSON/CSV), a right-aligned
amount (table) or a number with a money format (xlsx). Data goes to stdout or ``-o FILE``;
everything else goes to stderr. CSV/XLSX cells that start with = + - @ are escaped so a
spreadsheet never evaluates them (formula injection); money stays numeric. The file writers
themselves live in formats.py and fileutil.py, below the CLI, so the domain writes its files
without importing this module.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import money
from .fileutil import private_open
from .formats import (  # noqa: F401  (re-exported: the file writers live below the CLI)
    FORMULA_PREFIXES,
    Format,
    columns_of,
    out_key,
    plain,
    safe_cell,
    to_json_rows,
    write_csv,
    write_xlsx,
    write_xlsx_sheet,
)

if TYPE_CHECKING:
    from .reports.base import Report


def _cell_text(c: str, v) -> str:
    if c.endswith("_cents"):
        return money.fmt(v, thousands=True)
    p = plain(c, v)
    return "" if p is None else (json.dumps(p) if isinstance(p, (list, dict)) else str(p))


def _width(fh) -> int | None:
    """The table's width: $COLUMNS when set (scripts, tests), the terminal's when printing to
    one, else 200 (a pipe or a file: wide enough that nothing folds)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) >= 20:
        return int(env)
    return None if fh.isatty() else 200


def _rigid(values: list[str]) -> bool:
    """Amounts, ids, codes and dates never wrap: a column whose every value is one word is
    rigid; a column with spaces in its values (names, descriptions, advice) may fold."""
    return all(" " not in v for v in values)


def _table(rows: Sequence[dict], columns: Sequence[str] | None, title: str | None, fh) -> None:
    """A rich table whose one-word cells (money, ids, dates, codes) never wrap; prose columns
    fold. When even the one-word columns cannot fit the width, each row is printed as a
    vertical block of field/value pairs instead (a narrow terminal)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # data is never markup: every cell, header and the title is a Text (`[/]` or `[link=...]`
    # in a name, a note or a payer's name prints as written)
    cols = columns_of(rows, columns)
    cells = [[_cell_text(c, r.get(c)) for c in cols] for r in rows]
    console = Console(file=fh, width=_width(fh), highlight=False, soft_wrap=False)
    rigid = [_rigid([row[i] for row in cells]) for i in range(len(cols))]
    widths = [max([len(out_key(c))] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    # each column costs its content plus 3 (padding and a border); prose needs at least 10
    need = 1 + sum((w if r else min(w, 10)) + 3 for w, r in zip(widths, rigid, strict=True))
    if cols and rows and need > console.width:
        _vertical(console, cols, cells, title)
        return
    t = Table(title=None if title is None else Text(title), show_lines=False, header_style="bold")
    for i, c in enumerate(cols):
        t.add_column(
            Text(out_key(c)),
            justify="right" if c.endswith("_cents") else "left",
            no_wrap=rigid[i],
            min_width=widths[i] if rigid[i] else None,
            overflow="fold",
        )
    for row in cells:
        t.add_row(*[Text(v) for v in row])
    console.print(t)


def _vertical(console, cols: list[str], cells: list[list[str]], title: str | None) -> None:
    from rich.table import Table
    from rich.text import Text

    t = Table(title=None if title is None else Text(title), show_header=False, show_lines=False)
    t.add_column("field", style="bold", no_wrap=True)
    t.add_column("value", overflow="fold")
    for n, row in enumerate(cells):
        if n:
            t.add_section()
        for c, v in zip(cols, row, strict=True):
            t.add_row(Text(out_key(c)), Text(v))
    console.print(t)


def emit(
    rows,
    *,
    fmt: Format | str = Format.table,
    output: str | Path | None = None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    single: bool = False,
    phi: bool = True,
) -> None:
    """Print rows (or one record with single=True) to stdout or to a file."""
    fmt = Format(fmt)
    if single and isinstance(rows, dict):
        rows = [rows]
    rows = list(rows)
    path = Path(output) if output and str(output) != "-" else None
    if fmt is Format.xlsx:
        if path is None:
            from .errors import BadInput

            raise BadInput("--format xlsx needs -o FILE.xlsx")
        write_xlsx(
            path, {title or "data": rows}, {title or "data": columns} if columns else None, phi=phi
        )
        return
    if path is None:
        _write_rows(rows, fmt, columns, title, single, sys.stdout)
        return
    # the file appears only when every row is written (a failure leaves the target as it was)
    with private_open(path, "w", encoding="utf-8", newline="", phi=phi) as fh:
        _write_rows(rows, fmt, columns, title, single, fh)


def _write_rows(rows: list, fmt: Format, columns, title, single: bool, fh) -> None:
    if fmt is Format.json:
        data = to_json_rows(rows)
        json.dump(data[0] if single and data else data, fh, indent=2, default=str)
        fh.write("\n")
    elif fmt is Format.csv:
        write_csv(rows, columns, fh)
    elif single and rows:
        kv = [
            {
                "field": out_key(k),
                "value": (money.fmt(v) if k.endswith("_cents") else plain(k, v)),
            }
            for k, v in rows[0].items()
        ]
        _table(kv, ["field", "value"], title, fh)
    else:
        _table(rows, columns, title, fh)


def message(text: str, *, quiet: bool = False) -> None:
    """A status note for people: stderr, silenced by --quiet."""
    if not quiet:
        sys.stderr.write(text.rstrip("\n") + "\n")


def emit_report(rep: Report, fmt, output) -> None:
    """Print a Report: its main sheet as table/CSV/JSON, or every sheet to an xlsx workbook
    (reports.output.write_xlsx: charts, numeric percentages, bold totals)."""
    fmt = Format(fmt)
    if fmt is Format.xlsx:
        if not output or str(output) == "-":
            from .errors import BadInput

            raise BadInput("--format xlsx needs -o FILE.xlsx")
        from .reports.output import write_xlsx as write_report_xlsx

        write_report_xlsx(Path(output), [rep])
        return
    emit(
        rep.rows,
        fmt=fmt,
        output=output,
        columns=rep.columns.get(rep.main_sheet),
        title=rep.title,
        phi=rep.phi,
    )

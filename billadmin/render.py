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


def _table(rows: Sequence[dict], columns: Sequence[str] | None, title: str | None, fh) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # data is never markup: every cell, header and the title is a Text (`[/]` or `[link=...]`
    # in a name, a note or a payer's name prints as written)
    cols = columns_of(rows, columns)
    t = Table(title=None if title is None else Text(title), show_lines=False, header_style="bold")
    for c in cols:
        t.add_column(
            Text(out_key(c)), justify="right" if c.endswith("_cents") else "left", overflow="fold"
        )
    for r in rows:
        cells: list[Text] = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                cells.append(Text(money.fmt(v, thousands=True)))
            else:
                p = plain(c, v)
                cells.append(
                    Text(
                        ""
                        if p is None
                        else (json.dumps(p) if isinstance(p, (list, dict)) else str(p))
                    )
                )
        t.add_row(*cells)
    width = None if fh.isatty() else 200
    Console(file=fh, width=width, highlight=False, soft_wrap=False).print(t)


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

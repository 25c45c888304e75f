"""One shared way to print rows: table (rich), csv, json, xlsx.

Rows are dicts from the domain. Money travels as integer cents in keys ending ``_cents``; on
output the key loses the suffix and the value becomes "123.45" (JSON/CSV), a right-aligned
amount (table) or a number with a money format (xlsx). Data goes to stdout or ``-o FILE``;
everything else goes to stderr. CSV/XLSX cells that start with = + - @ are escaped so a
spreadsheet never evaluates them (formula injection); money stays numeric.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from . import money
from .formats import Format  # noqa: F401  (re-exported)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _out_key(k: str) -> str:
    return k[:-6] if k.endswith("_cents") else k


def _plain(k: str, v):
    if v is None:
        return None
    if k.endswith("_cents"):
        return money.fmt(v)
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_plain("", x) for x in v]
    if isinstance(v, dict):
        return {_out_key(kk): _plain(kk, vv) for kk, vv in v.items()}
    return v


def to_json_rows(rows: Iterable[dict]) -> list[dict]:
    return [{_out_key(k): _plain(k, v) for k, v in r.items()} for r in rows]


def safe_cell(v):
    """Escape text a spreadsheet would evaluate as a formula."""
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def _columns(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    if columns:
        return list(columns)
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def private_open(path: Path, mode: str = "w", *, phi: bool = True, **kw):
    """Open an output file created 0600: reports and exports may hold PHI, and say so on stderr
    (phi=False for files that cannot: empty templates, de-identified exports)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if phi:
        sys.stderr.write(
            f"Note: {path} may contain PHI: created mode 0600; keep it inside the practice\n"
        )
    return os.fdopen(fd, mode, **kw)


def write_csv(rows: Sequence[dict], columns: Sequence[str] | None, fh) -> None:
    cols = _columns(rows, columns)
    w = csv.writer(fh, lineterminator="\n")
    w.writerow([_out_key(c) for c in cols])
    for r in rows:
        out = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                out.append(money.fmt(v))
            else:
                p = _plain(c, v)
                if isinstance(p, (list, dict)):
                    p = json.dumps(p)
                out.append(safe_cell("" if p is None else p))
        w.writerow(out)


def write_xlsx_sheet(
    ws, rows: Sequence[dict], columns: Sequence[str] | None = None, *, title: str | None = None
) -> None:
    """Formatted sheet: bold header, money format, frozen header row, sensible widths."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    cols = _columns(rows, columns)
    if title:
        ws.title = title[:31]
    ws.append([_out_key(c) for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        vals = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                vals.append(None if v is None else Decimal(v) / 100)
            else:
                p = _plain(c, v)
                if isinstance(p, (list, dict)):
                    p = json.dumps(p)
                vals.append(safe_cell(p))
        ws.append(vals)
    for i, c in enumerate(cols, start=1):
        letter = get_column_letter(i)
        if c.endswith("_cents"):
            for cell in ws[letter][1:]:
                cell.number_format = "#,##0.00"
        width = max([len(_out_key(c))] + [len(str(r.get(c) or "")) for r in rows[:200]]) + 2
        ws.column_dimensions[letter].width = min(width, 60)
    ws.freeze_panes = "A2"


def write_xlsx(
    path: Path,
    sheets: dict[str, Sequence[dict]],
    columns: dict[str, Sequence[str]] | None = None,
    *,
    phi: bool = True,
) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    for name, rows in sheets.items():
        ws = wb.active if first else wb.create_sheet()
        first = False
        write_xlsx_sheet(ws, rows, (columns or {}).get(name), title=name)
    with private_open(path, "wb", phi=phi) as fh:
        wb.save(fh)


def _table(rows: Sequence[dict], columns: Sequence[str] | None, title: str | None, fh) -> None:
    from rich.console import Console
    from rich.table import Table

    cols = _columns(rows, columns)
    t = Table(title=title, show_lines=False, header_style="bold")
    for c in cols:
        t.add_column(
            _out_key(c), justify="right" if c.endswith("_cents") else "left", overflow="fold"
        )
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                cells.append(money.fmt(v, thousands=True))
            else:
                p = _plain(c, v)
                cells.append(
                    "" if p is None else (json.dumps(p) if isinstance(p, (list, dict)) else str(p))
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
    fh = private_open(path, "w", encoding="utf-8", newline="", phi=phi) if path else sys.stdout
    try:
        if fmt is Format.json:
            data = to_json_rows(rows)
            json.dump(data[0] if single and data else data, fh, indent=2, default=str)
            fh.write("\n")
        elif fmt is Format.csv:
            write_csv(rows, columns, fh)
        else:
            if single and rows:
                kv = [
                    {
                        "field": _out_key(k),
                        "value": (money.fmt(v) if k.endswith("_cents") else _plain(k, v)),
                    }
                    for k, v in rows[0].items()
                ]
                _table(kv, ["field", "value"], title, fh)
            else:
                _table(rows, columns, title, fh)
    finally:
        if path:
            fh.close()


def message(text: str, *, quiet: bool = False) -> None:
    """A status note for people: stderr, silenced by --quiet."""
    if not quiet:
        sys.stderr.write(text.rstrip("\n") + "\n")

"""Output formats every listing command accepts, and the rows-to-file writers behind them (CSV,
JSON-ready rows, xlsx sheets) that need no terminal library: the domain writes its files through
these, and render.py adds the rich table and stdout on top for the commands. Kept light
(openpyxl is imported inside the xlsx writers) so start-up stays fast.

Rows are dicts from the domain. Money travels as integer cents in keys ending ``_cents``; on
output the key loses the suffix and the value becomes "123.45" (JSON/CSV) or a number with a
money format (xlsx). CSV/XLSX cells that start with = + - @ are escaped so a spreadsheet never
evaluates them (formula injection); money stays numeric.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from . import money
from .fileutil import private_open, save_workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def out_key(k: str) -> str:
    return k[:-6] if k.endswith("_cents") else k


def plain(k: str, v):
    if v is None:
        return None
    if k.endswith("_cents"):
        return money.fmt(v)
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [plain("", x) for x in v]
    if isinstance(v, dict):
        return {out_key(kk): plain(kk, vv) for kk, vv in v.items()}
    return v


def to_json_rows(rows: Iterable[dict]) -> list[dict]:
    return [{out_key(k): plain(k, v) for k, v in r.items()} for r in rows]


def safe_cell(v):
    """Escape text a spreadsheet would evaluate as a formula."""
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def columns_of(rows: Sequence[dict], columns: Sequence[str] | None) -> list[str]:
    """The given columns, or every key of the rows in first-seen order."""
    if columns:
        return list(columns)
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


def write_csv(rows: Sequence[dict], columns: Sequence[str] | None, fh) -> None:
    cols = columns_of(rows, columns)
    w = csv.writer(fh, lineterminator="\n")
    w.writerow([out_key(c) for c in cols])
    for r in rows:
        out = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                out.append(money.fmt(v))
            else:
                p = plain(c, v)
                if isinstance(p, (list, dict)):
                    p = json.dumps(p)
                out.append(safe_cell("" if p is None else p))
        w.writerow(out)


def write_csv_file(
    path: Path, rows: Sequence[dict], columns: Sequence[str] | None = None, *, phi: bool = True
) -> None:
    """Rows to a CSV file created 0600 (fileutil.private_open)."""
    with private_open(path, "w", encoding="utf-8", newline="", phi=phi) as fh:
        write_csv(rows, columns, fh)


def write_xlsx_sheet(
    ws, rows: Sequence[dict], columns: Sequence[str] | None = None, *, title: str | None = None
) -> None:
    """Formatted sheet: bold header, money format, frozen header row, sensible widths."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    cols = columns_of(rows, columns)
    if title:
        ws.title = title[:31]
    ws.append([out_key(c) for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        vals = []
        for c in cols:
            v = r.get(c)
            if c.endswith("_cents"):
                vals.append(None if v is None else Decimal(v) / 100)
            else:
                p = plain(c, v)
                if isinstance(p, (list, dict)):
                    p = json.dumps(p)
                vals.append(safe_cell(p))
        ws.append(vals)
    for i, c in enumerate(cols, start=1):
        letter = get_column_letter(i)
        if c.endswith("_cents"):
            for cell in ws[letter][1:]:
                cell.number_format = "#,##0.00"
        width = max([len(out_key(c))] + [len(str(r.get(c) or "")) for r in rows[:200]]) + 2
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
    save_workbook(wb, path, phi=phi)

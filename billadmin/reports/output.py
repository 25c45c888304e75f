"""A Report's xlsx workbook: every sheet (formats.write_xlsx_sheet formatting: bold header, money
format, frozen header) with percentages and ratios as numbers, totals rows in bold, and charts
(openpyxl). Printing the main sheet as table/CSV/JSON is render.emit_report's job."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..fileutil import save_workbook
from ..formats import columns_of, write_xlsx_sheet
from .base import Report


def _numeric(v):
    if isinstance(v, Decimal):
        return float(v)  # display value in a spreadsheet cell; the exact figure stays in CSV/JSON
    return v


def add_sheets(wb, rep: Report) -> None:
    from openpyxl.styles import Font

    for name, rows in rep.sheets.items():
        ws = wb.create_sheet()
        cols = rep.columns.get(name) or columns_of(rows, None)
        write_xlsx_sheet(ws, rows, cols, title=name[:31])
        for ci, c in enumerate(cols, start=1):
            if c.endswith("_cents"):
                continue
            fmt = (
                '0.0"%"'
                if c.endswith(("_pct", "_rate"))
                else ("0.0" if c in ("value", "days_in_ar", "avg_days_to_pay") else None)
            )
            for ri, r in enumerate(rows, start=2):
                v = r.get(c)
                if isinstance(v, Decimal):
                    cell = ws.cell(row=ri, column=ci)
                    cell.value = _numeric(v)
                    if fmt:
                        cell.number_format = fmt
        t = rep.total_rows.get(name)
        if t is not None and rows:
            for cell in ws[t + 2]:
                cell.font = Font(bold=True)


def _chart(wb, rep: Report, ch) -> None:
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference
    from openpyxl.utils import get_column_letter

    ws = wb[ch.sheet[:31]]
    rows = rep.sheets[ch.sheet]
    cols = rep.columns.get(ch.sheet) or columns_of(rows, None)
    first, last = ch.rows or (0, len(rows))
    if last <= first:
        return
    r1, r2 = first + 2, last + 1  # sheet rows of the data (row 1 is the header)
    cat_col = cols.index(ch.category) + 1
    ser_cols = [cols.index(s) + 1 for s in ch.series]
    if ch.kind == "pie":
        chart = PieChart()
    elif ch.kind == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "col"
        if ch.kind == "stacked":
            chart.grouping = "stacked"
            chart.overlap = 100
    chart.title = ch.title
    if ch.from_rows:
        # one series per sheet row (e.g. per payer); the categories are the series columns (buckets)
        from openpyxl.chart.series import SeriesLabel

        c1, c2 = min(ser_cols), max(ser_cols)
        for r in range(r1, r2 + 1):
            chart.add_data(
                Reference(ws, min_col=c1, max_col=c2, min_row=r, max_row=r),
                from_rows=True,
                titles_from_data=False,
            )
            chart.series[-1].tx = SeriesLabel(v=str(ws.cell(row=r, column=cat_col).value))
        chart.set_categories(Reference(ws, min_col=c1, max_col=c2, min_row=1, max_row=1))
    else:
        for c in ser_cols:
            chart.add_data(
                Reference(ws, min_col=c, max_col=c, min_row=1, max_row=r2), titles_from_data=True
            )
            if r1 > 2:  # the data does not start under the header: drop the rows in between
                chart.series[
                    -1
                ].val.numRef.f = (
                    f"'{ws.title}'!${get_column_letter(c)}${r1}:${get_column_letter(c)}${r2}"
                )
        chart.set_categories(
            Reference(ws, min_col=cat_col, max_col=cat_col, min_row=r1, max_row=r2)
        )
    if ch.y_title and hasattr(chart, "y_axis"):
        chart.y_axis.title = ch.y_title
    chart.width, chart.height = 22, 11
    chart.anchor = ch.anchor or f"{get_column_letter(len(cols) + 2)}2"
    ws.add_chart(chart)


def write_xlsx(path: Path, reports: list[Report]) -> None:
    """One workbook with each report's sheets and charts (sheet names are unique across the
    reports billadmin writes together). Created 0600; the PHI note is printed when a report
    names patients."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for rep in reports:
        add_sheets(wb, rep)
        for ch in rep.charts:
            _chart(wb, rep, ch)
    save_workbook(wb, path, phi=any(r.phi for r in reports))

"""The run's listings in the output folder: invoices.csv and invoices.xlsx (every invoice issued
into that folder), and held.csv (the encounters held, with their findings)."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, TextIO

from . import content
from .files import Staged
from .result import RunResult

if TYPE_CHECKING:
    from ..db import Database

LISTING_COLUMNS = [
    "number",
    "kind",
    "frequency",
    "issued_on",
    "bill_to",
    "encounter",
    "account",
    "date_of_service",
    "total_cents",
    "copay_cents",
    "filing_deadline",
    "due_on",
    "file",
]


# "(part k of n)" after the encounter of a claim a long encounter was split into (split.py); the
# snapshot is read only for an encounter billed on more than one claim
PART = (
    " || CASE WHEN i.kind = 'claim' AND EXISTS (SELECT 1 FROM invoices o WHERE o.encounter_id ="
    " i.encounter_id AND o.id != i.id AND o.kind = 'claim') THEN COALESCE((SELECT ' (part ' ||"
    " json_extract(s.data, '$.split.part') || ' of ' || json_extract(s.data, '$.split.of') || ')'"
    " FROM invoice_snapshots s WHERE s.invoice_id = i.id), '') ELSE '' END"
)


def listing_rows(conn: Database, run_ids: list[int]) -> list[tuple]:
    """Every invoice of these runs, as invoices.csv lists them: one tuple per invoice, its values
    in LISTING_COLUMNS order (tuples as SQLite returns them: a dict per row was a third of the
    listing's time at 100,000 claims). The runs are the outer loop (CROSS JOIN: invoice_runs by
    its run index), not a scan of every invoice the practice ever issued."""
    if not run_ids:
        return []
    t = content.temp_ids(conn, "_list_runs", run_ids)
    return conn.execute(
        f"SELECT i.number, i.kind, i.frequency_code, i.issued_on, COALESCE(py.code, 'patient'),"
        f" e.number{PART}, p.mrn, e.date_of_service, i.total_cents, i.copay_cents, i.filing_deadline, i.due_on, ir.file"
        f" FROM {t} t CROSS JOIN invoice_runs ir ON ir.run_id = t.id JOIN invoices i ON i.id = ir.invoice_id"
        f" JOIN patients p ON p.id = i.patient_id LEFT JOIN payers py ON py.id = i.payer_id"
        f" LEFT JOIN encounters e ON e.id = i.encounter_id ORDER BY i.id"
    ).fetchall()


def write_listing(conn: Database, result: RunResult, staged: Staged, *, xlsx: bool) -> None:
    """invoices.csv (and invoices.xlsx) in the output folder: every invoice issued into it by any
    run, this one included."""
    import io

    out = str(result.out_dir.resolve())
    runs = [
        r[0]
        for r in conn.execute("SELECT id FROM billing_runs WHERE out_dir = ? ORDER BY id", (out,))
    ]
    rows = listing_rows(conn, runs)
    buf = io.StringIO()
    write_listing_csv(rows, LISTING_COLUMNS, buf)
    csv_path = result.out_dir / "invoices.csv"
    staged.write_text(csv_path, buf.getvalue())
    result.files.append(csv_path)
    if xlsx and staged.enabled:
        from ..outfile import xlsx_temp

        path = result.out_dir / "invoices.xlsx"
        # openpyxl's own temp files (the rows, MRNs included) in a private folder beside it
        with xlsx_temp(result.out_dir):
            pf = staged.open(path)
            write_listing_xlsx(pf.handle, rows, LISTING_COLUMNS)
            pf.seal()
        result.files.append(path)


def write_listing_csv(rows: list[tuple], columns: list[str], fh: TextIO) -> None:
    """invoices.csv as formats.write_csv writes it (money "123.45", cells a spreadsheet would
    evaluate escaped), specialised to the listing's plain values (`rows`: tuples in `columns`
    order; csv writes None as an empty cell): a fraction of its time on large runs."""
    import csv

    from .. import money
    from ..formats import FORMULA_PREFIXES

    w = csv.writer(fh, lineterminator="\n")
    w.writerow([c[:-6] if c.endswith("_cents") else c for c in columns])
    money_at = [i for i, c in enumerate(columns) if c.endswith("_cents")]
    text_at = [i for i, c in enumerate(columns) if not c.endswith("_cents")]
    fmt = money.fmt
    for r in rows:
        out = list(r)
        for i in text_at:  # formats.safe_cell, inlined (13 cells a row)
            v = out[i]
            if v.__class__ is str and v.startswith(FORMULA_PREFIXES):
                out[i] = "'" + v
        for i in money_at:
            out[i] = fmt(out[i])
        w.writerow(out)


def write_listing_xlsx(fh: IO[bytes], rows: list[tuple], columns: list[str]) -> None:
    """invoices.xlsx in openpyxl's streaming (write-only) mode, formatted like formats.write_xlsx
    (bold header, money as numbers with a money format, frozen header, widths, text that a
    spreadsheet would evaluate escaped) at about a fifth of its time on large runs."""
    from decimal import Decimal

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from ..formats import safe_cell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("invoices")
    for i, c in enumerate(columns):
        sample = [len(str(r[i] or "")) for r in rows[:200]]
        ws.column_dimensions[get_column_letter(i + 1)].width = min(max([len(c)] + sample) + 2, 60)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c[:-6] if c.endswith("_cents") else c)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    money_cols = [c.endswith("_cents") for c in columns]
    for r in rows:
        out = []
        for v, is_money in zip(r, money_cols, strict=True):
            if is_money:
                cell = WriteOnlyCell(ws, value=None if v is None else Decimal(v) / 100)
                cell.number_format = "#,##0.00"
                out.append(cell)
            else:
                out.append(safe_cell(v))
        ws.append(out)
    wb.save(fh)


def write_held(result: RunResult, staged: Staged) -> None:
    """held.csv: one row per error that held an encounter."""
    import io

    from ..formats import write_csv

    buf = io.StringIO()
    write_csv(
        [r for h in result.held for r in h.rows()],
        ["encounter", "rule", "line", "message"],
        buf,
    )
    held_path = result.out_dir / "held.csv"
    staged.write_text(held_path, buf.getvalue())
    result.held_file = held_path

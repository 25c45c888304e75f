"""Reconciliation results out: the xlsx workbook (Summary + one sheet per category) and the
run history kept in the database."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit

if TYPE_CHECKING:
    from ..db import Database

SHEET_TITLES = {
    "matched": "Matched",
    "amount_differs": "Amount differs",
    "only_in_a": "Only in A",
    "only_in_b": "Only in B",
    "duplicate_in_a": "Duplicates in A",
    "duplicate_in_b": "Duplicates in B",
    "paid": "Paid",
    "unpaid": "Unpaid",
    "underpaid": "Underpaid",
    "denied": "Denied",
    "unknown_claim": "Unknown claims",
    "deposit_matched": "Deposits matched",
    "deposit_amount_differs": "Deposit differs",
    "only_in_835": "835 not deposited",
    "only_in_bank": "Deposit without 835",
    "not_from_835": "Not from an 835",
    "deposit_duplicate": "Deposit duplicates",
}


def _out_name(col: str) -> str:
    return col[:-6] if col.endswith("_cents") else col


def write_workbook(
    path: Path,
    info: Sequence[tuple[str, object]],
    summary: Sequence[dict],
    summary_columns: Sequence[str],
    sheets: Iterable[tuple],
) -> None:
    """Summary sheet (the inputs, then the totals per category) and one formatted sheet per
    category: (title, columns, rows[, closing note]). Write-only mode: rows stream to disk
    instead of memory (openpyxl still spends ~0.1 ms a row: a million rows take minutes, which
    is why `reconcile reports` caps its Matched sheet)."""
    from openpyxl import Workbook

    from ..fileutil import check_target, private_open, xlsx_temp

    # a write-only workbook sends its rows to openpyxl's temp files as they are appended: keep
    # those in a private folder beside the target, removed whatever happens
    target = check_target(path)
    with xlsx_temp(target.parent), private_open(target, "wb") as fh:
        wb = Workbook(write_only=True)
        _fill(wb, info, summary, summary_columns, sheets)
        wb.save(fh)


def _fill(
    wb,
    info: Sequence[tuple[str, object]],
    summary: Sequence[dict],
    summary_columns: Sequence[str],
    sheets: Iterable[tuple],
) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from ..formats import safe_cell

    bold = Font(bold=True)
    money_fmt = "#,##0.00"

    def header(ws, cols):
        cells = []
        for c in cols:
            cell = WriteOnlyCell(ws, value=_out_name(c))
            cell.font = bold
            cells.append(cell)
        return cells

    def widths(ws, cols, sample):
        from openpyxl.utils import get_column_letter

        for i, c in enumerate(cols, start=1):
            w = (
                max(
                    [len(_out_name(c))]
                    + [len(str(r.get(c) if r.get(c) is not None else "")) for r in sample]
                )
                + 2
            )
            ws.column_dimensions[get_column_letter(i)].width = min(max(w, 10), 60)

    def money_cell(ws, cents):
        if cents is None:
            return None
        cell = WriteOnlyCell(ws, value=Decimal(cents) / 100)
        cell.number_format = money_fmt
        return cell

    def row_cells(ws, cols, money_idx, r):
        vals = [safe_cell(r.get(c)) for c in cols]
        for i in money_idx:
            vals[i] = money_cell(ws, r.get(cols[i]))
        return vals

    ws = wb.create_sheet("Summary")
    ws.freeze_panes = "A2"
    widths(ws, list(summary_columns), list(summary))
    ws.append(header(ws, summary_columns))
    for r in summary:
        ws.append(
            [
                money_cell(ws, r.get(c)) if c.endswith("_cents") else safe_cell(r.get(c))
                for c in summary_columns
            ]
        )
    if info:
        ws.append([])
        for label, value in info:
            cell = WriteOnlyCell(ws, value=label)
            cell.font = bold
            ws.append([cell, safe_cell(value)])
    for title, cols, rows, *after in sheets:
        ws = wb.create_sheet(title[:31])
        ws.freeze_panes = "A2"
        rows = iter(rows)
        first = []
        for r in rows:
            first.append(r)
            if len(first) >= 200:
                break
        widths(ws, cols, first)
        ws.append(header(ws, cols))
        money_idx = [i for i, c in enumerate(cols) if c.endswith("_cents")]
        for r in first:
            ws.append(row_cells(ws, cols, money_idx, r))
        for r in rows:
            ws.append(row_cells(ws, cols, money_idx, r))
        for text in after:  # a closing note (e.g. the rows a capped sheet leaves out)
            if text:
                cell = WriteOnlyCell(ws, value=safe_cell(text))
                cell.font = bold
                ws.append([cell])


def record_run(
    conn: Database,
    *,
    kind: str,
    inputs: list[dict],
    options: dict,
    summary: list[dict],
    differences: int,
    net_difference_cents: int,
    exit_code: int,
) -> int:
    """Keep the run (inside the caller's write transaction)."""
    run_id = conn.execute(
        "INSERT INTO reconcile_runs (kind, at, os_user, inputs, options, summary, differences, net_difference_cents,"
        " exit_code) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            kind,
            audit.utcnow(),
            audit.os_user(),
            json.dumps(inputs, sort_keys=True),
            json.dumps(options, sort_keys=True, default=str),
            json.dumps(summary, default=str),
            differences,
            net_difference_cents,
            exit_code,
        ),
    ).lastrowid
    assert run_id is not None
    audit.record(
        conn,
        f"reconcile {kind}",
        entity="reconcile_runs",
        ids=[run_id],
        count=differences,
        detail={
            "inputs": [{"file": i.get("file"), "sha256": i.get("sha256")} for i in inputs],
            "differences": differences,
        },
    )
    return run_id


HISTORY_COLUMNS = [
    "id",
    "at",
    "kind",
    "inputs",
    "rows",
    "matched",
    "differences",
    "net_difference_cents",
    "result",
]


def history(conn: Database, *, kind: str | None = None, limit: int | None = 20) -> list[dict]:
    sql = "SELECT id, at, kind, inputs, summary, differences, net_difference_cents, exit_code FROM reconcile_runs"
    params: list = []
    if kind:
        sql += " WHERE kind = ?"
        params.append(kind)
    sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
    out = []
    for rid, at, k, inputs, summary, diffs, net, code in conn.execute(sql, params):
        ins = json.loads(inputs)
        summ = json.loads(summary)
        matched = next(
            (
                s.get("count_a", s.get("count"))
                for s in summ
                if s.get("category") in ("matched", "deposit_matched")
            ),
            None,
        )
        rows = " / ".join(str(i.get("rows")) for i in ins if i.get("rows") is not None)
        out.append(
            {
                "id": rid,
                "at": at[:19].replace("T", " "),
                "kind": k,
                "inputs": ", ".join(
                    f"{i.get('side', '')}{':' if i.get('side') else ''}{i.get('file')} ({i.get('sha256', '')[:12]})"
                    for i in ins
                    if i.get("file")
                )
                or "-",
                "rows": rows,
                "matched": matched,
                "differences": diffs,
                "net_difference_cents": net,
                "result": {0: "reconciled", 1: "differences"}.get(code, f"exit {code}"),
            }
        )
    return out

"""New invoices written to the ledger: ids, rows, lines, snapshots and the 'issued' event.

Used by `invoice generate` (claims and patient invoices) and by `invoice void|replace` (credit
notes and replacement claims), so every invoice is inserted the same way: ids allocated under
the write lock, the content hash computed by billadmin.ledger, one executemany per table.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import audit, ledger, pointers
from . import content

if TYPE_CHECKING:
    from ..db import Database


class InvoiceIds:
    """The next invoice and invoice-line ids, allocated here (inside the run's write lock) so
    rows are built before they are inserted in bulk."""

    def __init__(self, conn: Database):
        self.invoice = (conn.execute("SELECT COALESCE(MAX(id), 0) FROM invoices").fetchone()[0]) + 1
        self.line = (
            (conn.execute("SELECT COALESCE(MAX(id), 0) FROM invoice_lines").fetchone()[0]) + 1
        )

    def next_invoice(self) -> int:
        self.invoice += 1
        return self.invoice - 1

    def next_line(self) -> int:
        self.line += 1
        return self.line - 1


class SlimRow:
    """A slimmed invoice row (NewInvoice.slim), read like the dict it stands for (`row["id"]`):
    a large run keeps one per claim until its listing, 100,000 of them."""

    __slots__ = ("id", "number", "kind", "patient_id", "frequency_code", "total_cents")
    __getitem__ = object.__getattribute__

    def __init__(self, id, number, kind, patient_id, frequency_code, total_cents):  # noqa: A002
        self.id = id
        self.number = number
        self.kind = kind
        self.patient_id = patient_id
        self.frequency_code = frequency_code
        self.total_cents = total_cents

    def get(self, key: str, default=None):
        return getattr(self, key, default)


@dataclass
class NewInvoice:
    """One invoice about to be inserted."""

    row: dict  # invoices columns (ledger.INVOICE_FIELDS + id, content_hash, created_at)
    lines: list[dict]  # invoice_lines columns (+ id)
    content: dict | None  # snapshot; None = written later (patient invoices)
    bill_to: str
    encounter: str | None
    account: str
    date_of_service: str | None

    def issued_content(self) -> dict:
        """The content to store and render; built with the invoice (claims, credit notes)."""
        if self.content is None:
            raise ValueError(f"invoice {self.row['number']} has no content yet")
        return self.content

    def slim(self) -> NewInvoice:
        """What is still needed once the invoice is inserted and rendered (the run's listing)."""
        r = self.row
        return NewInvoice(
            SlimRow(  # type: ignore[arg-type]  # read as the dict it stands for
                r["id"],
                r["number"],
                r["kind"],
                r["patient_id"],
                r["frequency_code"],
                r["total_cents"],
            ),
            [],
            None,
            self.bill_to,
            self.encounter,
            self.account,
            self.date_of_service,
        )


_INV_COLS = ["id"] + list(ledger.INVOICE_FIELDS) + ["content_hash", "created_at"]
_LINE_COLS = ["id", "invoice_id"] + list(ledger.LINE_FIELDS)
_SNAP_COLS = ["invoice_id", "data"]
_EVENT_COLS = ["invoice_id", "status", "at", "note"]  # the id is the table's own
_inv_values = operator.itemgetter(*_INV_COLS)
_line_values = operator.itemgetter(*_LINE_COLS)

# `invoice generate` digests the rows it plans in its temp tables as they are inserted here
# (audit.PlannedDigests, for the inserts `into` its prefix): plan_digests sets it per connection
_planned: weakref.WeakKeyDictionary[Database, audit.PlannedDigests] = weakref.WeakKeyDictionary()


def plan_digests(conn: Database, digests: audit.PlannedDigests | None) -> None:
    """From now on the invoices, lines and snapshots inserted into digests.prefix's tables are
    digested as they are inserted (None: no longer)."""
    if digests is None:
        _planned.pop(conn, None)
    else:
        _planned[conn] = digests


def planned_digests(conn: Database) -> audit.PlannedDigests | None:
    return _planned.get(conn)


def insert_invoices(
    conn: Database,
    issues: list[NewInvoice],
    *,
    at: str,
    event_note: str | None = None,
    into: str = "",
) -> None:
    """Insert invoices, lines and their 'issued' event (content hash per billadmin.ledger).
    `into` prefixes the table names: `invoice generate` plans its rows in temp tables outside the
    write lock (generate.PLAN) and copies them under it."""
    for it in issues:
        it.row["content_hash"] = ledger.content_hash(it.row, it.lines)
        it.row["created_at"] = at
    rows = [_inv_values(it.row) for it in issues]
    lines = [_line_values(ln) for it in issues for ln in it.lines]
    conn.conn.executemany(
        f"INSERT INTO {into}invoices ({', '.join(_INV_COLS)}) VALUES ({', '.join('?' * len(_INV_COLS))})",
        rows,
    )
    conn.conn.executemany(
        f"INSERT INTO {into}invoice_lines ({', '.join(_LINE_COLS)})"
        f" VALUES ({', '.join('?' * len(_LINE_COLS))})",
        lines,
    )
    events = [(it.row["id"], "issued", at, event_note) for it in issues]
    conn.conn.executemany(
        f"INSERT INTO {into}invoice_events ({', '.join(_EVENT_COLS)}) VALUES (?, ?, ?, ?)", events
    )
    planned = _planned.get(conn)
    if into and planned is not None and planned.prefix == into:
        planned.add(conn, "invoices", _INV_COLS, rows)
        planned.add(conn, "invoice_lines", _LINE_COLS, lines)
        # the plan's events get their ids once the run knows the next one (generate._plan_seals)
        planned.add_unnumbered("invoice_events", _EVENT_COLS, events)


def insert_snapshots(conn: Database, pairs: Iterable[tuple[int, dict]], *, into: str = "") -> None:
    """The content each invoice was issued with (canonical JSON; renderers read only this)."""
    rows = [(iid, content.canonical(c)) for iid, c in pairs]
    conn.conn.executemany(
        f"INSERT INTO {into}invoice_snapshots ({', '.join(_SNAP_COLS)}) VALUES (?, ?)", rows
    )
    planned = _planned.get(conn)
    if into and planned is not None and planned.prefix == into:
        planned.add(conn, "invoice_snapshots", _SNAP_COLS, rows)


def mark_billed(conn: Database, charge_line_ids: list[int]) -> None:
    t = content.temp_ids(conn, "_billed_lines", charge_line_ids)
    conn.execute(f"UPDATE charge_lines SET status = 'billed' WHERE id IN (SELECT id FROM {t})")


def line_row(
    ids: InvoiceIds,
    invoice_id: int,
    line_no: int,
    *,
    charge_line_id: int | None,
    dos: str | None,
    code: str | None,
    modifiers: list[str],
    units: int | None,
    description: str | None,
    amount: int,
) -> dict:
    """An invoice_lines row with a new id."""
    return {
        "id": ids.next_line(),
        "invoice_id": invoice_id,
        "line_no": line_no,
        "charge_line_id": charge_line_id,
        "date_of_service": dos,
        "code": code,
        "modifiers": ",".join(modifiers),
        "units": units,
        "description": description,
        "amount_cents": amount,
    }


def claim_lines(ids: InvoiceIds, invoice_id: int, enc: dict) -> tuple[list[dict], list[dict]]:
    """A claim's invoice lines and the claim content's lines, one per charge line of the
    encounter (its pointers already checked: CLAIM-POINTER holds the ones that cannot be read)."""
    lines, clines = [], []
    for n, ln in enumerate(enc["lines"], start=1):
        mods = content.modifiers_of(ln)
        row = line_row(
            ids,
            invoice_id,
            n,
            charge_line_id=ln["charge_line_id"],
            dos=enc["date_of_service"],
            code=ln["code"],
            modifiers=mods,
            units=ln["units"],
            description=None,
            amount=ln["charge_cents"],
        )
        lines.append(row)
        clines.append(
            content.claim_line(
                row["id"],
                ln["code"],
                mods,
                ln["units"],
                ln["charge_cents"],
                list(pointers.parse(ln["dx_pointers"])),
            )
        )
    return lines, clines

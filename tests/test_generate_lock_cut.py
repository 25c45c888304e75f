"""What `invoice generate` does under the write lock is a copy of what it planned before it (issue
15, the lock's share): besides the claims' rows, their charge lines to mark billed and their
invoice_runs rows are planned in phase (a) and written by one statement each, so the statements
the write transaction runs do not grow with the number of claims; and what they write is what
the row-by-row way (kept for a run prepared inside the lock) writes.

The practice: N insured patients (KEY and MCD alternately), each with one visit on 2026-06-10
(99213 140.00 + 36415 15.00 = 155.00), and one self-pay patient (99203 175.00), whose patient
invoice is planned before the lock too (one invoice whatever N is)."""

from __future__ import annotations

import json

import invoice_fixtures as fx

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle


def _practice(conn, n: int, *, first: int = 0, self_pay: bool = True) -> None:
    with dbmod.write(conn):
        if first == 0:
            fx.practice(conn)
        for i in range(first, first + n):
            p = fx.patient(conn, f"70{i:02d}")
            fx.coverage(conn, p, "KEY" if i % 2 else "MCD", member=f"M{i:04d}")
            fx.encounter(conn, p, "2026-06-10", [("99213", 14000), ("36415", 1500)], number=f"A{i}")
        if self_pay:
            s = fx.patient(conn, f"99{first:02d}")
            fx.encounter(conn, s, "2026-06-12", [("99203", 17500)], number=f"S{first}")


def _run(conn, out):
    return gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)


class _Statements:
    """Stands in for the database's sqlite3 connection and records each statement billadmin
    sends, by write transaction: one per execute, one per row of an executemany (what the
    Python side pays for; the triggers' work is SQLite's)."""

    def __init__(self, conn):
        self._conn, self._db = conn.conn, conn
        self.transactions: list[list[str]] = []
        self._open: list[str] | None = None
        conn.conn = self

    def close(self) -> None:
        self._db.conn = self._conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def _seen(self, sql: str, times: int = 1) -> None:
        s = " ".join(sql.split())
        if s.startswith("BEGIN IMMEDIATE"):
            self._open = []
        elif self._open is not None and s.startswith(("COMMIT", "ROLLBACK")):
            self.transactions.append(self._open)
            self._open = None
        elif self._open is not None:
            self._open += [s] * times

    def execute(self, sql, *args):
        self._seen(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql, rows):
        rows = list(rows)
        self._seen(sql, len(rows))
        return self._conn.executemany(sql, rows)

    def run_transaction(self) -> list[str]:
        """The run's write transaction (the one that inserts its billing_runs row)."""
        [tx] = [t for t in self.transactions if any("INTO billing_runs" in s for s in t)]
        return tx


def test_the_statements_under_the_lock_do_not_grow_with_the_claims(tmp_path):
    counts = {}
    for n in (4, 16):
        conn = dbmod.connect(tmp_path / f"{n}.db", create=True)
        _practice(conn, n)
        seen = _Statements(conn)
        res = _run(conn, tmp_path / f"out{n}")
        seen.close()
        assert sum(r["kind"] == "claim" for r in res.issued) == n
        assert sum(r["kind"] == "patient" for r in res.issued) == 1
        tx = seen.run_transaction()
        counts[n] = len(tx)
        # the claims' lines are marked billed from the table phase (a) filled, and their
        # invoice_runs rows copied from theirs: no row of either is sent one at a time
        assert sum("UPDATE charge_lines SET status = 'billed'" in s for s in tx) == 2  # + patient
        assert sum("INTO invoice_runs" in s and "SELECT invoice_id" in s for s in tx) == 2
        # the patient invoice's one invoice_runs row the row-by-row way; its line marked billed
        # from its planned lines (patient_invoices.write_planned: tests/test_patient_plan.py)
        assert sum("INTO invoice_runs" in s and "VALUES" in s for s in tx) == 1
        assert sum("INTO _billed_lines" in s for s in tx) == 0
        billed = conn.execute(
            "SELECT status, COUNT(*) FROM charge_lines GROUP BY status"
        ).fetchall()
        assert billed == [("billed", 2 * n + 1)]
        assert integrity.run_checks(conn) == []
        conn.close()
    # 12 more claims, not one statement more under the lock
    assert counts[16] == counts[4]


def _rows(conn) -> dict:
    return {
        "invoice_runs": conn.execute(
            "SELECT i.number, r.run_id, r.file FROM invoice_runs r"
            " JOIN invoices i ON i.id = r.invoice_id ORDER BY r.invoice_id"
        ).fetchall(),
        "charge_lines": conn.execute("SELECT id, status FROM charge_lines ORDER BY id").fetchall(),
        "billing_runs": conn.execute(
            "SELECT id, issued, held FROM billing_runs ORDER BY id"
        ).fetchall(),
        "audit": [
            (count, json.loads(detail))
            for count, detail in conn.execute(
                "SELECT row_count, detail FROM audit_log WHERE action = 'invoice generate'"
                " ORDER BY id"
            )
        ],
    }


def test_the_planned_marks_write_what_the_row_by_row_way_writes(tmp_path, monkeypatch):
    """Two copies of the same practice, the second run of each with a queued replacement and a
    queued void: planned (as `invoice generate` runs) and row by row (_plan_marks left out, the
    way of a run prepared inside the lock) write the same rows and list the same invoices."""
    out = {}
    for way in ("planned", "row by row"):
        conn = dbmod.connect(tmp_path / f"{way}.db", create=True)
        _practice(conn, 4)
        _run(conn, tmp_path / way / "r1")
        lifecycle.replace(conn, "C000001", scrub=fx.no_scrub, today=fx.TODAY)
        lifecycle.void(conn, "C000002", reason="billed in error", today=fx.TODAY)
        _practice(conn, 2, first=4, self_pay=False)
        with monkeypatch.context() as m:
            if way == "row by row":
                m.setattr(gen, "_plan_marks", lambda conn, result, plan: None)
            res = _run(conn, tmp_path / way / "r2")
        out[way] = (_rows(conn), [{**r, "invoice_id": None} for r in res.issued])
        conn.close()
    assert out["planned"] == out["row by row"]

    rows, issued = out["planned"]
    # run 1: C000001-C000002 to KEY (A1, A3), C000003-C000004 to MCD (A0, A2: claims are
    # numbered by payer code), P000001 for the self-pay patient. Between the runs `invoice
    # replace C000001` issues C000005 (frequency 7) and `invoice void C000002` the credit note
    # CN000002 (frequency 8), both queued. Run 2: the new visits C000006 (A5, KEY) and C000007
    # (A4, MCD), then the queued ones, sent in KEY's file and recorded with run 2
    assert rows["invoice_runs"] == [
        ("C000001", 1, "837P-KEY-000000001.edi"),
        ("C000002", 1, "837P-KEY-000000001.edi"),
        ("C000003", 1, "837P-MCD-000000002.edi"),
        ("C000004", 1, "837P-MCD-000000002.edi"),
        ("P000001", 1, None),  # no PDF (pdf=False)
        ("C000005", 2, "837P-KEY-000000003.edi"),
        ("CN000002", 2, "837P-KEY-000000003.edi"),
        ("C000006", 2, "837P-KEY-000000003.edi"),
        ("C000007", 2, "837P-MCD-000000004.edi"),
    ]
    assert [(r["number"], r["encounter"], r["frequency"], r["file"]) for r in issued] == [
        ("C000006", "A5", "1", "837P-KEY-000000003.edi"),
        ("C000007", "A4", "1", "837P-MCD-000000004.edi"),
        ("C000005", "A1", "7", "837P-KEY-000000003.edi"),
        ("CN000002", "A3", "8", "837P-KEY-000000003.edi"),
    ]
    assert [r.get("queued", False) for r in issued] == [False, False, True, True]
    assert [r["total_cents"] for r in issued[:2]] == [15500, 15500]  # 140.00 + 15.00
    # 4 visits and the self-pay one (2 + 2 + 2 + 2 + 1 lines), then 2 more visits (2 + 2): all
    # billed but the two of A3, whose claim was voided
    statuses = [status for _, status in rows["charge_lines"]]
    assert (statuses.count("billed"), statuses.count("void"), len(statuses)) == (11, 2, 13)
    assert rows["billing_runs"] == [(1, 5, 0), (2, 4, 0)]
    assert [count for count, _ in rows["audit"]] == [5, 4]
    detail = rows["audit"][1][1]
    assert (detail["run"], detail["claim"], detail["credit"]) == (2, 3, 1)  # CN000002: a credit

"""A run's own reads do not scan the practice's history (issue 15): the read set's same-day
encounters and invoices.csv's listing find their rows by index, whatever number of encounters
and invoices earlier runs left (a fresh benchmark database cannot show a scan: everything in it
is the run's). Checked on SQLite's own query plans of the statements they send."""

from __future__ import annotations

import invoice_fixtures as fx

from billadmin import db as dbmod
from billadmin.billing import content, listing, readset

HISTORY = ("encounters", "invoices", "charge_lines", "invoice_runs")


def _practice(conn, n: int) -> None:
    with dbmod.write(conn):
        fx.practice(conn)
        for i in range(n):
            p = fx.patient(conn, f"71{i:02d}")
            fx.coverage(conn, p, "KEY", member=f"H{i:04d}")
            fx.encounter(conn, p, "2026-06-10", [("99213", 14000)], number=f"H{i}")


def _plans(conn, run) -> list[str]:
    """The query plan lines of every statement `run` sends (EXPLAINed after it ran, while its
    temp tables still exist)."""
    sent: list[str] = []
    conn.conn.set_trace_callback(sent.append)
    try:
        run()
    finally:
        conn.conn.set_trace_callback(None)
    lines = []
    for sql in sent:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "INSERT", "WITH"):
            lines += [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
    return lines


def _scans(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln.startswith("SCAN") and ln.split()[1] in HISTORY + ("e", "i")]


def test_the_read_set_finds_same_day_encounters_by_index(db):
    conn = db
    _practice(conn, 6)
    ids = [r[0] for r in conn.execute("SELECT id FROM encounters ORDER BY id LIMIT 2")]
    enc = content.temp_ids(conn, "_t_encs", ids)
    pats = content.temp_ids(
        conn, "_t_pats", [r[0] for r in conn.execute("SELECT patient_id FROM encounters")]
    )
    lines = _plans(conn, lambda: readset.digest(conn, enc, pats))
    assert any("encounters_patient_day" in ln for ln in lines), lines
    assert _scans(lines) == [], lines


def test_the_listing_reads_its_runs_invoices_by_index(db, tmp_path):
    from billadmin.billing import generate as gen

    conn = db
    _practice(conn, 4)
    res = gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "o", pdf=False)
    assert len(res.issued) == 4
    assert res.run_id is not None
    rows: list = []
    lines = _plans(conn, lambda: rows.extend(listing.listing_rows(conn, [res.run_id])))
    assert len(rows) == 4
    assert any("invoice_runs_run" in ln for ln in lines), lines
    assert _scans(lines) == [], lines

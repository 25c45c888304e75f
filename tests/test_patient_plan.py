"""`invoice generate` builds its patient invoices before the write lock (issue 15, the patient
share): their items, lines, descriptions, content hashes and numbers in phase (a), planned in temp
tables and copied under the lock; held credit and the statement content follow the ledger under
the lock. A change to what they are built from, made while the run is prepared, sends the run
back; what it writes passes `billadmin check`.

The practice (`_practice`): Ivy (MRN 1000, Keystone) has a visit on 2026-06-10, a 99213 at 140.00
(claim C000001, so the run has an 837P for the tests to pause at); the self-pay patients
S01, S02, ... (MRN 20xx, no coverage) each a 99203 at 175.00, on 2026-06-11, 2026-06-12, ...,
each with a diagnosis of their own (J01.0x)."""

from __future__ import annotations

import json

import invoice_fixtures as fx
from test_generate_lock import Paused
from test_generate_lock_cut import _Statements

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen


def _practice(conn, self_pay: int) -> dict[str, int]:
    """Ivy and `self_pay` self-pay patients (module docstring); their ids by MRN."""
    ids = {}
    with dbmod.write(conn):
        fx.practice(conn)
        ids["1000"] = ivy = fx.patient(conn, "1000", "Ivy", "Insured")
        fx.coverage(conn, ivy, "KEY", member="KEY001")
        fx.encounter(conn, ivy, "2026-06-10", [("99213", 14000)], number="A1")
        for i in range(1, self_pay + 1):
            ids[f"20{i:02d}"] = p = fx.patient(conn, f"20{i:02d}")
            fx.encounter(
                conn,
                p,
                f"2026-06-{10 + i:02d}",
                [("99203", 17500)],
                dx=(f"J01.0{i % 10}",),
                number=f"S{i:02d}",
            )
    return ids


def _run(conn, out, **kw) -> gen.RunResult:
    return gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, **kw)


def _patient_invoices(conn) -> list[tuple[str, str, int]]:
    return conn.execute(
        "SELECT i.number, p.mrn, i.total_cents FROM invoices i JOIN patients p ON p.id ="
        " i.patient_id WHERE i.kind = 'patient' ORDER BY i.number"
    ).fetchall()


def _statement(conn, number: str) -> dict:
    (data,) = conn.execute(
        "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()
    return json.loads(data)


# the statement that is one per patient invoice under the lock: its invoice_runs row (_record,
# with its PDF's name, known once credit is applied)
def _per_invoice(s: str) -> bool:
    return "INTO invoice_runs" in s and "VALUES" in s


def test_the_patient_invoices_rows_are_copied_not_built_under_the_lock(tmp_path):
    """Fails on the code before issue 15's patient plan: each patient invoice's row, lines,
    'issued' event, encounter number, credit lookup, diagnoses and statement content (and its
    seal) were one statement (or executemany row) each under the lock."""
    counts = {}
    for n in (2, 8):
        conn = dbmod.connect(tmp_path / f"{n}.db", create=True)
        _practice(conn, n)
        seen = _Statements(conn)
        res = _run(conn, tmp_path / f"out{n}")
        seen.close()
        # P000001.. by MRN, 175.00 each; Ivy's claim C000001
        assert [(r["number"], r["total_cents"]) for r in res.issued] == [("C000001", 14000)] + [
            (f"P{i:06d}", 17500) for i in range(1, n + 1)
        ]
        assert [r["encounter"] for r in res.issued[1:]] == [f"S{i:02d}" for i in range(1, n + 1)]
        tx = seen.run_transaction()
        per_invoice = [s for s in tx if _per_invoice(s)]
        assert len(per_invoice) == n
        counts[n] = len(tx) - len(per_invoice)
        # copied from the plan: no invoice, line, event or content row is sent one at a time
        assert not any(
            s.startswith(("INSERT INTO invoices (", "INSERT INTO invoice_lines ("))
            or s.startswith("INSERT INTO invoice_snapshots (")
            or s.startswith("INSERT INTO invoice_events (invoice_id, status, at, note) VALUES")
            for s in tx
        )
        assert conn.execute(
            "SELECT status, COUNT(*) FROM charge_lines GROUP BY status"
        ).fetchall() == [("billed", n + 1)]
        assert integrity.run_checks(conn) == []
        conn.close()
    # 6 more patient invoices, not one statement more under the lock
    assert counts[8] == counts[2]


def test_a_self_pay_charge_added_while_prepared_sends_the_run_back(
    db, db_path, tmp_path, monkeypatch
):
    """A 36415 at 15.00 added to S01's visit while the run is prepared: the run is prepared
    again and P000001 carries 175.00 + 15.00 = 190.00."""
    _practice(db, 2)

    def late_line(n):
        if n == 1:
            other = dbmod.connect(db_path)
            with dbmod.write(other):
                other.execute(
                    "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units,"
                    " charge_cents) SELECT id, 2, '36415', '1', 1, 1500 FROM encounters"
                    " WHERE number = 'S01'"
                )
            other.close()

    paused = Paused(monkeypatch, on_pause=late_line)
    _run(db, tmp_path / "o")
    assert paused.calls == 2
    assert _patient_invoices(db) == [("P000001", "2001", 19000), ("P000002", "2002", 17500)]
    lines = [(ln["code"], ln["amount_cents"]) for ln in _statement(db, "P000001")["lines"]]
    assert lines == [("99203", 17500), ("36415", 1500)]
    assert integrity.run_checks(db) == []


def test_a_transfer_posted_while_prepared_sends_the_run_back(db, db_path, tmp_path, monkeypatch):
    """Keystone's answer to C000001 moves a 30.00 deductible (PR-1) to Ivy while the next run is
    prepared: the run is prepared again and bills it on Ivy's patient invoice, P000003 (MRN
    1000 sorts before the self-pay patients' 2001, 2002, whose visits came in meanwhile too)."""
    ids = _practice(db, 0)
    _run(db, tmp_path / "r1")
    with dbmod.write(db):
        for i in (1, 2):
            p = fx.patient(db, f"20{i:02d}")
            fx.encounter(db, p, f"2026-06-1{i}", [("99203", 17500)], number=f"S{i:02d}")
        jon = fx.patient(db, "3000", "Jon", "Insured")  # a claim in the second run's 837P
        fx.coverage(db, jon, "KEY", member="KEY002")
        fx.encounter(db, jon, "2026-06-15", [("99212", 9500)], number="A2")

    def transfer(n):
        if n == 1:
            other = dbmod.connect(db_path)
            with dbmod.write(other):
                other.execute(
                    "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code,"
                    " reason_code, amount_cents, source, created_on, created_at)"
                    " SELECT i.id, l.id, 'PR', '1', 3000, 'transfer', '2026-06-20', ?"
                    " FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
                    " WHERE i.number = 'C000001'",
                    (fx.NOW,),
                )
            other.close()

    paused = Paused(monkeypatch, on_pause=transfer)
    res = _run(db, tmp_path / "r2")
    assert paused.calls == 2
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000002", 9500),
        ("P000001", 3000),
        ("P000002", 17500),
        ("P000003", 17500),
    ]
    assert _patient_invoices(db) == [
        ("P000001", "1000", 3000),
        ("P000002", "2001", 17500),
        ("P000003", "2002", 17500),
    ]
    st = _statement(db, "P000001")
    assert [(ln["description"], ln["claim"], ln["amount_cents"]) for ln in st["lines"]] == [
        ("Deductible, claim C000001", "C000001", 3000)
    ]
    # the claim line's charge shown once, nothing paid by insurance yet
    assert (st["charges_cents"], st["insurance_paid_cents"], st["balance_due_cents"]) == (
        14000,
        0,
        3000,
    )
    assert db.execute(
        "SELECT COUNT(*) FROM patient_invoice_adjustments x JOIN invoice_lines l"
        " ON l.id = x.invoice_line_id JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.patient_id = ?",
        (ids["1000"],),
    ).fetchone() == (1,)
    assert integrity.run_checks(db) == []
    assert _run(db, tmp_path / "r3").issued == []  # never twice


def test_credit_is_applied_to_a_planned_patient_invoice(db, tmp_path, cli):
    """S02's 20.00 co-pay, held as credit, pays part of the 140.00 visit billed to them: the
    statement shows 20.00 paid and 120.00 due. S01 and S03 (no credit) owe their 175.00: their
    contents were planned before the lock, S02's computed under it after the credit, so the
    planned contents are copied in two runs of ids (P000001, P000003), each sealed by its own
    batch record."""
    with dbmod.write(db):
        fx.practice(db)
        ivy = fx.patient(db, "1000", "Ivy", "Insured")
        fx.coverage(db, ivy, "KEY", member="KEY001")
        fx.encounter(db, ivy, "2026-06-10", [("99213", 14000)], number="A1")
        pats = {}
        for i, cents in ((1, 17500), (2, 14000), (3, 17500)):
            pats[i] = fx.patient(db, f"200{i}")
            fx.encounter(db, pats[i], f"2026-06-1{i}", [("99213", cents)], number=f"S0{i}")
        pay = fx.copay_payment(db, pats[2], 2000, "2026-06-12")
    _run(db, tmp_path / "o")
    st = _statement(db, "P000002")
    assert (st["total_cents"], st["patient_paid_cents"], st["balance_due_cents"]) == (
        14000,
        2000,
        12000,
    )
    assert st["aging"][0] == {"bucket": "0-30", "amount_cents": 12000}
    for number in ("P000001", "P000003"):
        st = _statement(db, number)
        assert (st["patient_paid_cents"], st["balance_due_cents"]) == (0, 17500)
    assert db.execute(
        "SELECT a.payment_id, i.number, a.amount_cents FROM payment_allocations a"
        " JOIN invoices i ON i.id = a.invoice_id"
    ).fetchall() == [(pay, "P000002", 2000)]
    assert db.execute(
        "SELECT amount_cents, reason FROM unapplied_credits WHERE patient_id = ? ORDER BY id",
        (pats[2],),
    ).fetchall() == [(2000, "copay"), (-2000, "applied")]
    # issued, then partly paid by the credit: the events in that order
    assert db.execute(
        "SELECT e.status FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE i.number = 'P000002' ORDER BY e.id"
    ).fetchall() == [("issued",), ("partially_paid",)]
    # invoice ids: C000001 1, P000001-P000003 2-4
    batches = db.execute(
        "SELECT row_id, last_id FROM row_seals WHERE tbl = 'invoice_snapshots'"
        " AND last_id IS NOT NULL ORDER BY row_id"
    ).fetchall()
    assert batches == [(1, 1), (2, 2), (4, 4)]
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_a_payment_posted_while_prepared_is_applied(db, db_path, tmp_path, monkeypatch, cli):
    """S01 pays 20.00 at the desk, held as credit, while the run is prepared (with S01's
    statement content planned, no credit then): the run is prepared again, and P000001 (175.00)
    shows 20.00 paid and 155.00 due."""
    _practice(db, 2)
    seen = {}

    def post(n):
        if n == 1:
            r = cli("payment", "post", "2001", "20.00", "--method", "cash", "--credit")
            seen[n] = r.exit_code

    paused = Paused(monkeypatch, on_pause=post)
    _run(db, tmp_path / "o")
    assert seen == {1: 0} and paused.calls == 2
    st = _statement(db, "P000001")
    assert (st["patient_paid_cents"], st["balance_due_cents"]) == (2000, 15500)
    assert _statement(db, "P000002")["balance_due_cents"] == 17500
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_a_patient_with_a_visit_and_a_facility_claim_and_credit(db, tmp_path, cli):
    """Cy (no insurance, 20.00 co-pay held) has a self-pay visit (99213 140.00) and the
    hospital's outpatient endoscopy H3 (0750 1,850.00 + 0310 420.00 + 0710 300.00 = 2,570.00);
    Dee (no insurance) a 99203 at 175.00; Ann's H1 goes to Medicare. The visits' invoices come
    first (Cy P000001, Dee P000002: by MRN), then the facility claim's (P000003). The credit pays
    20.00 of P000001 (120.00 due); P000003 owes 2,570.00 and its aging holds P000001's 120.00 too,
    as when both were built under the lock. Cy's statements are computed under the lock (two
    invoices in the run), Dee's before it; P000003's 'issued' event follows P000001's credit
    event."""
    import institutional_fixtures as ifx

    with dbmod.write(db):
        ids = ifx.hospital(db)
        cy = fx.patient(db, "H1003", "Cy", "Cole")
        ifx.outpatient(db, ids["a"], "H1", ids["facility"])
        ifx.outpatient(db, cy, "H3", ids["facility"])
        fx.encounter(db, cy, "2026-06-10", [("99213", 14000)], number="V1")
        fx.copay_payment(db, cy, 2000, "2026-06-10")
        dee = fx.patient(db, "S0001", "Dee", "Doe")
        fx.encounter(db, dee, "2026-06-11", [("99203", 17500)], number="V2")
    res = _run(db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == [
        ("C000001", 257000),
        ("P000001", 14000),
        ("P000002", 17500),
        ("P000003", 257000),
    ]
    p1, p2, p3 = (_statement(db, n) for n in ("P000001", "P000002", "P000003"))
    assert (p1["patient_paid_cents"], p1["balance_due_cents"]) == (2000, 12000)
    assert p1["aging"][0]["amount_cents"] == 12000
    assert (p2["patient_paid_cents"], p2["balance_due_cents"]) == (0, 17500)
    assert (p3["patient_paid_cents"], p3["balance_due_cents"]) == (0, 257000)
    assert p3["aging"][0]["amount_cents"] == 257000 + 12000
    events = db.execute(
        "SELECT i.number, e.status FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE i.kind = 'patient' ORDER BY e.id"
    ).fetchall()
    assert events == [
        ("P000001", "issued"),
        ("P000002", "issued"),
        ("P000001", "partially_paid"),
        ("P000003", "issued"),
    ]
    assert db.execute(
        "SELECT i.number, c.status FROM inst_claim_invoices l JOIN invoices i ON i.id ="
        " l.invoice_id JOIN inst_claims c ON c.id = l.claim_id ORDER BY i.number"
    ).fetchall() == [("C000001", "billed"), ("P000003", "billed")]
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr

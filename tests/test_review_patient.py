"""Review of issue 15's patient plan (patient invoices built, numbered, planned and their
statement content computed before the write lock): what could behave differently from the
code that built them under the lock, each case built here and held to the billing rules.

The practice (`_practice`): Ann (MRN H1001, Medicare) has the hospital's outpatient endoscopy H1
(0750 1,850.00 + 0310 420.00 + 0710 300.00 = 2,570.00, claim C000001 on an 837I, so the run has
a file for the tests to pause at); the self-pay patients are
- Cy (MRN 2001): a 20.00 co-pay held as credit and a visit V1, a 99213 at 140.00;
- Dee (MRN 2002): a visit V2, a 99203 at 175.00;
- Eve (MRN 2003): the hospital's endoscopy H3 (2,570.00) with no coverage, billed to her.
The patient invoices come by MRN for the visits (Cy P000001, Dee P000002), then the facility
claim's (Eve P000003). Cy's statement: 140.00 - 20.00 credit = 120.00 due; Dee's 175.00 due;
Eve's 2,570.00 due."""

from __future__ import annotations

import json

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import audit, integrity
from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import patient_invoices as pi
from billadmin.billing import readset

# what every complete run of the practice issues, and each statement's (paid, due)
ISSUED = [("C000001", 257000), ("P000001", 14000), ("P000002", 17500), ("P000003", 257000)]
DUE = {"P000001": (2000, 12000), "P000002": (0, 17500), "P000003": (0, 257000)}


def _practice(conn) -> dict[str, int]:
    with dbmod.write(conn):
        ids = ifx.hospital(conn)
        ifx.outpatient(conn, ids["a"], "H1", ids["facility"])
        ids["cy"] = cy = fx.patient(conn, "2001", "Cy", "Cole")
        fx.copay_payment(conn, cy, 2000, "2026-06-10")
        fx.encounter(conn, cy, "2026-06-10", [("99213", 14000)], number="V1")
        ids["dee"] = dee = fx.patient(conn, "2002", "Dee", "Doe")
        fx.encounter(conn, dee, "2026-06-11", [("99203", 17500)], number="V2")
        ids["eve"] = eve = fx.patient(conn, "2003", "Eve", "Eden")
        ifx.outpatient(conn, eve, "H3", ids["facility"])
    return ids


def _run(conn, out, **kw) -> gen.RunResult:
    return gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False, **kw)


def _statement(conn, number: str) -> dict:
    (data,) = conn.execute(
        "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()
    return json.loads(data)


def _assert_billed_once(conn) -> None:
    """The practice billed as the rules say (module docstring), once, and the ledger sealed."""
    assert (
        conn.execute("SELECT number, total_cents FROM invoices ORDER BY number").fetchall()
        == ISSUED
    )
    for number, due in DUE.items():
        st = _statement(conn, number)
        assert (st["patient_paid_cents"], st["balance_due_cents"]) == due, number
        assert st["aging"][0] == {"bucket": "0-30", "amount_cents": due[1]}, number
    # the credit applied once, to Cy's invoice
    assert conn.execute(
        "SELECT i.number, a.amount_cents FROM payment_allocations a"
        " JOIN invoices i ON i.id = a.invoice_id"
    ).fetchall() == [("P000001", 2000)]
    assert conn.execute(
        "SELECT amount_cents, reason FROM unapplied_credits ORDER BY id"
    ).fetchall() == [(2000, "copay"), (-2000, "applied")]
    assert conn.execute(
        "SELECT i.number, c.status FROM inst_claim_invoices l JOIN invoices i"
        " ON i.id = l.invoice_id JOIN inst_claims c ON c.id = l.claim_id ORDER BY i.number"
    ).fetchall() == [("C000001", "billed"), ("P000003", "billed")]
    assert conn.execute("SELECT status, COUNT(*) FROM charge_lines GROUP BY status").fetchall() == [
        ("billed", 2)
    ]
    assert integrity.run_checks(conn) == []


def test_the_practice_billed_as_the_rules_say(db, tmp_path, cli):
    """The baseline the interrupted runs are held to; a second run issues nothing."""
    _practice(db)
    res = _run(db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == ISSUED
    _assert_billed_once(db)
    assert _run(db, tmp_path / "o2").issued == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


# each new step of the patient plan (module, name, which call): phase (a) and under the lock
_STEPS = [
    (pi, "build", 1),
    (pi, "plan", 1),
    (pi, "plan", 2),
    (pi, "plan_contents", 2),
    (readset, "statement_patients", 2),
    (pi, "seal_planned", 2),
    (pi, "write_planned", 1),
    (pi, "write_planned", 2),
    (pi, "apply_credit", 1),
    (pi, "_store", 1),
    (pi, "_store", 2),
    (audit, "insert_planned", "temp._plan_pat_invoice_lines"),
    (audit, "insert_planned", "temp._plan_inst_pat_invoice_events"),
    (audit, "insert_planned", "temp._plan_pat_segment0"),
]


@pytest.mark.parametrize(("module", "name", "at"), _STEPS, ids=[f"{n}-{a}" for _, n, a in _STEPS])
def test_ctrl_c_at_each_step_writes_nothing_and_the_next_run_bills_it_right(
    db, tmp_path, monkeypatch, module, name, at
):
    """Ctrl-C at a step of the patient plan: nothing of the run is written (no invoice, no
    credit applied, the charge lines and the facility claims unbilled), `check` is clean, and
    the next run on the same connection bills everything once, as the rules say."""
    _practice(db)
    real = getattr(module, name)
    calls = []

    def interrupted(*a, **kw):
        calls.append(1)
        hit = len(calls) == at if isinstance(at, int) else at in a
        if hit:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(module, name, interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(db, tmp_path / "o")
    monkeypatch.setattr(module, name, real)
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM payment_allocations").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM charge_lines WHERE status = 'billed'").fetchone() == (
        0,
    )
    assert integrity.run_checks(db) == []
    res = _run(db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == ISSUED
    _assert_billed_once(db)


def _aging(st: dict) -> dict[str, int]:
    return {a["bucket"]: a["amount_cents"] for a in st["aging"] if a["amount_cents"]}


def test_a_second_run_committed_while_prepared_bills_nothing_twice(
    db, db_path, tmp_path, monkeypatch
):
    """Another `invoice generate` bills the whole practice while this one is prepared: this one
    is prepared again and issues nothing; the patient series has no gap or duplicate (the next
    patient number is P000004) and the credit is applied once."""
    from test_generate_lock import Paused

    _practice(db)
    other = {}

    def second_run(n):
        if n == 1:
            conn = dbmod.connect(db_path)
            other["res"] = _run(conn, tmp_path / "other")
            conn.close()

    paused = Paused(monkeypatch, on_pause=second_run)
    res = _run(db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in other["res"].issued) == ISSUED
    # this run's file, the other run's; prepared again, this run has no file to check
    assert paused.calls == 2
    assert res.issued == []
    _assert_billed_once(db)
    assert db.execute("SELECT next_number FROM series WHERE kind = 'patient'").fetchone() == (4,)


def test_credit_the_readset_missed_is_caught_under_the_lock(db, db_path, tmp_path, monkeypatch):
    """Dee's statement content is planned (no credit then); a 20.00 co-pay she pays on
    2026-06-20 (not a billed day) is held as credit while the run is prepared, and the readset is
    blinded to it (as a change it missed would be): under the lock the credit is found for a
    patient whose content was planned, so the run is prepared again rather than storing a
    statement without it. Dee's P000002 then shows 20.00 paid, 175.00 - 20.00 = 155.00 due."""
    from test_generate_lock import Paused

    ids = _practice(db)

    def credit(n):
        if n == 1:
            conn = dbmod.connect(db_path)
            with dbmod.write(conn):
                fx.copay_payment(conn, ids["dee"], 2000, "2026-06-20")
            conn.close()

    real = readset.changed
    monkeypatch.setattr(
        readset, "changed", lambda a, b: [p for p in real(a, b) if p != "statement_credits"]
    )
    paused = Paused(monkeypatch, on_pause=credit)
    said: list[str] = []
    _run(db, tmp_path / "o", progress=lambda step, *a: said.append(step))
    assert paused.calls == 2
    # sent back by the check under the lock (patient_invoices.PlanChanged), not by the readset
    assert [s for s in said if "changed while" in s] == [
        "patient credit changed while the run was prepared: preparing it again"
    ]
    st = _statement(db, "P000002")
    assert (st["patient_paid_cents"], st["balance_due_cents"]) == (2000, 15500)
    assert st["aging"][0] == {"bucket": "0-30", "amount_cents": 15500}
    assert db.execute(
        "SELECT i.number, a.amount_cents FROM payment_allocations a"
        " JOIN invoices i ON i.id = a.invoice_id ORDER BY i.number"
    ).fetchall() == [("P000001", 2000), ("P000002", 2000)]
    assert integrity.run_checks(db) == []


def test_an_event_written_meanwhile_comes_before_the_patient_invoices_events(
    db, tmp_path, monkeypatch, cli
):
    """Run 1 bills the practice. Cy pays his 120.00 at the desk while run 2 is prepared (Cy has
    nothing in run 2, so nothing run 2 read changed: prepared once); his P000001's 'paid' event
    takes the event id run 2 planned for its first event, so run 2's events (Ann's H2 claim
    C000002, Dee's new visit V3, a 99212 at 95.00, P000004) follow it, sealed row by row instead
    of by their planned batches. Dee's P000004: 95.00 due, her account 95.00 + P000002's
    175.00 = 270.00 in 0-30."""
    from test_generate_lock import Paused

    ids = _practice(db)
    _run(db, tmp_path / "r1")
    with dbmod.write(db):
        ifx.outpatient(db, ids["a"], "H2", ids["facility"])
        fx.encounter(db, ids["dee"], "2026-06-20", [("99212", 9500)], number="V3")

    def pay(n):
        if n == 1:
            r = cli("payment", "post", "2001", "120.00", "--method", "cash")
            assert r.exit_code == 0, r.stderr

    paused = Paused(monkeypatch, on_pause=pay)
    res = _run(db, tmp_path / "r2")
    assert paused.calls == 1
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000002", 257000),
        ("P000004", 9500),
    ]
    st = _statement(db, "P000004")
    assert (st["patient_paid_cents"], st["balance_due_cents"]) == (0, 9500)
    assert _aging(st) == {"0-30": 9500 + 17500}
    events = db.execute(
        "SELECT i.number, e.status FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE e.id > (SELECT MAX(e2.id) FROM invoice_events e2 JOIN invoices i2"
        " ON i2.id = e2.invoice_id WHERE i2.number = 'P000003') ORDER BY e.id"
    ).fetchall()
    assert events == [
        ("P000001", "paid"),
        ("C000002", "issued"),
        ("C000002", "sent"),
        ("P000004", "issued"),
    ]
    # P000004's 'issued' event sealed on its own, not by the batch planned for another id
    (eid,) = db.execute(
        "SELECT e.id FROM invoice_events e JOIN invoices i ON i.id = e.invoice_id"
        " WHERE i.number = 'P000004'"
    ).fetchone()
    assert not db.execute(
        "SELECT 1 FROM row_seals WHERE tbl = 'invoice_events' AND last_id IS NOT NULL"
        " AND ? BETWEEN row_id AND last_id",
        (eid,),
    ).fetchone()
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def _earlier_practice(conn, run_one_out) -> dict[str, int]:
    """The hospital's practice (Ann's H1 on 2026-06-10 for run 2's file) with Dee (MRN 2002) and
    Flo (MRN 2005), each a visit on 2026-05-0x billed on 2026-05-20 by run 1: Dee's P000001 and
    Flo's P000002, 175.00 each. Then Dee's visit V3 (2026-06-12, a 99213 at 140.00) and Flo's
    V5 (2026-06-13, 140.00) with a 500.00 payment held as her credit (2026-06-12)."""
    import datetime as dt

    with dbmod.write(conn):
        ids = ifx.hospital(conn)
        ifx.outpatient(conn, ids["a"], "H1", ids["facility"])
        ids["dee"] = dee = fx.patient(conn, "2002", "Dee", "Doe")
        fx.encounter(conn, dee, "2026-05-01", [("99203", 17500)], number="V0")
        ids["flo"] = flo = fx.patient(conn, "2005", "Flo", "Fay")
        fx.encounter(conn, flo, "2026-05-02", [("99203", 17500)], number="W0")
    res = gen.generate(
        conn, today=dt.date(2026, 5, 20), scrub=fx.no_scrub, out_dir=run_one_out, pdf=False
    )
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("P000001", 17500),
        ("P000002", 17500),
    ]
    with dbmod.write(conn):
        fx.encounter(conn, dee, "2026-06-12", [("99213", 14000)], number="V3")
        fx.copay_payment(conn, flo, 50000, "2026-06-12")
        fx.encounter(conn, flo, "2026-06-13", [("99213", 14000)], number="V5")
    return ids


def test_a_payment_on_the_patients_older_invoice_while_prepared(db, tmp_path, monkeypatch, cli):
    """Dee pays 50.00 at the desk while run 2 is prepared with her statement content planned:
    it pays her oldest open invoice, P000001 (175.00 - 50.00 = 125.00 open), so the run is
    prepared again and her new P000003 (140.00, issued 2026-06-30) shows her account as it is
    then: 140.00 in 0-30 and P000001's 125.00 in 31-60 (issued 2026-05-20, 41 days). Flo, holding
    500.00 of credit with one invoice in the run (content under the lock): the credit pays her
    oldest first, P000002's 175.00, then P000004's 140.00 (nothing due, nothing aged), and
    500.00 - 175.00 - 140.00 = 185.00 stays credit."""
    from test_generate_lock import Paused

    _earlier_practice(db, tmp_path / "r1")

    def pay(n):
        if n == 1:
            r = cli("payment", "post", "2002", "50.00", "--method", "cash")
            assert r.exit_code == 0, r.stderr

    paused = Paused(monkeypatch, on_pause=pay)
    res = _run(db, tmp_path / "r2")
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000001", 257000),
        ("P000003", 14000),
        ("P000004", 14000),
    ]
    dee = _statement(db, "P000003")
    assert (dee["patient_paid_cents"], dee["balance_due_cents"]) == (0, 14000)
    assert _aging(dee) == {"0-30": 14000, "31-60": 12500}
    flo = _statement(db, "P000004")
    assert (flo["patient_paid_cents"], flo["balance_due_cents"]) == (14000, 0)
    assert _aging(flo) == {}
    assert db.execute(
        "SELECT i.number, a.amount_cents FROM payment_allocations a JOIN invoices i"
        " ON i.id = a.invoice_id JOIN payments p ON p.id = a.payment_id"
        " WHERE p.kind = 'copay' ORDER BY a.id"
    ).fetchall() == [("P000002", 17500), ("P000004", 14000)]
    assert db.execute(
        "SELECT SUM(amount_cents) FROM unapplied_credits c JOIN patients p"
        " ON p.id = c.patient_id WHERE p.mrn = '2005'"
    ).fetchone() == (18500,)
    assert paused.calls == 2  # prepared again
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_a_minors_coverage_added_while_prepared(db, db_path, tmp_path, monkeypatch):
    """Kid (MRN 2003, born 2015) was covered by Mom's Keystone plan until 2026-05-31, so the
    visit of 2026-06-12 (a 99213 at 90.00) is billed to the patient, addressed to Mom. While the
    run is prepared Dad's Blue Valley plan is recorded from 2026-06-20 (member BVH12345678): the
    run is prepared again and the statement is addressed to Dad (the latest coverage held by
    someone else) and shows that insurance, member ****5678, on file."""
    from test_generate_lock import Paused

    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "H1", ids["facility"])
        kid = fx.patient(db, "2003", "Kid", "Minor", dob="2015-01-01")
        fx.coverage(
            db,
            kid,
            "KEY",
            member="KEY00003",
            eff_to="2026-05-31",
            relationship="child",
            sub_first="Mom",
            sub_last="Minor",
        )
        fx.encounter(db, kid, "2026-06-12", [("99213", 9000)], number="V4")

    def dad(n):
        if n == 1:
            conn = dbmod.connect(db_path)
            with dbmod.write(conn):
                fx.coverage(
                    conn,
                    kid,
                    "BVH",
                    member="BVH12345678",
                    eff_from="2026-06-20",
                    relationship="child",
                    sub_first="Dad",
                    sub_last="Minor",
                )
            conn.close()

    paused = Paused(monkeypatch, on_pause=dad)
    _run(db, tmp_path / "o")
    st = _statement(db, "P000001")
    assert st["guarantor"]["name"] == "Dad Minor (for Kid Minor)"
    assert st["insurance"] == [{"payer": "Blue Valley HMO", "member": "****5678"}]
    assert (st["total_cents"], st["balance_due_cents"]) == (9000, 9000)
    assert paused.calls == 2  # prepared again
    assert integrity.run_checks(db) == []


def test_a_payer_scoped_run_then_the_full_run(db, tmp_path):
    """`--payer MCR` bills Ann's claim only (no patient invoice, no patient number taken); the
    full run after it numbers the patient invoices from P000001, as the rules say."""
    _practice(db)
    res = _run(db, tmp_path / "o1", payer="MCR")
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("C000001", 257000)]
    assert db.execute("SELECT next_number FROM series WHERE kind = 'patient'").fetchone() == (1,)
    res = _run(db, tmp_path / "o2")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == ISSUED[1:]
    _assert_billed_once(db)


def test_a_credit_paid_invoice_voided_with_rebill_is_billed_again(db, tmp_path, cli):
    """Cy's P000001 (140.00, 20.00 paid by his co-pay) is voided with --rebill: the credit note
    takes the whole 140.00 off (no write-off took anything off before), the 20.00 he paid on it
    is taken off it and held as his credit (P000001's balance 0.00), and V1 is unbilled. The
    next run bills V1 again as P000004 (the next patient number) and applies the 20.00 held to
    it: 20.00 paid, 120.00 due, as on the invoice voided. Eve's voided P000003 (the facility
    claim H3) is billed again as P000005, 2,570.00 due."""
    _practice(db)
    _run(db, tmp_path / "o1")
    for number in ("P000001", "P000003"):
        r = cli("invoice", "void", number, "--reason", "wrong visit", "--rebill")
        assert r.exit_code == 0, r.stdout + r.stderr
    res = _run(db, tmp_path / "o2")
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("P000004", 14000),
        ("P000005", 257000),
    ]
    st = _statement(db, "P000004")
    assert (st["patient_paid_cents"], st["balance_due_cents"]) == (2000, 12000)
    assert _aging(st) == {"0-30": 12000}
    assert _statement(db, "P000005")["balance_due_cents"] == 257000
    # the co-pay: held, applied to P000001, held again by the void, applied to P000004
    assert db.execute(
        "SELECT amount_cents, reason FROM unapplied_credits ORDER BY id"
    ).fetchall() == [(2000, "copay"), (-2000, "applied"), (2000, "overpayment"), (-2000, "applied")]
    assert db.execute(
        "SELECT i.number, a.amount_cents FROM payment_allocations a"
        " JOIN invoices i ON i.id = a.invoice_id ORDER BY a.id"
    ).fetchall() == [("P000001", 2000), ("P000001", -2000), ("P000004", 2000)]
    assert db.execute(
        "SELECT b.total_cents + b.credited_cents - b.paid_cents - b.adjusted_cents"
        " FROM invoice_balances b WHERE b.number = 'P000001'"
    ).fetchone() == (0,)
    # H3 billed again: its link to the voided P000003 stays, as history
    assert db.execute(
        "SELECT i.number, c.status FROM inst_claim_invoices l JOIN invoices i"
        " ON i.id = l.invoice_id JOIN inst_claims c ON c.id = l.claim_id ORDER BY i.number"
    ).fetchall() == [("C000001", "billed"), ("P000003", "billed"), ("P000005", "billed")]
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert _run(db, tmp_path / "o3").issued == []


def _transfer_practice(conn, run_one_out) -> dict[str, int]:
    """Tom (MRN 1004, Keystone): his visit of 2026-06-01 (a 99214 at 200.00) is claim C000001,
    billed by run 1; Keystone's answer moves a 30.00 deductible (PR-1) and 10.00 coinsurance
    (PR-2) on its line to him. Ann's H1 (C000002, an 837I) gives run 2 a file to pause at."""
    with dbmod.write(conn):
        ids = ifx.hospital(conn)
        ids["tom"] = tom = fx.patient(conn, "1004", "Tom", "Tate")
        fx.coverage(conn, tom, "KEY", member="KEY00004")
        fx.encounter(conn, tom, "2026-06-01", [("99214", 20000)], number="A4")
    assert [r["number"] for r in _run(conn, run_one_out).issued] == ["C000001"]
    with dbmod.write(conn):
        ifx.outpatient(conn, ids["a"], "H1", ids["facility"])
        (ids["claim"], ids["line"]) = conn.execute(
            "SELECT i.id, l.id FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
            " WHERE i.number = 'C000001'"
        ).fetchone()
        for reason, cents in (("1", 3000), ("2", 1000)):
            conn.execute(
                "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code, reason_code,"
                " amount_cents, source, created_on, created_at)"
                " VALUES (?, ?, 'PR', ?, ?, 'transfer', '2026-06-20', ?)",
                (ids["claim"], ids["line"], reason, cents, fx.NOW),
            )
    return ids


def test_insurance_paid_on_the_transfers_claim_while_prepared(db, db_path, tmp_path, monkeypatch):
    """Keystone's 120.00 payment and 50.00 contractual write-off (CO-45) on C000001's line are
    posted while run 2 is prepared, Tom's statement content planned (what insurance paid: none
    then): the run is prepared again and the statement shows the line's 200.00 charge once,
    120.00 paid by insurance, 50.00 adjusted, and 30.00 + 10.00 = 40.00 due from Tom."""
    from test_generate_lock import Paused

    ids = _transfer_practice(db, tmp_path / "r1")

    def remit(n):
        if n == 1:
            conn = dbmod.connect(db_path)
            with dbmod.write(conn):
                pay = conn.execute(
                    "INSERT INTO payments (kind, payer_id, amount_cents, method, received_on,"
                    " created_at) VALUES ('insurance', ?, 12000, 'eft', '2026-06-20', ?)",
                    (fx.payer_id(conn, "KEY"), fx.NOW),
                ).lastrowid
                conn.execute(
                    "INSERT INTO payment_allocations (payment_id, invoice_id, invoice_line_id,"
                    " amount_cents) VALUES (?, ?, ?, 12000)",
                    (pay, ids["claim"], ids["line"]),
                )
                conn.execute(
                    "INSERT INTO adjustments (invoice_id, invoice_line_id, group_code,"
                    " reason_code, amount_cents, source, created_on, created_at)"
                    " VALUES (?, ?, 'CO', '45', 5000, 'remit', '2026-06-20', ?)",
                    (ids["claim"], ids["line"], fx.NOW),
                )
            conn.close()

    paused = Paused(monkeypatch, on_pause=remit)
    res = _run(db, tmp_path / "r2")
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000002", 257000),
        ("P000001", 4000),
    ]
    st = _statement(db, "P000001")
    assert [(ln["claim"], ln["amount_cents"]) for ln in st["lines"]] == [
        ("C000001", 3000),
        ("C000001", 1000),
    ]
    assert (
        st["charges_cents"],
        st["insurance_paid_cents"],
        st["adjusted_cents"],
        st["balance_due_cents"],
    ) == (20000, 12000, 5000, 4000)
    assert paused.calls == 2  # prepared again
    assert integrity.run_checks(db) == []


def test_a_transfer_held_back_from_the_patient_while_prepared(db, db_path, tmp_path, monkeypatch):
    """While run 2 is prepared, the 10.00 coinsurance is held back from Tom (a cob_routes row:
    a patient-protection rule, no next payer): the run is prepared again and Tom's P000001
    bills the 30.00 deductible only; the coinsurance is never billed to him."""
    from test_generate_lock import Paused

    ids = _transfer_practice(db, tmp_path / "r1")

    def hold(n):
        if n == 1:
            conn = dbmod.connect(db_path)
            with dbmod.write(conn):
                conn.execute(
                    "INSERT INTO cob_routes (adjustment_id, prior_invoice_id, rule, routed_at)"
                    " SELECT id, invoice_id, 'protected', ? FROM adjustments"
                    " WHERE source = 'transfer' AND reason_code = '2'",
                    (fx.NOW,),
                )
            conn.close()

    paused = Paused(monkeypatch, on_pause=hold)
    res = _run(db, tmp_path / "r2")
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000002", 257000),
        ("P000001", 3000),
    ]
    st = _statement(db, "P000001")
    assert [(ln["description"], ln["amount_cents"]) for ln in st["lines"]] == [
        ("Deductible, claim C000001", 3000)
    ]
    assert st["balance_due_cents"] == 3000
    assert paused.calls == 2  # prepared again
    assert integrity.run_checks(db) == []
    assert _run(db, tmp_path / "r3").issued == []
    assert ids["tom"]


def test_ctrl_c_after_the_commit_the_next_run_renders_the_statements(db, tmp_path, monkeypatch):
    """Ctrl-C while the plan is dropped after the run's COMMIT (the PDFs not rendered yet): the
    run is committed, its statements stored from the plan; the next run into the same folder
    issues nothing and renders the three PDFs the run named (each has a balance due)."""
    _practice(db)
    out = tmp_path / "o"
    real = gen.drop_planned
    raised: list[bool] = []

    def interrupted(conn, name):
        if conn.execute("SELECT COUNT(*) FROM billing_runs").fetchone()[0] and not raised:
            raised.append(True)
            raise KeyboardInterrupt
        real(conn, name)

    monkeypatch.setattr(gen, "drop_planned", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=True)
    monkeypatch.setattr(gen, "drop_planned", real)
    assert db.execute("SELECT number, total_cents FROM invoices ORDER BY number").fetchall() == (
        ISSUED
    )
    assert not list(out.glob("P*.pdf"))
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=True)
    assert res.issued == []
    assert sorted(p.name for p in out.glob("P*.pdf")) == [
        "P000001.pdf",
        "P000002.pdf",
        "P000003.pdf",
    ]
    _assert_billed_once(db)  # the 837I put in place by the next run too: check is clean


def test_two_facility_claims_of_one_patient_each_statement_ages_the_other(db, tmp_path, cli):
    """Eve has a second endoscopy, H4 (2026-06-12, 2,570.00), without coverage too: two patient
    invoices for her in one run (P000003, P000004), so their statements are computed under the
    lock, each after both are issued: each one's aging holds its own 2,570.00 and the other's,
    5,140.00 in 0-30 (both issued 2026-06-30)."""
    ids = _practice(db)
    with dbmod.write(db):
        ifx.outpatient(
            db,
            ids["eve"],
            "H4",
            ids["facility"],
            statement_from="2026-06-12",
            statement_through="2026-06-12",
        )
    res = _run(db, tmp_path / "o")
    assert sorted((r["number"], r["total_cents"]) for r in res.issued) == ISSUED + [
        ("P000004", 257000)
    ]
    for number in ("P000003", "P000004"):
        st = _statement(db, number)
        assert st["balance_due_cents"] == 257000, number
        assert _aging(st) == {"0-30": 257000 + 257000}, number
    # the others as ever: Cy's 120.00 after his credit, Dee's 175.00
    assert _aging(_statement(db, "P000001")) == {"0-30": 12000}
    assert _aging(_statement(db, "P000002")) == {"0-30": 17500}
    assert integrity.run_checks(db) == []
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr

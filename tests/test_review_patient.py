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

"""A patient share the payer takes back after a patient invoice billed it (billing/cob.py
`_credit_reversed_shares`, billing/lifecycle.py `credit_reversed_share`).

Claim C000001 (patient MRN T0001, Keystone): a 99213 at 140.00. Keystone's first 835 pays 90.00
with CO-45 30.00 and PR-2 20.00 (coinsurance); the run of 2026-06-30 bills the 20.00 on patient
invoice P000001. Every expected number is worked by hand.
"""

from __future__ import annotations

import json

import invoice_fixtures as fx
from test_remit_support import Remit, issue_claim

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.accounts import payments
from billadmin.billing import generate as gen


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _run(db, out) -> list[tuple[str, int]]:
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    return [(r["number"], r["total_cents"]) for r in res.issued]


def _balance(conn, number: str) -> tuple[int, int, int, int, int]:
    return conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _billed_and_paid(db, cli, tmp_path) -> int:
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    paid = Remit().claim(
        "C000001", "1", "140", "90", "20", pcn="KP-1",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )  # fmt: skip
    _ok(cli("remit", "import", paid.write(tmp_path / "a.835")))
    assert _run(db, tmp_path / "o1") == [("P000001", 2000)]
    _ok(cli("payment", "post", "T0001", "20.00", "--method", "cash"))
    return db.execute("SELECT patient_id FROM invoices WHERE number = 'P000001'").fetchone()[0]


def _again() -> Remit:
    """Keystone's reversal of its first answer and its new answer, in one 835."""
    return (
        Remit(trace="EFT2002")
        .claim(
            "C000001", "22", "-140", "-90", "-20", pcn="KP-1",
            lines=[("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")])],
        )
        .claim(
            "C000001", "1", "140", "100", "10", pcn="KP-2",
            lines=[("HC:99213", "140", "100", [("CO", "45", "30"), ("PR", "2", "10")])],
        )
    )  # fmt: skip


def test_a_smaller_share_after_the_reversal_is_billed_and_the_credit_applied(db, cli, tmp_path):
    """Keystone reverses its answer (CLP02 22: -140.00, -90.00 paid, CO-45 -30.00, PR-2 -20.00)
    and answers again in the same 835 with 100.00 paid, CO-45 30.00 and PR-2 10.00. The -20.00
    taken back credits P000001 (credit note CN000001, -20.00): P000001 is 20.00 - 20.00 - 20.00
    paid = -20.00, and that 20.00 is held as the patient's credit (P000001 at 0.00). The new
    10.00 share is billed by the next run on P000002, which the credit pays: P000002 0.00 due,
    10.00 of credit left to refund."""
    patient = _billed_and_paid(db, cli, tmp_path)
    _ok(cli("remit", "import", _again().write(tmp_path / "b.835")))
    assert _balance(db, "P000001") == (2000, -2000, 0, 0, 0)
    (cn,) = db.execute(
        "SELECT c.number, c.total_cents FROM invoices c JOIN invoices o"
        " ON o.id = c.original_invoice_id WHERE o.number = 'P000001'"
    ).fetchall()
    assert cn == ("CN000001", -2000)
    assert payments.credit_balance(db, patient) == 2000
    assert _run(db, tmp_path / "o2") == [("P000002", 1000)]
    assert _balance(db, "P000002") == (1000, 0, 1000, 0, 0)
    assert payments.credit_balance(db, patient) == 1000
    r = cli("account", "show", "T0001", "-f", "json")
    _ok(r)
    summary = json.loads(r.stdout)["summary"]
    assert (summary["patient_owes"], summary["credit"]) == ("-10.00", "10.00")
    assert integrity.run_checks(db) == []
    _ok(cli("check"))


def test_a_share_taken_back_before_it_was_billed_nets_on_the_next_invoice(db, cli, tmp_path):
    """The same reversal and new answer posted before any run (a second 835): the +20.00,
    -20.00 and +10.00 transfers are all pending (no patient invoice billed the 20.00), so
    nothing is credited and the run bills the 10.00 they come to on P000001."""
    with dbmod.write(db):
        fx.practice(db)
    issue_claim(db, "C000001", [("99213", "", "140.00")])
    paid = Remit().claim(
        "C000001", "1", "140", "90", "20", pcn="KP-1",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )  # fmt: skip
    _ok(cli("remit", "import", paid.write(tmp_path / "a.835")))
    _ok(cli("remit", "import", _again().write(tmp_path / "b.835")))
    assert db.execute("SELECT COUNT(*) FROM invoices WHERE kind = 'credit'").fetchone() == (0,)
    assert _run(db, tmp_path / "o1") == [("P000001", 1000)]
    assert integrity.run_checks(db) == []


def test_a_credited_invoice_voided_with_rebill_bills_nothing_the_payer_took_back(db, cli, tmp_path):
    """After the reversal credited P000001 (20.00 - 20.00) and held the 20.00 paid, the clerk
    voids P000001 with --rebill: its credit note takes off 0.00 (nothing is left), the +20.00
    share it billed and the -20.00 taken back are both due again and net to 0.00, so the next
    run bills only the new 10.00 share (P000002), paid by the credit held: 0.00 due, 10.00 of
    credit left."""
    patient = _billed_and_paid(db, cli, tmp_path)
    _ok(cli("remit", "import", _again().write(tmp_path / "b.835")))
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong guarantor", "--rebill"))
    assert _balance(db, "P000001") == (2000, -2000, 0, 0, 0)
    assert _run(db, tmp_path / "o2") == [("P000002", 1000)]
    assert _balance(db, "P000002") == (1000, 0, 1000, 0, 0)
    assert payments.credit_balance(db, patient) == 1000
    assert integrity.run_checks(db) == []

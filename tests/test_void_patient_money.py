"""Voiding a patient invoice that holds money: the credit note never takes off what a write-off
already took off, and what the patient paid on it becomes their held credit (billing/lifecycle.py
"Void", accounts/payments.py `hold_paid_as_credit`).

Every expected number is worked by hand from the rules. The practice: Cy (MRN 2001, self-pay)
paid a 20.00 co-pay at check-in on 2026-06-10 and had a 99213 at 140.00 (visit V1). The run of
2026-06-30 issues P000001: 140.00 with the co-pay applied, 120.00 due.
"""

from __future__ import annotations

import json

import invoice_fixtures as fx

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.accounts import payments
from billadmin.billing import generate as gen


def _cy(conn) -> int:
    with dbmod.write(conn):
        fx.practice(conn)
        cy = fx.patient(conn, "2001", "Cy", "Cole")
        fx.copay_payment(conn, cy, 2000, "2026-06-10")
        fx.encounter(conn, cy, "2026-06-10", [("99213", 14000)], number="V1")
    return cy


def _run(conn, out) -> list[tuple[str, int]]:
    res = gen.generate(conn, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out, pdf=False)
    return [(r["number"], r["total_cents"]) for r in res.issued]


def _balance(conn, number: str) -> tuple[int, int, int, int, int]:
    """(total, credited, paid, adjusted, balance) of one invoice."""
    return conn.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _credit_note(conn, original: str) -> tuple[str, int, list[int]]:
    number, total, cid = conn.execute(
        "SELECT c.number, c.total_cents, c.id FROM invoices c JOIN invoices o"
        " ON o.id = c.original_invoice_id WHERE o.number = ? AND c.kind = 'credit'",
        (original,),
    ).fetchone()
    lines = [
        r[0]
        for r in conn.execute(
            "SELECT amount_cents FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no", (cid,)
        )
    ]
    return number, total, lines


def test_a_write_off_then_a_void_reduces_the_balance_once(db, tmp_path, cli):
    """A courtesy write-off of 30.00 leaves 90.00 due (140.00 - 20.00 - 30.00). The void's credit
    note takes off 110.00 (140.00 less the 30.00 written off), not 140.00; the 20.00 paid is held
    as credit: P000001 is 140.00 - 110.00 - 0.00 - 30.00 = 0.00. Before this rule the note took
    140.00 and left -50.00, of which 30.00 was never paid and could be refunded (check:
    LEDGER-DOUBLE-REDUCTION)."""
    cy = _cy(db)
    assert _run(db, tmp_path / "o1") == [("P000001", 14000)]
    _ok(cli("invoice", "writeoff", "P000001", "30.00", "--reason", "courtesy"))
    assert _balance(db, "P000001") == (14000, 0, 2000, 3000, 9000)
    r = cli("invoice", "void", "P000001", "--reason", "wrong patient", "-f", "json")
    _ok(r)
    assert json.loads(r.stdout)["credit"] == "-110.00"
    assert json.loads(r.stdout)["held_as_credit"] == "20.00"
    assert _credit_note(db, "P000001") == ("CN000001", -11000, [-11000])
    assert _balance(db, "P000001") == (14000, -11000, 0, 3000, 0)
    # refundable: the 20.00 he paid, held; no invoice overpaid
    assert payments.refundable(db, cy) == (2000, [])
    # the credit note's content says what it took off
    (data,) = db.execute(
        "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = 'CN000001'"
    ).fetchone()
    assert '"total_cents":-11000' in data.replace(" ", "")
    assert integrity.run_checks(db) == []
    _ok(cli("check"))
    r = cli("payment", "refund", "2001", "30.00", "--method", "check")
    assert r.exit_code == 2 and "more than the refundable credit 20.00" in r.stderr
    _ok(cli("payment", "refund", "2001", "20.00", "--method", "check"))
    assert payments.credit_balance(db, cy) == 0


def test_two_payments_on_a_voided_invoice_are_held_newest_first(db, tmp_path, cli):
    """Cy pays 50.00 more on P000001 (70.00 due after). The void (no rebill) credits 140.00 and
    holds the 70.00 paid: 50.00 from the newest payment, 20.00 from the co-pay, each payment
    still equal to what it paid plus what it holds. `payment apply-credit` finds nothing open."""
    cy = _cy(db)
    _run(db, tmp_path / "o1")
    _ok(cli("payment", "post", "2001", "50.00", "--method", "cash", "--date", "2026-07-01"))
    assert _balance(db, "P000001") == (14000, 0, 7000, 0, 7000)
    _ok(cli("invoice", "void", "P000001", "--reason", "duplicate visit"))
    assert _balance(db, "P000001") == (14000, -14000, 0, 0, 0)
    assert db.execute(
        "SELECT p.kind, c.amount_cents, c.reason FROM unapplied_credits c"
        " JOIN payments p ON p.id = c.payment_id ORDER BY c.id"
    ).fetchall() == [
        ("copay", 2000, "copay"),
        ("copay", -2000, "applied"),
        ("patient", 5000, "overpayment"),
        ("copay", 2000, "overpayment"),
    ]
    assert payments.credit_balance(db, cy) == 7000
    assert payments.ledger_findings(db) == []
    r = cli("payment", "apply-credit", "2001", "-f", "json")
    _ok(r)
    assert r.stdout.strip() == "[]"
    # a voided invoice still takes no payment
    r = cli("payment", "post", "2001", "5.00", "--method", "cash", "--invoice", "P000001")
    assert r.exit_code == 2
    assert integrity.run_checks(db) == []


def test_the_rebill_carries_what_was_paid_and_not_what_was_written_off(db, tmp_path, cli):
    """Write-off 30.00, then void --rebill: the next run bills V1 again as P000002 at 140.00 (the
    write-off belonged to the invoice voided: the clerk writes off again if it still applies)
    and applies the 20.00 held: 120.00 due. The patient's account adds up: owed 120.00, no
    credit left."""
    cy = _cy(db)
    _run(db, tmp_path / "o1")
    _ok(cli("invoice", "writeoff", "P000001", "30.00", "--reason", "courtesy"))
    _ok(cli("invoice", "void", "P000001", "--reason", "wrong code", "--rebill"))
    assert _run(db, tmp_path / "o2") == [("P000002", 14000)]
    assert _balance(db, "P000002") == (14000, 0, 2000, 0, 12000)
    assert _balance(db, "P000001") == (14000, -11000, 0, 3000, 0)
    assert payments.credit_balance(db, cy) == 0
    assert [
        (i["number"], i["balance_cents"], i["voided"]) for i in payments.patient_invoices(db, cy)
    ] == [("P000001", 0, True), ("P000002", 12000, False)]
    assert integrity.run_checks(db) == []
    _ok(cli("check"))


def test_a_refunded_overpayment_is_not_held_twice(db, tmp_path, cli):
    """Cy pays 130.00 on P000001 with 120.00 due, kept as 10.00 credit (--credit), then asks for
    the 10.00 back. The void holds what is paid on the invoice, 140.00 (20.00 co-pay + 120.00),
    never the 10.00 refunded: his credit is 140.00, what he paid in all (150.00) less the refund."""
    cy = _cy(db)
    _run(db, tmp_path / "o1")
    _ok(cli("payment", "post", "2001", "130.00", "--method", "card", "--credit"))
    _ok(cli("payment", "refund", "2001", "10.00", "--method", "card"))
    assert payments.credit_balance(db, cy) == 0
    _ok(cli("invoice", "void", "P000001", "--reason", "billed in error"))
    assert _balance(db, "P000001") == (14000, -14000, 0, 0, 0)
    assert payments.credit_balance(db, cy) == 14000
    assert payments.ledger_findings(db) == []
    assert integrity.run_checks(db) == []


def test_the_void_is_a_line_of_the_statements_activity(db, tmp_path):
    """P000001 (140.00) is voided on 2026-07-15: its credit note takes the 140.00 off. The
    statement's activity since 2026-06-30 says why the balance fell: one line "Credit CN... on
    P000001" of -140.00 (before, none: the balance just dropped)."""
    import datetime as dt

    from billadmin.billing import lifecycle
    from billadmin.statements import account

    cy = _cy(db)
    assert _run(db, tmp_path / "r1") == [("P000001", 14000)]
    lifecycle.void(db, "P000001", reason="billed in error", today=dt.date(2026, 7, 15))
    cn, total, _ = _credit_note(db, "P000001")
    rows = account.activity(db, cy, "2026-06-30", dt.date(2026, 7, 31))
    assert [(r["date"], r["what"], r["amount_cents"]) for r in rows] == [
        ("2026-07-15", f"Credit {cn} on P000001", -14000)
    ]
    assert total == -14000


def test_a_void_with_rebill_keeps_the_patients_plan(db, tmp_path, cli):
    """Cy owes 120.00 on P000001 and sets up a plan for it (40.00 a month). The clerk voids
    P000001 --rebill (a wrong code): the 20.00 co-pay is held as her credit and the visit goes
    back to unbilled; the next run bills it again as P000002 (140.00, the 20.00 applied: 120.00
    due). The plan goes on: it covers the visit a later invoice bills again, 120.00 left.
    Before, the void completed the plan ("nothing left owed") and P000002 was owed outside it."""
    import datetime as dt

    from billadmin.billing import lifecycle

    _cy(db)
    assert _run(db, tmp_path / "r1") == [("P000001", 14000)]
    plan = ["plan", "create", "2001", "--monthly", "40.00", "--day", "1", "--start", "2026-08-01"]
    _ok(cli(*plan, "--date", "2026-07-01"))
    lifecycle.void(db, "P000001", reason="wrong code", rebill=True, today=dt.date(2026, 7, 2))
    assert _run(db, tmp_path / "r2") == [("P000002", 14000)]
    assert _balance(db, "P000002")[4] == 12000
    [row] = json.loads(cli("plan", "list", "--date", "2026-07-03", "-f", "json").stdout)
    assert (row["status"], row["left"]) == ("current", "120.00"), row

"""Check-in co-pays, patient payments (oldest first, refusals), refunds and credit."""

import json

import ledger_fixtures as lf
import pytest

from billadmin import audit
from billadmin import db as dbmod
from billadmin.accounts import payments


@pytest.fixture
def acct(db):
    """One patient (MRN 0000101) covered by KEY (copay 25.00, ends 2026-12-10), with two patient
    invoices: P1 60.00 issued 2026-09-01, P2 40.00 issued 2026-10-01, and a claim C1 200.00."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000101")
        lf.coverage(db, pid, "KEY", "2025-01-01", "2026-12-10", copay=2500)
        p1 = lf.patient_invoice(db, pid, "2026-09-01", [("2026-08-20", "99213", 6000)])
        p2 = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-25", "99212", 4000)])
        eid, _ = lf.encounter(db, pid, "2026-10-05", [("99214", 20000)])
        c1 = lf.claim(db, eid, "KEY", "2026-10-06")
        other = lf.patient(db, "0000202")
        lf.patient_invoice(db, other, "2026-09-01", [("2026-08-20", "99213", 5000)])
    num = lambda i: db.execute("SELECT number FROM invoices WHERE id = ?", (i,)).fetchone()[0]  # noqa: E731
    return {"pid": pid, "p1": num(p1), "p2": num(p2), "c1": num(c1), "p1_id": p1, "p2_id": p2}


def _bal(db, number):
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _credit(db, pid):
    return payments.credit_balance(db, pid)


def test_checkin_shows_coverage_and_warns_expiring(cli, acct, db):
    r = cli("checkin", "0000101", "--date", "2026-11-20", "-f", "json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert (
        out["payer"] == "KEY"
        and out["copay_due"] == "25.00"
        and out["coverage_status"] == "expiring"
    )
    assert out["patient_balance"] == "100.00" and out["receipt"] is None
    assert (out["credit"], out["patient_owes"]) == ("0.00", "100.00")
    assert "expires in 20 days" in r.stderr
    # audited as a PHI read, no name in the audit detail
    last = db.execute(
        "SELECT action, entity, entity_ids, detail FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert last[0] == "checkin" and last[2] == str(acct["pid"]) and "Sample" not in last[3]


def test_checkin_lapsed_and_no_coverage(cli, acct):
    r = cli("checkin", "0000101", "--date", "2026-12-11", "-f", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["coverage_status"] == "lapsed" and "lapsed" in r.stderr
    assert json.loads(r.stdout)["copay_due"] == "0.00"
    r = cli("checkin", "0000202", "-f", "json")
    assert json.loads(r.stdout)["coverage_status"] == "none" and "self-pay" in r.stderr


def test_checkin_collects_copay_with_receipt_held_as_credit(cli, acct, db):
    r = cli(
        "checkin",
        "0000101",
        "--date",
        "2026-11-20",
        "--collect",
        "25.00",
        "--method",
        "card",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["receipt"] == "R0000001" and out["collected"] == "25.00" and out["credit"] == "25.00"
    # 100.00 open on her patient invoice less the 25.00 co-pay she holds as credit
    assert (out["patient_balance"], out["patient_owes"]) == ("100.00", "75.00")
    pay = db.execute("SELECT kind, amount_cents, method, received_on FROM payments").fetchall()
    assert pay == [("copay", 2500, "card", "2026-11-20")]
    assert _credit(db, acct["pid"]) == 2500
    assert payments.ledger_findings(db) == []
    # a second co-pay for the same visit date is refused, nothing written
    r = cli("checkin", "0000101", "--date", "2026-11-20", "--collect", "25.00", "--method", "cash")
    assert r.exit_code == 2 and "already taken" in r.stderr and "R0000001" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 1
    # next visit gets the next receipt number
    r = cli(
        "checkin",
        "0000101",
        "--date",
        "2026-11-27",
        "--collect",
        "25",
        "--method",
        "cash",
        "-f",
        "json",
    )
    assert json.loads(r.stdout)["receipt"] == "R0000002"


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--collect", "0", "--method", "cash"], "more than 0.00"),
        (["--collect", "-5.00", "--method", "cash"], "more than 0.00"),
        (["--collect", "12.345", "--method", "cash"], "--collect: more than two decimal places"),
        (["--collect", "10.00"], "--method is required"),
        (["--collect", "10.00", "--method", "bitcoin"], "--method must be one of"),
        (["--method", "cash"], "without --collect"),
    ],
)
def test_checkin_refusals(cli, acct, db, args, msg):
    r = cli("checkin", "0000101", *args)
    assert r.exit_code == 2 and msg in r.stderr, r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 0


def test_checkin_unknown_mrn_does_not_echo_it(cli, acct):
    r = cli("checkin", "9999999")
    assert r.exit_code == 2 and "no patient with that MRN" in r.stderr and "9999999" not in r.stderr


def test_payment_oldest_first_and_events(cli, acct, db):
    r = cli(
        "payment",
        "post",
        "0000101",
        "75.00",
        "--method",
        "cash",
        "--date",
        "2026-11-02",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert [(o["invoice"], o["applied"], o["balance_after"]) for o in out] == [
        (acct["p1"], "60.00", "0.00"),
        (acct["p2"], "15.00", "25.00"),
    ]
    assert (
        _bal(db, acct["p1"]) == 0 and _bal(db, acct["p2"]) == 2500 and _bal(db, acct["c1"]) == 20000
    )
    st = dict(
        db.execute(
            "SELECT i.number, s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        )
    )
    assert (
        st[acct["p1"]] == "paid"
        and st[acct["p2"]] == "partially_paid"
        and st[acct["c1"]] == "issued"
    )
    assert "receipt R0000001" in r.stderr
    assert payments.ledger_findings(db) == []


def test_payment_to_named_invoice(cli, acct, db):
    r = cli(
        "payment",
        "post",
        "0000101",
        "40.00",
        "--method",
        "check",
        "--invoice",
        acct["p2"],
        "--reference",
        "1043",
    )
    assert r.exit_code == 0, r.stderr
    assert _bal(db, acct["p1"]) == 6000 and _bal(db, acct["p2"]) == 0


@pytest.mark.parametrize(
    "amount,msg",
    [
        ("0", "more than 0.00"),
        ("-10.00", "more than 0.00"),
        ("abc", "AMOUNT: not an amount"),
        ("100.01", "over the open patient balance 100.00 (0.01 too much)"),
    ],
)
def test_payment_refusals_write_nothing(cli, acct, db, amount, msg):
    r = cli("payment", "post", "--method", "cash", "--", "0000101", amount)
    assert r.exit_code == 2 and msg in r.stderr, r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM receipts").fetchone()[0] == 0


def test_payment_over_invoice_balance_refused_unless_credit(cli, acct, db):
    r = cli("payment", "post", "0000101", "50.00", "--method", "cash", "--invoice", acct["p2"])
    assert (
        r.exit_code == 2
        and f"over invoice {acct['p2']}'s balance 40.00 (10.00 too much)" in r.stderr
    )
    r = cli(
        "payment",
        "post",
        "0000101",
        "50.00",
        "--method",
        "cash",
        "--invoice",
        acct["p2"],
        "--credit",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out[-1] == {
        "receipt": "R0000001",
        "invoice": "(credit)",
        "applied": "10.00",
        "balance_after": None,
    }
    assert _bal(db, acct["p2"]) == 0 and _credit(db, acct["pid"]) == 1000
    assert payments.ledger_findings(db) == []


def test_payment_refused_on_voided_claim_and_other_patient(cli, acct, db):
    with dbmod.write(db):
        lf.credit_note(db, acct["p1_id"], "2026-10-15")
    r = cli("payment", "post", "0000101", "10.00", "--method", "cash", "--invoice", acct["p1"])
    assert r.exit_code == 2 and "is voided" in r.stderr
    r = cli("payment", "post", "0000101", "10.00", "--method", "cash", "--invoice", acct["c1"])
    assert r.exit_code == 2 and "insurance claim" in r.stderr
    r = cli("payment", "post", "0000202", "10.00", "--method", "cash", "--invoice", acct["p2"])
    assert r.exit_code == 2 and "not on this patient's account" in r.stderr
    # oldest-first skips the voided invoice: only P2's 40.00 is open
    r = cli("payment", "post", "0000101", "45.00", "--method", "cash")
    assert r.exit_code == 2 and "balance 40.00" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 0


def test_credit_then_refund_and_apply(cli, acct, db):
    r = cli("payment", "post", "0000101", "130.00", "--method", "cash", "--credit")
    assert r.exit_code == 0, r.stderr
    assert _credit(db, acct["pid"]) == 3000
    r = cli("payment", "refund", "0000101", "30.01", "--method", "check")
    assert r.exit_code == 2 and "more than the refundable credit 30.00" in r.stderr
    r = cli("payment", "refund", "0000101", "0", "--method", "check")
    assert r.exit_code == 2
    r = cli(
        "payment",
        "refund",
        "0000101",
        "10.00",
        "--method",
        "check",
        "--reference",
        "5501",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    assert _credit(db, acct["pid"]) == 2000
    assert (
        db.execute("SELECT amount_cents FROM payments WHERE kind = 'refund'").fetchone()[0] == -1000
    )
    # a new patient invoice: the remaining credit pays it
    with dbmod.write(db):
        lf.patient_invoice(db, acct["pid"], "2026-11-15", [("2026-11-10", "99212", 3500)])
    r = cli("payment", "apply-credit", "0000101", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert [x["amount"] for x in json.loads(r.stdout)] == ["20.00"]
    assert _credit(db, acct["pid"]) == 0
    assert (
        db.execute(
            "SELECT SUM(total_cents + credited_cents - paid_cents - adjusted_cents) FROM invoice_balances"
            " WHERE patient_id = ? AND kind = 'patient'",
            (acct["pid"],),
        ).fetchone()[0]
        == 1500
    )
    assert payments.ledger_findings(db) == []
    assert audit.verify(db) == []


def test_refund_overpaid_invoice(cli, acct, db):
    # the patient paid P1 in full, then a write-off... simulate an overpayment with a credit adjustment
    cli("payment", "post", "0000101", "60.00", "--method", "cash", "--invoice", acct["p1"])
    with dbmod.write(db):
        lf.adjust(db, acct["p1_id"], "2026-11-01", 1500, "CO", "45")
    assert _bal(db, acct["p1"]) == -1500
    r = cli("payment", "refund", "0000101", "15.00", "--method", "check", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)[0]["invoice"] == acct["p1"]
    assert _bal(db, acct["p1"]) == 0
    assert payments.ledger_findings(db) == []


def test_payment_list_and_ledger_finding_detects_tampering(cli, acct, db):
    cli("checkin", "0000101", "--date", "2026-11-20", "--collect", "25.00", "--method", "card")
    cli("payment", "post", "0000101", "60.00", "--method", "cash", "--date", "2026-11-21")
    r = cli("payment", "list", "0000101", "-f", "json")
    rows = json.loads(r.stdout)
    assert [(x["kind"], x["amount"], x["applied"], x["credit"], x["receipt"]) for x in rows] == [
        ("patient", "60.00", "60.00", "0.00", "R0000002"),
        ("copay", "25.00", "0.00", "25.00", "R0000001"),
    ]
    r = cli("payment", "list", "--kind", "copay", "-f", "csv")
    assert r.stdout.count("\n") == 2
    # payments are append-only: an attacker drops the trigger first
    db.execute("DROP TRIGGER payments_append_only_update")
    db.execute("UPDATE payments SET amount_cents = 6001 WHERE kind = 'patient'")
    f = payments.ledger_findings(db)
    assert len(f) == 1 and f[0].rule == "PAYMENT-ALLOCATED" and "0.01 unaccounted" in f[0].message

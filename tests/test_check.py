"""`billadmin check` finds what was changed behind billadmin's back."""

import json

from billadmin import audit, ledger
from billadmin import db as dbmod


def _issue(db, number, kind="claim", amounts=(10000, 2500)):
    """A minimal issued invoice, hashed the way issuing does (ledger.content_hash)."""
    if not db.execute("SELECT 1 FROM patients").fetchone():
        db.execute(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, created_at, updated_at)"
            " VALUES ('0001', 'Test', 'Patient', '1950-01-01', 'F', 'now', 'now')"
        )
    inv = {
        "number": number,
        "kind": kind,
        "patient_id": 1,
        "payer_id": None,
        "coverage_id": None,
        "encounter_id": None,
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": "2026-11-01",
        "due_on": None,
        "filing_deadline": None,
        "total_cents": sum(amounts),
        "copay_cents": 0,
    }
    lines = [
        {
            "line_no": i + 1,
            "charge_line_id": None,
            "date_of_service": "2026-10-30",
            "code": "99213",
            "modifiers": "",
            "units": 1,
            "description": None,
            "amount_cents": a,
        }
        for i, a in enumerate(amounts)
    ]
    inv["content_hash"] = ledger.content_hash(inv, lines)
    cur = db.execute(
        "INSERT INTO invoices (number, kind, patient_id, payer_id, coverage_id, encounter_id,"
        " original_invoice_id, frequency_code, issued_on, due_on, filing_deadline, total_cents, copay_cents,"
        " content_hash, created_at) VALUES (:number, :kind, :patient_id, :payer_id, :coverage_id,"
        " :encounter_id, :original_invoice_id, :frequency_code, :issued_on, :due_on, :filing_deadline,"
        " :total_cents, :copay_cents, :content_hash, 'now')",
        inv,
    )
    for ln in lines:
        db.execute(
            "INSERT INTO invoice_lines (invoice_id, line_no, charge_line_id, date_of_service, code, modifiers,"
            " units, description, amount_cents) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                cur.lastrowid,
                ln["line_no"],
                None,
                ln["date_of_service"],
                ln["code"],
                ln["modifiers"],
                ln["units"],
                ln["description"],
                ln["amount_cents"],
            ),
        )
    db.execute("UPDATE series SET next_number = next_number + 1 WHERE kind = ?", (kind,))


def _setup(db):
    with dbmod.write(db):
        _issue(db, "C000001")
        _issue(db, "C000002")
        audit.record(db, "test issue", entity="invoice", ids=[1, 2])


def test_clean_database_passes(cli, db):
    _setup(db)
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "All checks passed" in r.stderr


def test_edited_invoice_line_is_detected(cli, db):
    _setup(db)
    db.execute("DROP TRIGGER invoice_lines_immutable_update")
    db.execute("UPDATE invoice_lines SET amount_cents = 1 WHERE invoice_id = 2 AND line_no = 2")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    rules = {(f["rule"], f["message"].split(" (")[0]) for f in json.loads(r.stdout)}
    assert ("INVOICE-HASH", "invoice C000002") in rules
    assert any(rule == "INVOICE-TOTAL" for rule, _ in rules)


def test_deleted_invoice_leaves_a_gap(cli, db):
    _setup(db)
    db.execute("DROP TRIGGER invoices_immutable_delete")
    db.execute("DROP TRIGGER invoice_lines_immutable_delete")
    db.execute("DELETE FROM invoice_lines WHERE invoice_id = 1")
    db.execute("DELETE FROM invoices WHERE id = 1")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    msgs = [f["message"] for f in json.loads(r.stdout) if f["rule"] == "NUMBER-GAP"]
    assert msgs == ["claim series: 1 number(s) missing below 3: 1"]


def test_audit_tampering_is_detected(cli, db):
    _setup(db)
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET os_user = 'someone-else' WHERE id = 1")
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    assert any(f["rule"] == "AUDIT-CHAIN" for f in json.loads(r.stdout))


def test_over_allocated_payment(cli, db):
    _setup(db)
    with dbmod.write(db):
        db.execute(
            "INSERT INTO payments (kind, patient_id, amount_cents, received_on, created_at)"
            " VALUES ('patient', 1, 1000, '2026-11-02', 'now')"
        )
        db.execute(
            "INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents) VALUES (1, 1, 1500)"
        )
    r = cli("check", "--format", "json")
    assert r.exit_code == 1
    assert sorted(f["rule"] for f in json.loads(r.stdout)) == ["ALLOCATION", "PAYMENT-ALLOCATED"]

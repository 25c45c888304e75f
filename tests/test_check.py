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
    # over-allocated, and patient money on a claim (C000001): both ALLOCATION
    assert sorted(f["rule"] for f in json.loads(r.stdout)) == [
        "ALLOCATION",
        "ALLOCATION",
        "PAYMENT-ALLOCATED",
    ]


# ---- issue 13: the ledger is append-only and sealed; check finds what changed behind its back --

import sqlite3  # noqa: E402

import ledger_fixtures as lf  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def books(cli, db):
    """A patient with a patient invoice P 100.00 and a claim (adjusted 5.00), a patient payment of 60.00 posted
    through the CLI (payment, allocation, receipt, status event), and an 835-like remittance row."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000101")
        lf.coverage(db, pid, "KEY", "2025-01-01", "2026-12-10", copay=2500)
        lf.patient_invoice(db, pid, "2026-09-01", [("2026-08-20", "99213", 10000)])
        eid, _ = lf.encounter(db, pid, "2026-10-05", [("99214", 20000)])
        claim = lf.claim(db, eid, "KEY", "2026-10-06")
        lf.adjust(db, claim, "2026-10-20", 500, "CO", "45")
        f = db.execute(
            "INSERT INTO remit_files (file_name, sha256, size, segments, imported_at, os_user)"
            " VALUES ('a.835', 'x', 1, 1, 'now', 'u')"
        ).lastrowid
        tx = db.execute(
            "INSERT INTO remit_transactions (file_id, st_control, payer_key, handling_code,"
            " credit_debit, amount_cents, trace_number, claims_paid_cents, plb_cents,"
            " posted_cents, unmatched_cents) VALUES (?, '0001', 'KEY', 'I', 'C', 0, 'T1', 0, 0,"
            " 0, 0)",
            (f,),
        ).lastrowid
        rc = db.execute(
            "INSERT INTO remit_claims (transaction_id, seq, claim_number, invoice_id,"
            " status_code, charge_cents, paid_cents, outcome) VALUES (?, 1, 'C1', ?, '4', 20000,"
            " 0, 'not_posted')",
            (tx, claim),
        ).lastrowid
        db.execute(
            "INSERT INTO remit_adjustments (claim_id, group_code, reason_code, amount_cents)"
            " VALUES (?, 'CO', '45', 3000)",
            (rc,),
        )
        # posting sets the outcome once, after the row is in: allowed, and sealed again
        db.execute("UPDATE remit_claims SET outcome = 'denied' WHERE id = ?", (rc,))
    r = cli("payment", "post", "0000101", "60.00", "--method", "cash", "--date", "2026-11-21")
    assert r.exit_code == 0, r.stderr
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr
    return {"claim": claim, "remit_claim": rc}


def _findings(cli, *args):
    r = cli("check", "--format", "json", *args)
    assert r.exit_code == 1, r.stdout + r.stderr
    return [(f["rule"], f["message"]) for f in json.loads(r.stdout)]


def test_money_rows_refuse_update_and_delete(db, books):
    for sql in (
        "UPDATE payments SET amount_cents = 1",
        "DELETE FROM payments",
        "UPDATE payment_allocations SET amount_cents = 1",
        "DELETE FROM payment_allocations",
        "UPDATE adjustments SET amount_cents = 1",
        "UPDATE invoice_events SET status = 'paid'",
        "DELETE FROM receipts",
        "UPDATE remit_adjustments SET amount_cents = 1",
        "UPDATE remit_claims SET paid_cents = 1",
        "DELETE FROM remit_claims",
        "UPDATE row_seals SET digest = 'x'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)


def _drop(db, *names):
    for n in names:
        db.execute(f"DROP TRIGGER {n}")


def test_lowered_payment_and_allocation_detected(cli, db, books):
    _drop(db, "payments_append_only_update", "payment_allocations_append_only_update")
    db.execute("UPDATE payments SET amount_cents = 100")
    db.execute("UPDATE payment_allocations SET amount_cents = 100")
    found = _findings(cli)
    msgs = [m for rule, m in found if rule == "LEDGER-SEAL"]
    assert "payments row 1 changed since it was sealed" in msgs
    assert "payment_allocations row 1 changed since it was sealed" in msgs
    assert [m for r, m in found if r == "AUDIT-AMOUNT"] == [
        "audit row 1: payment 1 recorded 60.00 != ledger 1.00"
    ], found
    assert any(rule == "TRIGGER" and "payments_append_only_update" in m for rule, m in found)


def test_deleted_payment_with_allocations_detected(cli, db, books):
    _drop(db, "payments_append_only_delete", "payment_allocations_append_only_delete")
    _drop(db, "receipts_append_only_delete")
    db.execute("DELETE FROM payment_allocations")
    db.execute("DELETE FROM receipts")
    db.execute("DELETE FROM payments")
    found = _findings(cli)
    msgs = [m for rule, m in found if rule == "LEDGER-SEAL"]
    assert "payments row 1 was deleted (its seal remains)" in msgs
    assert any("gone from the ledger" in m for rule, m in found if rule == "AUDIT-AMOUNT")


def test_deleted_with_its_seals_detected(cli, db, books):
    """The attacker deletes the payment and its seals: the seal chain breaks or the anchor finds it."""
    _drop(db, "payments_append_only_delete", "payment_allocations_append_only_delete")
    _drop(db, "receipts_append_only_delete", "row_seals_no_delete")
    for t in ("payment_allocations", "receipts", "payments"):
        db.execute(f"DELETE FROM row_seals WHERE tbl = '{t}'")
        db.execute(f"DELETE FROM {t}")
    found = _findings(cli)
    assert any(rule == "LEDGER-SEAL" and "missing" in m for rule, m in found), found


def test_changed_status_event_and_raised_remit_adjustment_detected(cli, db, books):
    _drop(db, "invoice_events_append_only_update", "remit_adjustments_append_only_update")
    db.execute("UPDATE invoice_events SET status = 'paid' WHERE invoice_id = ?", (books["claim"],))
    db.execute("UPDATE remit_adjustments SET amount_cents = 9000")
    msgs = [m for rule, m in _findings(cli) if rule == "LEDGER-SEAL"]
    assert any(m.startswith("invoice_events row") and "changed" in m for m in msgs), msgs
    assert "remit_adjustments row 1 changed since it was sealed" in msgs


def test_patient_birth_date_edit_detected_and_legit_update_sealed(cli, db, books):
    with dbmod.write(db):  # as `import --update` does: inside billadmin's write, sealed again
        db.execute("UPDATE patients SET city = 'Dayton' WHERE mrn = '0000101'")
    assert cli("check").exit_code == 0
    db.execute("UPDATE patients SET dob = '1960-01-01' WHERE mrn = '0000101'")
    found = _findings(cli)
    assert any(rule == "LEDGER-SEAL" and "patients" in m for rule, m in found), found
    assert not any("1960" in m for _, m in found)  # never the value itself
    # a later billadmin write does not launder the edit: it is still reported
    cli("payment", "post", "0000101", "1.00", "--method", "cash", "--date", "2026-11-22")
    assert any(rule == "LEDGER-SEAL" and "patients" in m for rule, m in _findings(cli))


def test_raw_insert_is_never_sealed(cli, db, books):
    db.execute(
        "INSERT INTO adjustments (invoice_id, amount_cents, source, created_on, created_at)"
        " VALUES (1, 5000, 'manual', '2026-11-01', 'now')"
    )
    found = _findings(cli)
    assert any("adjustments: 1 row change(s) made outside billadmin" in m for _, m in found)


def test_receipt_numbers_gapless(cli, db, books):
    cli("payment", "post", "0000101", "1.00", "--method", "cash", "--date", "2026-11-22")
    _drop(db, "receipts_append_only_delete")
    db.execute("DELETE FROM receipts WHERE id = 1")
    found = _findings(cli)
    assert ("RECEIPT-GAP", "1 receipt number(s) missing: R0000001") in found


def test_missing_trigger_reported_and_restored_by_init(cli, db, books):
    _drop(db, "audit_log_no_delete", "payments_append_only_update")
    found = _findings(cli)
    assert (
        "TRIGGER",
        "protective trigger audit_log_no_delete is missing: `billadmin init` restores it",
    ) in found
    r = cli("init")
    assert r.exit_code == 0, r.stderr
    assert (
        "Restored 2 protective trigger(s)" in r.stderr and "payments_append_only_update" in r.stderr
    )
    assert cli("check").exit_code == 0
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE payments SET amount_cents = 1")


def test_changed_trigger_reported(cli, db, books):
    db.execute("DROP TRIGGER payments_append_only_delete")
    db.execute(
        "CREATE TRIGGER payments_append_only_delete BEFORE DELETE ON payments BEGIN SELECT 1; END"
    )
    found = _findings(cli)
    assert any(r == "TRIGGER" and "payments_append_only_delete was changed" in m for r, m in found)
    assert "Restored 1" in cli("init").stderr


def test_invoice_files_exist_with_their_hash(cli, db, tmp_path):
    _setup(db)
    f837, pdf = tmp_path / "a.837", tmp_path / "C000002.pdf"
    f837.write_bytes(b"ISA*...~")
    pdf.write_bytes(b"%PDF")
    import hashlib

    with dbmod.write(db):
        db.execute(
            "INSERT INTO billing_runs (started_at, issued_on, through, out_dir, os_user)"
            " VALUES ('now', '2026-11-01', '2026-11-01', ?, 'u')",
            (str(tmp_path),),
        )
        db.execute("INSERT INTO payers (code, name, kind) VALUES ('KEY', 'Keystone', 'commercial')")
        x = db.execute(
            "INSERT INTO x12_interchanges (run_id, payer_id, isa_control, gs_control, usage,"
            " envelope, path, sha256, transaction_sets, claims, created_at)"
            " VALUES (1, 1, '1', '1', 'T', '{}', ?, ?, 1, 1, 'now')",
            (str(f837), hashlib.sha256(b"ISA*...~").hexdigest()),
        ).lastrowid
        db.execute(
            "INSERT INTO invoice_files (invoice_id, kind, path, run_id, interchange_id, created_at)"
            " VALUES (1, 'x12', ?, 1, ?, 'now'), (2, 'pdf', ?, 1, NULL, 'now')",
            (str(f837), x, str(pdf)),
        )
    assert cli("check").exit_code == 0
    f837.write_bytes(b"ISA*changed~")
    pdf.unlink()
    found = _findings(cli)
    assert (
        "INVOICE-FILE",
        f"invoice C000001: its x12 file {f837} changed since it was written",
    ) in found
    assert ("INVOICE-FILE", f"invoice C000002: its pdf file {pdf} is missing") in found


def test_a_column_added_by_a_later_migration_keeps_the_seals(cli, db, books):
    """Another domain's migration adds a column (nullable, or NOT NULL with a DEFAULT): existing
    rows keep matching their seals."""
    db.execute("ALTER TABLE coverages ADD COLUMN qmb_test INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE payments ADD COLUMN memo_test TEXT")
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr

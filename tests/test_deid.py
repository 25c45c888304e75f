"""De-identified export: Safe Harbor identifiers gone, keys stable, file private."""

import csv
import os
import re

from billadmin import db as dbmod
from billadmin import deid, ledger

SENTINEL = {
    "first": "Zebulon",
    "last": "Quuxworthy",
    "dob": "1931-02-03",
    "member": "SENT1NEL42",
    "mrn": "MRN-SENTINEL",
    "street": "77 Sentinel Way",
    "phone": "6145559999",
    "city": "Sentinelville",
}


def _claim(db, number, patient_id, dos, amount):
    inv = {
        "number": number,
        "kind": "claim",
        "patient_id": patient_id,
        "payer_id": 1,
        "coverage_id": None,
        "encounter_id": None,
        "original_invoice_id": None,
        "frequency_code": "1",
        "issued_on": dos,
        "due_on": None,
        "filing_deadline": None,
        "total_cents": amount,
        "copay_cents": 0,
    }
    lines = [
        {
            "line_no": 1,
            "charge_line_id": None,
            "date_of_service": dos,
            "code": "99213",
            "modifiers": "25",
            "units": 1,
            "description": None,
            "amount_cents": amount,
        }
    ]
    inv["content_hash"] = ledger.content_hash(inv, lines)
    cur = db.execute(
        "INSERT INTO invoices (number, kind, patient_id, payer_id, frequency_code, issued_on, total_cents,"
        " copay_cents, content_hash, created_at) VALUES (:number, :kind, :patient_id, :payer_id,"
        " :frequency_code, :issued_on, :total_cents, :copay_cents, :content_hash, 'now')",
        inv,
    )
    db.execute(
        "INSERT INTO invoice_lines (invoice_id, line_no, date_of_service, code, modifiers, units, amount_cents)"
        " VALUES (?, 1, ?, '99213', '25', 1, ?)",
        (cur.lastrowid, dos, amount),
    )


def _fixture(db):
    with dbmod.write(db):
        db.execute("INSERT INTO payers (code, name, kind) VALUES ('MCR', 'Medicare', 'medicare')")
        db.execute(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, address1, city, state, zip, phone,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, 'F', ?, ?, 'NH', '03601', ?, 'now', 'now')",
            (
                SENTINEL["mrn"],
                SENTINEL["first"],
                SENTINEL["last"],
                SENTINEL["dob"],
                SENTINEL["street"],
                SENTINEL["city"],
                SENTINEL["phone"],
            ),
        )
        db.execute(
            "INSERT INTO patients (mrn, first_name, last_name, dob, sex, zip, state, created_at, updated_at)"
            " VALUES ('0002', 'Ann', 'Other', '1980-06-15', 'F', '43215-1234', 'OH', 'now', 'now')"
        )
        db.execute(
            "INSERT INTO coverages (patient_id, payer_id, member_id, effective_from) VALUES (1, 1, ?, '2020-01-01')",
            (SENTINEL["member"],),
        )
        _claim(db, "C000001", 1, "2026-03-04", 14000)
        _claim(db, "C000002", 2, "2026-05-06", 9500)


def test_export_csv_has_no_identifiers(cli, db, tmp_path):
    _fixture(db)
    out = tmp_path / "deid.csv"
    r = cli("export", "deidentified", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert (os.stat(out).st_mode & 0o777) == 0o600
    # the pseudonymous keys are random hex: one may hold "43215" by chance (it did, once in CI)
    text = re.sub(r"\b[0-9a-f]{16}\b", "<key>", out.read_text())
    for value in list(SENTINEL.values()) + ["C000001", "2026-03-04", "1931", "43215", "03601"]:
        assert value not in text, value
    rows = list(csv.DictReader(out.open()))
    by_zip = {r["zip3"]: r for r in rows}
    assert (
        by_zip["000"]["age"] == "90+" and by_zip["000"]["birth_year"] == ""
    )  # 036 is a restricted prefix
    assert by_zip["432"]["age"] == "45" and by_zip["432"]["birth_year"] == "1980"
    assert {r["service_year"] for r in rows} == {"2026"}
    assert rows[0]["charge"] == "140.00"
    for v in list(SENTINEL.values()):
        assert v not in r.stderr and v not in r.stdout
    # keys are stable across exports
    out2 = tmp_path / "deid2.csv"
    assert cli("export", "deidentified", "-o", out2).exit_code == 0
    assert [r["patient_key"] for r in csv.DictReader(out2.open())] == [
        r["patient_key"] for r in rows
    ]
    audit = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'export deidentified'"
    ).fetchone()[0]
    assert audit == 2


def test_period_filter_and_xlsx(cli, db, tmp_path):
    from openpyxl import load_workbook

    _fixture(db)
    out = tmp_path / "d.xlsx"
    r = cli("export", "deidentified", "--from", "2026-05-01", "-o", out)
    assert r.exit_code == 0, r.stderr
    ws = load_workbook(out).active
    assert ws.max_row == 2  # header + one line


def test_bad_input(cli, db, tmp_path):
    assert cli("export", "deidentified", "-o", tmp_path / "x.txt").exit_code == 2
    assert (
        cli("export", "deidentified", "--from", "03/04/26", "-o", tmp_path / "x.csv").exit_code == 2
    )


def test_zip3_rules():
    assert deid.zip3("03601") == "000"
    assert deid.zip3("89012-3456") == "000"
    assert deid.zip3("43215") == "432"
    assert deid.zip3("") == "000" and deid.zip3("123") == "000"


def test_format_like_every_listing_command(cli, db, tmp_path):
    """--format json to stdout, csv by default, xlsx only to a file (issue 14)."""
    import json

    _fixture(db)
    r = cli("export", "deidentified", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 2 and rows[0]["charge"] == "140.00"
    for v in SENTINEL.values():
        assert v not in r.stdout
    r = cli("export", "deidentified")
    assert r.exit_code == 0 and r.stdout.splitlines()[0].startswith("patient_key")
    assert cli("export", "deidentified", "-f", "xlsx").exit_code == 2
    out = tmp_path / "d.data"
    assert cli("export", "deidentified", "-f", "json", "-o", out).exit_code == 0
    assert len(json.loads(out.read_text())) == 2
    logged = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'export deidentified' ORDER BY id"
    ).fetchall()
    assert [json.loads(d)["file"] for (d,) in logged] == ["stdout", "stdout", "d.data"]

"""`billadmin import template institutional`: the layout `import institutional` reads, with two
made-up example claims that import as written on a practice with one facility, patients H0001
and H0002 and the attending provider 1627384955 (the test practice's provider 1).

Expected totals by hand from the template's rows: OP26001 1,850.00 + 420.00 + 300.00 = 2,570.00;
IP26001 5,400.00 + 360.00 + 4,200.00 = 9,960.00; value code A1 1,676.00."""

from __future__ import annotations

import csv
from pathlib import Path

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod

DOC = Path(__file__).resolve().parents[1] / "docs" / "institutional.md"


@pytest.fixture
def facility_db(db):
    """The test practice (providers 1627384955 and 1516273848), one facility, two patients."""
    with dbmod.write(db):
        fx.practice(db)
        ifx.facility(db)
        fx.patient(db, "H0001", "Ann", "Able")
        fx.patient(db, "H0002", "Bob", "Baker", sex="M")
    return db


def _stored(db) -> dict:
    claims = {
        key: (tob, total)
        for key, tob, total in db.execute(
            "SELECT e.number, c.type_of_bill, SUM(l.charge_cents) FROM inst_claims c"
            " JOIN encounters e ON e.id = c.encounter_id JOIN inst_lines l ON l.claim_id = c.id"
            " GROUP BY c.id"
        )
    }
    values = db.execute("SELECT code, amount_cents FROM inst_codes WHERE kind = 'value'").fetchall()
    lines = db.execute(
        "SELECT revenue_code, hcpcs, modifier1, units, unit_type, charge_cents FROM inst_lines"
        " ORDER BY claim_id, line_no"
    ).fetchall()
    return {"claims": claims, "values": sorted(values), "lines": lines}


EXPECTED = {
    "claims": {"OP26001": ("131", 257000), "IP26001": ("111", 996000)},
    "values": [("80", 300), ("A1", 167600)],
    "lines": [
        ("0750", "45380", "PT", 1, "UN", 185000),
        ("0310", "88305", None, 2, "UN", 42000),
        ("0710", None, None, 1, "UN", 30000),
        ("0120", None, None, 3, "DA", 540000),
        ("0250", None, None, 12, "UN", 36000),
        ("0360", None, None, 1, "UN", 420000),
    ],
}


def test_csv_template_imports_as_written(facility_db, cli, tmp_path):
    r = cli("import", "template", "institutional", db=False)
    assert r.exit_code == 0, r.stderr
    stdout = r.stdout
    rows = list(csv.reader(stdout.splitlines()))
    assert rows[0][:4] == ["claim", "mrn", "facility", "type_of_bill"]
    assert [row[0] for row in rows[1:]] == ["OP26001"] * 3 + ["IP26001"] * 3
    f = tmp_path / "ub04.csv"
    r = cli("import", "template", "institutional", "-o", f, db=False)
    assert r.exit_code == 0 and "two example claims" in r.stderr
    assert f.read_text() == stdout
    r = cli("import", "institutional", f)
    assert r.exit_code == 0, r.stderr
    assert "imported 2 institutional claim(s), 6 revenue line(s)" in r.stderr
    assert _stored(facility_db) == EXPECTED
    prior_auth = facility_db.execute(
        "SELECT prior_auth FROM inst_claims WHERE type_of_bill = '111'"
    ).fetchone()[0]
    assert prior_auth == "PA2026EXAMPLE"


def test_xlsx_template_imports_as_written_and_documents_each_column(facility_db, cli, tmp_path):
    from openpyxl import load_workbook

    f = tmp_path / "ub04.xlsx"
    r = cli("import", "template", "institutional", "-o", f, db=False)
    assert r.exit_code == 0, r.stderr
    wb = load_workbook(f)
    assert wb.sheetnames == ["institutional", "columns"]
    ws = wb["institutional"]
    headers = [c.value for c in ws[1]]
    rev = headers.index("revenue_code") + 1
    assert ws.cell(row=2, column=rev).value == "0750"  # text: the leading zero kept
    assert ws.cell(row=2, column=rev).number_format == "@"
    # every column is Text, for the rows a clerk types in below the examples
    assert {d.number_format for d in ws.column_dimensions.values()} == {"@"}
    assert len(ws.column_dimensions) == len(headers)
    doc = {row[0]: row[1] for row in wb["columns"].iter_rows(min_row=2, values_only=True)}
    assert list(doc) == headers
    assert all(doc[h] and len(doc[h]) > 10 for h in headers)
    r = cli("import", "institutional", f)
    assert r.exit_code == 0, r.stderr
    assert _stored(facility_db) == EXPECTED


def test_template_without_its_patients_is_refused_naming_rows(db, cli, tmp_path):
    """The examples need their patients: on a database without them nothing is written and each
    row is named (no value quoted)."""
    with dbmod.write(db):
        fx.practice(db)
        ifx.facility(db)
    f = tmp_path / "ub04.csv"
    cli("import", "template", "institutional", "-o", f, db=False)
    r = cli("import", "institutional", f)
    assert r.exit_code == 2
    assert "row 2, column 'mrn'" in r.stderr and "row 5, column 'mrn'" in r.stderr
    assert "H0001" not in r.stderr
    assert db.execute("SELECT COUNT(*) FROM inst_claims").fetchone()[0] == 0


def test_every_column_is_documented():
    """Every column `import institutional` reads has a description in the template and a row in
    docs/institutional.md's layout table (names with _last/_first share their _npi row)."""
    from billadmin.institutional.ingest import COLUMNS
    from billadmin.institutional.template import HELP, headers

    assert headers() == list(COLUMNS) and set(HELP) == set(COLUMNS)
    text = DOC.read_text()
    for col in COLUMNS:
        role, _, part = col.rpartition("_")
        name = f"{role}_npi" if part in ("last", "first") else col
        assert f"`{name}`" in text, col
    assert "billadmin import template institutional" in text

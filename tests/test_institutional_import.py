"""`billadmin import institutional` and `billadmin facility set`: one row per revenue line,
every problem named by file, row and column, exit 2 and nothing written."""

from __future__ import annotations

import csv

import institutional_fixtures as ifx
import pytest

from billadmin import db as dbmod
from billadmin.institutional import model

HEAD = [
    "claim", "mrn", "type_of_bill", "statement_from", "statement_through", "admission_date",
    "admission_hour", "admission_type", "admission_source", "discharge_hour", "patient_status",
    "attending_npi", "operating_npi", "operating_last", "principal_dx", "principal_poa",
    "admitting_dx", "reason_dx", "other_dx", "principal_procedure", "principal_procedure_date",
    "condition_codes", "occurrence_codes", "occurrence_spans", "value_codes",
    "revenue_code", "hcpcs", "modifiers", "units", "unit_type", "charge", "line_date",
]  # fmt: skip


def _rows():
    from billadmin import npi

    op = npi.make("123400005")
    out = [
        # outpatient endoscopy, TOB 131: header on the first row only
        ["OP1", "H1001", "0131", "2026-06-10", "2026-06-10", "", "", "3", "1", "", "01",
         ifx.ATTENDING_NPI, "", "", "K63.5", "", "", "R19.5", "Z12.11", "", "", "", "", "", "",
         "0750", "45380", "PT", "1", "", "1850.00", "2026-06-10"],
        ["OP1", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
         "", "", "", "", "310", "88305", "", "2", "", "420", "2026-06-10"],
        # inpatient stay, TOB 111, header repeated unchanged on its second row
        ["IP1", "H1002", "111", "2026-06-01", "2026-06-04", "2026-06-01", "14", "1", "7", "11",
         "01", ifx.ATTENDING_NPI, op, "Ortiz", "K92.2", "Y", "K92.2", "", "D62:Y;E11.9:N",
         "0DB68ZX", "2026-06-02", "39", "11:2026-05-31", "74:2026-06-03:2026-06-03",
         "80:3;A1:1676.00", "0120", "", "", "3", "DA", "5400", ""],
    ]  # fmt: skip
    second = list(out[2])
    second[-7:] = ["0250", "", "", "12", "", "360.00", ""]
    out.append(second)
    return out


def _write(path, rows, head=HEAD):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        w.writerows(rows)
    return path


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ifx.hospital(db)
    return db


def _count(db, table):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_import_outpatient_and_inpatient(hosp, cli, tmp_path):
    r = cli("import", "institutional", _write(tmp_path / "ub.csv", _rows()))
    assert r.exit_code == 0, r.stderr
    assert "2 institutional claim(s), 4 revenue line(s)" in r.stderr
    op = model.load_claim(hosp, "OP1")
    assert op.type_of_bill == "131" and op.facility.code == "RGH"
    assert [(ln.revenue_code, ln.hcpcs, ln.units, ln.charge_cents) for ln in op.lines] == [
        ("0750", "45380", 1, 185000),
        ("0310", "88305", 2, 42000),
    ]
    assert op.lines[0].modifiers == ("PT",)
    assert [(d.qualifier, d.code) for d in op.diagnoses] == [
        ("ABK", "K635"),
        ("APR", "R195"),
        ("ABF", "Z1211"),
    ]
    ip = model.load_claim(hosp, "IP1")
    assert ip.inpatient and ip.admission_hour == "14" and ip.patient_status == "01"
    assert [(d.qualifier, d.code, d.poa) for d in ip.diagnoses] == [
        ("ABK", "K922", "Y"),
        ("ABJ", "K922", ""),
        ("ABF", "D62", "Y"),
        ("ABF", "E119", "N"),
    ]
    # $3.00 and $1,676.00 as cents
    assert ip.value_codes == (model.ValueCode("80", 300), model.ValueCode("A1", 167600))
    assert ip.lines[0].unit_type == "DA" and ip.lines[0].charge_cents == 540000
    assert ip.provider("operating") is not None and ip.provider("operating").last_name == "Ortiz"
    assert ip.attending is not None and ip.attending.last_name == "Okafor"  # from providers
    assert ip.procedures[0].code == "0DB68ZX"
    assert _count(hosp, "audit_log") >= 1
    # the same file again: its keys exist, refused, nothing written
    r = cli("import", "institutional", tmp_path / "ub.csv")
    assert r.exit_code == 2
    assert "already in the database" in r.stderr and "imported once" in r.stderr
    assert _count(hosp, "inst_claims") == 2


BAD = [
    # (column, value, what the message says)
    ("type_of_bill", "191", "classification"),
    ("type_of_bill", "137", "replace|void"),
    ("type_of_bill", "531", "type of facility"),
    ("principal_poa", "X", "POA indicator"),
    ("mrn", "NOBODY", "no registered patient"),
    ("attending_npi", "", "attending provider"),
    ("attending_npi", "1234567890", "NPI"),
    ("statement_through", "2026-05-31", "ends before it starts"),
    ("revenue_code", "45", "4 digits"),
    ("charge", "12.345", "decimal places"),
    ("units", "0", "units"),
    ("unit_type", "HR", "UN (units) or DA"),
    ("principal_dx", "", "required"),
    ("other_dx", "D62:Q", "POA indicator"),
    ("value_codes", "80", "CODE:AMOUNT"),
    ("principal_procedure", "0DB68IX", "ICD-10-PCS"),
    ("admission_hour", "25", "hour"),
]


@pytest.mark.parametrize("column, value, says", BAD)
def test_bad_values_refused_with_row_and_column(hosp, cli, tmp_path, column, value, says):
    rows = _rows()
    rows[2][HEAD.index(column)] = value  # the inpatient claim's first row: spreadsheet row 4
    r = cli("import", "institutional", _write(tmp_path / "bad.csv", rows))
    assert r.exit_code == 2, r.stderr
    assert f"bad.csv, row 4, column '{column}'" in r.stderr
    assert says in r.stderr
    if value and column in ("mrn", "principal_poa"):
        assert f" {value}" not in r.stderr.replace(f"'{column}'", "")  # no value quoted
    assert _count(hosp, "inst_claims") == 0 and _count(hosp, "encounters") == 0


def test_header_values_that_differ_on_a_later_row(hosp, cli, tmp_path):
    rows = _rows()
    rows[3][HEAD.index("statement_through")] = "2026-06-05"
    r = cli("import", "institutional", _write(tmp_path / "x.csv", rows))
    assert r.exit_code == 2
    assert "row 5, column 'statement_through': differs from the claim's first row (row 4)" in (
        r.stderr
    )


def test_unknown_and_missing_columns(hosp, cli, tmp_path):
    rows = [[*_rows()[0], "red"]]
    r = cli("import", "institutional", _write(tmp_path / "u.csv", rows, head=[*HEAD, "color"]))
    assert r.exit_code == 2 and "unknown column(s) 'color'" in r.stderr
    head = [h for h in HEAD if h != "charge"]
    rows = [_rows()[0][:-2] + _rows()[0][-1:]]
    r = cli("import", "institutional", _write(tmp_path / "m.csv", rows, head=head))
    assert r.exit_code == 2 and "missing column(s) charge" in r.stderr


def test_dry_run_writes_nothing(hosp, cli, tmp_path):
    r = cli("import", "institutional", _write(tmp_path / "ub.csv", _rows()), "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "would import 2 institutional claim(s)" in r.stderr
    assert _count(hosp, "inst_claims") == 0


def test_facility_set_validates_and_updates(db, cli):
    r = cli("facility", "set", "ASC", "--name", "Endo Center", "--npi", "1234567890")
    assert r.exit_code == 2
    assert "--npi:" in r.stderr and "--facility-type: required" in r.stderr
    args = ["--name", "Endo Center", "--npi", "1234567893", "--tax-id", "31-1234567"]
    args += ["--facility-type", "1", "--address1", "1 Main", "--city", "Columbus"]
    args += ["--state", "OH", "--zip", "43215"]
    r = cli("facility", "set", "asc", *args)
    assert r.exit_code == 2 and "--zip: ZIP must be ZIP+4" in r.stderr
    r = cli("facility", "set", "asc", *args[:-1], "43215-1000")
    assert r.exit_code == 0, r.stderr
    r = cli("facility", "set", "ASC", "--facility-type", "5")
    assert r.exit_code == 2 and "--facility-type" in r.stderr
    r = cli("facility", "list", "--format", "csv")
    assert r.exit_code == 0 and "ASC,Endo Center,1234567893,311234567" in r.stdout

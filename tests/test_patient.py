"""`billadmin patient list|show|compare`."""

from __future__ import annotations

import json

import pytest
from test_import import base, dump, patient, q, write  # noqa: F401  (fixture reused)


def test_list_and_search(base, cli):  # noqa: F811
    r = cli("patient", "list", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(p["mrn"], p["last_name"], p["primary_payer"]) for p in rows] == [
        ("0002", "Diaz", "SELF"),
        ("0001", "Lee", "KEY"),
    ]
    r = cli("patient", "list", "--search", "lee", "-f", "csv")
    assert r.exit_code == 0 and r.stdout.splitlines()[1].startswith("1,0001,Lee,Ann")
    assert len(json.loads(cli("patient", "list", "-s", "0002", "-f", "json").stdout)) == 1
    assert cli("patient", "list", "-n", "0").exit_code == 2


def test_show_is_an_audited_phi_read(base, cli, db_path):  # noqa: F811
    r = cli("patient", "show", "0001", "-f", "json")
    assert r.exit_code == 0, r.stderr
    rec = json.loads(r.stdout)
    assert (
        rec["mrn"] == "0001"
        and rec["coverages"][0]["payer"] == "KEY"
        and rec["coverages"][0]["copay"] == "25.00"
    )
    assert q(
        db_path, "SELECT action, entity, entity_ids FROM audit_log WHERE action='phi read'"
    ) == [("phi read", "patient", "1")]
    r = cli("patient", "show", "--id", "2")
    assert r.exit_code == 0 and "Diaz" in r.stdout
    r = cli("patient", "show", "9999")
    assert r.exit_code == 2 and "no patient with that MRN" in r.stderr


def test_compare_finds_new_changed_and_likely_duplicates_and_writes_nothing(
    base, cli, db_path, tmp_path
):  # noqa: F811
    headers = [
        "MRN",
        "First Name",
        "Last Name",
        "DOB",
        "Sex",
        "Address",
        "Phone",
        "Payer Code",
        "Member ID",
    ]
    f = write(
        tmp_path / "reg.csv",
        headers,
        [
            {
                "MRN": "0001",
                "First Name": "Ann",
                "Last Name": "Lee",
                "DOB": "1980-02-03",
                "Sex": "F",
                "Address": "1 Main St",
                "Phone": "6145550101",
                "Payer Code": "KEY",
                "Member ID": "K0012345",
            },  # same
            {
                "MRN": "0002",
                "First Name": "Bo",
                "Last Name": "Diaz",
                "DOB": "1975-07-08",
                "Sex": "M",
                "Address": "9 Oak Ave",
                "Phone": "6145550101",
                "Payer Code": "KEY",
                "Member ID": "K999",
            },  # changed
            {
                "MRN": "0077",
                "First Name": "ANN",
                "Last Name": " lée",
                "DOB": "1980-02-03",
                "Sex": "F",
            },  # dup of patient 1
            {
                "MRN": "0078",
                "First Name": "Cy",
                "Last Name": "Ng",
                "DOB": "1990-01-01",
                "Sex": "M",
                "Member ID": "K0012345",
            },
            {
                "MRN": "0079",
                "First Name": "Cy",
                "Last Name": "Ng",
                "DOB": "1990-01-01",
                "Sex": "M",
            },  # dup of row 5
            {
                "MRN": "0080",
                "First Name": "Dee",
                "Last Name": "Fox",
                "DOB": "2999-01-01",
                "Sex": "F",
            },  # invalid
        ],
    )
    before = dump(db_path)
    r = cli("patient", "compare", f, "-f", "json")
    assert r.exit_code == 0, r.stderr
    rows = {x["row"]: x for x in json.loads(r.stdout)}
    assert 2 not in rows  # unchanged rows are listed only with --all
    assert rows[3]["status"] == "changed" and rows[3]["fields"] == "address1, payer, member_id"
    assert rows[4]["status"] == "new" and "patient 1 (same name and DOB)" in rows[4]["duplicate_of"]
    assert rows[5]["status"] == "new" and rows[5]["duplicate_of"] == "patient 1 (same member id)"
    assert rows[6]["duplicate_of"] == "row 5 (same name and DOB)"
    assert (
        rows[7]["status"] == "invalid"
        and "in the future" in rows[7]["reason"]
        and "2999" not in r.stdout
    )
    assert "9 Oak" not in r.stdout and "K999" not in r.stdout
    assert "6 rows: 3 new, 1 changed, 1 same, 1 invalid, 3 with likely duplicates" in r.stderr
    assert dump(db_path) == before
    r = cli("patient", "compare", f, "--all", "-f", "csv")
    assert r.stdout.splitlines()[1].startswith("2,same,0001,1")


def test_compare_xlsx_and_table_output(base, cli, tmp_path):  # noqa: F811
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["MRN", "First Name", "Last Name", "DOB", "Sex"])
    wb.active.append(["0003", "New", "Person", "2001-01-01", "U"])
    wb.save(tmp_path / "reg.xlsx")
    r = cli("patient", "compare", tmp_path / "reg.xlsx")
    assert r.exit_code == 0 and "new" in r.stdout and "1 new" in r.stderr


@pytest.mark.corpus
def test_compare_with_the_synthea_profile(cli, db, corpus):
    db.close()
    s = corpus / "synthea-us"
    assert cli("import", "patients", s / "patients.csv", "--profile", "synthea").exit_code == 0
    r = cli("patient", "compare", s / "patients.csv", "--profile", "synthea", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert "11 rows: 0 new, 0 changed, 11 same" in r.stderr

"""`billadmin import ...`: every kind, all-or-nothing, idempotency, conflicts, --update auditing,
--dry-run, --skip-invalid, templates, map files, and the rules on values."""

from __future__ import annotations

import csv
import json
import os
import stat

import pytest

from billadmin import demo, npi

NPI1, NPI2 = npi.make("162738495"), npi.make("151627384")
H = demo.HEADERS


def _open(db_path):
    """A raw connection to the test database, plain or encrypted alike (pytest --encrypted)."""
    from billadmin import db as dbmod

    return dbmod.connect(db_path, migrate=False).conn


def write(path, kind_or_headers, rows, *, encoding="utf-8", bom=False):
    headers = H[kind_or_headers] if isinstance(kind_or_headers, str) else kind_or_headers
    with open(path, "w", newline="", encoding=encoding) as fh:
        if bom:
            fh.write("\ufeff")
        w = csv.DictWriter(fh, fieldnames=headers)
        w.writeheader()
        for r in rows:
            w.writerow({h: r.get(h, "") for h in headers})
    return path


def patient(mrn, first="Ann", last="Lee", dob="1980-02-03", sex="F", **kw):
    return {
        "MRN": mrn,
        "First Name": first,
        "Last Name": last,
        "DOB": dob,
        "Sex": sex,
        "Address": "1 Main St",
        "City": "Columbus",
        "State": "OH",
        "ZIP": "43215",
        "Phone": "614-555-0101",
        **kw,
    }


def charge(
    enc,
    line,
    code="99213",
    mrn="0001",
    dos="2026-03-02",
    dx=("E11.9", "I10"),
    ptr="1,2",
    npi_=NPI1,
    units="1",
    amount="140.00",
    **kw,
):
    row = {
        "Encounter": enc,
        "MRN": mrn,
        "DOS": dos,
        "Rendering NPI": npi_,
        "POS": "11",
        "Line": str(line),
        "Code": code,
        "Pointers": ptr,
        "Units": units,
        "Charge": amount,
    }
    for i, d in enumerate(dx, start=1):
        row[f"Dx{i}"] = d
    row.update(kw)
    return row


def dump(db_path) -> list[str]:
    conn = _open(db_path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def q(db_path, sql, params=()):
    conn = _open(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def base(db, db_path, tmp_path, cli):
    """A database with providers, payers, two patients and a coverage, imported through the CLI."""
    files = {
        "providers": write(
            tmp_path / "providers.csv",
            "providers",
            [
                {
                    "NPI": NPI1,
                    "First Name": "Anita",
                    "Last Name": "Okafor",
                    "Taxonomy": "207q00000x",
                },
                {
                    "NPI": NPI2,
                    "First Name": "Marcus",
                    "Last Name": "Lindqvist",
                    "Taxonomy": "207R00000X",
                },
            ],
        ),
        "payers": write(
            tmp_path / "payers.csv",
            "payers",
            [
                {"Code": "MCR", "Name": "Medicare", "Kind": "Medicare", "Payer ID": "15202"},
                {
                    "Code": "KEY",
                    "Name": "Keystone",
                    "Kind": "commercial",
                    "Payer ID": "KEY77",
                    "Timely Filing Days": "180",
                },
                {"Code": "SELF", "Name": "Self-pay", "Kind": "self pay"},
            ],
        ),
        "patients": write(
            tmp_path / "patients.csv",
            "patients",
            [patient("0001"), patient("0002", "Bo", "Diaz", "1975-07-08", "M")],
        ),
        "coverage": write(
            tmp_path / "coverage.csv",
            "coverage",
            [
                {
                    "MRN": "0001",
                    "Payer Code": "KEY",
                    "Member ID": "K0012345",
                    "Group": "G1",
                    "Relationship": "self",
                    "Priority": "primary",
                    "Effective From": "2025-01-01",
                    "Copay": "$25",
                },
                {
                    "MRN": "0002",
                    "Payer Code": "SELF",
                    "Member ID": "",
                    "Effective From": "2025-01-01",
                },
            ],
        ),
    }
    db.close()
    for kind in ("providers", "payers", "patients", "coverage"):
        r = cli("import", kind, files[kind])
        assert r.exit_code == 0, r.stderr
    return files


def test_every_kind_imports_and_a_second_run_changes_nothing(base, cli, db_path, tmp_path):
    ch = write(
        tmp_path / "charges.csv",
        "charges",
        [
            charge("E1", 1),
            charge("E2", 1, mrn="0002", dx=("J06.9",), ptr="1"),
            charge("E1", 2, code="36415", amount="15.00"),
        ],
    )
    fees = write(
        tmp_path / "fees.csv",
        "fee-schedule",
        [
            {
                "Payer": "default",
                "Code": "99213",
                "Amount": "140.00",
                "Effective From": "2026-01-01",
            },
            {"Payer": "KEY", "Code": "99213", "Amount": "98.50", "Effective From": "2026-01-01"},
            {
                "Payer": "KEY",
                "Code": "20610",
                "Modifier": "rt",
                "Amount": "160",
                "Effective From": "2026-01-01",
            },
        ],
    )
    r = cli("import", "charges", ch)
    assert r.exit_code == 0, r.stderr
    assert "3 inserted" in r.stderr and "2 encounters created" in r.stderr
    r = cli("import", "fee-schedule", fees)
    assert r.exit_code == 0 and "3 inserted" in r.stderr
    assert q(
        db_path, "SELECT payer_id, code, modifier, amount_cents FROM fee_schedule ORDER BY id"
    ) == [(None, "99213", "", 14000), (2, "99213", "", 9850), (2, "20610", "RT", 16000)]
    # codes upper-cased, copay parsed, Medicare gets its 12-month filing limit, self-pay needs no member id
    assert q(db_path, "SELECT taxonomy FROM providers ORDER BY id")[0] == ("207Q00000X",)
    assert q(db_path, "SELECT code, kind, timely_filing_months FROM payers ORDER BY id") == [
        ("MCR", "medicare", 12),
        ("KEY", "commercial", None),
        ("SELF", "self", None),
    ]
    assert q(db_path, "SELECT member_id, copay_cents, priority FROM coverages ORDER BY id") == [
        ("K0012345", 2500, 1),
        ("", 0, 1),
    ]
    assert q(db_path, "SELECT phone, zip FROM patients WHERE mrn='0001'") == [
        ("6145550101", "43215")
    ]
    before = dump(db_path)
    for kind, f in list(base.items()) + [("charges", ch), ("fee-schedule", fees)]:
        r = cli("import", kind, f)
        assert r.exit_code == 0, r.stderr
        assert " 0 inserted" in r.stderr and "unchanged" in r.stderr
        assert "was imported before as batch" in r.stderr
    after = dump(db_path)
    strip = lambda d: [x for x in d if "import_batches" not in x and "audit_log" not in x]  # noqa: E731
    assert strip(before) == strip(after)
    batches = q(db_path, "SELECT kind, sha256, inserted, unchanged FROM import_batches ORDER BY id")
    assert len(batches) == 12 and all(len(b[1]) == 64 for b in batches)
    assert batches[-1][2:] == (0, 3)
    actions = [a for (a,) in q(db_path, "SELECT action FROM audit_log")]
    assert actions.count("import charges") == 2


def test_invalid_rows_list_every_problem_without_values_and_write_nothing(
    base, cli, db_path, tmp_path
):
    bad = write(
        tmp_path / "bad.csv",
        "patients",
        [
            patient("0003", first="Zelda"),
            patient("1.23457E+15", first="Xavier"),
            patient("0005", dob="2099-01-01", sex="X"),
            patient("0006", dob="01/02/03"),
            patient("0007", ZIP="2081", Phone="12345"),
            patient("", last=""),
        ],
    )
    before = dump(db_path)
    r = cli("import", "patients", bad)
    assert r.exit_code == 2
    err = r.stderr
    assert "bad.csv: 8 problems found; nothing was written" in err
    assert "row 3, column 'MRN': in scientific notation" in err
    assert "row 4, column 'DOB': in the future" in err
    assert "row 4, column 'Sex': must be one of F, M, U" in err
    assert "row 5, column 'DOB': two-digit year" in err
    assert "row 6, column 'ZIP': 4 or 8 digits" in err
    assert "row 6, column 'Phone'" in err
    assert (
        "row 7, column 'MRN': is required" in err
        and "row 7, column 'Last Name': is required" in err
    )
    for phi in ("Zelda", "Xavier", "2099-01-01", "1.23457E+15", "2081"):
        assert phi not in err
    assert dump(db_path) == before


def test_charges_all_or_nothing_even_when_the_bad_line_is_last(base, cli, db_path, tmp_path):
    rows = [charge(f"E{i}", 1) for i in range(1, 40)] + [charge("E99", 1, npi_="1234567890")]
    f = write(tmp_path / "charges.csv", "charges", rows)
    before = dump(db_path)
    r = cli("import", "charges", f)
    assert r.exit_code == 2
    assert "row 41, column 'Rendering NPI': NPI check digit is wrong" in r.stderr
    assert dump(db_path) == before


def test_skip_invalid_writes_valid_rows_and_a_private_rejects_file(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "charges.csv",
        "charges",
        [
            charge("E1", 1),
            charge("E1", 2, amount="-5.00", code="=cmd|' /C calc'!A0"),
            charge("E2", 1, mrn="9999"),
            charge("E3", 1),
        ],
    )
    rej = tmp_path / "rejects.csv"
    r = cli("import", "charges", f, "--skip-invalid")
    assert r.exit_code == 2 and "--rejects" in r.stderr
    r = cli("import", "charges", f, "--skip-invalid", "--rejects", rej)
    assert r.exit_code == 0, r.stderr
    assert "2 inserted" in r.stderr and "2 rejected" in r.stderr
    assert stat.S_IMODE(os.stat(rej).st_mode) == 0o600
    rows = list(csv.reader(open(rej, encoding="utf-8")))
    assert rows[0][:3] == ["row", "reason", "Encounter"]
    assert [r_[0] for r_ in rows[1:]] == ["3", "4"]
    assert "Charge: must not be negative" in rows[1][1] and "Code:" in rows[1][1]
    code_col = rows[0].index("Code")
    assert rows[1][code_col].startswith("'=")  # a spreadsheet will not evaluate it
    assert "MRN: no patient with this MRN" in rows[2][1]
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == [(2,)]


def test_conflicts_are_named_by_field_then_update_applies_and_audits(base, cli, db_path, tmp_path):
    changed = write(
        tmp_path / "p2.csv",
        "patients",
        [
            patient("0001", Address="77 Elm Road", Phone="6145550199"),
            patient("0002", "Bo", "Diaz", "1975-07-08", "M"),
        ],
    )
    r = cli("import", "patients", changed)
    assert r.exit_code == 1
    assert (
        "conflict: row 2: patient 1 exists with different address1, phone; not applied (use --update)"
        in r.stderr
    )
    assert "77 Elm" not in r.stderr and "0199" not in r.stderr
    assert "1 unchanged" in r.stderr and "1 conflicts" in r.stderr
    assert q(db_path, "SELECT address1 FROM patients WHERE id=1") == [("1 Main St",)]
    r = cli("import", "patients", changed, "--dry-run", "--update")
    assert r.exit_code == 0 and "Dry run" in r.stderr and "1 updated" in r.stderr
    assert q(db_path, "SELECT address1 FROM patients WHERE id=1") == [("1 Main St",)]
    r = cli("import", "patients", changed, "--update")
    assert r.exit_code == 0, r.stderr
    assert "1 updated" in r.stderr and "77 Elm" not in r.stderr
    assert q(db_path, "SELECT address1, phone FROM patients WHERE id=1") == [
        ("77 Elm Road", "6145550199")
    ]
    (detail,) = q(
        db_path, "SELECT detail FROM audit_log WHERE action='import update' AND entity='patients'"
    )[0]
    d = json.loads(detail)
    assert d["row"] == 2 and d["changes"]["address1"] == {"old": "1 Main St", "new": "77 Elm Road"}
    from billadmin import audit
    from billadmin import db as dbmod

    assert audit.verify(dbmod.connect(db_path)) == []


def test_columns_absent_from_the_file_are_left_alone(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "names.csv",
        ["MRN", "First Name", "Last Name", "DOB", "Sex"],
        [{"MRN": "0001", "First Name": "Ann", "Last Name": "Lee", "DOB": "1980-02-03", "Sex": "F"}],
    )
    r = cli("import", "patients", f)
    assert r.exit_code == 0 and "1 unchanged" in r.stderr
    assert q(db_path, "SELECT phone FROM patients WHERE mrn='0001'") == [("6145550101",)]


def test_duplicate_keys_inside_one_file(base, cli, db_path, tmp_path):
    same = write(tmp_path / "dup.csv", "patients", [patient("0009"), patient("0009")])
    r = cli("import", "patients", same)
    assert r.exit_code == 0 and "1 inserted, 1 unchanged" in r.stderr
    diff = write(
        tmp_path / "dup2.csv", "patients", [patient("0010"), patient("0010", first="Other")]
    )
    r = cli("import", "patients", diff)
    assert r.exit_code == 2 and "row 3: same key as row 2 but with different values" in r.stderr


def test_dry_run_reports_and_writes_nothing(base, cli, db_path, tmp_path):
    f = write(tmp_path / "p.csv", "patients", [patient("0100"), patient("0101")])
    before = dump(db_path)
    r = cli("import", "patients", f, "--dry-run")
    assert r.exit_code == 0
    assert "Dry run, nothing written: p.csv (patients): 2 rows: 2 inserted" in r.stderr
    assert dump(db_path) == before


def test_charges_build_encounters_and_check_their_lines(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "charges",
        [
            charge("V1", 1, dx=("e119", "I10", "m545"), ptr="13"),
            charge("V2", 1, mrn="0002", dx=("J06.9",), ptr="A"),
            charge(
                "V1",
                2,
                code="g0439",
                dx=("E11.9", "I10", "M54.5"),
                ptr="B, C",
                Mod1="rt",
                units="2",
                amount="30",
            ),
        ],
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.stderr
    assert q(
        db_path,
        "SELECT e.number, d.seq, d.code FROM encounter_diagnoses d JOIN encounters e ON e.id=d.encounter_id"
        " ORDER BY e.number, d.seq",
    ) == [("V1", 1, "E11.9"), ("V1", 2, "I10"), ("V1", 3, "M54.5"), ("V2", 1, "J06.9")]
    assert q(
        db_path,
        "SELECT line_no, code, modifier1, dx_pointers, units, charge_cents FROM charge_lines ORDER BY id",
    ) == [
        (1, "99213", None, "1,3", 1, 14000),
        (1, "99213", None, "1", 1, 14000),
        (2, "G0439", "RT", "2,3", 2, 3000),
    ]

    bad = write(
        tmp_path / "bad.csv",
        "charges",
        [
            charge("W1", 1),
            charge("W1", 2, dx=("I10", "E11.9")),  # diagnoses disagree with row 2
            charge("W1", 1, code="36415"),  # line 1 twice
            charge("W2", 1, dx=("E11.9", "", "I10")),  # gap in Dx
            charge("W3", 1, dx=("E11.9",), ptr="2"),  # pointer past the diagnoses
            charge("W4", 1, ptr="1,2,3,4,5", dx=("A00", "B00", "C00", "D00", "E00")),
            charge("W5", 1, dos="2026-02-30"),
            charge("W6", 1, units="0", Mod2="TOOLONG"),
        ],
    )
    r = cli("import", "charges", bad)
    assert r.exit_code == 2
    e = r.stderr
    assert "row 3: disagrees with row 2 of the same encounter in: diagnoses" in e
    assert "row 4, column 'Line': this encounter's line number appears twice" in e
    assert "row 5, column 'Dx3': diagnoses must be filled from Dx1 on, without gaps" in e
    assert "row 6, column 'Pointers': points at diagnosis 2, but the encounter has 1" in e
    assert "row 7, column 'Pointers': more than 4 diagnosis pointers" in e
    assert "row 8, column 'DOS': impossible date" in e
    assert "row 9, column 'Units'" in e and "row 9, column 'Mod2'" in e


def test_existing_encounter_conflict_and_update(base, cli, db_path, tmp_path):
    write(
        tmp_path / "c1.csv",
        "charges",
        [charge("V1", 1), charge("V1", 2, code="36415", amount="15.00")],
    )
    assert cli("import", "charges", tmp_path / "c1.csv").exit_code == 0
    f = write(
        tmp_path / "c2.csv",
        "charges",
        [
            charge("V1", 1, dos="2026-03-03"),
            charge("V1", 2, dos="2026-03-03", code="36415", amount="15.00"),
            charge("V1", 3, dos="2026-03-03", code="80053", amount="48.00"),
        ],
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 1
    assert "encounter 1 exists with different date of service" in r.stderr
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == [(2,)]
    r = cli("import", "charges", f, "--update")
    assert r.exit_code == 0, r.stderr
    assert q(db_path, "SELECT date_of_service FROM encounters") == [("2026-03-03",)]
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == [(3,)]
    # a billed line is never changed by an import
    conn = _open(db_path)
    conn.execute("UPDATE charge_lines SET status='billed' WHERE line_no=1")
    conn.commit()
    conn.close()
    f3 = write(tmp_path / "c3.csv", "charges", [charge("V1", 1, dos="2026-03-03", amount="150.00")])
    r = cli("import", "charges", f3, "--update")
    assert r.exit_code == 1 and "charge line 1 is billed; not changed" in r.stderr
    assert q(db_path, "SELECT charge_cents FROM charge_lines WHERE line_no=1") == [(14000,)]


def test_coverage_rules(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "cov.csv",
        "coverage",
        [
            {"MRN": "0404", "Payer Code": "KEY", "Member ID": "1", "Effective From": "2025-01-01"},
            {"MRN": "0001", "Payer Code": "NOPE", "Member ID": "1", "Effective From": "2025-01-01"},
            {"MRN": "0001", "Payer Code": "MCR", "Member ID": "", "Effective From": "2025-01-01"},
            {
                "MRN": "0001",
                "Payer Code": "MCR",
                "Member ID": "1EG4TE5MK73",
                "Relationship": "spouse",
                "Effective From": "2025-01-01",
            },
            {
                "MRN": "0001",
                "Payer Code": "MCR",
                "Member ID": "1EG4TE5MK73",
                "Effective From": "2025-01-01",
                "Effective To": "2024-01-01",
            },
            {
                "MRN": "0001",
                "Payer Code": "MCR",
                "Member ID": "1EG4TE5MK73",
                "Priority": "4th",
                "Effective From": "2025-01-01",
            },
        ],
    )
    r = cli("import", "coverage", f)
    assert r.exit_code == 2
    e = r.stderr
    assert "row 2, column 'MRN': no patient with this MRN (import patients first)" in e
    assert "row 3, column 'Payer Code': no payer with this code" in e
    assert "row 4, column 'Member ID': is required (the payer is not self-pay)" in e
    assert (
        "row 5, column 'Subscriber Last Name': is required when the relationship is not self" in e
    )
    assert "row 6, column 'Effective To': is before Effective From" in e
    assert "row 7, column 'Priority': must be one of" in e


def test_hostile_text_is_stored_as_text(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "p.csv",
        "patients",
        [
            patient("0200", last='=HYPERLINK("http://x")'),
            patient("0201", last="'=1+1"),
            patient("0202", last="@SUM(A1)"),
        ],
    )
    assert cli("import", "patients", f).exit_code == 0
    assert q(
        db_path, "SELECT last_name FROM patients WHERE mrn IN ('0200','0201','0202') ORDER BY mrn"
    ) == [('=HYPERLINK("http://x")',), ("=1+1",), ("@SUM(A1)",)]


def test_bom_and_cp1252_and_date_format(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "p.csv",
        "patients",
        [patient("0300", last="Mu\u00f1oz", dob="02/03/1980")],
        encoding="cp1252",
    )
    r = cli("import", "patients", f, "--date-format", "MM/DD/YYYY")
    assert r.exit_code == 2 and "--encoding cp1252" in r.stderr
    r = cli("import", "patients", f, "--date-format", "MM/DD/YYYY", "--encoding", "cp1252")
    assert r.exit_code == 0, r.stderr
    assert q(db_path, "SELECT last_name, dob FROM patients WHERE mrn='0300'") == [
        ("Mu\u00f1oz", "1980-02-03")
    ]
    g = write(tmp_path / "bom.csv", "patients", [patient("0301")], bom=True)
    assert cli("import", "patients", g).exit_code == 0


def test_map_file_maps_headers_and_date_formats(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "ehr.csv",
        ["Chart #", "Given", "Family", "Birth", "Gender", "Extra"],
        [
            {
                "Chart #": "0400",
                "Given": "Ida",
                "Family": "Wu",
                "Birth": "31/12/1970",
                "Gender": "female",
                "Extra": "x",
            }
        ],
    )
    m = tmp_path / "ehr.toml"
    m.write_text(
        '[columns]\nmrn = "Chart #"\nfirst_name = "Given"\nlast_name = "Family"\ndob = "Birth"\nsex = "Gender"\n'
        '[date_formats]\ndob = "DD/MM/YYYY"\n'
    )
    r = cli("import", "patients", f, "--map", m)
    assert r.exit_code == 0, r.stderr
    assert "Ignored columns: Extra" in r.stderr
    assert q(db_path, "SELECT first_name, dob, sex FROM patients WHERE mrn='0400'") == [
        ("Ida", "1970-12-31", "F")
    ]
    m.write_text('[columns]\nmrn = "Nope"\n')
    r = cli("import", "patients", f, "--map", m)
    assert (
        r.exit_code == 2 and "maps mrn to column 'Nope', which the file does not have" in r.stderr
    )
    m.write_text("[columns\n")
    assert "not valid TOML" in cli("import", "patients", f, "--map", m).stderr
    r = cli("import", "patients", f)
    assert (
        r.exit_code == 2
        and "missing required column(s): MRN, First Name, Last Name, DOB" in r.stderr
    )


def test_xlsx_import_and_excel_mangled_ids(base, cli, db_path, tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Coverage"
    ws.append(H["coverage"])
    ws.append(
        [
            "0001",
            "MCR",
            "1EG4TE5MK72",
            None,
            "self",
            None,
            None,
            None,
            "secondary",
            dt.datetime(2026, 1, 1),
            None,
            0,
        ]
    )
    ws.append(
        [
            "0002",
            "MCR",
            123456789012345,
            None,
            None,
            None,
            None,
            None,
            1,
            dt.datetime(2026, 1, 1),
            None,
            None,
        ]
    )
    ws.append(
        [1, "MCR", "X1", None, None, None, None, None, 1, dt.datetime(2026, 1, 1), None, None]
    )
    wb.save(tmp_path / "cov.xlsx")
    r = cli("import", "coverage", tmp_path / "cov.xlsx")
    assert r.exit_code == 2
    assert "cov.xlsx[Coverage], row 3, column 'Member ID': stored as a number in Excel" in r.stderr
    assert (
        "row 4, column 'MRN': no patient with this MRN" in r.stderr
    )  # 1 is not 0001: leading zeros are gone
    ws.delete_rows(3, 2)
    wb.save(tmp_path / "cov.xlsx")
    r = cli("import", "coverage", tmp_path / "cov.xlsx", "--sheet", "Coverage")
    assert r.exit_code == 0, r.stderr
    assert q(
        db_path,
        "SELECT member_id, priority, effective_from FROM coverages WHERE member_id='1EG4TE5MK72'",
    ) == [("1EG4TE5MK72", 2, "2026-01-01")]


def test_template_csv_stdout_and_xlsx_text_columns(cli, tmp_path):
    r = cli("import", "template", "charges", db=False)
    assert r.exit_code == 0 and r.stdout.strip() == ",".join(H["charges"])
    r = cli("import", "template", "patients", "-o", tmp_path / "p.xlsx", db=False)
    assert r.exit_code == 0
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "p.xlsx").active
    assert [c.value for c in ws[1]] == H["patients"]
    assert ws["A2"].number_format == "@"  # MRN as Text keeps leading zeros
    r = cli("import", "template", "widgets", db=False)
    assert r.exit_code == 2 and "unknown import kind" in r.stderr
    r = cli("import", "template", "payers", "-o", tmp_path / "p.csv", db=False)
    assert r.exit_code == 0 and (tmp_path / "p.csv").read_text().strip() == ",".join(H["payers"])


def test_template_round_trip_imports_as_header_only_error(cli, db, tmp_path):
    db.close()
    cli("import", "template", "patients", "-o", tmp_path / "t.csv", db=False)
    r = cli("import", "patients", tmp_path / "t.csv")
    assert r.exit_code == 2 and "only a header row, no data rows" in r.stderr


def test_template_headers_are_the_demo_files_headers():
    from billadmin.ingest.engine import template_columns

    for kind, headers in H.items():
        assert template_columns(kind) == headers


def test_help_lists_the_columns_of_each_kind(cli):
    for kind in H:
        r = cli("import", kind, "--help", db=False)
        assert r.exit_code == 0
        for header in H[kind]:
            assert header in r.stdout, (kind, header)
        assert "Example" in r.stdout


def test_no_progress_bar_when_stderr_is_not_a_terminal(base, cli, tmp_path):
    rows = [charge(f"E{i}", 1) for i in range(3000)]
    f = write(tmp_path / "c.csv", "charges", rows)
    r = cli("import", "charges", f)
    assert r.exit_code == 0 and "importing" not in r.stderr and "\r" not in r.stderr


def test_progress_callback_reaches_the_end(base, db_path, tmp_path):
    from billadmin import db as dbmod
    from billadmin.ingest.engine import run_import

    f = write(tmp_path / "c.csv", "charges", [charge(f"E{i}", 1) for i in range(5000)])
    seen = []
    conn = dbmod.connect(db_path)
    res = run_import(conn, "charges", f, progress=lambda done, total: seen.append((done, total)))
    assert res.inserted == 5000 and len(seen) >= 2
    assert seen[-1][0] == seen[-1][1] == f.stat().st_size


def test_unknown_profile_and_wrong_kind(base, cli, tmp_path):
    f = write(tmp_path / "c.csv", "charges", [charge("E1", 1)])
    assert "unknown profile" in cli("import", "charges", f, "--profile", "epic").stderr
    r = cli("import", "charges", f, "--profile", "synthea")
    assert r.exit_code == 2 and "SNOMED" in r.stderr

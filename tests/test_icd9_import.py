"""Legacy charge files: ICD-9-CM codes on dates of service before 2015-10-01 are imported as
ICD-9-CM; on later dates they are refused (file, row, column, exit 2, nothing written) with
their GEM candidates; the conversion worksheet."""

from __future__ import annotations

from codes_fixtures import codes_db_path, icd_template  # noqa: F401  (fixtures)
from test_import import NPI1, base, charge, q, write  # noqa: F401  (fixtures and helpers)


def _load_icd9(db_path):
    from billadmin import db as dbmod
    from billadmin.codesets import legacy

    conn = dbmod.connect(db_path)
    legacy.load(conn)
    conn.close()


def test_a_2014_visit_keeps_its_icd9_codes(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "legacy.csv",
        "charges",
        [charge("L1", 1, dos="2014-06-02", dx=("25000", "401.9"), amount="95.00")],
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 0, r.output
    assert q(
        db_path,
        "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id"
        " WHERE e.number = 'L1' ORDER BY d.seq",
    ) == [("250.00",), ("401.9",)]


def test_an_icd9_code_on_a_2026_visit_is_refused_with_candidates(base, cli, db_path, tmp_path):
    _load_icd9(db_path)
    f = write(
        tmp_path / "late.csv",
        "charges",
        [
            charge("N1", 1, dos="2026-03-02", dx=("E11.9",), ptr="1"),
            charge("N2", 1, dos="2026-03-02", dx=("I10", "250.00"), ptr="1,2"),
        ],
    )
    before = q(db_path, "SELECT COUNT(*) FROM charge_lines")
    r = cli("import", "charges", f)
    assert r.exit_code == 2, r.output
    assert "late.csv" in r.output and "row 3" in r.output and "'Dx2'" in r.output
    assert "an ICD-9-CM code on a date of service from 2015-10-01" in r.output
    # (this database has no ICD-10-CM release loaded, so the candidate is not confirmed)
    assert "GEM candidates: E11.9 (approximate, not valid on the DOS)" in r.output
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == before  # nothing written


def test_a_non_icd9_code_on_a_2014_visit_is_refused(base, cli, db_path, tmp_path):
    f = write(
        tmp_path / "legacy.csv",
        "charges",
        [charge("L2", 1, dos="2014-06-02", dx=("E11.9",), ptr="1")],
    )
    r = cli("import", "charges", f)
    assert r.exit_code == 2
    assert "row 2" in r.output and "not shaped like an ICD-9-CM code" in r.output


def _legacy_file(tmp_path):
    return write(
        tmp_path / "legacy.csv",
        "charges",
        [
            charge("L1", 1, dos="2014-06-02", dx=("250.00", "401.9")),
            charge("L2", 1, dos="2016-02-01", dx=("250.00", "401.9")),
            charge("L3", 1, dos="2016-03-01", dx=("I10", "250.00"), ptr="1,2"),
            charge("L4", 1, dos="2016-03-02", dx=("073.0",), ptr="1"),
        ],
    )


def test_worksheet_lists_each_code_its_candidates_then_applies_the_choices(
    codes_db_path, base, cli, db_path, tmp_path
):
    """On the ICD-10-CM template (the choices are checked against the April 2026 release)."""
    import csv

    _load_icd9(db_path)
    f = _legacy_file(tmp_path)
    ws = tmp_path / "worksheet.csv"
    r = cli("codes", "worksheet", f, "-f", "csv", "-o", ws)
    assert r.exit_code == 0, r.output
    rows = {x["icd9cm"]: x for x in csv.DictReader(open(ws))}
    assert set(rows) == {"250.00", "401.9", "073.0"}
    # 250.00: kept on the 2014 row, to convert on two 2016 rows; 401.9 once each
    assert (rows["250.00"]["rows_kept"], rows["250.00"]["rows_to_convert"]) == ("1", "2")
    assert (rows["401.9"]["rows_kept"], rows["401.9"]["rows_to_convert"]) == ("1", "1")
    assert rows["250.00"]["candidates"] == "E11.9 [10000]"
    assert rows["073.0"]["candidates"] == "A70 [10111]; J17 [10112]"
    # a worksheet without every choice is refused, naming the charge file's row and column
    out = tmp_path / "converted.csv"
    r = cli("codes", "worksheet", f, "--apply", ws, "-o", out)
    assert r.exit_code == 2 and not out.exists()
    assert "legacy.csv, row 3, column 'Dx1': ICD-9-CM 250.00" in r.output
    # the coder's choices: a single code, and a combination (A70 + J17)
    rows["250.00"]["icd10cm"] = "E11.9"
    rows["401.9"]["icd10cm"] = "I10"
    rows["073.0"]["icd10cm"] = "A70 J17"
    with open(ws, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows["250.00"]))
        w.writeheader()
        w.writerows(rows.values())
    r = cli("codes", "worksheet", f, "--apply", ws, "-o", out)
    assert r.exit_code == 0, r.output
    assert "4 diagnosis cell(s) converted" in r.stderr
    conv = list(csv.DictReader(open(out)))
    assert [(x["Dx1"], x["Dx2"]) for x in conv] == [
        ("250.00", "401.9"),  # 2014: kept as ICD-9-CM
        ("E11.9", "I10"),
        ("I10", "E11.9"),
        ("A70", "J17"),
    ]
    r = cli("import", "charges", out)
    assert r.exit_code == 0, r.output
    assert q(
        db_path,
        "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id"
        " WHERE e.number = 'L4' ORDER BY d.seq",
    ) == [("A70",), ("J17",)]


def test_worksheet_refuses_a_choice_not_valid_on_the_dos(base, cli, db_path, tmp_path):
    _load_icd9(db_path)
    f = write(
        tmp_path / "legacy.csv", "charges", [charge("L2", 1, dos="2016-02-01", dx=("250.00",))]
    )
    ws = write(tmp_path / "ws.csv", ["icd9cm", "icd10cm"], [{"icd9cm": "250.00", "icd10cm": "E11"}])
    r = cli("codes", "worksheet", f, "--apply", ws, "-o", tmp_path / "out.csv")
    assert r.exit_code == 2
    assert "row 2, column 'Dx1': chosen E11 is not an ICD-10-CM code of the release" in r.output


def test_line_diagnoses_follow_the_same_date_rules(base, cli, db_path, tmp_path):
    """--line-diagnoses: a line's own ICD-9-CM codes before 2015-10-01 are kept as ICD-9-CM; on a
    later date they are refused with their GEM candidates; nothing is written."""
    from test_import import H

    _load_icd9(db_path)
    headers = [h for h in H["charges"] if h != "Pointers"]
    old = write(
        tmp_path / "old-lines.csv",
        headers,
        [
            charge("L1", 1, dos="2014-06-02", dx=("25000",), ptr=""),
            charge("L1", 2, dos="2014-06-02", dx=("401.9", "250.00"), ptr="", code="36415"),
        ],
    )
    r = cli("import", "charges", old, "--line-diagnoses")
    assert r.exit_code == 0, r.output
    assert q(
        db_path,
        "SELECT d.code FROM encounter_diagnoses d JOIN encounters e ON e.id = d.encounter_id"
        " WHERE e.number = 'L1' ORDER BY d.seq",
    ) == [("250.00",), ("401.9",)]
    assert q(
        db_path,
        "SELECT l.line_no, l.dx_pointers FROM charge_lines l JOIN encounters e"
        " ON e.id = l.encounter_id WHERE e.number = 'L1' ORDER BY l.line_no",
    ) == [(1, "1"), (2, "2,1")]
    before = q(db_path, "SELECT COUNT(*) FROM charge_lines")
    late = write(
        tmp_path / "late-lines.csv",
        headers,
        [
            charge("N1", 1, dos="2026-03-02", dx=("I10",), ptr=""),
            charge("N1", 2, dos="2026-03-02", dx=("I10", "250.00"), ptr="", code="36415"),
            charge("L2", 1, dos="2014-06-03", dx=("E11.9",), ptr=""),
        ],
    )
    r = cli("import", "charges", late, "--line-diagnoses")
    assert r.exit_code == 2, r.output
    assert "late-lines.csv" in r.output
    assert "row 3, column 'Dx2': an ICD-9-CM code on a date of service from 2015-10-01" in r.output
    assert "GEM candidates: E11.9" in r.output
    assert "row 4, column 'Dx1': not shaped like an ICD-9-CM code" in r.output
    assert q(db_path, "SELECT COUNT(*) FROM charge_lines") == before  # nothing written

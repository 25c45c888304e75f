"""ICD-10-PCS from CMS's order file (fixed width: order number 1-5, code 7-13, header flag 15,
short description 17-76, long description 78-): loaded with its version and window, looked up
by `codes lookup`, a later release closing the rows it deletes or changes, bad records refused
with file, row and columns (exit 2, nothing written)."""

from __future__ import annotations

import json

from billadmin.codesets import pcs


def _record(n: int, code: str, flag: int, short: str, long: str) -> str:
    return f"{n:05d} {code:<7} {flag} {short:<60} {long}"


def _order_file(path, records) -> str:
    path.write_text("\n".join(_record(i, *r) for i, r in enumerate(records, 1)) + "\n")
    return str(path)


FY2027 = [
    ("0DB", 0, "Gastrointestinal System, Excision", "Gastrointestinal System, Excision"),
    (
        "0DB68ZX",
        1,
        "Excision of Stomach, Endo, Diagn",
        "Excision of Stomach, Via Natural or Artificial Opening Endoscopic, Diagnostic",
    ),
    # 0DBN8ZX and 0DBN8ZZ dropped; 0DJ08ZZ's long description reworded; 0DTJ0ZZ added
    ("0DJ", 0, "Gastrointestinal System, Inspection", "Gastrointestinal System, Inspection"),
    (
        "0DJ08ZZ",
        1,
        "Inspection of Up Intest Tract, Endo",
        "Inspection of Upper Intestinal Tract, Endoscopic (reworded for the test)",
    ),
    ("0DTJ0ZZ", 1, "Resection of Appendix, Open Approach", "Resection of Appendix, Open Approach"),
]


def _lookup(cli, *args) -> list[dict]:
    res = cli("codes", "lookup", *args, "--format", "json")
    assert res.exit_code in (0, 1), res.output
    return [r for r in json.loads(res.stdout) if r["system"] == "icd10pcs" or not r["found"]]


def _load_sample(cli):
    res = cli(
        "codes",
        "load",
        "icd10pcs",
        pcs.SAMPLE,
        "--version",
        "CMS FY2026 (excerpt)",
        "--effective",
        "2025-10-01",
    )
    assert res.exit_code == 0, res.output
    return res


def test_sample_loads_and_lookup_finds_a_code(cli, db):
    res = _load_sample(cli)
    assert "Loaded ICD-10-PCS 'CMS FY2026 (excerpt)' effective 2025-10-01: 17 rows" in res.stderr
    assert "public domain" in res.stderr
    (row,) = _lookup(cli, "0DJ08ZZ")
    assert row["found"] and row["billable"] and row["version"] == "CMS FY2026 (excerpt)"
    assert row["description"] == (
        "Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic"
    )
    (hdr,) = _lookup(cli, "0DB")
    assert hdr["found"] and hdr["billable"] is False and "header" in hdr["note"]
    assert db.execute(
        "SELECT label, effective_from, effective_to, license, row_count FROM pcs_versions"
    ).fetchall() == [
        ("CMS FY2026 (excerpt)", "2025-10-01", "2026-09-30", pcs.LICENSE, 17),
    ]
    assert db.execute(
        "SELECT COUNT(*), SUM(billable) FROM pcs_codes WHERE effective_to IS NULL"
    ).fetchone() == (17, 10)  # 7 table headers, 10 codes
    assert db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'codes load'").fetchone() == (
        1,
    )
    versions = json.loads(cli("codes", "versions", "--format", "json").stdout)
    assert ("icd10pcs", "CMS FY2026 (excerpt)") in [
        (v["code_system"], v["label"]) for v in versions
    ]


def test_next_release_closes_deleted_and_changed_rows(cli, db, tmp_path):
    _load_sample(cli)
    f = _order_file(tmp_path / "icd10pcs_order_2027.txt", FY2027)
    res = cli("codes", "load", "icd10pcs", f, "--format", "json")
    assert res.exit_code == 0, res.output
    # the file name gives the release: FY2027, in force from 2026-10-01
    assert "Loaded ICD-10-PCS 'CMS FY2027' effective 2026-10-01: 5 rows" in res.stderr
    changes = {(c["change"], c["code"], c["field"]) for c in json.loads(res.stdout)}
    assert ("added", "0DTJ0ZZ", "") in changes
    assert ("changed", "0DJ08ZZ", "description") in changes
    assert ("deleted", "0DBN8ZX", "") in changes and ("deleted", "0DBN8ZZ", "") in changes
    # 17 rows in the excerpt, 4 of them kept (0DB, 0DB68ZX, 0DJ, 0DJ08ZZ)
    assert len([c for c in changes if c[0] == "deleted"]) == 17 - 4
    assert db.execute("SELECT label, effective_to FROM pcs_versions ORDER BY id").fetchall() == [
        ("CMS FY2026 (excerpt)", "2026-09-30"),
        ("CMS FY2027", "2027-09-30"),
    ]
    # a deleted code: valid through the day before, not after
    (before,) = _lookup(cli, "0DBN8ZX", "--date", "2026-09-30")
    assert before["found"] and before["valid_to"] == "2026-09-30"
    (after,) = _lookup(cli, "0DBN8ZX", "--date", "2026-10-01")
    assert after["note"] == "exists, but not valid on 2026-10-01"
    # a changed code: each date of service sees the release then in force
    (old,) = _lookup(cli, "0DJ08ZZ", "--date", "2026-09-30")
    (new,) = _lookup(cli, "0DJ08ZZ", "--date", "2026-10-01")
    assert old["description"].endswith("Via Natural or Artificial Opening Endoscopic")
    assert new["description"].endswith("(reworded for the test)")
    assert new["valid_from"] == "2026-10-01" and new["version"] == "CMS FY2027"
    assert pcs.valid_on(db, "0DTJ0ZZ", "2026-10-01") is True
    assert pcs.valid_on(db, "0DTJ0ZZ", "2026-09-30") is False
    assert pcs.valid_on(db, "0DB", "2026-10-01") is False  # a header is never valid on a claim


def test_bad_records_refused_naming_row_and_columns(cli, db, tmp_path):
    f = tmp_path / "icd10pcs_order_2026.txt"
    lines = [
        _record(1, "0DJ08ZZ", 1, "Inspection", "Inspection of Upper Intestinal Tract"),
        _record(2, "0DJ08ZO", 1, "Bad letter", "The letter O is not an ICD-10-PCS character"),
        _record(3, "0DB68ZX", 1, "Excision", "Excision").replace(" 1 ", " 7 ", 1),
        _record(4, "0DBN8ZX", 1, "No long description", ""),
        _record(5, "0DJ08ZZ", 1, "Again", "The same code twice"),
    ]
    f.write_text("\n".join(lines) + "\n")
    res = cli("codes", "load", "icd10pcs", f)
    assert res.exit_code == 2, res.output
    err = res.stderr
    assert "icd10pcs_order_2026.txt: 4 problems found; nothing was written" in err
    assert "row 2, column 'code (columns 7-13)': is not a 7-character ICD-10-PCS code" in err
    assert "row 3, column 'header flag (column 15)'" in err
    assert "row 4, column 'long description (column 78 on)': is empty" in err
    assert "row 5, column 'code (columns 7-13)': repeats row 1" in err
    assert db.execute("SELECT COUNT(*) FROM pcs_versions").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM pcs_codes").fetchone() == (0,)


def test_dry_run_writes_nothing_and_order_is_enforced(cli, db, tmp_path):
    res = cli(
        "codes",
        "load",
        "icd10pcs",
        pcs.SAMPLE,
        "--version",
        "x",
        "--effective",
        "2025-10-01",
        "--dry-run",
    )
    assert res.exit_code == 0 and "Would load ICD-10-PCS 'x'" in res.stderr
    assert db.execute("SELECT COUNT(*) FROM pcs_codes").fetchone() == (0,)
    _load_sample(cli)
    again = cli(
        "codes",
        "load",
        "icd10pcs",
        pcs.SAMPLE,
        "--version",
        "CMS FY2026 (excerpt)",
        "--effective",
        "2026-10-01",
    )
    assert again.exit_code == 2 and "is already loaded" in again.stderr
    older = _order_file(tmp_path / "icd10pcs_order_2025.txt", FY2027)
    res = cli("codes", "load", "icd10pcs", older)
    assert res.exit_code == 2 and "must take effect after it" in res.stderr
    assert db.execute("SELECT COUNT(*) FROM pcs_versions").fetchone() == (1,)


def test_no_release_in_the_name_needs_version_and_effective(cli, db, tmp_path):
    f = _order_file(tmp_path / "procedures.txt", FY2027)
    res = cli("codes", "load", "icd10pcs", f)
    assert res.exit_code == 2 and "give --version LABEL" in res.stderr


def test_lookup_limited_to_icd10pcs(cli, db):
    _load_sample(cli)
    res = cli("codes", "lookup", "0DJ08ZZ", "--system", "icd10pcs", "--format", "json")
    assert res.exit_code == 0, res.output
    assert [(r["system"], r["found"]) for r in json.loads(res.stdout)] == [("icd10pcs", True)]
    res = cli("codes", "lookup", "0DJ08ZZ", "--system", "hcpcs", "--format", "json")
    assert all(not r["found"] for r in json.loads(res.stdout))

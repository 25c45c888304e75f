"""Medical necessity (issue 18): the lab NCD code list and MCD article loaders, the NCD-NECESSITY
and LCD-NECESSITY scrub rules with their GA/GZ/GX paths, and `codes necessity`.

Every policy here is hand-made in the documented layouts (not CMS's data): NCD 190.22 (thyroid
testing, 84443) covers E03.9 and E05.90 and lists R53.83 as not supporting; 190.15 (blood
counts, 85025) publishes only its negative list (Z01.89); Z00.00 is on the list never covered
for any lab NCD; article A99001 of contractor 12502 covers 82306 for E55.9 only.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from codes_fixtures import add_encounter, add_patient, setup_parties

from billadmin import scrub
from billadmin.codesets import necessity

HEADER = ["NCD", "Title", "List", "Code", "Description"]
ROWS = [
    ["190.22", "Thyroid Testing", "HCPCS", "84443", "Thyroid stimulating hormone (TSH)"],
    ["190.22", "Thyroid Testing", "Covered", "E03.9", "Hypothyroidism, unspecified"],
    ["190.22", "Thyroid Testing", "Covered", "E0590", "Thyrotoxicosis, unspecified"],
    ["190.22", "Thyroid Testing", "Does Not Support", "R53.83", "Other fatigue"],
    ["190.15", "Blood Counts", "HCPCS", "85025", "Complete blood count"],
    ["190.15", "Blood Counts", "Does Not Support", "Z01.89", "Other specified exam"],
    ["ALL", "", "Non-Covered", "Z00.00", "General adult exam"],
]
OCT = "2026-10-15"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_mcd(folder: Path, *, bad_code: bool = False) -> Path:
    folder.mkdir(exist_ok=True)
    write_csv(
        folder / "article.csv",
        ["article_id", "article_version", "title", "article_eff_date", "article_end_date"],
        [
            ["99001", "3", "Billing and Coding: Vitamin D Assay Testing", "2026-01-01", ""],
            ["99002", "1", "Billing and Coding: Vitamin D (other MAC)", "01/01/2026", ""],
        ],
    )
    write_csv(
        folder / "article_x_hcpc_code.csv",
        ["article_id", "article_version", "hcpc_code_id", "hcpc_code_group", "long_description"],
        [["99001", "3", "82306", "1", "Vitamin d; 25 hydroxy"], ["99002", "1", "82306", "1", ""]],
    )
    write_csv(
        folder / "article_x_icd10_covered.csv",
        ["article_id", "article_version", "icd10_code_id", "icd10_covered_group", "description"],
        [
            ["99001", "3", "XYZ" if bad_code else "E55.9", "1", "Vitamin D deficiency"],
            ["99002", "1", "R53.83", "1", "Other fatigue"],
        ],
    )
    write_csv(
        folder / "article_x_contractor.csv",
        [
            "article_id",
            "article_version",
            "contractor_id",
            "contractor_type_id",
            "contractor_version",
        ],
        [["99001", "3", "301", "1", "1"], ["99002", "1", "302", "1", "1"]],
    )
    write_csv(
        folder / "contractor.csv",
        [
            "contractor_id",
            "contractor_type_id",
            "contractor_version",
            "contractor_number",
            "contractor_bus_name",
        ],
        [["301", "1", "1", "12502", "Demo MAC A"], ["302", "1", "1", "15202", "Demo MAC B"]],
    )
    return folder


@pytest.fixture
def ncd_file(tmp_path) -> Path:
    return write_csv(tmp_path / "lab-ncd-2026-10.csv", HEADER, ROWS)


@pytest.fixture
def mdb(db, cli, ncd_file):
    """Medicare (MCR) and a commercial payer (KEY); the lab NCD list loaded for October 2026."""
    setup_parties(db)
    r = cli("codes", "load", "lab-ncd", ncd_file)
    assert r.exit_code == 0, r.output
    return db


def _medicare(db) -> int:
    return add_patient(
        db, coverage={"payer": "MCR", "member_id": "1EG4TE5MK72", "from": "2020-01-01"}
    )


def _found(db, eid, rules=("NCD-NECESSITY", "LCD-NECESSITY")):
    import datetime as dt

    return [
        (f.rule, f.severity, f.line, f.message)
        for f in scrub.check(db, as_of=dt.date(2026, 11, 1), rules=list(rules))
        if f.encounter_id == eid
    ]


# ---------------------------------------------------------------- the lab NCD loader


def test_lab_ncd_load_records_version_window_and_lists(db, cli, ncd_file):
    r = cli("codes", "load", "lab-ncd", ncd_file)
    assert r.exit_code == 0, r.output
    assert "Loaded Lab NCD code lists 'Lab NCD 2026-10' effective 2026-10-01: 7 rows" in r.stderr
    v = db.execute(
        "SELECT kind, effective_from, effective_to, source, sha256 IS NOT NULL FROM necessity_versions"
    ).fetchall()
    assert v == [("lab-ncd", "2026-10-01", None, "lab-ncd-2026-10.csv", 1)]
    # E0590 typed without its dot is stored as the code set spells it
    got = {
        tuple(r)
        for r in db.execute("SELECT policy, list, code FROM necessity_codes WHERE list = 'covered'")
    }
    assert got == {("190.22", "covered", "E03.9"), ("190.22", "covered", "E05.90")}
    assert db.execute(
        "SELECT title FROM necessity_policies WHERE policy = '190.22'"
    ).fetchone() == ("Thyroid Testing",)
    audit = db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'codes load' AND entity = 'necessity_versions'"
    ).fetchone()[0]
    assert audit == 1


@pytest.mark.parametrize(
    "row, col, reason",
    [
        (["190.99", "", "Covered", "E03.9", ""], "NCD", "is not a lab NCD 190.12-190.34 or ALL"),
        (["190.22", "", "Maybe", "E03.9", ""], "List", "is not HCPCS, Covered"),
        (["190.22", "", "Covered", "3E0", ""], "Code", "is not an ICD-10-CM code"),
        (["190.22", "", "HCPCS", "E03.9", ""], "Code", "is not a CPT/HCPCS code"),
        (["ALL", "", "Covered", "E03.9", ""], "List", "ALL holds only the non-covered list"),
        (["190.22", "", "Covered", "E03.9", ""], "Code", "repeats row 3"),
        (
            ["190.22", "", "Does Not Support", "E03.9", ""],
            "Code",
            "also on the covered list (row 3)",
        ),
    ],
)
def test_a_bad_row_is_refused_with_file_row_and_column(db, cli, tmp_path, row, col, reason):
    f = write_csv(tmp_path / "lab-ncd-2026-10.csv", HEADER, ROWS + [row])
    r = cli("codes", "load", "lab-ncd", f)
    assert r.exit_code == 2, r.output
    assert "lab-ncd-2026-10.csv, row 9" in r.stderr, r.stderr
    assert f"column '{col}'" in r.stderr and reason in r.stderr
    assert db.execute("SELECT count(*) FROM necessity_versions").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM necessity_codes").fetchone()[0] == 0


def test_an_ncd_without_hcpcs_codes_is_refused(db, cli, tmp_path):
    f = write_csv(
        tmp_path / "lab-ncd-2026-10.csv", HEADER, [["190.23", "", "Covered", "E78.5", ""]]
    )
    r = cli("codes", "load", "lab-ncd", f)
    assert r.exit_code == 2 and "NCD 190.23 lists no HCPCS code" in r.stderr


def test_a_new_quarter_reports_changes_and_keeps_the_old_window(db, cli, ncd_file, tmp_path):
    assert cli("codes", "load", "lab-ncd", ncd_file).exit_code == 0
    new_rows = [r for r in ROWS if r[3] != "E05.90" and r[3] != "E0590"] + [
        ["190.22", "Thyroid Testing", "Covered", "E89.0", "Postprocedural hypothyroidism"]
    ]
    f2 = write_csv(tmp_path / "lab-ncd-2027-01.csv", HEADER, new_rows)
    r = cli("codes", "load", "lab-ncd", f2, "--dry-run", "-f", "csv")
    assert r.exit_code == 0, r.output
    assert "added,E89.0,NCD 190.22 covered diagnoses" in r.stdout
    assert "deleted,E05.90,NCD 190.22 covered diagnoses" in r.stdout
    assert "Would load" in r.stderr and "added 1, deleted 1" in r.stderr
    assert db.execute("SELECT count(*) FROM necessity_versions").fetchone()[0] == 1
    assert cli("codes", "load", "lab-ncd", f2).exit_code == 0
    assert db.execute(
        "SELECT label, effective_from, effective_to FROM necessity_versions ORDER BY id"
    ).fetchall() == [
        ("Lab NCD 2026-10", "2026-10-01", "2026-12-31"),
        ("Lab NCD 2027-01", "2027-01-01", None),
    ]
    idx = necessity.PolicyIndex(db)
    assert [v.supported for v in idx.assess("84443", ["E05.90"], "2026-12-31")] == [True]
    assert [v.supported for v in idx.assess("84443", ["E05.90"], "2027-01-02")] == [False]
    assert idx.assess("84443", ["E05.90"], "2026-09-30") == []  # before any list: no limit known
    # the same file again, or an older quarter: refused, nothing written
    r = cli("codes", "load", "lab-ncd", f2)
    assert r.exit_code == 2 and "already loaded" in r.stderr
    r = cli("codes", "load", "lab-ncd", ncd_file, "--version", "again")
    assert r.exit_code == 2 and "must take effect after it" in r.stderr


def test_a_name_without_its_quarter_needs_effective(db, cli, tmp_path):
    f = write_csv(tmp_path / "labcodes.csv", HEADER, ROWS)
    r = cli("codes", "load", "lab-ncd", f)
    assert r.exit_code == 2 and "--effective" in r.stderr
    assert cli("codes", "load", "lab-ncd", f, "--effective", "2026-07-01").exit_code == 0


# ---------------------------------------------------------------- the MCD articles loader


def test_mcd_articles_need_the_contractor_when_several_are_in_the_download(db, cli, tmp_path):
    folder = write_mcd(tmp_path / "current_article_csv")
    r = cli("codes", "load", "mcd-articles", folder)
    assert r.exit_code == 2 and "2 contractors (12502, 15202)" in r.stderr
    assert db.execute("SELECT count(*) FROM necessity_versions").fetchone()[0] == 0
    r = cli(
        "codes",
        "load",
        "mcd-articles",
        folder,
        "--contractor",
        "12502",
        "--effective",
        "2026-10-01",
    )
    assert r.exit_code == 0, r.output
    assert db.execute(
        "SELECT policy, title, effective_from, contractor FROM necessity_policies"
    ).fetchall() == [
        (
            "A99001",
            "Billing and Coding: Vitamin D Assay Testing",
            "2026-01-01",
            "Demo MAC A (12502)",
        )
    ]
    assert {
        tuple(r) for r in db.execute("SELECT policy, list, code, grp FROM necessity_codes")
    } == {("A99001", "hcpcs", "82306", 1), ("A99001", "covered", "E55.9", 1)}


def test_a_bad_article_row_is_refused_with_file_row_and_column(db, cli, tmp_path):
    folder = write_mcd(tmp_path / "mcd", bad_code=True)
    r = cli("codes", "load", "mcd-articles", folder, "--contractor", "12502")
    assert r.exit_code == 2
    assert (
        "article_x_icd10_covered.csv, row 2, column 'icd10codeid': is not an ICD-10-CM code"
        in r.stderr
    )
    assert db.execute("SELECT count(*) FROM necessity_codes").fetchone()[0] == 0


# ---------------------------------------------------------------- the scrub rules


def test_an_unsupported_medicare_lab_line_is_held_and_names_the_policy(mdb):
    eid = add_encounter(
        mdb, _medicare(mdb), dx=("R53.83",), lines=(("84443", (), "1", 1, 4000),), dos=OCT
    )
    ((rule, sev, line, msg),) = _found(mdb, eid)
    assert (rule, sev, line) == ("NCD-NECESSITY", "error", 1)
    assert "84443 under NCD 190.22 (Thyroid Testing)" in msg
    assert "e.g. E03.9, E05.90" in msg and "add GA" in msg


def test_a_covered_diagnosis_passes_and_only_pointed_diagnoses_count(mdb):
    pid = _medicare(mdb)
    ok = add_encounter(
        mdb, pid, dx=("R53.83", "E03.9"), lines=(("84443", (), "1,2", 1, 4000),), dos=OCT
    )
    assert _found(mdb, ok) == []
    # E03.9 is on the encounter but the line points only to R53.83
    held = add_encounter(
        mdb, pid, dx=("E03.9", "R53.83"), lines=(("84443", (), "2", 1, 4000),), dos=OCT
    )
    assert [f[0] for f in _found(mdb, held)] == ["NCD-NECESSITY"]


@pytest.mark.parametrize(
    "mods, severity, words",
    [
        (("GA",), "warning", "GA: the ABN on file makes the patient liable"),
        (("GZ",), "warning", "provider is liable: it will be written off"),
        (("GX",), "error", "GX is for services Medicare excludes by statute"),
    ],
)
def test_the_abn_modifiers(mdb, mods, severity, words):
    eid = add_encounter(
        mdb, _medicare(mdb), dx=("R53.83",), lines=(("84443", mods, "1", 1, 4000),), dos=OCT
    )
    ((rule, sev, _line, msg),) = _found(mdb, eid)
    assert (rule, sev) == ("NCD-NECESSITY", severity) and words in msg


def test_a_never_covered_diagnosis_says_so_and_takes_gx(mdb):
    pid = _medicare(mdb)
    eid = add_encounter(mdb, pid, dx=("Z00.00",), lines=(("84443", (), "1", 1, 4000),), dos=OCT)
    ((_r, sev, _l, msg),) = _found(mdb, eid)
    assert sev == "error" and "Z00.00 is on NCD 190.22's list of diagnoses never covered" in msg
    assert "add GX with a voluntary notice" in msg
    gx = add_encounter(mdb, pid, dx=("Z00.00",), lines=(("84443", ("GX",), "1", 1, 4000),), dos=OCT)
    ((_r, sev, _l, msg),) = _found(mdb, gx)
    assert sev == "warning" and "GX: a voluntary notice was given" in msg


def test_a_negative_list_ncd_accepts_any_other_diagnosis(mdb):
    pid = _medicare(mdb)
    held = add_encounter(mdb, pid, dx=("Z01.89",), lines=(("85025", (), "1", 1, 2500),), dos=OCT)
    ((_r, sev, _l, msg),) = _found(mdb, held)
    assert sev == "error" and "NCD 190.15 (Blood Counts)" in msg and "negative lists" in msg
    ok = add_encounter(mdb, pid, dx=("R53.83",), lines=(("85025", (), "1", 1, 2500),), dos=OCT)
    assert _found(mdb, ok) == []


def test_not_for_other_payers_nor_before_the_list_takes_effect(mdb):
    commercial = add_patient(mdb)  # Keystone, a commercial plan (Medicare Advantage is one too)
    eid = add_encounter(
        mdb, commercial, dx=("R53.83",), lines=(("84443", (), "1", 1, 4000),), dos=OCT
    )
    assert _found(mdb, eid) == []
    early = add_encounter(
        mdb, _medicare(mdb), dx=("R53.83",), lines=(("84443", (), "1", 1, 4000),), dos="2026-09-30"
    )
    assert _found(mdb, early) == []


def test_lcd_article_rule(mdb, cli, tmp_path):
    folder = write_mcd(tmp_path / "mcd")
    r = cli(
        "codes",
        "load",
        "mcd-articles",
        folder,
        "--contractor",
        "12502",
        "--effective",
        "2026-10-01",
    )
    assert r.exit_code == 0, r.output
    pid = _medicare(mdb)
    eid = add_encounter(mdb, pid, dx=("R53.83",), lines=(("82306", (), "1", 1, 4000),), dos=OCT)
    ((rule, sev, _l, msg),) = _found(mdb, eid)
    assert (rule, sev) == ("LCD-NECESSITY", "error")
    assert "article A99001 (Billing and Coding: Vitamin D Assay Testing)" in msg and "E55.9" in msg
    ok = add_encounter(mdb, pid, dx=("E55.9",), lines=(("82306", (), "1", 1, 4000),), dos=OCT)
    assert _found(mdb, ok) == []
    # rule list and sources
    r = cli("codes", "rules", "-f", "csv")
    assert "NCD-NECESSITY,error" in r.stdout and "LCD-NECESSITY,error" in r.stdout


def test_a_new_list_reports_the_unbilled_lines_it_holds(mdb, cli, tmp_path):
    pid = _medicare(mdb)
    add_encounter(
        mdb,
        pid,
        dx=("E05.90",),
        lines=(("84443", (), "1", 1, 4000),),
        dos="2027-01-05",
        number="E-JAN",
    )
    rows = [r for r in ROWS if r[3] not in ("E0590",)]
    f2 = write_csv(tmp_path / "lab-ncd-2027-01.csv", HEADER, rows)
    r = cli("codes", "load", "lab-ncd", f2, "--dry-run", "-f", "csv")
    assert r.exit_code == 0, r.output
    assert "E-JAN,1," in r.stdout and "1 unbilled charge line(s) newly held" in r.stderr


# ---------------------------------------------------------------- codes necessity


def test_codes_necessity_answers_the_clerks_question(mdb, cli):
    r = cli("codes", "necessity", "84443", "--dx", "R53.83", "--date", OCT, "-f", "csv")
    assert r.exit_code == 1, r.output
    assert 'NCD 190.22,Thyroid Testing,False,,"E03.9, E05.90"' in r.stdout
    assert "not supported under NCD 190.22" in r.stderr
    r = cli(
        "codes", "necessity", "84443", "--dx", "r5383", "--dx", "E039", "--date", OCT, "-f", "json"
    )
    assert r.exit_code == 0 and '"supported": true' in r.stdout
    r = cli("codes", "necessity", "99213", "--dx", "R53.83", "--date", OCT)
    assert r.exit_code == 0 and "No loaded policy on 2026-10-15 lists 99213" in r.stderr


def test_mcd_articles_from_the_zip_and_an_unknown_contractor(db, cli, tmp_path):
    import zipfile

    folder = write_mcd(tmp_path / "mcd")
    z = tmp_path / "current_article_csv.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"csv/{f.name}")
    r = cli("codes", "load", "mcd-articles", z, "--contractor", "99999")
    assert r.exit_code == 2 and "no article of contractor 99999" in r.stderr
    r = cli(
        "codes", "load", "mcd-articles", z, "--contractor", "15202", "--effective", "2025-06-01"
    )
    assert r.exit_code == 0, r.output
    assert "MCD articles 2025-06-01" in r.stderr
    assert db.execute("SELECT policy, effective_from FROM necessity_policies").fetchall() == [
        ("A99002", "2026-01-01")  # MM/DD/YYYY read as a date
    ]
    idx = necessity.PolicyIndex(db)
    (v,) = idx.assess("82306", ["R53.83"], OCT)
    assert v.supported and v.contractor == "Demo MAC B (15202)"
    # the snapshot is in force from 2025-06-01, the article itself from 2026-01-01
    assert idx.assess("82306", ["R53.83"], "2025-12-31") == []
    assert len(idx.assess("82306", ["R53.83"], "2026-01-01")) == 1

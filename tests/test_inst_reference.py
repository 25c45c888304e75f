"""The institutional rules' reference files (codesets/instref.py): CMS's POA-exempt list
(`codes load poa-exempt`) and what INST-POA does with it; the hospital outpatient NCCI PTP edits
and MUEs (`codes load ncci-hospital` / `mue-hospital`) that INST-NCCI / INST-MUE read for
13x/14x/85x claims while the 837P scrubber keeps the practitioner ones. Every file is built
here in CMS's layout; the expected findings are written by hand from the rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import codes_fixtures as cfx
import institutional_fixtures as ifx
import pytest

from billadmin import db as dbmod
from billadmin import scrub
from billadmin.codesets import instref, loader
from billadmin.errors import BadInput
from billadmin.institutional import model
from billadmin.scrub.institutional import check_claims

AS_OF = dt.date(2026, 6, 30)
POA_HEADER = "Order26\tPOAexemptCode\tDescription"


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
    db.ids = ids  # type: ignore[attr-defined]
    return db


def _add(db, kind: str, key: str, patient: str = "a", **over):
    with dbmod.write(db):
        getattr(ifx, kind)(db, db.ids[patient], key, db.ids["facility"], **over)


def _found(db, *keys, rules) -> list[tuple]:
    claims = model.list_claims(db, keys=list(keys))
    return [
        (f.rule, f.severity, f.encounter, f.line, f.message)
        for f in check_claims(db, claims, AS_OF, rules=rules)
    ]


def poa_file(path: Path, codes, header: str = POA_HEADER) -> Path:
    """CMS's POA-exempt list as the zip ships it: tab delimited, order number, code with its dot,
    long title (quoted when it holds a comma, as CMS's file does)."""
    lines = [header]
    for n, code in enumerate(codes, start=1):
        lines.append(f'{n:05d}\t{code}\t"Title of {code}, our own words"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ================================================================== the POA-exempt list


def test_load_poa_exempt_list_by_fiscal_year(cli, db, tmp_path):
    f = poa_file(tmp_path / "POAexemptCodesFY26.txt", ["Z79.4", "Q23.81", "V91.09XA"])
    r = cli("codes", "load", "poa-exempt", f)
    assert r.exit_code == 0, r.output
    assert "Loaded POA-exempt list 'CMS FY2026' effective 2025-10-01: 3 rows" in r.stderr
    (v,) = instref.versions(db, "poa-exempt")
    # FY2026: discharges from 2025-10-01 through 2026-09-30
    assert (v["label"], v["effective_from"], v["effective_to"]) == (
        "CMS FY2026",
        "2025-10-01",
        "2026-09-30",
    )
    codes = sorted(r[0] for r in db.execute("SELECT code FROM poa_exempt"))
    assert codes == ["Q2381", "V9109XA", "Z794"]
    assert ("poa-exempt", "CMS FY2026") in [
        (x["code_system"], x["label"])
        for x in json.loads(cli("codes", "versions", "-f", "json").stdout)
    ]
    # FY2027's list: one code left the list, one joined; FY2026 ends the day before
    g = poa_file(tmp_path / "POAexemptCodesFY27.txt", ["Z79.4", "Q23.81", "Z15.1"])
    r = cli("codes", "load", "poa-exempt", g, "-f", "json")
    assert r.exit_code == 0, r.output
    changes = {(c["change"], c["code"]) for c in json.loads(r.stdout)}
    assert changes == {("added", "Z151"), ("deleted", "V9109XA")}
    got = [(v["label"], v["effective_from"], v["effective_to"]) for v in instref.versions(db)]
    assert got == [
        ("CMS FY2026", "2025-10-01", "2026-09-30"),
        ("CMS FY2027", "2026-10-01", "2027-09-30"),
    ]


def test_poa_release_from_name_or_header():
    assert instref.poa_release("POAexemptCodes2021.txt") == ("FY2021", "2020-10-01")
    assert instref.poa_release("POAexemptCodesApr23.xlsx") == ("April 2023 update", "2023-04-01")
    assert instref.poa_release("OrdApr23") == ("April 2023 update", "2023-04-01")
    assert instref.poa_release("Order25") == ("FY2025", "2024-10-01")
    assert instref.poa_release("exempt.txt") == (None, None)


def test_poa_exempt_bad_files_write_nothing(cli, db, tmp_path):
    wrong = poa_file(tmp_path / "POAexemptCodesFY26.txt", ["Z79.4"], header="Code\tDescription")
    r = cli("codes", "load", "poa-exempt", wrong)
    assert r.exit_code == 2
    assert "POAexemptCodesFY26.txt: row 1: the header must be 'OrderNN, POAexemptCode" in r.stderr
    bad = poa_file(tmp_path / "POAexemptCodesFY26.txt", ["Z79.4", "79.4", "Z79.4"])
    r = cli("codes", "load", "poa-exempt", bad)
    assert r.exit_code == 2
    assert (
        "POAexemptCodesFY26.txt, row 3, column 'POAexemptCode': is not an ICD-10-CM code"
        in r.stderr
    )
    assert "row 4, column 'POAexemptCode': repeats row 2" in r.stderr
    delete = poa_file(tmp_path / "POAexemptDeleteCodesFY26.txt", ["Z79.4"])
    r = cli("codes", "load", "poa-exempt", delete)
    assert r.exit_code == 2 and "deleted from the previous POA-exempt list" in r.stderr
    nameless = poa_file(tmp_path / "exempt.txt", ["Z79.4"], header="Ord\tPOAexemptCode\tDesc")
    r = cli("codes", "load", "poa-exempt", nameless)
    assert r.exit_code == 2 and "give --version LABEL and --effective DATE" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM inst_ref_versions").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM poa_exempt").fetchone()[0] == 0
    r = cli(
        "codes", "load", "poa-exempt", nameless, "--version", "mine", "--effective", "2025-10-01"
    )
    assert r.exit_code == 0, r.output


def test_poa_rule_with_and_without_the_list(hosp, tmp_path):
    dx = [
        ("ABK", "K922", "Y"),  # not exempt, reported: right
        ("ABF", "Z794", ""),  # exempt, blank: right
        ("ABF", "Q2381", "Y"),  # exempt, reported: held
        ("ABF", "D62", ""),  # not exempt, blank: held
        ("ABJ", "K922", ""),  # the admitting diagnosis takes none (INST-POA-PLACE's)
    ]
    _add(hosp, "inpatient", "P1", diagnoses=dx)  # discharged 2026-06-04
    late = {"statement_from": "2026-10-01", "statement_through": "2026-10-04"}
    late |= {"admission_date": "2026-10-01", "procedures": [], "diagnoses": dx}
    _add(hosp, "inpatient", "P2", patient="b", **late)
    # no list loaded: each blank is a warning that names the missing list; Q23.81's Y unseen
    before = _found(hosp, "P1", rules=["INST-POA"])
    assert [(x[1], x[4].split(" has")[0]) for x in before] == [
        ("warning", "diagnosis 2 Z794"),
        ("warning", "diagnosis 4 D62"),
    ]
    assert "no POA-exempt list covering the discharge date is loaded" in before[0][4]
    loader.load(
        hosp, "poa-exempt", [poa_file(tmp_path / "POAexemptCodesFY26.txt", ["Z79.4", "Q23.81"])]
    )
    after = _found(hosp, "P1", "P2", rules=["INST-POA"])
    assert [(x[0], x[1], x[2]) for x in after] == [
        ("INST-POA", "error", "P1"),
        ("INST-POA", "error", "P1"),
        # P2 is discharged 2026-10-04, after FY2026's list: still warnings for its blanks
        ("INST-POA", "warning", "P2"),
        ("INST-POA", "warning", "P2"),
    ]
    assert after[0][4] == (
        "diagnosis 3 Q2381 is on the POA-exempt list (CMS FY2026): leave its"
        " present-on-admission indicator blank"
    )
    assert after[1][4] == (
        "diagnosis 4 D62 has no present-on-admission indicator and is not on the POA-exempt"
        " list (CMS FY2026): report Y, N, U or W"
    )
    claims = model.list_claims(hosp, keys=["P1"])
    f = check_claims(hosp, claims, AS_OF, rules=["INST-POA"])[0]
    assert f.source.endswith("POA-exempt list 'CMS FY2026'")


# ================================================================== hospital NCCI and MUE


def hospital_mue_file(path: Path, rows) -> Path:
    """CMS's outpatient hospital MUE CSV: the preamble, the header whose first cell holds a line
    break ("HCPCS/" newline "CPT Code"), the hospital value column, one row per code."""
    mai_text = {1: "1 Line Edit", 2: "2 Date of Service Edit: Policy"}
    lines = [
        '"CPT codes, descriptions and other data only are copyright 2025 American Medical'
        ' Association.",,,',
        '"HCPCS/\nCPT Code",Outpatient Hospital Services MUE Values,MUE Adjudication Indicator,'
        "MUE Rationale",
    ]
    lines += [f"{code},{value},{mai_text[mai]},Clinical Data" for code, value, mai in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ENDOSCOPY = [  # one claim's lines, all on 2026-06-10
    {"revenue_code": "0750", "hcpcs": "45380", "units": 1, "charge_cents": 185000},
    {"revenue_code": "0750", "hcpcs": "45378", "units": 1, "charge_cents": 120000},
    {"revenue_code": "0750", "hcpcs": "45385", "units": 1, "charge_cents": 190000},
    {"revenue_code": "0310", "hcpcs": "88305", "units": 2, "charge_cents": 42000},
]


def _practitioner_tables(db, tmp_path):
    # practitioner: 45378 is column 2 of 45380 (never together); 88305 at most 1 a line
    loader.load(
        db,
        "ncci-ptp",
        [cfx.ptp_file(tmp_path / "ccipra-v321r0-f1.txt", [("45380", "45378", "20260101", "*", 0)])],
    )
    f = cfx.mue_file(
        tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-04-01.csv", [("88305", 1, 1)]
    )
    loader.load(db, "mue", [f])


def test_hospital_edits_load_into_their_own_tables(cli, db, tmp_path):
    ptp = cfx.ptp_file(
        tmp_path / "ccioph-v321r0-f1.txt",
        [("45385", "45380", "20260101", "*", 0), ("45380", "45378", "20100101", "20151231", 0)],
    )
    r = cli("codes", "load", "ncci-hospital", ptp)
    assert r.exit_code == 0, r.output
    assert "Loaded NCCI PTP hospital outpatient edits 'PTP hospital v32.1r0'" in r.stderr
    assert "effective 2026-04-01: 2 rows" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM ncci_ptp_hospital").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM ncci_ptp").fetchone()[0] == 0
    mue = hospital_mue_file(
        tmp_path / "MCR_MUE_OutpatientHospitalServices_Eff_2026-04-01.csv",
        [("88305", 3, 1), ("45380", 1, 2)],
    )
    r = cli("codes", "load", "mue-hospital", mue)
    assert r.exit_code == 0, r.output
    assert "Loaded MUE outpatient hospital values 'MUE hospital effective 2026-04-01'" in r.stderr
    got = db.execute("SELECT code, mue_value, mai FROM mue_hospital ORDER BY code").fetchall()
    assert got == [("45380", 1, 2), ("88305", 3, 1)]
    assert db.execute("SELECT COUNT(*) FROM mue").fetchone()[0] == 0
    (pv,) = instref.versions(db, "ncci-hospital")
    assert (pv["effective_from"], pv["effective_to"]) == ("2026-04-01", "2026-06-30")


def test_a_file_of_the_other_setting_is_refused(cli, db, tmp_path):
    pra = cfx.ptp_file(tmp_path / "ccipra-v321r0-f1.txt", [("45380", "45378", "20260101", "*", 0)])
    r = cli("codes", "load", "ncci-hospital", pra)
    assert r.exit_code == 2 and "load it as ncci-ptp" in r.stderr
    oph = cfx.ptp_file(tmp_path / "ccioph-v321r0-f1.txt", [("45380", "45378", "20260101", "*", 0)])
    r = cli("codes", "load", "ncci-ptp", oph)
    assert r.exit_code == 2 and "load it as ncci-hospital" in r.stderr
    prac = cfx.mue_file(tmp_path / "m.csv", [("88305", 1, 1)])
    r = cli("codes", "load", "mue-hospital", prac, "--effective", "2026-04-01")
    assert r.exit_code == 2
    assert "m.csv: row 2: the value column is not 'Outpatient Hospital Services MUE" in r.stderr
    hosp_mue = hospital_mue_file(tmp_path / "h.csv", [("88305", 3, 1)])
    r = cli("codes", "load", "mue", hosp_mue, "--effective", "2026-04-01")
    assert r.exit_code == 2 and "load it as mue-hospital" in r.stderr
    bad = cfx.ptp_file(tmp_path / "ccioph-v321r0-f2.txt", [("45380", "4537", "20260101", "*", 0)])
    r = cli("codes", "load", "ncci-hospital", bad)
    assert r.exit_code == 2 and "row 6, column 'Column 2': is not a 5-character" in r.stderr
    assert (
        db.execute("SELECT COUNT(*) FROM code_versions WHERE code_system != 'icd10cm'").fetchone()[
            0
        ]
        == 0
    )
    assert db.execute("SELECT COUNT(*) FROM inst_ref_versions").fetchone()[0] == 0


def test_outpatient_claims_read_the_hospital_edits_once_loaded(hosp, tmp_path):
    _practitioner_tables(hosp, tmp_path)
    _add(hosp, "outpatient", "H1", lines=[dict(ln, line_date="2026-06-10") for ln in ENDOSCOPY])
    rules = ["INST-NCCI", "INST-MUE"]
    # the practitioner values: 45378 bundled into 45380 (line 2); 2 units of 88305 > 1 (line 4)
    got = _found(hosp, "H1", rules=rules)
    assert [(x[0], x[3]) for x in got] == [("INST-NCCI", 2), ("INST-MUE", 4)]
    claims = model.list_claims(hosp, keys=["H1"])
    f = check_claims(hosp, claims, AS_OF, rules=["INST-NCCI"])[0]
    assert f.source.endswith(
        "'PTP v32.1r0' (the practitioner file: the hospital outpatient one is not loaded)"
    )

    loader.load(
        hosp,
        "ncci-hospital",
        [cfx.ptp_file(tmp_path / "ccioph-v321r0-f1.txt", [("45385", "45380", "20260101", "*", 0)])],
    )
    # hospital PTP: 45380 is column 2 of 45385 (line 1); the MUE is still the practitioner one
    got = _found(hosp, "H1", rules=rules)
    assert [(x[0], x[3]) for x in got] == [("INST-NCCI", 1), ("INST-MUE", 4)]
    assert got[0][4].startswith(
        "45380 is column 2 of NCCI edit 45385/45380 with 45385 on line 3, same claim and day"
    )
    f = check_claims(hosp, claims, AS_OF, rules=["INST-NCCI"])[0]
    assert f.source.endswith("; NCCI PTP hospital 'PTP hospital v32.1r0'")

    mue = hospital_mue_file(
        tmp_path / "MCR_MUE_OutpatientHospitalServices_Eff_2026-04-01.csv", [("88305", 3, 1)]
    )
    loader.load(hosp, "mue-hospital", [mue])
    # the hospital MUE for 88305 is 3 a line: 2 units pass
    assert [(x[0], x[3]) for x in _found(hosp, "H1", rules=rules)] == [("INST-NCCI", 1)]

    # the 837P scrubber still reads the practitioner tables only
    from billadmin.scrub.engine import Ref

    ref = Ref(hosp, AS_OF)
    assert set(ref.ptp_for("45378")) == {"45380"} and ref.ptp_for("45380") == {}
    assert [r[2] for r in ref.mue_for("88305")] == [1]


def test_a_new_hospital_quarter_reports_the_unbilled_claims_it_holds(hosp, tmp_path):
    _add(hosp, "outpatient", "H2", lines=[dict(ln, line_date="2026-06-10") for ln in ENDOSCOPY])
    q1 = cfx.ptp_file(tmp_path / "ccioph-v321r0-f1.txt", [("45385", "45378", "20260101", "*", 1)])
    loader.load(hosp, "ncci-hospital", [q1])
    q2 = cfx.ptp_file(
        tmp_path / "ccioph-v322r0-f1.txt",
        [("45385", "45378", "20260101", "*", 1), ("45385", "45380", "20260101", "*", 0)],
    )
    rep = loader.load(hosp, "ncci-hospital", [q2], scrub=scrub.check, dry_run=True)
    assert rep.previous == "PTP hospital v32.1r0" and (
        rep.counts["added"],
        rep.counts["deleted"],
    ) == (1, 0)
    # 45378 was already held by the 45385/45378 edit (indicator 1, no modifier): only 45380 is new
    assert [(a["encounter"], a["line"], a["code"]) for a in rep.affected] == [("H2", 1, "45380")]
    assert rep.affected[0]["problem"].startswith("INST-NCCI: 45380 is column 2")
    assert len(instref.versions(hosp, "ncci-hospital")) == 1  # a dry run


def test_hospital_loads_check_their_order(db, tmp_path):
    f = cfx.ptp_file(tmp_path / "ccioph-v322r0-f1.txt", [("45385", "45380", "20260101", "*", 0)])
    loader.load(db, "ncci-hospital", [f])
    g = cfx.ptp_file(tmp_path / "ccioph-v321r0-f1.txt", [("45385", "45380", "20260101", "*", 0)])
    with pytest.raises(BadInput, match="a new release must take effect after it"):
        loader.load(db, "ncci-hospital", [g])


# ================================================================== I/OCE revenue codes


def ioce_file(
    path: Path, rows, header: str = "revenue_code,hcpcs_required,effective_from,effective_to"
) -> Path:
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def test_ioce_revenue_list_decides_for_the_codes_it_names(cli, hosp, tmp_path):
    lines = [
        {"revenue_code": "0750", "hcpcs": None, "units": 1, "charge_cents": 1},  # built-in: held
        {"revenue_code": "0278", "hcpcs": None, "units": 1, "charge_cents": 1},  # built-in: free
        {"revenue_code": "0310", "hcpcs": None, "units": 1, "charge_cents": 1},  # built-in: held
        {"revenue_code": "0761", "hcpcs": None, "units": 1, "charge_cents": 1},  # built-in: free
    ]
    _add(hosp, "outpatient", "R1", lines=[dict(ln, line_date="2026-06-10") for ln in lines])
    rules = ["INST-REV-HCPCS"]
    assert [x[3] for x in _found(hosp, "R1", rules=rules)] == [1, 3]
    f = ioce_file(
        tmp_path / "ioce-revenue-2026q2.csv",
        [
            ("0278", "Y", "2026-04-01", ""),  # implantables: required from April
            ("750", "0", "20260101", "20260331"),  # a spreadsheet dropped the zero: 0750
            ("0761", "1", "2026-01-01", "2026-05-31"),  # required, but not on 2026-06-10
        ],
    )
    r = cli("codes", "load", "ioce-revenue", f)
    assert r.exit_code == 0, r.output
    assert (
        "Loaded I/OCE revenue codes needing HCPCS 'I/OCE revenue codes ioce-revenue-2026q2'"
        in r.stderr
    )
    assert "effective 2026-01-01: 3 rows" in r.stderr
    # 0278 now held by the list; 0750's row ended 03-31 and 0761's 05-31: the families decide
    # (0750 held, 0761 free); 0310 is not in the list: the families (held)
    got = _found(hosp, "R1", rules=rules)
    assert [x[3] for x in got] == [1, 2, 3]
    claims = model.list_claims(hosp, keys=["R1"])
    sources = [x.source for x in check_claims(hosp, claims, AS_OF, rules=rules)]
    assert sources[1].endswith("; I/OCE revenue codes 'I/OCE revenue codes ioce-revenue-2026q2'")
    assert "I/OCE revenue codes '" not in sources[0] + sources[2]
    # the July list: 0310 not required (a made-up change, to see the report and the window)
    g = ioce_file(
        tmp_path / "q3.csv", [("0278", "1", "2026-04-01", ""), ("0310", "0", "2026-07-01", "")]
    )
    r = cli("codes", "load", "ioce-revenue", g, "--effective", "2026-07-01", "-f", "json")
    assert r.exit_code == 0, r.output
    assert [(c["change"], c["code"]) for c in json.loads(r.stdout)] == [("added", "0310")]
    assert [x[3] for x in _found(hosp, "R1", rules=rules)] == [1, 2, 3]  # June: the first list


def test_ioce_revenue_bad_files_write_nothing(cli, db, tmp_path):
    r = cli("codes", "load", "ioce-revenue", ioce_file(tmp_path / "a.csv", [], header="rev,req"))
    assert r.exit_code == 2
    assert "a.csv: row 1: the header must be revenue_code,hcpcs_required,effective_from" in r.stderr
    bad = ioce_file(
        tmp_path / "b.csv",
        [("0278", "maybe", "2026-04-01", ""), ("27", "1", "2026-04-01", ""), ("0310", "1", "", "")],
    )
    r = cli("codes", "load", "ioce-revenue", bad)
    assert r.exit_code == 2
    assert "b.csv, row 2, column 'hcpcs_required': must be 1/Y or 0/N" in r.stderr
    assert "b.csv, row 3, column 'revenue_code': is not a 4-digit revenue code" in r.stderr
    assert "b.csv, row 4, column 'effective_from': must be a date" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM inst_ref_versions").fetchone()[0] == 0


def test_codes_sets_shows_the_reference_files(cli, db, tmp_path):
    cli("codes", "load", "poa-exempt", poa_file(tmp_path / "POAexemptCodesFY26.txt", ["Z79.4"]))
    r = cli("codes", "sets", "--as-of", "2026-10-05", "-f", "json")
    row = next(x for x in json.loads(r.stdout) if x["code_set"] == "POA-exempt list")
    assert (row["version"], row["covers_today"]) == ("CMS FY2026", False)
    assert row["note"].startswith(
        "ended 2026-09-30: load the release in force from 2026-10-01"
        " (`billadmin codes load poa-exempt FILE`"
    )
    assert r.exit_code == 1


def test_an_april_list_ends_the_fiscal_years_and_each_discharge_reads_its_own(hosp, tmp_path):
    loader.load(hosp, "poa-exempt", [poa_file(tmp_path / "POAexemptCodesFY26.txt", ["D62"])])
    # the April 2026 update takes D62 off the list (a made-up change)
    loader.load(hosp, "poa-exempt", [poa_file(tmp_path / "POAexemptCodesApr26.txt", ["Z79.4"])])
    got = [(v["label"], v["effective_from"], v["effective_to"]) for v in instref.versions(hosp)]
    assert got == [
        ("CMS FY2026", "2025-10-01", "2026-03-31"),
        ("CMS April 2026 update", "2026-04-01", "2026-09-30"),
    ]
    dx = [("ABK", "K922", "Y"), ("ABF", "D62", "")]
    march = {"statement_from": "2026-03-10", "statement_through": "2026-03-12"}
    march |= {"admission_date": "2026-03-10", "procedures": [], "diagnoses": dx}
    _add(hosp, "inpatient", "M1", **march)
    _add(hosp, "inpatient", "J1", patient="b", diagnoses=dx)  # discharged 2026-06-04
    # March: D62 exempt under FY2026, its blank is right; June: not exempt under April's list
    got = _found(hosp, "M1", "J1", rules=["INST-POA"])
    assert [(x[2], x[1]) for x in got] == [("J1", "error")]
    assert "(CMS April 2026 update)" in got[0][4]

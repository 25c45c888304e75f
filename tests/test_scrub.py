"""The scrubber: every rule with a failing and a passing case, the check() interface others
call, and `billadmin codes check` (exit codes, filters, --file)."""

from __future__ import annotations

import datetime as dt
import json

import codes_fixtures as fx
import pytest
from codes_fixtures import AS_OF, DOS, cdb, codes_db_path, icd_template  # noqa: F401  (fixtures)

from billadmin.scrub import check


@pytest.fixture
def sdb(cdb):
    """The template database with a practice, a provider and three payers."""
    fx.setup_parties(cdb)
    return cdb


def findings(conn, eid, rule=None, **kw):
    out = [f for f in check(conn, encounter_ids=[eid], as_of=kw.pop("as_of", AS_OF), **kw)]
    return [f for f in out if rule is None or f.rule == rule]


def clean(conn, eid, **kw):
    return findings(conn, eid, **kw) == []


def enc(conn, dx=("E11.9",), lines=None, *, patient=None, **kw):
    pid = patient if patient is not None else fx.add_patient(conn)
    return fx.add_encounter(conn, pid, dx=dx, lines=lines or (("99213", (), "1", 1, 14000),), **kw)


# ------------------------------------------------------------------ the interface


def test_check_interface_and_a_clean_claim(sdb):
    good = enc(sdb)
    bad = enc(sdb, dx=("E11",))
    billed = enc(sdb, dx=("E11",), status="billed")
    out = check(sdb, as_of=AS_OF)
    assert {f.encounter_id for f in out} == {bad}  # billed lines are not scrubbed
    f = out[0]
    assert (f.rule, f.severity, f.line) == ("ICD-BILLABLE", "error", None)
    assert (
        f.encounter
        == sdb.execute("SELECT number FROM encounters WHERE id = ?", (bad,)).fetchone()[0]
    )
    assert "CDC April 2026 (bundled)" in f.source and "I.B.3" in f.source
    assert check(sdb, encounter_ids=[good], as_of=AS_OF) == []
    assert check(sdb, encounter_ids=[billed], as_of=AS_OF) == []
    assert check(sdb, encounter_ids=[], as_of=AS_OF) == []


# ------------------------------------------------------------------ ICD-10-CM


def test_icd_exists(sdb):
    e = enc(sdb, dx=("E11.9", "Q99.99"), lines=(("99213", (), "1,2", 1, 14000),))
    (f,) = findings(sdb, e, "ICD-EXISTS")
    assert "diagnosis 2 'Q99.99' is not an ICD-10-CM code" in f.message
    assert clean(sdb, enc(sdb, dx=("e119",)))  # case and dot do not matter


def test_icd_billable_names_children(sdb):
    e = enc(sdb, dx=("E11",))
    (f,) = findings(sdb, e, "ICD-BILLABLE")
    assert "E11 (Type 2 diabetes mellitus) is a header" in f.message and "E11.9" in f.message
    (f,) = findings(sdb, enc(sdb, dx=("M54.5",)), "ICD-BILLABLE")
    assert f.message.endswith("e.g. M54.50, M54.51, M54.59")
    assert clean(sdb, enc(sdb, dx=("M54.50",)))


def test_icd_seventh_character_and_placeholder(sdb):
    (f,) = findings(sdb, enc(sdb, dx=("S52.501",)), "ICD-7TH")
    assert "needs a 7th character" in f.message and "S52.501A" in f.message
    (f,) = findings(sdb, enc(sdb, dx=("T78.40A",)), "ICD-7TH")
    assert "lacks its placeholder X: use T78.40XA" in f.message
    assert findings(sdb, enc(sdb, dx=("T78.40A",)), "ICD-EXISTS") == []
    assert clean(sdb, enc(sdb, dx=("S52.501A",)))


def test_icd_valid_on_dos(sdb):
    from billadmin import db as dbmod

    with dbmod.write(sdb):  # as a later release would: E11.9's row ends, a new code starts
        sdb.execute(
            "UPDATE codes SET effective_to = '2026-05-31' WHERE code_system = 'icd10cm' AND code = 'E11.65'"
        )
        sdb.execute(
            "UPDATE codes SET effective_from = '2026-07-01' WHERE code_system = 'icd10cm' AND code = 'E11.69'"
        )
    (f,) = findings(sdb, enc(sdb, dx=("E11.65",)), "ICD-DOS")
    assert "was deleted effective 2026-06-01" in f.message
    (f,) = findings(sdb, enc(sdb, dx=("E11.69",)), "ICD-DOS")
    assert "is not valid before 2026-07-01" in f.message
    assert clean(sdb, enc(sdb, dx=("E11.65",), dos="2026-05-20"))
    assert clean(sdb, enc(sdb, dx=("E11.69",), dos="2026-07-02"), as_of=dt.date(2026, 7, 10))


def test_icd_release_window(sdb):
    (f,) = findings(sdb, enc(sdb, dos="2026-10-15"), as_of=dt.date(2026, 11, 1))
    assert (f.rule, f.severity) == ("ICD-RELEASE", "warning")
    assert "FY2027 ICD-10-CM release (effective 2026-10-01)" in f.message
    (f,) = findings(sdb, enc(sdb, dos="2026-02-10"))
    assert (
        f.rule == "ICD-RELEASE"
        and "before the oldest loaded" in f.message
        and "FY2026" in f.message
    )
    assert clean(sdb, enc(sdb, dos="2026-09-30"), as_of=dt.date(2026, 10, 1))


def test_icd_excludes1(sdb):
    e = enc(sdb, dx=("E11.9", "E10.9"), lines=(("99213", (), "1,2", 1, 14000),))
    (f,) = findings(sdb, e, "ICD-EXCLUDES1")
    assert (
        "E11.9 and E10.9 are an Excludes1 pair (E11: excludes1 'type 1 diabetes mellitus (E10.-)')"
        in f.message
    )
    e = enc(sdb, dx=("E11.9", "I10"), lines=(("99213", (), "1,2", 1, 14000),))
    assert findings(sdb, e, "ICD-EXCLUDES1") == []


def test_icd_age(sdb):
    old = fx.add_patient(sdb, sex="F", dob="1950-01-01")
    (f,) = findings(sdb, enc(sdb, dx=("O80",), patient=old), "ICD-AGE")
    assert "maternity code (ages 9-64)" in f.message and f.severity == "error"
    young = fx.add_patient(sdb, sex="F", dob="1996-01-01")
    assert findings(sdb, enc(sdb, dx=("O80",), patient=young), "ICD-AGE") == []
    (f,) = findings(sdb, enc(sdb, dx=("Z38.00",), patient=young), "ICD-AGE")
    assert "birth record" in f.message
    (f,) = findings(sdb, enc(sdb, dx=("P07.30",), patient=young), "ICD-AGE")
    assert f.severity == "warning" and "I.C.16.a.4" in f.message
    baby = fx.add_patient(sdb, sex="M", dob="2026-06-01")
    assert findings(sdb, enc(sdb, dx=("P07.30",), patient=baby), "ICD-AGE") == []


def test_icd_sex(sdb):
    f_pat = fx.add_patient(sdb, sex="F")
    m_pat = fx.add_patient(sdb, sex="M")
    (f,) = findings(sdb, enc(sdb, dx=("N40.0",), patient=f_pat), "ICD-SEX")
    assert f.severity == "warning" and "male-specific" in f.message and "MCE" in f.source
    assert findings(sdb, enc(sdb, dx=("N40.0",), patient=m_pat), "ICD-SEX") == []
    (f,) = findings(sdb, enc(sdb, dx=("N76.0",), patient=m_pat), "ICD-SEX")
    assert "female-specific" in f.message
    u_pat = fx.add_patient(sdb, sex="U")
    assert findings(sdb, enc(sdb, dx=("N40.0",), patient=u_pat), "ICD-SEX") == []


# ------------------------------------------------------------------ procedures and modifiers


def test_procedure_format_only_without_cpt(sdb):
    (f,) = findings(sdb, enc(sdb, lines=(("9921", (), "1", 1, 100),)), "PROC-CODE")
    assert (
        "format only: no CPT file loaded" in f.message
        and "format only: no CPT file loaded" in f.source
    )
    (f,) = findings(sdb, enc(sdb, lines=(("W1234", (), "1", 1, 100),)), "PROC-CODE")
    assert "neither a CPT code" in f.message
    assert clean(sdb, enc(sdb, lines=(("0001F", (), "1", 1, 100), ("G0439", (), "1", 1, 100))))


def test_procedure_against_loaded_sets(sdb, tmp_path):
    from billadmin.codesets import loader

    cpt = tmp_path / "cpt.csv"
    cpt.write_text("Code,Description\n99213,Office visit\n")
    loader.load(sdb, "cpt", [cpt], label="CPT 2026", effective="2026-01-01")
    hc = fx.hcpcs_file(
        tmp_path / "HCPC2026_ANWEB.txt",
        [
            fx.hcpcs_record("G0439", "Annual wellness visit", "Awv", added="20110101"),
            fx.hcpcs_record(
                "G9999", "Retired", "Retired", added="20100101", term="20260331", action="D"
            ),
            fx.hcpcs_record("RT", "Right side", "Right side", modifier=True),
        ],
    )
    loader.load(sdb, "hcpcs", [hc])
    (f,) = findings(sdb, enc(sdb, lines=(("99214", (), "1", 1, 100),)), "PROC-CODE")
    assert "99214 is not in CPT 'CPT 2026'" in f.message and "CPT 'CPT 2026'" in f.source
    (f,) = findings(sdb, enc(sdb, lines=(("G9999", (), "1", 1, 100),)), "PROC-CODE")
    assert "ended on 2026-03-31" in f.message
    assert (
        findings(sdb, enc(sdb, lines=(("G9999", (), "1", 1, 100),), dos="2026-03-01"), "PROC-CODE")
        == []
    )
    assert clean(sdb, enc(sdb, lines=(("99213", ("RT",), "1", 1, 100), ("G0439", (), "1", 1, 100))))
    (f,) = findings(sdb, enc(sdb, lines=(("99213", ("ZZ",), "1", 1, 100),)), "MOD-EXISTS")
    assert "modifier ZZ is not in the loaded modifier list" in f.message
    # Level I (numeric) modifiers: no list loaded, so format only
    assert clean(sdb, enc(sdb, lines=(("99213", ("25",), "1", 1, 100),)))


def test_modifier_format(sdb):
    (f,) = findings(sdb, enc(sdb, lines=(("99213", ("R",), "1", 1, 100),)), "MOD-EXISTS")
    assert "modifier 'R' is not two letters or digits" in f.message
    assert clean(sdb, enc(sdb, lines=(("20610", ("RT",), "1", 1, 100),)))


def test_modifier_conflicts(sdb):
    e = enc(
        sdb,
        lines=(
            ("20610", ("LT", "RT"), "1", 1, 100),
            ("71046", ("26", "TC"), "1", 1, 100),
            ("27447", ("50", "RT"), "1", 1, 100),
            ("20610", ("59", "59"), "1", 1, 100),
        ),
    )
    got = [(f.line, f.message.split(" ")[1]) for f in findings(sdb, e, "MOD-CONFLICT")]
    assert got == [(1, "LT"), (2, "26"), (3, "50"), (4, "59")]
    assert clean(sdb, enc(sdb, lines=(("20610", ("RT", "59"), "1", 1, 100),)))


# ------------------------------------------------------------------ NCCI PTP and MUE


@pytest.fixture
def ncci(sdb, tmp_path):
    from billadmin.codesets import loader

    loader.load(
        sdb,
        "ncci-ptp",
        [
            fx.ptp_file(
                tmp_path / "ccipra-v322r0-f1.txt",
                [
                    ("80053", "80048", "20000101", "*", 0),
                    ("20610", "99213", "19950101", "*", 1),
                    ("20610", "99212", "20100101", "20200101", 1),  # deleted edit
                    ("93000", "93005", "20000101", "*", 9),  # not applicable
                ],
            )
        ],
        effective="2026-04-01",
    )
    loader.load(
        sdb,
        "mue",
        [
            fx.mue_file(
                tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-04-01.csv",
                [("36415", 2, 2), ("20610", 2, 1), ("97110", 4, 3)],
            )
        ],
    )
    return sdb


def test_ncci_ptp_indicator_0(ncci):
    e = enc(ncci, lines=(("80053", (), "1", 1, 4800), ("80048", (), "1", 1, 3800)))
    (f,) = findings(ncci, e, "NCCI-PTP")
    assert f.line == 2 and "modifier indicator 0" in f.message and "remove 80048" in f.message
    assert "NCCI PTP 'PTP v32.2r0'" in f.source
    e = enc(ncci, lines=(("80053", (), "1", 1, 4800), ("80048", ("59",), "1", 1, 3800)))
    assert len(findings(ncci, e, "NCCI-PTP")) == 1  # a modifier cannot bypass indicator 0
    assert findings(ncci, enc(ncci, lines=(("80053", (), "1", 1, 4800),)), "NCCI-PTP") == []


def test_ncci_ptp_indicator_1_and_modifiers(ncci):
    e = enc(ncci, lines=(("20610", ("RT",), "1", 1, 16000), ("99213", (), "1", 1, 14000)))
    (f,) = findings(ncci, e, "NCCI-PTP")
    assert f.line == 2 and "modifier indicator 1" in f.message
    assert (
        findings(
            ncci,
            enc(ncci, lines=(("20610", ("RT",), "1", 1, 16000), ("99213", ("25",), "1", 1, 14000))),
            "NCCI-PTP",
        )
        == []
    )
    # the same anatomic modifier on both lines is not a distinct site
    assert (
        len(
            findings(
                ncci,
                enc(ncci, lines=(("20610", ("RT",), "1", 1, 1), ("99213", ("RT",), "1", 1, 1))),
                "NCCI-PTP",
            )
        )
        == 1
    )
    assert (
        findings(
            ncci,
            enc(ncci, lines=(("20610", ("RT",), "1", 1, 1), ("99213", ("LT",), "1", 1, 1))),
            "NCCI-PTP",
        )
        == []
    )


def test_ncci_ptp_deleted_and_not_applicable_edits(ncci):
    assert (
        findings(
            ncci, enc(ncci, lines=(("20610", (), "1", 1, 1), ("99212", (), "1", 1, 1))), "NCCI-PTP"
        )
        == []
    )
    assert (
        findings(
            ncci, enc(ncci, lines=(("93000", (), "1", 1, 1), ("93005", (), "1", 1, 1))), "NCCI-PTP"
        )
        == []
    )


def test_ncci_ptp_same_patient_provider_day_across_encounters(ncci):
    pid = fx.add_patient(ncci)
    a = fx.add_encounter(ncci, pid, lines=(("80053", (), "1", 1, 4800),))
    b = fx.add_encounter(ncci, pid, lines=(("80048", (), "1", 1, 3800),))
    out = check(ncci, as_of=AS_OF)
    (f,) = [x for x in out if x.rule == "NCCI-PTP"]
    assert f.encounter_id == b and "of encounter" in f.message
    # another provider that day: not the same claim context
    pid2 = fx.add_patient(ncci)
    fx.add_encounter(ncci, pid2, lines=(("80053", (), "1", 1, 4800),))
    c = fx.add_encounter(
        ncci, pid2, lines=(("80048", (), "1", 1, 3800),), provider_npi=fx.npi.make("151627384")
    )
    assert findings(ncci, c, "NCCI-PTP") == []
    # the column-1 code already billed the same day still denies the column-2 code
    pid3 = fx.add_patient(ncci)
    fx.add_encounter(ncci, pid3, lines=(("80053", (), "1", 1, 4800),), status="billed")
    d = fx.add_encounter(ncci, pid3, lines=(("80048", (), "1", 1, 3800),))
    assert len(findings(ncci, d, "NCCI-PTP")) == 1
    assert a


def test_mue_line_and_day(ncci):
    (f,) = findings(ncci, enc(ncci, lines=(("20610", ("RT",), "1", 3, 1),)), "MUE-LINE")
    assert "3 units of 20610 on one line exceed its MUE of 2 (MAI 1" in f.message
    assert findings(ncci, enc(ncci, lines=(("20610", ("RT",), "1", 2, 1),)), "MUE-LINE") == []
    e = enc(ncci, lines=(("36415", (), "1", 2, 1), ("36415", (), "1", 1, 1)))
    (f,) = findings(ncci, e, "MUE-DAY")
    assert f.line == 1 and "3 units of 36415" in f.message and "MAI 2" in f.message
    assert (
        findings(
            ncci, enc(ncci, lines=(("36415", (), "1", 1, 1), ("36415", (), "1", 1, 1))), "MUE-DAY"
        )
        == []
    )
    (f,) = findings(ncci, enc(ncci, lines=(("97110", ("GP",), "1", 5, 1),)), "MUE-DAY")
    assert "MAI 3, clinical" in f.message


# ------------------------------------------------------------------ claim completeness


def test_claim_diagnoses_present(sdb):
    (f,) = findings(sdb, enc(sdb, dx=()), "CLM-DX")
    assert "no diagnosis" in f.message
    assert findings(sdb, enc(sdb, dx=("E11.9",)), "CLM-DX") == []


@pytest.mark.parametrize(
    "pointers,message",
    [
        ("", "no diagnosis pointer"),
        ("3", "diagnosis pointer 3 has no diagnosis (the encounter has 1-2)"),
        ("1,2,1", "a diagnosis pointer is repeated"),
        ("1 2 1 2 1", "5 diagnosis pointers; a line takes at most 4"),
        ("1;x", "pointer 'X' is not a number 1-12 or a letter A-L"),
        ("1,13", "pointer '13' is not 1-12"),
        (
            "13",
            "diagnosis pointer 3 has no diagnosis",
        ),  # digits run together: 1 and 3, as the import reads it
    ],
)
def test_claim_pointers(sdb, pointers, message):
    e = enc(sdb, dx=("E11.9", "I10"), lines=(("99213", (), pointers, 1, 100),))
    msgs = [f.message for f in findings(sdb, e, "CLM-POINTER")]
    assert any(message in m for m in msgs), msgs


@pytest.mark.parametrize("pointers", ["1", "1,2", "2:1", "AB", "12"])
def test_claim_pointers_pass(sdb, pointers):
    assert clean(sdb, enc(sdb, dx=("E11.9", "I10"), lines=(("99213", (), pointers, 1, 100),)))


def test_claim_charge_and_units(sdb):
    e = enc(sdb, lines=(("99213", (), "1", 1, 0), ("99213", (), "1", 0, 100)))
    assert [(f.line, f.message.split(" ")[0]) for f in findings(sdb, e, "CLM-CHARGE")] == [
        (1, "the"),
        (2, "units"),
    ]


def test_claim_future_dos(sdb):
    (f,) = findings(sdb, enc(sdb, dos="2026-07-01"), "CLM-DOS")
    assert "after today (2026-06-30)" in f.message
    assert findings(sdb, enc(sdb, dos="2026-06-30"), "CLM-DOS") == []


def test_claim_npis(cdb):
    fx.setup_parties(cdb, practice_npi=None)
    pid = fx.add_patient(cdb)
    bad = fx.npi.make("151627384")[:9] + str((int(fx.npi.make("151627384")[9]) + 1) % 10)
    e = fx.add_encounter(cdb, pid, provider_npi=bad)
    msgs = sorted(f.message for f in findings(cdb, e, "CLM-NPI"))
    assert msgs == [
        "billing NPI: the practice (billing provider) is not recorded: set it up before billing",
        "rendering NPI: NPI check digit is wrong",
    ]


def test_claim_npis_pass(sdb):
    assert findings(sdb, enc(sdb), "CLM-NPI") == []


def test_claim_coverage(sdb):
    lapsed = fx.add_patient(
        sdb, coverage={"payer": "KEY", "member_id": "K1", "from": "2025-01-01", "to": "2026-05-31"}
    )
    (f,) = findings(sdb, enc(sdb, patient=lapsed), "CLM-COVERAGE")
    assert "no coverage is active on the date of service" in f.message
    nomember = fx.add_patient(
        sdb, coverage={"payer": "KEY", "member_id": " ", "from": "2025-01-01"}
    )
    (f,) = findings(sdb, enc(sdb, patient=nomember), "CLM-COVERAGE")
    assert "KEY coverage has no member id" in f.message
    selfpay = fx.add_patient(sdb, coverage=None)
    assert clean(sdb, enc(sdb, patient=selfpay))
    selfpayer = fx.add_patient(
        sdb, coverage={"payer": "SELF", "member_id": "", "from": "2025-01-01"}
    )
    assert clean(sdb, enc(sdb, patient=selfpayer))


def test_claim_timely_filing(sdb):
    (f,) = findings(sdb, enc(sdb, dos="2025-12-01"), "CLM-TIMELY")  # KEY: 180 days
    assert (f.severity, f.message.split(":")[0]) == (
        "error",
        "the KEY timely-filing window closed on 2026-05-30",
    )
    (f,) = findings(sdb, enc(sdb, dos="2026-01-05"), "CLM-TIMELY")
    assert f.severity == "warning" and "closes on 2026-07-04" in f.message
    assert findings(sdb, enc(sdb, dos="2026-03-01"), "CLM-TIMELY") == []
    mcr = fx.add_patient(
        sdb, coverage={"payer": "MCR", "member_id": "1EG4TE5MK73", "from": "2020-01-01"}
    )
    assert findings(sdb, enc(sdb, dos="2025-12-01", patient=mcr), "CLM-TIMELY") == []  # 12 months
    (f,) = findings(sdb, enc(sdb, dos="2025-06-01", patient=mcr), "CLM-TIMELY")
    assert "closed on 2026-06-01" in f.message and "424.44" in f.source


# ------------------------------------------------------------------ the command


def test_codes_check_command(cli, sdb):
    ok = enc(sdb)
    bad = enc(sdb, dx=("E11",), lines=(("99213", (), "", 1, 14000),))
    number = sdb.execute("SELECT number FROM encounters WHERE id = ?", (bad,)).fetchone()[0]
    good_number = sdb.execute("SELECT number FROM encounters WHERE id = ?", (ok,)).fetchone()[0]
    r = cli("codes", "check", "--as-of", AS_OF.isoformat(), "-f", "json")
    assert r.exit_code == 1, r.output
    rows = json.loads(r.stdout)
    assert {(x["encounter"], x["rule"]) for x in rows} == {
        (number, "ICD-BILLABLE"),
        (number, "CLM-POINTER"),
    }
    assert "2 error(s) in 1 encounter(s)" in r.stderr
    assert "CPT codes checked by format only: no CPT file loaded" in r.stderr
    r = cli("codes", "check", "--encounter", good_number, "--as-of", AS_OF.isoformat())
    assert r.exit_code == 0, r.output
    r = cli("codes", "check", "--rule", "clm-pointer", "--as-of", AS_OF.isoformat(), "-f", "csv")
    assert r.exit_code == 1 and "ICD-BILLABLE" not in r.stdout and "CLM-POINTER" in r.stdout
    assert cli("codes", "check", "--encounter", "NOPE").exit_code == 2
    assert cli("codes", "check", "--rule", "NOPE").exit_code == 2


def test_codes_check_warnings_do_not_fail(cli, sdb):
    enc(sdb, dos="2026-10-15")
    r = cli("codes", "check", "--as-of", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert "ICD-RELEASE" in r.stdout and "0 error(s)" in r.stderr
    r = cli("codes", "check", "--as-of", "2026-11-01", "--errors-only", "-f", "json")
    assert json.loads(r.stdout) == []


def test_codes_check_file_is_not_imported(cli, sdb, tmp_path):
    pytest.importorskip("billadmin.ingest.engine")
    from billadmin.demo import HEADERS

    pid = fx.add_patient(sdb)
    mrn = sdb.execute("SELECT mrn FROM patients WHERE id = ?", (pid,)).fetchone()[0]
    rows = []
    for line, (code, ptr) in enumerate([("80053", "1"), ("99213", "")], start=1):
        r = {h: "" for h in HEADERS["charges"]}
        r.update(
            {
                "Encounter": "F0001",
                "MRN": mrn,
                "DOS": DOS,
                "Rendering NPI": fx.PROVIDER_NPI,
                "POS": "11",
                "Line": str(line),
                "Code": code,
                "Dx1": "E11",
                "Pointers": ptr,
                "Units": "1",
                "Charge": "48.00",
            }
        )
        rows.append(r)
    import csv

    p = tmp_path / "charges.csv"
    with open(p, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADERS["charges"])
        w.writeheader()
        w.writerows(rows)
    before = (
        sdb.execute("SELECT COUNT(*) FROM encounters").fetchone()[0],
        sdb.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0],
    )
    r = cli("codes", "check", "--file", p, "--as-of", AS_OF.isoformat(), "-f", "json")
    assert r.exit_code == 1, r.output
    got = {(x["encounter"], x["line"], x["rule"]) for x in json.loads(r.stdout)}
    # 80053 billed without the lab's CLIA number (CLIA-MISSING, issue 20)
    assert got == {
        ("F0001", None, "ICD-BILLABLE"),
        ("F0001", 2, "CLM-POINTER"),
        ("F0001", 1, "CLIA-MISSING"),
    }
    assert "charges.csv: 1 encounters, 2 lines (not imported)" in r.stderr
    after = (
        sdb.execute("SELECT COUNT(*) FROM encounters").fetchone()[0],
        sdb.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0],
    )
    assert after == before
    assert cli("codes", "check", "--file", p, "--encounter", "X").exit_code == 2


def test_no_icd_release_loaded_is_said_once(db):
    fx.setup_parties(db)
    e = enc(db, dx=("E11.9", "I10"), lines=(("99213", (), "1,2", 1, 100),))
    (f,) = findings(db, e, "ICD-EXISTS")
    assert "no ICD-10-CM release is loaded" in f.message

"""Institutional scrub rules (scrub/institutional.py): each rule with a claim that breaks it and
one that does not, on claims built by institutional_fixtures (a hospital, two Medicare
patients); `codes check` and `codes rules` show them."""

from __future__ import annotations

import datetime as dt
import json

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.institutional import model
from billadmin.scrub.institutional import check_claims

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
    db.ids = ids  # type: ignore[attr-defined]
    return db


def _add(db, kind: str, key: str, patient: str = "a", **over):
    with dbmod.write(db):
        getattr(ifx, kind)(db, db.ids[patient], key, db.ids["facility"], **over)


def _found(db, *keys, rules=None) -> list[tuple]:
    claims = model.list_claims(db, keys=list(keys))
    return [
        (f.rule, f.severity, f.encounter, f.line)
        for f in check_claims(db, claims, AS_OF, rules=rules)
    ]


def _messages(db, key, rule) -> list[str]:
    claims = model.list_claims(db, keys=[key])
    return [f.message for f in check_claims(db, claims, AS_OF, rules=[rule])]


def test_clean_claims_have_no_findings(hosp):
    _add(hosp, "outpatient", "HO1")  # 0750/45380, 0310/88305, 0710 (no HCPCS needed)
    _add(hosp, "inpatient", "HI1", patient="b")  # 0360 without HCPCS: inpatient, fine
    assert _found(hosp, "HO1", "HI1") == []


def test_type_of_bill_must_exist_and_fit_the_facility(hosp):
    _add(hosp, "outpatient", "T1", type_of_bill="231")  # a SNF bill from a hospital
    _add(hosp, "outpatient", "T2", type_of_bill="191")  # classification 9: no such bill
    assert _found(hosp, "T1", "T2", rules=["INST-TOB"]) == [
        ("INST-TOB", "error", "T1", None),
        ("INST-TOB", "error", "T2", None),
    ]
    (m,) = _messages(hosp, "T1", "INST-TOB")
    assert "does not fit facility RGH, a hospital" in m
    (m,) = _messages(hosp, "T2", "INST-TOB")
    assert "classification (second digit) does not exist" in m


def test_outpatient_revenue_codes_that_need_hcpcs(hosp):
    lines = [
        {"revenue_code": "0320", "hcpcs": None, "units": 1, "charge_cents": 100},
        {"revenue_code": "0361", "hcpcs": None, "units": 1, "charge_cents": 100},
        {"revenue_code": "0750", "hcpcs": "43239", "units": 1, "charge_cents": 100},
        {"revenue_code": "0710", "hcpcs": None, "units": 1, "charge_cents": 100},
        {"revenue_code": "0636", "hcpcs": None, "units": 1, "charge_cents": 100},
    ]
    for ln in lines:
        ln["line_date"] = "2026-06-10"
    _add(hosp, "outpatient", "R1", lines=lines)
    assert _found(hosp, "R1") == [
        ("INST-REV-HCPCS", "error", "R1", 1),
        ("INST-REV-HCPCS", "error", "R1", 2),
        ("INST-REV-HCPCS", "error", "R1", 5),
    ]
    assert _messages(hosp, "R1", "INST-REV-HCPCS")[0] == (
        "revenue code 0320 needs a HCPCS code on an outpatient claim: add it"
    )
    # the same lines on an inpatient stay: no HCPCS needed
    _add(hosp, "inpatient", "R2", patient="b", lines=[dict(ln) for ln in lines[:2]])
    assert _found(hosp, "R2", rules=["INST-REV-HCPCS"]) == []


def test_inpatient_needs_admission_data(hosp):
    _add(hosp, "inpatient", "A1", admission_date=None, admission_source=None)
    _add(hosp, "inpatient", "A2", admission_date="2026-06-02")  # after statement_from 06-01
    _add(hosp, "outpatient", "A3", admission_type=None, admission_source=None)
    assert _found(hosp, "A1", "A2", "A3", rules=["INST-ADMIT"]) == [
        ("INST-ADMIT", "error", "A1", None),
        ("INST-ADMIT", "error", "A2", None),
    ]
    (m,) = _messages(hosp, "A1", "INST-ADMIT")
    assert m == (
        "inpatient claim without its admission date (DTP*435), point of origin (CL102): add them"
    )
    assert "after the statement period starts" in _messages(hosp, "A2", "INST-ADMIT")[0]


def test_poa_on_inpatient_and_where_it_does_not_belong(hosp):
    _add(
        hosp,
        "inpatient",
        "P1",
        diagnoses=[("ABK", "K922", "Y"), ("ABJ", "K922", "Y"), ("ABF", "D62", "")],
    )
    _add(hosp, "outpatient", "P2", diagnoses=[("ABK", "K635", "Y"), ("ABF", "Z1211", "")])
    assert _found(hosp, "P1", "P2", rules=["INST-POA", "INST-POA-PLACE"]) == [
        ("INST-POA", "warning", "P1", None),  # D62 without an indicator (exempt? not known)
        ("INST-POA-PLACE", "error", "P1", None),  # the admitting diagnosis takes none
        ("INST-POA-PLACE", "error", "P2", None),  # an outpatient claim takes none
    ]
    assert _messages(hosp, "P2", "INST-POA-PLACE") == [
        "diagnosis 1 K635 has a present-on-admission indicator on an outpatient claim"
        " (type of bill 131): remove it"
    ]


def test_statement_period_covers_the_lines(hosp):
    lines = [
        {"revenue_code": "0750", "hcpcs": "45380", "units": 1, "charge_cents": 1, "line_date": d}
        for d in ("2026-06-09", "2026-06-10", "2026-06-11")
    ]
    _add(hosp, "outpatient", "D1", lines=lines)
    _add(hosp, "outpatient", "D2", statement_from="2026-06-12")  # ends before it starts
    assert _found(hosp, "D1", "D2", rules=["INST-PERIOD"]) == [
        ("INST-PERIOD", "error", "D1", 1),
        ("INST-PERIOD", "error", "D1", 3),
        ("INST-PERIOD", "error", "D2", None),
    ]
    # no date in the message: a date of service is not shown
    assert all("2026" not in m for m in _messages(hosp, "D1", "INST-PERIOD"))


@pytest.mark.parametrize(
    "kind,over,bad",
    [
        ("inpatient", {"type_of_bill": "112", "patient_status": "01"}, True),  # interim: 30
        ("inpatient", {"type_of_bill": "112", "patient_status": "30"}, False),
        ("inpatient", {"patient_status": "30"}, True),  # 111 discharge bill, still a patient?
        ("inpatient", {"patient_status": "09"}, True),  # 09 is for outpatient claims
        ("outpatient", {"patient_status": "09"}, False),
        ("outpatient", {"patient_status": "41"}, True),  # hospice death on a 131
        ("inpatient", {"patient_status": "99"}, True),  # no such status
        ("inpatient", {"patient_status": "82"}, False),  # to a hospital, planned readmission
    ],
)
def test_patient_status_fits_the_bill(hosp, kind, over, bad):
    _add(hosp, kind, "S1", **over)
    got = _found(hosp, "S1", rules=["INST-STATUS-TOB"])
    assert got == ([("INST-STATUS-TOB", "error", "S1", None)] if bad else [])


def test_pcs_codes_valid_on_their_date(cli, hosp):
    from billadmin.codesets import pcs

    _add(
        hosp,
        "inpatient",
        "X1",
        procedures=[
            ("BBR", "0DB68ZX", "2026-06-02"),  # in the FY2026 excerpt
            ("BBQ", "0DB", "2026-06-02"),  # a table header
            ("BBQ", "0DB68ZY", "2026-06-02"),  # not a code of the release
        ],
    )
    assert _found(hosp, "X1", rules=["INST-PCS"]) == []  # no ICD-10-PCS loaded: not checked
    r = cli(
        "codes",
        "load",
        "icd10pcs",
        pcs.SAMPLE,
        "--version",
        "FY2026 x",
        "--effective",
        "2025-10-01",
    )
    assert r.exit_code == 0, r.output
    msgs = _messages(hosp, "X1", "INST-PCS")
    assert [m.split(" is ")[0] for m in msgs] == ["procedure 2 0DB", "procedure 3 0DB68ZY"]


def _window_outpatient(db, key, dates, patient="a", **over):
    lines = [
        {"revenue_code": "0320", "hcpcs": "71046", "units": 1, "charge_cents": 100, "line_date": d}
        for d in dates
    ]
    _add(
        db,
        "outpatient",
        key,
        patient=patient,
        statement_from=min(dates),
        statement_through=max(dates),
        lines=lines,
        **over,
    )


def test_three_day_payment_window(hosp):
    # inpatient admission 2026-06-01 (fixture); 3 days before: 05-29 .. 06-01 are in the window
    _add(hosp, "inpatient", "W-IP")
    _window_outpatient(hosp, "W-OP", ["2026-05-28", "2026-05-29", "2026-05-31"])
    _window_outpatient(hosp, "W-LATER", ["2026-06-10"])
    got = _found(hosp, "W-IP", "W-OP", "W-LATER", rules=["INST-3DAY"])
    assert got == [
        ("INST-3DAY", "warning", "W-IP", None),
        ("INST-3DAY", "error", "W-OP", None),
    ]
    (m,) = _messages(hosp, "W-OP", "INST-3DAY")
    assert m.startswith(
        "line(s) 2, 3 fall in Medicare's 3-day payment window of inpatient claim W-IP"
    )
    (m,) = _messages(hosp, "W-IP", "INST-3DAY")
    assert "outpatient claim W-OP (unbilled: move its line(s) 2, 3 onto this claim)" in m


def test_payment_window_unrelated_non_ipps_and_other_patients(hosp):
    _add(hosp, "inpatient", "U-IP")
    # condition code 51 attests unrelated non-diagnostic services: a warning, not a hold
    _window_outpatient(hosp, "U-OP", ["2026-05-30"], conditions=["51"])
    assert ("INST-3DAY", "warning", "U-OP", None) in _found(hosp, "U-OP", rules=["INST-3DAY"])
    # another patient's outpatient visit is not joined to this admission
    _window_outpatient(hosp, "U-B", ["2026-05-30"], patient="b")
    assert _found(hosp, "U-B", rules=["INST-3DAY"]) == []


def test_payment_window_one_day_outside_ipps_and_medicare_only(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        psych = ifx.facility(db, "PSY", taxonomy="283Q00000X", npi=fx.npi.make("176543210"))
        ifx.inpatient(db, ids["a"], "N-IP", psych)
        lines = [
            {
                "revenue_code": "0300",
                "hcpcs": "80053",
                "units": 1,
                "charge_cents": 1,
                "line_date": d,
            }
            for d in ("2026-05-30", "2026-05-31")
        ]
        ifx.outpatient(
            db,
            ids["a"],
            "N-OP",
            psych,
            statement_from="2026-05-30",
            statement_through="2026-05-31",
            lines=lines,
        )
        c = fx.patient(db, "H1003", "Cy", "Cole")
        fx.coverage(db, c, "KEY", member="K1")
        ifx.inpatient(db, c, "K-IP", ids["facility"])
        ifx.outpatient(
            db,
            c,
            "K-OP",
            ids["facility"],
            statement_from="2026-05-31",
            statement_through="2026-05-31",
            lines=[dict(lines[1])],
        )
    claims = model.list_claims(db, keys=["N-OP", "K-OP"])
    got = [(f.encounter, f.message) for f in check_claims(db, claims, AS_OF, rules=["INST-3DAY"])]
    # 1 day for a psychiatric hospital: 05-31 in, 05-30 out; a commercial patient: no window
    assert len(got) == 1 and got[0][0] == "N-OP"
    assert got[0][1].startswith("line(s) 2 fall in Medicare's 1-day payment window")


def _ncci_tables(db):
    with dbmod.write(db):
        vid = db.execute(
            "INSERT INTO code_versions (code_system, label, effective_from, source, row_count,"
            " loaded_at) VALUES ('ncci-ptp', 'v32.2 test', '2026-04-01', 't', 1, 'now')"
        ).lastrowid
        db.execute(
            "INSERT INTO ncci_ptp (column1, column2, effective_from, modifier_indicator,"
            " version_id) VALUES ('45380', '45378', '2026-01-01', 0, ?)",
            (vid,),
        )
        mid = db.execute(
            "INSERT INTO code_versions (code_system, label, effective_from, source, row_count,"
            " loaded_at) VALUES ('mue', 'MUE 2026-04 test', '2026-04-01', 't', 1, 'now')"
        ).lastrowid
        db.execute(
            "INSERT INTO mue (code, mue_value, mai, effective_from, version_id)"
            " VALUES ('88305', 1, 1, '2026-01-01', ?)",
            (mid,),
        )


def test_ncci_and_mue_on_outpatient_lines(hosp):
    _ncci_tables(hosp)
    lines = [
        {"revenue_code": "0750", "hcpcs": "45380", "units": 1, "charge_cents": 1},
        {"revenue_code": "0750", "hcpcs": "45378", "units": 1, "charge_cents": 1},
        {"revenue_code": "0310", "hcpcs": "88305", "units": 2, "charge_cents": 1},
    ]
    for ln in lines:
        ln["line_date"] = "2026-06-10"
    _add(hosp, "outpatient", "N1", lines=lines)
    _add(hosp, "outpatient", "N2")  # 45380 alone, 88305 x2: the MUE only
    got = _found(hosp, "N1", "N2", rules=["INST-NCCI", "INST-MUE"])
    assert got == [
        ("INST-NCCI", "error", "N1", 2),
        ("INST-MUE", "error", "N1", 3),
        ("INST-MUE", "error", "N2", 2),
    ]
    claims = model.list_claims(hosp, keys=["N1"])
    f = check_claims(hosp, claims, AS_OF, rules=["INST-NCCI"])[0]
    assert "same claim and day" in f.message and "modifier indicator 0" in f.message
    assert f.source.endswith(
        "NCCI PTP 'v32.2 test' (the practitioner file: the hospital outpatient one is not loaded)"
    )


def test_codes_check_and_rules_show_institutional_findings(cli, hosp):
    _add(hosp, "outpatient", "C1", diagnoses=[("ABK", "K635", "Y")])
    r = cli("codes", "check", "--as-of", "2026-06-30", "-f", "json")
    assert r.exit_code == 1, r.output
    rows = json.loads(r.stdout)
    assert ("C1", "INST-POA-PLACE", "error") in [
        (x["encounter"], x["rule"], x["severity"]) for x in rows
    ]
    r = cli("codes", "check", "--rule", "INST-POA-PLACE", "-e", "C1", "-f", "json")
    assert r.exit_code == 1 and [x["rule"] for x in json.loads(r.stdout)] == ["INST-POA-PLACE"]
    rules = {x["rule"]: x for x in json.loads(cli("codes", "rules", "-f", "json").stdout)}
    for rid in (
        "INST-TOB",
        "INST-REV-HCPCS",
        "INST-ADMIT",
        "INST-POA",
        "INST-POA-PLACE",
        "INST-PERIOD",
        "INST-STATUS-TOB",
        "INST-PCS",
        "INST-3DAY",
        "INST-NCCI",
        "INST-MUE",
    ):
        assert rules[rid]["scope"] == "institutional" and rules[rid]["source"], rid
    assert "42 CFR 412.2(c)(5)" in rules["INST-3DAY"]["source"]
    assert "I/OCE" in rules["INST-REV-HCPCS"]["source"]


def test_invoice_generate_holds_a_claim_on_an_institutional_rule(hosp, tmp_path):
    from billadmin.billing import generate as gen

    _add(hosp, "outpatient", "G1")  # clean
    bad = {"revenue_code": "0320", "hcpcs": None, "units": 1, "charge_cents": 5000}
    _add(hosp, "outpatient", "G2", patient="b", lines=[{**bad, "line_date": "2026-06-10"}])
    r = gen.generate(hosp, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    held = {h.encounter: [f.rule for f in h.findings] for h in r.held}
    assert held == {"G2": ["INST-REV-HCPCS"]}
    assert {c.key: c.status for c in model.list_claims(hosp)} == {"G1": "billed", "G2": "unbilled"}

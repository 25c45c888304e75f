"""`invoice generate` bills institutional claims too: one 837I per payer (and facility) beside
the 837Ps, gapless claim numbers shared with them, pyx12 before anything is written, held
claims with INST-* rule ids, voids (frequency 8) through `invoice void`."""

from __future__ import annotations

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.institutional import model
from billadmin.x12 import validate


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _q(db, sql, args=()):
    return db.execute(sql, args).fetchall()


@pytest.fixture
def hosp(db):
    """The hospital's outpatient endoscopy (A) and inpatient stay (B), both Medicare, and the
    endoscopist's professional claim for A's procedure (837P, place of service 22, modifier 26
    on the pathology reading)."""
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
        fx.encounter(
            db,
            ids["a"],
            "2026-06-10",
            [("45380", 45000), ("88305", 9000, "26")],
            dx=("K63.5",),
            number="PRO1",
            pos="22",
        )
    return db


def _edi(tmp_path, prefix):
    return sorted((tmp_path / "out").glob(f"{prefix}-*.edi"))


def test_one_run_bills_837p_and_837i(hosp, tmp_path):
    r = _run(hosp, tmp_path)
    assert r.held == []
    p, i = _edi(tmp_path, "837P"), _edi(tmp_path, "837I")
    assert len(p) == 1 and len(i) == 1  # one file per payer per claim kind
    v = validate.validate_file(i[0])
    assert v.valid and v.version == "005010X223A2", [str(x) for x in v.problems]
    text = i[0].read_text()
    # the 837P claim is C000001; the institutional ones follow, by statement date: HI1 then HO1
    assert "CLM*C000002*9960***11:A:1**A*Y*Y~" in text
    assert "CLM*C000003*2570***13:A:1**A*Y*Y~" in text
    assert "CLM*C000001" in p[0].read_text() and "CLM*C000001" not in text
    rows = _q(
        hosp,
        "SELECT i.number, i.total_cents, i.filing_deadline, e.number FROM invoices i"
        " JOIN encounters e ON e.id = i.encounter_id ORDER BY i.number",
    )
    # Medicare: 12 months from the claim's through date (2026-06-04 and 2026-06-10)
    assert rows == [
        ("C000001", 54000, "2027-06-10", "PRO1"),
        ("C000002", 996000, "2027-06-04", "HI1"),
        ("C000003", 257000, "2027-06-10", "HO1"),
    ]
    assert {c.key: c.status for c in model.list_claims(hosp)} == {"HI1": "billed", "HO1": "billed"}
    assert _q(hosp, "SELECT COUNT(*) FROM inst_claim_invoices")[0][0] == 2
    # each invoice line is a revenue line: HCPCS where given, else the revenue code
    assert _q(
        hosp,
        "SELECT l.code, l.units, l.amount_cents FROM invoice_lines l JOIN invoices i"
        " ON i.id = l.invoice_id WHERE i.number = 'C000003' ORDER BY l.line_no",
    ) == [("45380", 1, 185000), ("88305", 2, 42000), ("0710", 1, 30000)]
    files = _q(
        hosp,
        "SELECT i.number, f.kind, f.st_control FROM invoice_files f JOIN invoices i"
        " ON i.id = f.invoice_id ORDER BY i.number",
    )
    assert files == [
        ("C000001", "x12", "0001"),
        ("C000002", "x12", "0001"),
        ("C000003", "x12", "0001"),
    ]
    # nothing is billed twice
    r2 = _run(hosp, tmp_path, out_dir=tmp_path / "out2")
    assert r2.issued == [] and not list((tmp_path / "out2").glob("*.edi"))


def test_claims_that_cannot_be_built_are_held(hosp, tmp_path):
    with dbmod.write(hosp):
        hosp.execute("UPDATE inst_claims SET patient_status = NULL WHERE type_of_bill = '131'")
    r = _run(hosp, tmp_path)
    held = {h.encounter: [f.rule for f in h.findings] for h in r.held}
    assert held == {"HO1": ["INST-STATUS"]}
    assert model.load_claim(hosp, "HO1").status == "unbilled"
    assert model.load_claim(hosp, "HI1").status == "billed"
    assert "INST-STATUS" in (tmp_path / "out" / "held.csv").read_text()


def test_a_claim_with_no_coverage_or_payer_id_is_held(hosp, tmp_path):
    with dbmod.write(hosp):
        hosp.execute("UPDATE payers SET x12_payer_id = NULL WHERE code = 'MCR'")
    r = _run(hosp, tmp_path)
    rules = sorted({f.rule for h in r.held for f in h.findings})
    assert "INST-PAYER-ID" in rules
    assert _q(hosp, "SELECT COUNT(*) FROM inst_claim_invoices")[0][0] == 0


def test_dry_run_and_payer_scope(hosp, tmp_path):
    r = _run(hosp, tmp_path, dry_run=True)
    assert {x["number"] for x in r.issued} == {"C000001", "C000002", "C000003"}
    assert _q(hosp, "SELECT COUNT(*) FROM invoices")[0][0] == 0
    assert {c.status for c in model.list_claims(hosp)} == {"unbilled"}
    r = _run(hosp, tmp_path, payer="KEY")
    assert r.issued == [] and {c.status for c in model.list_claims(hosp)} == {"unbilled"}
    r = _run(hosp, tmp_path, payer="MCR")
    assert len(r.issued) == 3


def test_void_goes_out_as_frequency_8_on_an_837i(hosp, tmp_path):
    _run(hosp, tmp_path)
    res = lifecycle.void(
        hosp,
        "C000003",
        reason="billed to the wrong payer",
        payer_claim_number_="21234567890123",
        today=fx.TODAY,
    )
    assert res["sent_as_void"]
    r = _run(hosp, tmp_path, out_dir=tmp_path / "out2")
    files = sorted((tmp_path / "out2").glob("*.edi"))
    assert [f.name.split("-")[0] for f in files] == ["837I"]
    v = validate.validate_file(files[0])
    assert v.valid, [str(x) for x in v.problems]
    text = files[0].read_text()
    assert "CLM*C000003*2570***13:A:8**A*Y*Y~" in text
    assert "REF*F8*21234567890123~" in text
    assert [x["number"] for x in r.issued] == [res["credit_note"]]
    assert _q(hosp, "SELECT COUNT(*) FROM claim_queue")[0][0] == 0


def test_an_invalid_837i_rolls_the_whole_run_back(hosp, tmp_path, monkeypatch):
    from billadmin.x12 import x837i

    real = x837i.claim_loops
    monkeypatch.setattr(x837i, "claim_loops", lambda c: [s for s in real(c) if s[:3] != "CL1"])
    with pytest.raises(gen.X12Invalid):
        _run(hosp, tmp_path)
    assert _q(hosp, "SELECT COUNT(*) FROM invoices")[0][0] == 0
    assert {c.status for c in model.list_claims(hosp)} == {"unbilled"}
    assert not list((tmp_path / "out").glob("*.edi"))


def test_export_x12_rerenders_the_issued_837i(hosp, tmp_path):
    _run(hosp, tmp_path)
    data, name = lifecycle.export(hosp, "C000002", "x12")
    assert name == "C000002.edi"
    text = data.decode("ascii")
    v = validate.validate_text(text, name)
    assert v.valid and v.version == "005010X223A2", [str(x) for x in v.problems]
    issued = _edi(tmp_path, "837I")[0].read_text()
    # the claim's loops are the issued file's, byte for byte (only the envelope's dates differ)
    start = issued.index("CLM*C000002")
    clm = issued[start : issued.index("HL*", start)]
    assert clm in text


def _ub04(path, rows):
    import csv

    head = ["claim", "mrn", "type_of_bill", "statement_from", "statement_through"]
    head += ["patient_status", "attending_npi", "principal_dx", "other_dx"]
    head += ["revenue_code", "hcpcs", "units", "charge", "line_date"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        w.writerows(rows)
    return path


def test_corrected_claim_is_replaced_with_frequency_7(hosp, tmp_path, cli):
    _run(hosp, tmp_path)  # HO1 is C000003: 0750 45380 1,850.00; 0310 88305 x2 420.00; 0710 300.00
    hosp.close()
    # the pathology was one specimen, not two: the corrected claim from the hospital's system
    fixed = [
        ["HO1", "H1001", "131", "2026-06-10", "2026-06-10", "01", ifx.ATTENDING_NPI, "K63.5",
         "Z12.11", "0750", "45380", "1", "1850.00", "2026-06-10"],
        ["HO1", "", "", "", "", "", "", "", "", "0310", "88305", "1", "210.00", "2026-06-10"],
        ["HO1", "", "", "", "", "", "", "", "", "0710", "", "1", "300.00", "2026-06-10"],
    ]  # fmt: skip
    f = _ub04(tmp_path / "fix.csv", fixed)
    r = cli("import", "institutional", f)
    assert r.exit_code == 2 and "--correct" in r.stderr
    r = cli("import", "institutional", f, "--correct")
    assert r.exit_code == 0, r.stderr
    assert "(1 corrected)" in r.stderr
    db = dbmod.connect(tmp_path / "test.db")
    c = model.load_claim(db, "HO1")
    assert c.status == "billed" and c.total_cents == 236000  # 1,850 + 210 + 300
    history = _q(db, "SELECT data FROM inst_claim_history")
    assert len(history) == 1 and '"charge_cents": 42000' in history[0][0]
    with pytest.raises(Exception, match="append-only"):
        with dbmod.write(db):
            db.execute("DELETE FROM inst_claim_history")
    res = lifecycle.replace(db, "C000003", payer_claim_number_="21234567890123", today=fx.TODAY)
    assert res["frequency"] == "7" and res["total_cents"] == 236000
    _run(db, tmp_path, out_dir=tmp_path / "out2")
    (edi,) = sorted((tmp_path / "out2").glob("837I-*.edi"))
    v = validate.validate_file(edi)
    assert v.valid, [str(x) for x in v.problems]
    text = edi.read_text()
    assert f"CLM*{res['replacement']}*2360***13:A:7**A*Y*Y~" in text
    assert "REF*F8*21234567890123~" in text and "SV2*0310*HC:88305*210*UN*1~" in text
    assert _q(
        db, "SELECT original_invoice_id IS NOT NULL, frequency_code FROM invoices WHERE number = ?",
        (res["replacement"],),
    ) == [(1, "7")]  # fmt: skip


def test_a_correction_keeps_the_patient(hosp, tmp_path, cli):
    hosp.close()
    rows = [
        ["HO1", "H1002", "131", "2026-06-10", "2026-06-10", "01", ifx.ATTENDING_NPI, "K63.5",
         "", "0750", "45380", "1", "1850.00", ""],
    ]  # fmt: skip
    r = cli("import", "institutional", _ub04(tmp_path / "f.csv", rows), "--correct")
    assert r.exit_code == 2 and "row 2, column 'mrn': a correction keeps the claim's patient" in (
        r.stderr
    )


def test_institutional_scrub_errors_hold_the_claim(db, tmp_path):
    """The institutional scrub rules (billadmin/scrub/institutional.py) run in the generate run:
    pathology (031x) without a HCPCS code on an outpatient claim (I/OCE edit 48) and a POA
    indicator on an outpatient claim hold it; the inpatient stay is billed."""
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(
            db,
            ids["a"],
            "HO2",
            ids["facility"],
            diagnoses=[("ABK", "K635", "Y")],
            lines=[
                {"revenue_code": "0750", "hcpcs": "45380", "units": 1, "charge_cents": 185000,
                 "line_date": "2026-06-10"},
                {"revenue_code": "0310", "units": 1, "charge_cents": 42000,
                 "line_date": "2026-06-10"},
            ],
        )  # fmt: skip
        ifx.inpatient(db, ids["b"], "HI2", ids["facility"])
    r = _run(db, tmp_path)
    held = {h.encounter: sorted({f.rule for f in h.findings}) for h in r.held}
    assert held == {"HO2": ["INST-POA-PLACE", "INST-REV-HCPCS"]}
    assert {c.key: c.status for c in model.list_claims(db)} == {"HI2": "billed", "HO2": "unbilled"}


def test_a_second_coverage_goes_in_loop_2320(db, tmp_path):
    """A dual-eligible patient: Medicare primary, Medicaid secondary on the statement date; the
    837I names Medicaid in 2320/2330 (SBR*S, OI, NM1*IL, NM1*PR) and pyx12 accepts it."""
    with dbmod.write(db):
        ids = ifx.hospital(db)
        fx.coverage(db, ids["a"], "MCD", member="OH0012345", priority=2)
        ifx.outpatient(db, ids["a"], "HO3", ids["facility"])
    _run(db, tmp_path)
    (edi,) = _edi(tmp_path, "837I")
    v = validate.validate_file(edi)
    assert v.valid, [str(x) for x in v.problems]
    text = edi.read_text()
    assert "SBR*P*18*******MA~" in text
    assert "SBR*S*18*******MC~\nOI***Y***Y~\nNM1*IL*1*ABLE*ANN****MI*OH0012345~" in text
    assert "NM1*PR*2*STATE MEDICAID*****PI*OHMCD~" in text


def test_content_carries_the_mrn_for_ub04_fl_3b(hosp, tmp_path):
    """UB-04 FL 3b (medical record number) is the patient's MRN, from the issued content."""
    import json

    from billadmin.billing import ub04

    _run(hosp, tmp_path)
    [(data,)] = _q(
        hosp,
        "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = 'C000003'",
    )
    c = json.loads(data)
    assert c["mrn"] == "H1001"
    assert ub04.fields_from_content(c)["3b"] == "H1001"


def test_a_paper_payer_without_payer_id_is_not_held(hosp, tmp_path):
    """INST-PAYER-ID holds a claim for a payer with no X12 payer id, unless the payer takes
    paper (`payer set --paper`): its claims print on the UB-04, which needs no payer id."""
    with dbmod.write(hosp):
        hosp.execute("UPDATE payers SET x12_payer_id = NULL WHERE code = 'MCR'")
    r = _run(hosp, tmp_path, payer="MCR")
    assert "INST-PAYER-ID" in {f.rule for h in r.held for f in h.findings}
    with dbmod.write(hosp):
        hosp.execute("UPDATE payers SET claim_media = 'paper' WHERE code = 'MCR'")
    r = _run(hosp, tmp_path, payer="MCR", out_dir=tmp_path / "out2")
    assert [h.encounter for h in r.held if h.encounter.startswith("H")] == []
    assert {c.key: c.status for c in model.list_claims(hosp)} == {"HI1": "billed", "HO1": "billed"}
    assert len(list((tmp_path / "out2").glob("UB04-*.pdf"))) == 2
    assert not list((tmp_path / "out2").glob("837I-*.edi"))

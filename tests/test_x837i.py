"""The 837I writer (005010X223A2): pyx12 accepts what we write (outpatient, inpatient, void,
replacement), the segments carry the claim as the guide says, and pyx12 agrees with the guide's
own examples (three of which it rightly rejects)."""

from __future__ import annotations

import datetime as dt

import institutional_fixtures as ifx
import pytest

from billadmin import db as dbmod
from billadmin.billing import content as bc
from billadmin.institutional import content, model
from billadmin.x12 import envelope, validate, x837i


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
    return db


def _content(conn, key, number, frequency="1", pcn=None):
    claim = model.load_claim(conn, key)
    pat = conn.execute(
        f"SELECT {', '.join(bc.PATIENT_COLS)} FROM patients WHERE id = ?", (claim.patient_id,)
    ).fetchone()
    patient = dict(zip(bc.PATIENT_COLS, pat, strict=True))
    cov = conn.execute(
        f"SELECT {', '.join(bc.COVERAGE_COLS)} FROM coverages WHERE patient_id = ?",
        (claim.patient_id,),
    ).fetchone()
    coverage = dict(zip(bc.COVERAGE_COLS, cov, strict=True))
    payer = bc.load_payers(conn)[coverage["payer_id"]]
    ids = list(range(100, 100 + len(claim.lines)))
    return content.claim_content(
        claim,
        number=number,
        frequency=frequency,
        line_ids=ids,
        patient=patient,
        coverage=coverage,
        payer=payer,
        others=[],
        payer_claim_number=pcn,
    )


def _render(conn, contents):
    import invoice_fixtures as fx

    fac = content.facility_block(model.load_claim(conn, contents[0]["encounter"]))
    env = envelope.Envelope(
        sender_id="TFP01",
        receiver_id="CLEARHOUSE01",
        isa_control=42,
        gs_control=7,
        created=dt.datetime(2026, 6, 30, 9, 15),
        usage="T",
    )
    return x837i.render(env, content.block(fx.PRACTICE, fac), contents)


def _segs(r):
    return [s for s in r.segments]


def test_outpatient_claim_is_valid_and_says_what_the_guide_says(hosp):
    r = _render(hosp, [_content(hosp, "HO1", "C000001")])
    v = validate.validate_text(r.text, "op.edi")
    assert v.valid, [str(p) for p in v.problems]
    assert v.version == "005010X223A2"
    s = _segs(r)
    assert "ST*837*0001*005010X223A2" in s
    assert "NM1*85*2*RIVERSIDE GENERAL HOSPITAL*****XX*" + ifx.FACILITY["npi"] in s
    assert "N4*COLUMBUS*OH*432151000" in s
    assert "SBR*P*18*******MA" in s
    # 1,850.00 + 420.00 + 300.00 = 2,570.00; type of bill 131 -> 13:A:1
    assert "CLM*C000001*2570***13:A:1**A*Y*Y" in s
    assert "DTP*434*RD8*20260610-20260610" in s
    assert "CL1*3*1*01" in s
    assert "HI*ABK:K635" in s and "HI*APR:R195" in s and "HI*ABF:Z1211" in s
    assert "NM1*71*1*OKAFOR*ANN****XX*" + ifx.ATTENDING_NPI in s
    assert "SV2*0750*HC:45380*1850*UN*1" in s
    assert "SV2*0310*HC:88305*420*UN*2" in s
    assert "SV2*0710**300*UN*1" in s
    assert s.count("DTP*472*D8*20260610") == 3
    assert "REF*6R*100" in s


def test_inpatient_claim_codes_poa_procedures(hosp):
    r = _render(hosp, [_content(hosp, "HI1", "C000002")])
    v = validate.validate_text(r.text, "ip.edi")
    assert v.valid, [str(p) for p in v.problems]
    s = _segs(r)
    # 5,400.00 + 360.00 + 4,200.00
    assert "CLM*C000002*9960***11:A:1**A*Y*Y" in s
    assert "DTP*096*TM*1100" in s
    assert "DTP*435*DT*202606011400" in s
    assert "CL1*1*7*01" in s
    assert "HI*ABK:K922:::::::Y" in s
    assert "HI*ABJ:K922" in s
    assert "HI*ABF:D62:::::::Y*ABF:E119:::::::Y" in s
    assert "HI*BBR:0DB68ZX:D8:20260602" in s
    assert "HI*BI:74:RD8:20260603-20260603" in s
    assert "HI*BH:11:D8:20260531" in s
    assert "HI*BE:80:::3*BE:A1:::1676" in s
    assert "HI*BG:39" in s
    assert "NM1*72*1*LIND*BEN****XX*" in "\n".join(s)
    assert "SV2*0120**5400*DA*3" in s
    # the segment order of loop 2300 is the guide's: DTP*096 before DTP*434, HIs after CL1
    assert s.index("DTP*096*TM*1100") < s.index("DTP*434*RD8*20260601-20260604")
    assert s.index("CL1*1*7*01") < s.index("HI*ABK:K922:::::::Y") < s.index("HI*BG:39")


def test_void_and_replacement_are_valid(hosp):
    void = _content(hosp, "HO1", "C000003", frequency="8", pcn="21234567890123")
    repl = _content(hosp, "HI1", "C000004", frequency="7", pcn="31234567890124")
    r = _render(hosp, [void, repl])
    v = validate.validate_text(r.text, "corr.edi")
    assert v.valid, [str(p) for p in v.problems]
    s = _segs(r)
    assert "CLM*C000003*2570***13:A:8**A*Y*Y" in s
    assert "CLM*C000004*9960***11:A:7**A*Y*Y" in s
    assert "REF*F8*21234567890123" in s and "REF*F8*31234567890124" in s
    assert r.claim_st == ["0001", "0001"]


def test_pyx12_refuses_what_the_guide_refuses(hosp):
    """Our validation path is strict where 5010 is: a 5-digit billing ZIP and a one-date RD8."""
    good = _render(hosp, [_content(hosp, "HO1", "C000005")]).text
    zip5 = good.replace("N4*COLUMBUS*OH*432151000", "N4*COLUMBUS*OH*43215")
    v = validate.validate_text(zip5, "zip5.edi")
    assert not v.valid and any("N403" in str(p) for p in v.problems)
    one = good.replace("DTP*434*RD8*20260610-20260610", "DTP*434*RD8*20260610")
    v = validate.validate_text(one, "rd8.edi")
    assert not v.valid and any("DTP03" in str(p) for p in v.problems)


@pytest.mark.corpus
def test_guide_examples_through_our_validation_path(corpus):
    """The 837I guide's examples: two pass; three are rejected, each for a reason the 5010 guide
    gives (a 5-digit billing-provider ZIP; a statement-date RD8 with one date)."""
    folder = corpus / "x12" / "837i"
    verdicts = {p.name: validate.validate_file(p) for p in sorted(folder.glob("*.edi"))}
    assert {n for n, v in verdicts.items() if v.valid} == {
        "out-of-network-repriced-claim.edi",
        "ppo-repriced-claim.edi",
    }
    for name in ("837-institutional-claim.edi", "automobile-accident.edi"):
        assert any("N403" in str(p) for p in verdicts[name].problems), name
    two = verdicts["two-claims-for-the-same-provider.edi"]
    assert [p for p in two.problems if "N403" not in str(p)] == []
    first = verdicts["837-institutional-claim.edi"]
    assert any("DTP03" in str(p) and "Statement" in str(p) for p in first.problems)
    assert all(v.version == "005010X223A2" for v in verdicts.values())

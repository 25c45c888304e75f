"""The next payer's 837I after Medicare's answer to an institutional claim carries that answer's
adjudication in loop 2320: MIA on an inpatient claim (what the 835's MIA gave), MOA on an
outpatient one, never both (TR3 005010X223A2 loop 2320; the element lists checked against
pyx12's map 837Q3.I.5010.X223.A1: the 837I's MIA02 is Not Used, where the 835's MIA02 is the
PPS operating outlier amount, so that amount is not carried).

The claims are the institutional fixtures, issued by `invoice generate` as C000001: the stay HI1
(0120 5,400.00; 0250 360.00; 0360 4,200.00 = 9,960.00) or the endoscopy HO1 (0750 1,850.00;
0310 420.00; 0710 300.00 = 2,570.00), each patient with Medicare first and Medicaid second.
Every expected segment and amount is written by hand from the 835 the test writes."""

from __future__ import annotations

import institutional_fixtures as ifx
import invoice_fixtures as fx
from test_remit_institutional import _add, _inv, _medicare, _outpatient_answer
from test_remit_support import balance_of

from billadmin import db as dbmod
from billadmin.billing import generate as gen

# Medicare's IPPS answer to the stay: the DRG pays 7,796.50 less the Part A deductible
# 1,676.00 (PR-1) = 6,120.50; the rest of the charge, 9,960.00 - 7,796.50 = 2,163.50, is
# CO-45. The MIA as FISS writes it (835 positions): 01 covered days 3, 02 PPS operating outlier
# 125.50, 03 lifetime psychiatric days 12, 04 DRG amount 7,796.50, 05 remark MA01, 06
# disproportionate share 310.75, 08 PPS capital 412.80, 13 PPS capital IME 50.25, 15 cost report
# days 3, 20 remark N1, 24 PPS capital exception 15.00.
MIA_835 = [
    "MIA", "3", "125.5", "12", "7796.5", "MA01", "310.75", "", "412.8", "", "", "", "",
    "50.25", "", "3", "", "", "", "", "N1", "", "", "", "15",
]  # fmt: skip
# The same in the 837I's 2320 MIA: 01 3, 02 empty (Not Used), 03 12, 04 7796.5, 05 MA01,
# 06 310.75, 07 empty, 08 412.8, 09-12 empty, 13 50.25, 14 empty, 15 3, 16-19 empty, 20 N1,
# 21-23 empty, 24 15.
MIA_837I = "MIA*3**12*7796.5*MA01*310.75**412.8*****50.25**3*****N1****15~"


def _inpatient_answer(*extra: list[str]) -> list[list[str]]:
    return [
        ["CLP", "C000001", "1", "9960", "6120.5", "1676", "MA", "31234567890124", "11", "1"],
        ["CAS", "CO", "45", "2163.5"],
        ["CAS", "PR", "1", "1676"],
        ["NM1", "QC", "1", "BAKER", "BOB", "", "", "", "MI", "2FH5UF6NL84"],
        *extra,
        ["DTM", "232", "20260601"],
        ["DTM", "233", "20260604"],
    ]


def _next_payer_837i(
    cli, db, tmp_path, *, inpatient: bool, answer, paid_cents: int, **claim
) -> str:
    """Bill the claim to Medicare, post `answer`, bill Medicaid: the Medicaid 837I's text,
    after pyx12 accepted it."""
    from billadmin.x12 import validate

    with dbmod.write(db):
        ids = ifx.hospital(db)
        who = ids["b"] if inpatient else ids["a"]
        fx.coverage(db, who, "MCD", member="OH0054321", priority=2)
        if inpatient:
            ifx.inpatient(db, who, "HI1", ids["facility"], **claim)
        else:
            ifx.outpatient(db, who, "HO1", ids["facility"], **claim)
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    f = _add(_medicare(), answer, paid_cents).write(tmp_path / "answer.835")
    assert cli("remit", "import", f).exit_code == 0
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out2")
    assert r.held == [] and [x["number"] for x in r.issued] == ["C000002"]
    (edi,) = sorted((tmp_path / "out2").glob("837I-MCD-*.edi"))
    v = validate.validate_file(edi)
    assert v.valid, [str(p) for p in v.problems]
    return edi.read_text()


def test_inpatient_next_payer_837i_carries_the_835_mia(cli, db, tmp_path):
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=True, answer=_inpatient_answer(MIA_835), paid_cents=612050
    )
    assert "CLM*C000002*9960***11:A:1**A*Y*Y~" in text
    assert (
        "SBR*P*18*******MA~\nCAS*CO*45*2163.5~\nCAS*PR*1*1676~\nAMT*D*6120.5~\nAMT*EAF*1676~"
        f"\nOI***Y***Y~\n{MIA_837I}\nNM1*IL*1*BAKER*BOB****MI*2FH5UF6NL84~"
    ) in text, text
    assert "MOA*" not in text
    assert balance_of(db, _inv(db, "C000002"))["balance"] == 167600


def test_inpatient_answer_with_both_segments_gets_mia_only(cli, db, tmp_path):
    """An 835 that (wrongly) gave both MIA and MOA for a stay: the 837I carries MIA, never
    both; a remark pyx12's code list does not know (N781) is left out, as for MOA."""
    text = _next_payer_837i(
        cli,
        db,
        tmp_path,
        inpatient=True,
        answer=_inpatient_answer(["MIA", "3", "", "", "7796.5", "N781"], ["MOA", "", "", "MA01"]),
        paid_cents=612050,
    )
    assert "OI***Y***Y~\nMIA*3***7796.5~\nNM1*IL" in text, text
    assert "MOA*" not in text and "N781" not in text


def test_inpatient_answer_without_mia_gets_neither(cli, db, tmp_path):
    """No MIA in the 835 (a payer that does not report it): MIA01 is required and never made
    up, so the 2320 has no MIA, and no MOA either."""
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=True, answer=_inpatient_answer(), paid_cents=612050
    )
    assert "OI***Y***Y~\nNM1*IL" in text
    assert "MIA*" not in text and "MOA*" not in text


def test_inpatient_part_b_answered_with_moa_gets_moa(cli, db, tmp_path):
    """An inpatient Part B claim (type of bill 121) is paid by the outpatient rules: its 835
    gives MOA, no MIA, and the 837I's 2320 carries that MOA (TR3: MOA when the remittance
    reported outpatient adjudication), rate and HCPCS payable amount included, never both."""
    answer = _inpatient_answer(["MOA", "0.8", "6120.5", "MA01"])
    answer[0][8] = "12"  # CLP08: the facility code of a 12x claim
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=True, answer=answer, paid_cents=612050, type_of_bill="121"
    )
    assert "CLM*C000002*9960***12:A:1**A*Y*Y~" in text
    assert "OI***Y***Y~\nMOA*0.8*6120.5*MA01~\nNM1*IL" in text, text
    assert "MIA*" not in text


def test_outpatient_next_payer_837i_keeps_its_moa(cli, db, tmp_path):
    """The endoscopy's answer (MOA*0.8*680*MA01; paid 680.00, patient 170.00): Medicaid's 837I
    has the same MOA (rate 80%, HCPCS payable 680.00, the remark), and no MIA even when the
    835 (wrongly) sent one."""
    answer = _outpatient_answer()
    answer[0][1] = "C000001"
    answer.insert(3, ["MIA", "1", "", "", "500"])
    text = _next_payer_837i(cli, db, tmp_path, inpatient=False, answer=answer, paid_cents=68000)
    assert "CLM*C000002*2570***13:A:1**A*Y*Y~" in text
    assert "AMT*D*680~\nAMT*EAF*170~\nOI***Y***Y~\nMOA*0.8*680*MA01~\nNM1*IL" in text, text
    assert "MIA*" not in text
    assert balance_of(db, _inv(db, "C000002"))["balance"] == 17000


def _outpatient_with_moa(moa: list[str]) -> list[list[str]]:
    answer = _outpatient_answer()
    answer[0][1] = "C000001"
    (i,) = [n for n, s in enumerate(answer) if s[0] == "MOA"]
    answer[i] = moa
    return answer


def test_outpatient_moa_carries_every_element_the_835_gave(cli, db, tmp_path):
    """An ESRD-style MOA with every element (835 positions): 01 rate 0.625 (62.5%), 02 HCPCS
    payable 680.00, 03 MA01, 04 N781 (newer than pyx12's code list: left out), 05 N1, 08 ESRD
    payment 412.37, 09 non-payable professional component 95.10. The 837I's 2320 MOA: 01
    0.625, 02 680, 03 MA01, 04 N1 (the next remark moves up), 05-07 empty, 08 412.37, 09 95.1."""
    moa = ["MOA", "0.625", "680", "MA01", "N781", "N1", "", "", "412.37", "95.10"]
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=False, answer=_outpatient_with_moa(moa), paid_cents=68000
    )
    assert "OI***Y***Y~\nMOA*0.625*680*MA01*N1****412.37*95.1~\nNM1*IL" in text, text
    assert "N781" not in text and "MIA*" not in text
    assert balance_of(db, _inv(db, "C000002"))["balance"] == 17000


def test_outpatient_moa_with_amounts_only(cli, db, tmp_path):
    """An MOA with no rate and no remark, only MOA08 (ESRD payment 1,250.00) and MOA09
    (non-payable professional 0.00, given, so carried): the 837I's MOA has the two amounts in
    their positions, elements 01-07 empty."""
    moa = ["MOA", "", "", "", "", "", "", "", "1250", "0"]
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=False, answer=_outpatient_with_moa(moa), paid_cents=68000
    )
    assert "OI***Y***Y~\nMOA********1250*0~\nNM1*IL" in text, text


def test_outpatient_moa_with_nothing_to_carry(cli, db, tmp_path):
    """An MOA whose only remark pyx12's list does not know (N781), with no rate or amount:
    nothing is left to carry, so the 2320 has no MOA (an empty segment is not X12)."""
    moa = ["MOA", "", "", "N781"]
    text = _next_payer_837i(
        cli, db, tmp_path, inpatient=False, answer=_outpatient_with_moa(moa), paid_cents=68000
    )
    assert "OI***Y***Y~\nNM1*IL" in text, text
    assert "MOA*" not in text


def test_claims_issued_before_keep_their_bytes():
    """Content issued before the MOA amounts were kept (the adjudication had only remarks, and
    `outpatient` true on an inpatient claim the 835 answered with MOA) renders as it was
    issued: MOA with the remarks only; an inpatient claim with neither flag gets no MOA."""
    from billadmin.x12 import x837i

    old = {"paid_cents": 68000, "cas": [], "remarks": ["MA01", "N1"]}
    assert x837i._moa(old, inpatient=False) == "MOA***MA01*N1"
    assert x837i._moa({**old, "outpatient": True}, inpatient=True) == "MOA***MA01*N1"
    assert x837i._moa(old, inpatient=True) is None
    assert x837i._moa({**old, "remarks": []}, inpatient=False) is None

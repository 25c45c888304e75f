"""835s answering our 837I claims (issue 17): CLP08 the facility code (the type of bill's first
two digits) and CLP09 the frequency; SVC01 HC:<HCPCS> with SVC04 the revenue code, or NU:<revenue
code> (835 TR3 005010X221A1, 2110 SVC01 and SVC04); MOA on outpatient claims, MIA on inpatient
ones; an inpatient stay paid by DRG has no service lines and posts at claim level.

Claims are issued by `invoice generate` from the institutional fixtures: C000001 is the
inpatient stay HI1 (0120 5,400.00; 0250 360.00; 0360 4,200.00 = 9,960.00) and C000002 the
outpatient endoscopy HO1 (0750 45380 1,850.00; 0310 88305 x2 420.00; 0710 300.00 = 2,570.00).
Every expected amount is written by hand from the 835 the test writes."""

from __future__ import annotations

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest
from test_remit_support import Remit, balance_of, status_of

from billadmin import db as dbmod
from billadmin.billing import generate as gen


@pytest.fixture
def hosp(db, tmp_path):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    assert [x["number"] for x in r.issued] == ["C000001", "C000002"]
    return db


def _inv(db, number) -> int:
    return db.execute("SELECT id FROM invoices WHERE number = ?", (number,)).fetchone()[0]


def _lines(db, number) -> dict[str, int]:
    """Invoice line ids by their code (HCPCS, else revenue code)."""
    return dict(
        db.execute(
            "SELECT l.code, l.id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
            " WHERE i.number = ?",
            (number,),
        ).fetchall()
    )


def _medicare(trace="FISS0001") -> Remit:
    return Remit(trace=trace, payer="MEDICARE PART A", payer_tin="1999999999")


def _add(remit: Remit, segs: list[list[str]], paid_cents: int) -> Remit:
    remit.claims.append(segs)
    remit.paid_total += paid_cents
    return remit


def _svc(code, charge, paid, rev, units, cas=(), ref=None, date="20260610"):
    segs = [["SVC", code, charge, paid, rev, units]]
    if date:
        segs.append(["DTM", "472", date])
    segs += [["CAS", g, r, a] for g, r, a in cas]
    if ref:
        segs.append(["REF", "6R", ref])
    return segs


def _outpatient_answer(lines: dict[str, int] | None = None) -> list[list[str]]:
    """Medicare's OPPS answer to C000002 (CLP08 13, CLP09 1; MOA): the colonoscopy allowed
    750.00 (CO-45 1,100.00, PR-2 150.00, paid 600.00); the pathology, answered by its revenue
    code (NU:0310), denied CO-50; recovery allowed 100.00 (CO-45 200.00, PR-2 20.00, paid
    80.00). Paid 680.00, patient 170.00."""
    ref = lines or {}
    return [
        ["CLP", "C000002", "1", "2570", "680", "170", "MA", "21234567890123", "13", "1"],
        ["NM1", "QC", "1", "ABLE", "ANN", "", "", "", "MI", "1EG4TE5MK73"],
        ["MOA", "0.8", "680", "MA01"],
        *_svc(
            "HC:45380:PT",
            "1850",
            "600",
            "0750",
            "1",
            [("CO", "45", "1100"), ("PR", "2", "150")],
            ref.get("45380"),
        ),
        *_svc("NU:0310", "420", "0", "", "2", [("CO", "50", "420")], ref.get("88305")),
        *_svc(
            "NU:0710",
            "300",
            "80",
            "",
            "1",
            [("CO", "45", "200"), ("PR", "2", "20")],
            ref.get("0710"),
        ),
    ]


def _inpatient_answer() -> list[list[str]]:
    """Medicare's IPPS answer to C000001 (CLP08 11; MIA): the DRG pays 7,796.50, less the Part A
    deductible 1,676.00 (PR-1) = 6,120.50 paid; the rest of the charge, 9,960.00 - 7,796.50 =
    2,163.50, is CO-45. No service lines: claim-level CAS."""
    return [
        ["CLP", "C000001", "1", "9960", "6120.5", "1676", "MA", "31234567890124", "11", "1"],
        ["CAS", "CO", "45", "2163.5"],
        ["CAS", "PR", "1", "1676"],
        ["NM1", "QC", "1", "BAKER", "BOB", "", "", "", "MI", "2FH5UF6NL84"],
        ["MIA", "3", "", "", "7796.5", "MA01"],
        ["DTM", "232", "20260601"],
        ["DTM", "233", "20260604"],
    ]


def test_outpatient_835_posts_to_the_revenue_lines(cli, hosp, tmp_path):
    f = _add(_medicare(), _outpatient_answer(), 68000).write(tmp_path / "op.835")
    r = cli("remit", "import", f)
    assert r.exit_code == 0, r.stderr
    inv, ids = _inv(hosp, "C000002"), _lines(hosp, "C000002")
    # paid 680.00 by line: 600.00 on the colonoscopy, 80.00 on recovery
    assert sorted(
        hosp.execute(
            "SELECT invoice_line_id, amount_cents FROM payment_allocations WHERE invoice_id = ?",
            (inv,),
        ).fetchall()
    ) == sorted([(ids["45380"], 60000), (ids["0710"], 8000)])
    # CO-45 and PR-2 on their lines; the denied pathology line stays out of the ledger
    assert sorted(
        hosp.execute(
            "SELECT invoice_line_id, group_code, reason_code, amount_cents, source"
            " FROM adjustments WHERE invoice_id = ?",
            (inv,),
        ).fetchall()
    ) == sorted(
        [
            (ids["45380"], "CO", "45", 110000, "remit"),
            (ids["45380"], "PR", "2", 15000, "transfer"),
            (ids["0710"], "CO", "45", 20000, "remit"),
            (ids["0710"], "PR", "2", 2000, "transfer"),
        ]
    )
    # the denial is kept as read, matched to the pathology line (NU:0310 = its revenue code)
    assert hosp.execute(
        "SELECT l.invoice_line_id, a.class, a.adjustment_id FROM remit_adjustments a"
        " JOIN remit_lines l ON l.id = a.line_id WHERE a.reason_code = '50'"
    ).fetchall() == [(ids["88305"], "denial", None)]
    # 2,570.00 - 680.00 paid - 1,300.00 CO-45 - 170.00 to the patient = 420.00 (the denial)
    assert balance_of(hosp, inv) == {
        "total": 257000,
        "paid": 68000,
        "adjusted": 147000,
        "balance": 42000,
    }
    assert status_of(hosp, inv) == "partially_paid"
    # CLP08/CLP09 kept as read, the MOA block too
    assert hosp.execute(
        "SELECT facility_code, frequency_code FROM remit_claims WHERE invoice_id = ?", (inv,)
    ).fetchall() == [("13", "1")]
    assert hosp.execute("SELECT kind FROM remit_adjudications").fetchall() == [("outpatient",)]


def test_lines_match_by_our_line_control_number_first(cli, hosp, tmp_path):
    """REF*6R returns the invoice line id the 837I sent: it wins over the code."""
    ids = _lines(hosp, "C000002")
    answer = _outpatient_answer({k: str(v) for k, v in ids.items()})
    f = _add(_medicare(), answer, 68000).write(tmp_path / "op.835")
    assert cli("remit", "import", f).exit_code == 0
    assert sorted(
        hosp.execute("SELECT invoice_line_id FROM remit_lines ORDER BY seq").fetchall()
    ) == sorted([(ids["45380"],), (ids["88305"],), (ids["0710"],)])


def test_inpatient_drg_payment_posts_at_claim_level(cli, hosp, tmp_path):
    f = _add(_medicare(), _inpatient_answer(), 612050).write(tmp_path / "ip.835")
    r = cli("remit", "import", f)
    assert r.exit_code == 0, r.stderr
    inv = _inv(hosp, "C000001")
    assert hosp.execute(
        "SELECT invoice_line_id, amount_cents FROM payment_allocations WHERE invoice_id = ?",
        (inv,),
    ).fetchall() == [(None, 612050)]
    assert sorted(
        hosp.execute(
            "SELECT invoice_line_id, group_code, reason_code, amount_cents, source"
            " FROM adjustments WHERE invoice_id = ?",
            (inv,),
        ).fetchall()
    ) == [(None, "CO", "45", 216350, "remit"), (None, "PR", "1", 167600, "transfer")]
    # 9,960.00 - 6,120.50 - 2,163.50 - 1,676.00 = 0: the payer's part is settled
    assert balance_of(hosp, inv)["balance"] == 0
    assert status_of(hosp, inv) == "paid"
    adj = hosp.execute("SELECT kind, drg_cents, covered_days FROM remit_adjudications").fetchall()
    assert adj == [("inpatient", 779650, "3")]
    # `remit show` shows the MIA block
    r = cli("remit", "show", f)
    assert r.exit_code == 0, r.stderr
    assert "7,796.50" in r.stdout or "7796.50" in r.stdout, r.stdout


def test_inpatient_denied_in_full_stays_open(cli, hosp, tmp_path):
    """A stay denied (CLP02 4, CO-50 on the whole charge) is a denial: nothing in the ledger,
    the whole 9,960.00 stays open for the clerk to work."""
    segs = [
        ["CLP", "C000001", "4", "9960", "0", "", "MA", "31234567890125", "11", "1"],
        ["CAS", "CO", "50", "9960"],
        ["NM1", "QC", "1", "BAKER", "BOB", "", "", "", "MI", "2FH5UF6NL84"],
        ["MIA", "0", "", "", "0", "N115"],
    ]
    f = _add(_medicare(), segs, 0).write(tmp_path / "ip.835")
    assert cli("remit", "import", f).exit_code == 0
    inv = _inv(hosp, "C000001")
    assert balance_of(hosp, inv) == {"total": 996000, "paid": 0, "adjusted": 0, "balance": 996000}
    assert status_of(hosp, inv) == "denied"


def test_next_payer_837i_after_an_institutional_answer(cli, db, tmp_path):
    """A dual-eligible patient: Medicare's answer (not forwarded) leaves the coinsurance,
    150.00 + 20.00 = 170.00, for Medicaid. The next `invoice generate` bills Medicaid an 837I
    (SBR*S) with Medicare's answer in 2320 (AMT*D 680.00, AMT*EAF 170.00, MOA remarks) and
    each line's in 2430 (SVD with the revenue code, CAS, DTP*573), pyx12-valid; its invoice
    carries the whole charge 2,570.00 less OA-23 2,400.00 = 170.00 open."""
    from billadmin.x12 import validate

    with dbmod.write(db):
        ids = ifx.hospital(db)
        fx.coverage(db, ids["a"], "MCD", member="OH0012345", priority=2)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    answer = _outpatient_answer()
    answer[0][1] = "C000001"  # the only claim here
    f = _add(_medicare(), answer, 68000).write(tmp_path / "op.835")
    assert cli("remit", "import", f).exit_code == 0
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out2")
    assert r.held == []
    assert [(x["number"], x["bill_to"], x["total_cents"]) for x in r.issued] == [
        ("C000002", "MCD", 257000)
    ]
    (edi,) = sorted((tmp_path / "out2").glob("837I-MCD-*.edi"))
    v = validate.validate_file(edi)
    assert v.valid, [str(p) for p in v.problems]
    text = edi.read_text()
    assert "CLM*C000002*2570***13:A:1**A*Y*Y~" in text
    assert "SBR*S*18*******MC~" in text
    two320 = "SBR*P*18*******MA~\nAMT*D*680~\nAMT*EAF*170~\nOI***Y***Y~\nMOA*0.8*680*MA01~"
    assert two320 in text, text
    assert (
        "SVD*15202*600*HC:45380*0750*1~\nCAS*CO*45*1100~\nCAS*PR*2*150~\nDTP*573*D8*20260314~"
        in text
    )
    assert "SVD*15202*0*HC:88305*0310*2~\nCAS*CO*50*420~" in text
    assert "SVD*15202*80**0710*1~\nCAS*CO*45*200~\nCAS*PR*2*20~" in text
    inv = _inv(db, "C000002")
    assert db.execute(
        "SELECT group_code, reason_code, amount_cents, source FROM adjustments WHERE invoice_id = ?",
        (inv,),
    ).fetchall() == [("OA", "23", 240000, "cob")]
    assert balance_of(db, inv)["balance"] == 17000
    assert db.execute("SELECT prior_invoice_id, sequence FROM cob_claims").fetchall() == [
        (_inv(db, "C000001"), "S")
    ]
    # nothing is billed twice
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out3")
    assert r.issued == [] and r.held == []


def test_next_payer_837i_held_when_the_next_payer_cannot_be_billed(cli, db, tmp_path):
    """Medicaid without an X12 payer id: the next-payer 837I is held (INST-PAYER-ID), nothing
    issued, and the run goes on."""
    with dbmod.write(db):
        ids = ifx.hospital(db)
        fx.coverage(db, ids["a"], "MCD", member="OH0012345", priority=2)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    answer = _outpatient_answer()
    answer[0][1] = "C000001"
    f = _add(_medicare(), answer, 68000).write(tmp_path / "op.835")
    assert cli("remit", "import", f).exit_code == 0
    with dbmod.write(db):
        db.execute("UPDATE payers SET x12_payer_id = NULL WHERE code = 'MCD'")
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out2")
    assert r.issued == []
    assert [(h.encounter, [x.rule for x in h.findings]) for h in r.held] == [
        ("HO1", ["INST-PAYER-ID"])
    ]


def test_next_payer_837i_after_a_drg_paid_stay(cli, db, tmp_path):
    """The stay paid by its DRG (claim-level CAS, no SVC): Medicaid's 837I carries Medicare's
    answer in 2320 only (CAS CO-45 2,163.50 and PR-1 1,676.00, AMT*D 6,120.50, AMT*EAF the
    deductible 1,676.00; the 835's MIA, no MOA on an inpatient claim), no 2430; 1,676.00 stays
    open."""
    from billadmin.x12 import validate

    with dbmod.write(db):
        ids = ifx.hospital(db)
        fx.coverage(db, ids["b"], "MCD", member="OH0054321", priority=2)
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    f = _add(_medicare(), _inpatient_answer(), 612050).write(tmp_path / "ip.835")
    assert cli("remit", "import", f).exit_code == 0
    r = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out2")
    assert r.held == [] and [x["number"] for x in r.issued] == ["C000002"]
    (edi,) = sorted((tmp_path / "out2").glob("837I-MCD-*.edi"))
    v = validate.validate_file(edi)
    assert v.valid, [str(p) for p in v.problems]
    text = edi.read_text()
    assert "CLM*C000002*9960***11:A:1**A*Y*Y~" in text
    assert (
        "SBR*P*18*******MA~\nCAS*CO*45*2163.5~\nCAS*PR*1*1676~\nAMT*D*6120.5~\nAMT*EAF*1676~"
        "\nOI***Y***Y~\nMIA*3***7796.5*MA01~\nNM1*IL"
    ) in text
    assert "SVD*" not in text and "MOA*" not in text
    assert balance_of(db, _inv(db, "C000002"))["balance"] == 167600

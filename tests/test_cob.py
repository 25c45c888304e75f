"""Coordination of benefits (billing/cob.py): next-payer 837P COB claims built from the prior
payer's posted 835, validated by pyx12 and balanced; crossovers; patient protection (QMB,
Medicaid); tertiary claims; refusals. Every amount is worked out by hand in the test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.billing import cob
from billadmin.billing import generate as gen
from billadmin.errors import BadInput
from billadmin.remit import post
from billadmin.reports import aging
from billadmin.x12 import validate

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


@pytest.fixture
def practice_db(db):
    with dbmod.write(db):
        fx.practice(db)
    return db


def _patient(db, *payers: str, qmb: bool = False, msp: str | None = None) -> int:
    """A patient with one coverage per payer, in priority order, and a 99214 at 200.00."""
    with dbmod.write(db):
        p = fx.patient(db, "C0001", "Cora", "Benefit")
        for n, code in enumerate(payers, start=1):
            cid = fx.coverage(db, p, code, member=f"{code}00{n}", priority=n)
            db.execute(
                "UPDATE coverages SET qmb = ?, msp_type = ? WHERE id = ?", (int(qmb), msp, cid)
            )
        fx.encounter(db, p, DOS, [("99214", 20000)])
    return p


def _run(db, tmp_path: Path, name: str, **kw) -> gen.RunResult:
    kw.setdefault("today", TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("pdf", False)
    kw.setdefault("xlsx", False)
    return gen.generate(db, out_dir=tmp_path / name, **kw)


def _remit(db, tmp_path: Path, payer: str, trace: str, claim: dict) -> None:
    path = tmp_path / f"{trace}.835"
    path.write_text(ls.remit_text({"payer": payer, "trace": trace, "on": "D", "claims": [claim]}))
    res = post.import_files(db, [path])
    assert [t.result for t in res.transactions] == ["posted"], res


def _balance(db, number: str) -> int:
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _status(db, number: str) -> str:
    return db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()[0]


def _edi(res: gen.RunResult, payer: str) -> tuple[Path, list[str]]:
    [f] = [x for x in res.files if x.name.startswith(f"837P-{payer}-")]
    v = validate.validate_file(f)
    assert v.valid, [str(p) for p in v.problems]
    return f, [s.strip() for s in f.read_text().split("~") if s.strip()]


def _numbers(res: gen.RunResult) -> list[str]:
    return [r["number"] for r in res.issued]


# the primary's answer used throughout: charge 200.00, allowed 150.00 (CO-45 50.00),
# paid 120.00, PR-2 30.00 coinsurance: 200.00 - 120.00 - 50.00 = 30.00 left
KEY_ANSWER = {
    "claim": "C000001",
    "status": "1",
    "charge": "200.00",
    "paid": "120.00",
    "pr": "30.00",
    "pcn": "KEY-1",
    "lines": [
        {
            "code": "99214",
            "charge": "200.00",
            "paid": "120.00",
            "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]],
        }
    ],
}
# the secondary's answer to C000002: paid 20.00, OA-23 170.00 (120.00 + 50.00 by the prior
# payer), PR-2 10.00: 200.00 - 20.00 - 170.00 - 10.00 = 0.00
BVH_ANSWER = {
    "claim": "C000002",
    "status": "2",
    "charge": "200.00",
    "paid": "20.00",
    "pr": "10.00",
    "pcn": "BVH-1",
    "lines": [
        {
            "code": "99214",
            "charge": "200.00",
            "paid": "20.00",
            "cas": [["OA", "23", "170.00"], ["PR", "2", "10.00"]],
        }
    ],
}


def test_secondary_claim_from_the_primary_answer(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    assert _numbers(_run(db, tmp_path, "r1")) == ["C000001"]
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    # the 30.00 PR-2 is routed to Blue Valley: not pending as the patient's
    assert aging.pending_patient_responsibility(db, TODAY) == 0
    res = _run(db, tmp_path, "r2")
    # the 30.00 goes to Blue Valley, not on a patient invoice
    assert _numbers(res) == ["C000002"]
    f, segs = _edi(res, "BVH")
    assert ls.cob_findings(f.read_text()) == []
    assert "SBR*S*18*******HM" in segs  # 2000B: Blue Valley is secondary
    assert "CLM*C000002*200***11:B:1*Y*A*Y*Y" in segs  # CLM02 the original total
    assert "NM1*PR*2*BLUE VALLEY HMO*****PI*BVH01" in segs
    i = segs.index("SBR*P*18*******CI")  # 2320: the primary
    assert segs[i + 1 : i + 4] == ["AMT*D*120", "AMT*EAF*30", "OI***Y*P**Y"]
    assert segs[i + 5] == "NM1*PR*2*KEYSTONE COMMERCIAL*****PI*KEY77"  # 2330B
    j = segs.index("SVD*KEY77*120*HC:99214**1")  # 2430: SVD01 = 2330B NM109
    assert segs[j - 1].startswith("REF*6R*")
    assert segs[j + 1 : j + 4] == [
        "CAS*CO*45*50",
        "CAS*PR*2*30",
        f"DTP*573*D8*{TODAY.strftime('%Y%m%d')}",
    ]
    # 120.00 paid + 50.00 CO-45 + 30.00 PR-2 = 200.00 = CLM02 = SV102
    # the ledger: 200.00 - 170.00 OA-23 (source cob) = 30.00 open on the secondary claim
    assert _balance(db, "C000002") == 3000
    assert _balance(db, "C000001") == 0
    # the charge line stays on the first claim only
    assert db.execute(
        "SELECT COUNT(*) FROM invoice_lines WHERE charge_line_id IS NOT NULL"
    ).fetchone() == (1,)
    assert db.execute(
        "SELECT group_code, reason_code, amount_cents FROM adjustments a JOIN invoices i"
        " ON i.id = a.invoice_id WHERE i.number = 'C000002' AND a.source = 'cob'"
    ).fetchall() == [("OA", "23", 17000)]
    # routed to the next payer when the 835 was posted, billed to it by the run
    assert [(r["rule"], r["next_payer"], r["note"]) for r in res.cob] == [
        ("COB-NEXT-PAYER", "BVH", "billed as C000002"),
    ]
    # billed once: the next run issues nothing
    assert _numbers(_run(db, tmp_path, "r3")) == []


def test_secondary_pays_and_the_patient_owes_the_rest(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    _run(db, tmp_path, "r2")
    _remit(db, tmp_path, "BVH", "EFT2", BVH_ANSWER)
    res = _run(db, tmp_path, "r3")
    # no payer is left: the secondary's PR-2 10.00 is the patient's
    assert _numbers(res) == ["P000001"]
    assert db.execute("SELECT total_cents FROM invoices WHERE number = 'P000001'").fetchone() == (
        1000,
    )


def test_tertiary_claim_carries_both_prior_payers(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH", "MCD")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == ["C000002"]
    _, segs = _edi(res, "BVH")
    assert "SBR*S*18*******HM" in segs
    assert "SBR*T*18*******MC" in segs  # Medicaid named as the next payer, no amounts
    _remit(db, tmp_path, "BVH", "EFT2", BVH_ANSWER)
    res = _run(db, tmp_path, "r3")
    assert _numbers(res) == ["C000003"]
    f, segs = _edi(res, "MCD")
    assert ls.cob_findings(f.read_text()) == []
    assert "SBR*T*18*******MC" in segs  # 2000B: Medicaid is tertiary
    # two 2320 loops: the primary (120.00 paid) and the secondary (20.00 paid)
    assert [s for s in segs if s.startswith("AMT*D*")] == ["AMT*D*120", "AMT*D*20"]
    assert "SBR*P*18*******CI" in segs and "SBR*S*18*******HM" in segs
    assert "SVD*KEY77*120*HC:99214**1" in segs and "SVD*BVH01*20*HC:99214**1" in segs
    # 20.00 + 170.00 OA-23 + 10.00 PR-2 = 200.00; the tertiary claim is open for 10.00
    assert _balance(db, "C000003") == 1000
    assert db.execute("SELECT COUNT(*) FROM invoices WHERE kind = 'patient'").fetchone() == (0,)


def test_crossover_sends_no_claim_and_waits(practice_db, tmp_path):
    db = practice_db
    _patient(db, "MCR", "MCD")
    _run(db, tmp_path, "r1")
    # Medicare: 200.00 charge, CO-45 50.00, paid 120.00, PR-2 30.00; CLP02 19 and MA07:
    # forwarded to Medicaid
    answer = {**KEY_ANSWER, "status": "19", "remarks": ["MA07"], "crossover": "STATE MEDICAID"}
    _remit(db, tmp_path, "MCR", "EFT1", answer)
    assert _status(db, "C000001") == "crossed_over"  # as soon as the 835 is posted
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == []  # no claim to Medicaid, no patient invoice
    assert _status(db, "C000001") == "crossed_over"
    # 200.00 - 120.00 - 50.00 = 30.00 back on the claim, waiting for Medicaid's 835
    assert _balance(db, "C000001") == 3000
    follow = (TODAY + dt.timedelta(days=30)).isoformat()
    assert [(r["rule"], r["claim"], r["next_payer"], r["amount_cents"]) for r in res.cob] == [
        ("COB-CROSSOVER", "C000001", "MCD", 3000),
    ]
    assert follow in res.cob[0]["note"]


def test_ma19_not_forwarded_means_we_bill_the_secondary(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", {**KEY_ANSWER, "remarks": ["MA18", "MA19"]})
    assert _numbers(_run(db, tmp_path, "r2")) == ["C000002"]


def test_qmb_coinsurance_is_never_billed_to_the_patient(practice_db, tmp_path):
    db = practice_db
    _patient(db, "MCR", qmb=True)
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "MCR", "EFT1", KEY_ANSWER)
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == []  # no statement
    # 200.00 - 120.00 - 50.00 = 30.00 held on the claim (COB-QMB) for the clerk to write off
    assert _balance(db, "C000001") == 3000
    assert [(r["rule"], r["amount_cents"]) for r in res.cob] == [("COB-QMB", 3000)]


def test_qmb_from_remark_n781(practice_db, tmp_path):
    db = practice_db
    _patient(db, "MCR")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "MCR", "EFT1", {**KEY_ANSWER, "remarks": ["N781"]})
    assert _numbers(_run(db, tmp_path, "r2")) == []
    assert _balance(db, "C000001") == 3000


def test_medicaid_bills_only_share_of_cost(practice_db, tmp_path):
    db = practice_db
    _patient(db, "MCD")
    _run(db, tmp_path, "r1")
    # Medicaid: charge 200.00, paid 120.00, CO-45 50.00, PR-2 20.00 (held: paid in full) and
    # PR-142 10.00 (share of cost: billed) -> a statement of 10.00
    answer = {
        **KEY_ANSWER,
        "lines": [
            {
                "code": "99214",
                "charge": "200.00",
                "paid": "120.00",
                "cas": [["CO", "45", "50.00"], ["PR", "2", "20.00"], ["PR", "142", "10.00"]],
            }
        ],
    }
    _remit(db, tmp_path, "MCD", "EFT1", answer)
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == ["P000001"]
    assert db.execute("SELECT total_cents FROM invoices WHERE number = 'P000001'").fetchone() == (
        1000,
    )
    assert _balance(db, "C000001") == 2000  # the PR-2 held on the claim
    assert ("COB-MEDICAID-PAID-IN-FULL", 2000) in [(r["rule"], r["amount_cents"]) for r in res.cob]


def test_medicare_secondary_needs_its_payer_type(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "MCR")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == []
    assert [f.rule for h in res.held for f in h.findings] == ["COB-MSP-TYPE"]
    db.execute("UPDATE coverages SET msp_type = '12'")
    res = _run(db, tmp_path, "r3")
    assert _numbers(res) == ["C000002"]
    _, segs = _edi(res, "MCR")
    assert "SBR*S*18***12****MB" in segs  # SBR05 12: working aged


def test_secondary_claim_without_a_primary_answer_is_refused(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    before = db.execute("SELECT COUNT(*) FROM invoices").fetchone()
    with pytest.raises(BadInput, match="^C000001: no answer from its payer is posted"):
        _run(db, tmp_path, "r2", cob_for=["C000001"])
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone() == before
    assert not (tmp_path / "r2").exists()


def test_dry_run_lists_what_would_be_billed(practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    res = _run(db, tmp_path, "r2", dry_run=True)
    assert _numbers(res) == ["C000002"]
    assert [(r["claim"], r["rule"], r["next_payer"], r["note"]) for r in res.cob] == [
        ("C000001", "COB-NEXT-PAYER", "BVH", "billed as C000002"),
    ]
    assert db.execute("SELECT COUNT(*) FROM cob_claims").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone() == (1,)


def _content(**over) -> dict:
    line = {
        "charge_cents": 20000,
        "adjudications": [
            {"payer_id": "KEY77", "paid_cents": 12000, "cas": [["CO", "45", 5000]], "date": "x"}
        ],
    }
    c = {
        "total_cents": 20000,
        "lines": [line],
        "other_payers": [
            {
                "payer": {"id": "KEY77", "code": "KEY"},
                "adjudication": {"paid_cents": 12000, "cas": []},
            }
        ],
    }
    c.update(over)
    return c


def test_balance_problems_name_both_sides():
    # 120.00 paid + 50.00 CO-45 = 170.00: 30.00 short of the 200.00 line and claim
    probs = cob.balance_problems(_content())
    assert probs == [
        "prior payer KEY77: AMT*D + CAS = 170.00 != CLM02 200.00 (30.00 too little)",
        "line 1: SVD02 + CAS = 170.00 != SV102 200.00",
    ]
    c = _content()
    c["lines"][0]["adjudications"][0]["cas"].append(["PR", "2", 3000])
    assert cob.balance_problems(c) == []
    c["lines"][0]["adjudications"][0]["payer_id"] = "OTHER"
    assert "line 1: SVD01 OTHER names no 2330B payer" in cob.balance_problems(c)


def test_cli_refuses_a_secondary_claim_without_a_primary_answer(cli, practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    out = tmp_path / "cli"
    r = cli("invoice", "generate", "--cob", "C000001", "--out", str(out))
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "Error: C000001: no answer from its payer is posted: a secondary claim needs the prior"
        " payer's 835 (billadmin remit import)"
    ]
    assert not out.exists()


def test_cli_lists_the_next_payer_claims(cli, practice_db, tmp_path):
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", KEY_ANSWER)
    r = cli("invoice", "generate", "--dry-run", "--through", TODAY.isoformat())
    assert "COB C000001 -> BVH 30.00 [COB-NEXT-PAYER] billed as C000002" in r.stderr


def test_a_remark_newer_than_pyx12s_list_does_not_fail_the_run(practice_db, tmp_path):
    """N781 (QMB) is not in pyx12's remark code list: copied into MOA it made pyx12 refuse the
    whole file, every claim of the run with it. Known remarks are copied, unknown ones left out."""
    db = practice_db
    _patient(db, "KEY", "BVH")
    _run(db, tmp_path, "r1")
    _remit(db, tmp_path, "KEY", "EFT1", {**KEY_ANSWER, "remarks": ["N781", "MA130"]})
    res = _run(db, tmp_path, "r2")
    assert _numbers(res) == ["C000002"]
    f, segs = _edi(res, "BVH")
    assert any(s.startswith("MOA") and "MA130" in s and "N781" not in s for s in segs), segs
    assert ls.cob_findings(f.read_text()) == []

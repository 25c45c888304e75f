"""The crossover payer an 835 names (NM1*TT) is kept and shown, and the amount a crossover puts
back on the claim is dated on the 835 that forwarded it (issue 12). Amounts by hand."""

from __future__ import annotations

import json

import ledger_scenarios as ls
from test_cob import KEY_ANSWER, _balance, _patient, _run, practice_db  # noqa: F401

from billadmin.remit import parse, post
from billadmin.reports import aging

D14 = ls.day("D+14")


def _crossover_835(tmp_path, crossover: str | None = "STATE MEDICAID"):
    """Medicare forwards C000001 to Medicaid (CLP02 19, MA07): 200.00 charge, paid 120.00,
    CO-45 50.00, PR-2 30.00; the 835 is dated D+14 (posted today, D)."""
    answer = {**KEY_ANSWER, "status": "19", "remarks": ["MA07"], "pcn": "MCR-1"}
    if crossover:
        answer["crossover"] = crossover
    path = tmp_path / "MCR1.835"
    path.write_text(
        ls.remit_text({"payer": "MCR", "trace": "MCR1", "on": "D+14", "claims": [answer]})
    )
    return path


def test_nm1_tt_is_read_kept_and_shown(practice_db, tmp_path, cli):  # noqa: F811
    db = practice_db
    _patient(db, "MCR", "MCD")
    _run(db, tmp_path, "r1")
    path = _crossover_835(tmp_path)
    [claim] = parse.parse_file(path).transactions[0].claims
    assert (claim.crossover_payer, claim.crossover_payer_id) == ("STATE MEDICAID", "XOVER1")
    shown = json.loads(cli("remit", "show", path, "--format", "json").stdout)
    c = shown["transactions"][0]["claims"][0]
    assert (c["crossover_payer"], c["crossover_payer_id"]) == ("STATE MEDICAID", "XOVER1")
    table = cli("remit", "show", path, "--format", "csv").stdout
    assert "processed as primary, forwarded to STATE MEDICAID" in table
    post.import_files(db, [path])
    kept = db.execute("SELECT crossover_payer, crossover_payer_id FROM remit_claims").fetchone()
    assert kept == ("STATE MEDICAID", "XOVER1")
    listed = json.loads(cli("remit", "list", "--claims", "--format", "json").stdout)
    assert listed[0]["crossover_payer"] == "STATE MEDICAID"
    shown = json.loads(cli("invoice", "show", "C000001", "--format", "json").stdout)
    notes = [h["note"] for h in shown["history"] if h["status"] == "crossed_over"]
    assert len(notes) == 1 and notes[0].startswith("crossed over to STATE MEDICAID (NM1*TT)")
    res = _run(db, tmp_path, "r2")
    assert [r["claim"] for r in res.cob] == ["C000001"]
    assert "waiting for STATE MEDICAID's 835" in res.cob[0]["note"]


def test_without_nm1_tt_the_crossover_payer_is_unnamed(practice_db, tmp_path):  # noqa: F811
    db = practice_db
    _patient(db, "MCR", "MCD")
    _run(db, tmp_path, "r1")
    post.import_files(db, [_crossover_835(tmp_path, crossover=None)])
    assert db.execute("SELECT crossover_payer FROM remit_claims").fetchone() == (None,)
    res = _run(db, tmp_path, "r2")
    assert "waiting for the crossover payer's 835" in res.cob[0]["note"]


def test_restored_crossover_amount_is_dated_on_the_835(practice_db, tmp_path):  # noqa: F811
    """The PR-2 30.00 moved off the claim and put back by the crossover are both dated on the
    835's day (D+14), so the claim's balance as of any day is whole: before the 835, 200.00
    open with Medicare; from it, 200.00 - 120.00 - 50.00 = 30.00 waiting on the claim."""
    db = practice_db
    _patient(db, "MCR", "MCD")
    _run(db, tmp_path, "r1")
    post.import_files(db, [_crossover_835(tmp_path)], today=ls.DAY0)
    dated = db.execute(
        "SELECT source, amount_cents, created_on FROM adjustments WHERE source IN"
        " ('transfer', 'cob') ORDER BY id"
    ).fetchall()
    assert dated == [("transfer", 3000, D14.isoformat()), ("cob", -3000, D14.isoformat())]
    assert _balance(db, "C000001") == 20000 - 12000 - 5000
    before = {r["payer"]: r["total_cents"] for r in aging.by_payer(db, ls.day("D+7"))}
    assert before["MCR"] == 20000  # nothing of the 835 yet (not 200.00 + 30.00)
    after = {r["payer"]: r["total_cents"] for r in aging.by_payer(db, D14)}
    # Medicare answered and forwarded it: the 30.00 waits on (and ages under) Medicaid
    assert after["MCD"] == 3000 and "MCR" not in after


def test_clp02_23_not_our_claim_waits_for_the_payer_it_was_forwarded_to(db, tmp_path, cli):
    """Keystone answers C000001 (150.00) with CLP02 23: not its claim, forwarded to Blue Valley
    (NM1*TT), nothing paid, CO-109 150.00. Nothing is posted and nothing is a denial to work:
    150.00 stays open, crossed over. Blue Valley's 835 then pays 100.00 with CO-45 50.00:
    150.00 - 100.00 - 50.00 = 0.00."""
    from test_claim_corrections import _setup

    _setup(db, tmp_path)
    claim = {"claim": "C000001", "status": "23", "charge": "150.00", "paid": "0.00"}
    claim |= {"pcn": "KEY-23", "cas": [["CO", "109", "150.00"]], "crossover": "BLUE VALLEY HMO"}
    path = tmp_path / "KEY23.835"
    path.write_text(
        ls.remit_text({"payer": "KEY", "trace": "KEY23", "on": "D+7", "claims": [claim]})
    )
    r = cli("remit", "import", path)
    assert r.exit_code == 0, r.stderr
    assert "not this payer's claim: forwarded to BLUE VALLEY HMO (CLP02 23)" in r.stderr
    assert _balance(db, "C000001") == 15000
    assert db.execute("SELECT COUNT(*) FROM adjustments").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM payment_allocations").fetchone()[0] == 0
    state = db.execute("SELECT status FROM invoice_status WHERE invoice_id = 1").fetchone()[0]
    assert state == "crossed_over"
    worklist = json.loads(cli("denial", "list", "--format", "json").stdout or "[]")
    assert worklist == []
    assert cli("check").exit_code == 0
    paid = {"claim": "C000001", "status": "1", "charge": "150.00", "paid": "100.00"}
    paid |= {"pcn": "BVH-1", "lines": [{"code": "99213", "charge": "150.00", "paid": "100.00"}]}
    paid["lines"][0]["cas"] = [["CO", "45", "50.00"]]
    path = tmp_path / "BVH1.835"
    path.write_text(
        ls.remit_text({"payer": "BVH", "trace": "BVH1", "on": "D+30", "claims": [paid]})
    )
    assert cli("remit", "import", path).exit_code == 0
    assert _balance(db, "C000001") == 15000 - 10000 - 5000
    state = db.execute("SELECT status FROM invoice_status WHERE invoice_id = 1").fetchone()[0]
    assert state == "paid"
    assert cli("check").exit_code == 0

"""`payment refund-payer --payer`: the credit a payer other than the claim's own left on it (a
payer answering on a claim forwarded to it) is refunded to that payer, never more than it paid
there (issue 12: the ledger keeps paid amounts per payer). Amounts by hand."""

from __future__ import annotations

import json

import ledger_scenarios as ls
from test_claim_corrections import _balance, _setup

from billadmin.remit import post


def _remit(db, tmp_path, payer: str, trace: str, claim: dict, on: str) -> None:
    path = tmp_path / f"{trace}.835"
    path.write_text(ls.remit_text({"payer": payer, "trace": trace, "on": on, "claims": [claim]}))
    post.import_files(db, [path])


def _bvh_paid(pcn: str) -> dict:
    return {
        "claim": "C000001",
        "status": "1",
        "charge": "150.00",
        "paid": "100.00",
        "pcn": pcn,
        "lines": [
            {"code": "99213", "charge": "150.00", "paid": "100.00", "cas": [["CO", "45", "50.00"]]}
        ],
    }


def _overpaid_by_bvh(db, tmp_path) -> None:
    """C000001 (99213 at 150.00) to Keystone; Keystone: CLP02 23, not its claim, forwarded to
    Blue Valley; Blue Valley pays 100.00 with CO-45 50.00, then pays it again under another
    claim number: 150.00 - 100.00 - 100.00 - 50.00 = -100.00, Blue Valley's money."""
    _setup(db, tmp_path)
    claim = {"claim": "C000001", "status": "23", "charge": "150.00", "paid": "0.00"}
    claim |= {"pcn": "KEY-23", "cas": [["CO", "109", "150.00"]], "crossover": "BLUE VALLEY HMO"}
    _remit(db, tmp_path, "KEY", "KEY23", claim, "D+7")
    _remit(db, tmp_path, "BVH", "BVH1", _bvh_paid("BVH-1"), "D+30")
    _remit(db, tmp_path, "BVH", "BVH2", _bvh_paid("BVH-2"), "D+44")
    assert _balance(db, "C000001") == 15000 - 10000 - 10000 - 5000


def _count(db) -> tuple[int, int]:
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("payments", "payer_returns")
    )


def test_refund_to_the_payer_that_paid_on_the_claim(db, tmp_path, cli):
    _overpaid_by_bvh(db, tmp_path)
    before = _count(db)
    # the claim's payer, Keystone, paid nothing on it: refused, naming who did
    r = cli("payment", "refund-payer", "C000001", "100.00", "--method", "check")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "C000001" in r.stderr and "KEY paid on the claim 0.00" in r.stderr
    assert "BVH 200.00" in r.stderr  # 100.00 + 100.00
    for payer, text in (("MCD", "MCD paid on the claim 0.00"), ("ZZZ", "no payer ZZZ")):
        r = cli("payment", "refund-payer", "C000001", "10.00", "--payer", payer, "--method", "eft")
        assert r.exit_code == 2 and text in r.stderr, r.stderr
    assert _count(db) == before  # nothing written
    r = cli(
        "payment",
        "refund-payer",
        "C000001",
        "100.00",
        "--payer",
        "bvh",
        "--method",
        "check",
        "--reference",
        "7001",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    # -100.00 + 100.00 refunded = 0.00
    assert (row["payer"], row["refund"], row["balance_after"]) == ("BVH", "100.00", "0.00")
    assert _balance(db, "C000001") == 0
    pay = db.execute(
        "SELECT y.code, p.amount_cents FROM payments p JOIN payers y ON y.id = p.payer_id"
        " ORDER BY p.id DESC LIMIT 1"
    ).fetchone()
    assert pay == ("BVH", -10000)
    ret = db.execute(
        "SELECT y.code, r.amount_cents FROM payer_returns r JOIN payers y ON y.id = r.payer_id"
    ).fetchall()
    assert ret == [("BVH", 10000)]
    assert cli("check").exit_code == 0


def test_never_more_than_that_payer_paid_there(db, tmp_path, cli):
    """Keystone overpays its own claim by 110.00 and Blue Valley paid nothing on it: a refund
    to Blue Valley is refused even though the claim holds 110.00 of credit."""
    _setup(db, tmp_path)
    paid = {
        "claim": "C000001",
        "status": "1",
        "charge": "150.00",
        "paid": "110.00",
        "lines": [
            {"code": "99213", "charge": "150.00", "paid": "110.00", "cas": [["CO", "45", "40.00"]]}
        ],
    }
    _remit(db, tmp_path, "KEY", "EFT1", {**paid, "pcn": "KEY-A"}, "D+14")
    _remit(db, tmp_path, "KEY", "EFT2", {**paid, "pcn": "KEY-B"}, "D+35")
    assert _balance(db, "C000001") == 15000 - 11000 - 11000 - 4000  # -110.00
    r = cli("payment", "refund-payer", "C000001", "10.00", "--payer", "BVH", "--method", "eft")
    assert (
        r.exit_code == 2 and "BVH paid on the claim 0.00" in r.stderr and "KEY 220.00" in r.stderr
    )
    r = cli("payment", "refund-payer", "C000001", "110.00", "--payer", "KEY", "--method", "eft")
    assert r.exit_code == 0, r.stderr
    assert _balance(db, "C000001") == 0

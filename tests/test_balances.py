"""What a payer's answer moved that no invoice carries yet (accounts.balances): counted once by
account show, checkin, `report aging` (by default; `--invoiced-only` leaves it out) and the
aging invariant of `billadmin check`, before and after `invoice generate` bills it. Every amount
is worked out by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.accounts import balances, checkin, view
from billadmin.billing import generate as gen
from billadmin.remit import post
from billadmin.reports import aging, invariants

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()  # 4 days before: bucket 0-30
MRN = "B0001"

# 99214 at 200.00; the primary allows 150.00 (CO-45 50.00), pays 120.00, PR-2 30.00:
# 200.00 - 120.00 - 50.00 - 30.00 = 0.00 left with the primary, 30.00 moved on
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
MOVED = 20000 - 12000 - 5000  # 30.00


def _setup(db, tmp_path: Path, *payers: str) -> int:
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, MRN, "Bea", "Lance")
        for n, code in enumerate(payers, start=1):
            fx.coverage(db, pid, code, member=f"{code}00{n}", priority=n)
        fx.encounter(db, pid, DOS, [("99214", 20000)])
    assert _generate(db, tmp_path, "r1") == ["C000001"]
    path = tmp_path / "EFT1.835"
    path.write_text(
        ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [KEY_ANSWER]})
    )
    res = post.import_files(db, [path])
    assert [t.result for t in res.transactions] == ["posted"], res
    return pid


def _generate(db, tmp_path: Path, name: str) -> list[str]:
    res = gen.generate(
        db, out_dir=tmp_path / name, today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False
    )
    return [r["number"] for r in res.issued]


def _rows(rows: list[dict]) -> dict[str, tuple[int, int, int]]:
    """payer -> (0-30 bucket, pending, total), TOTAL included."""
    return {
        r["payer"]: (r["0-30_cents"], r.get("pending_cents", 0), r["total_cents"]) for r in rows
    }


def test_patient_responsibility_before_and_after_its_statement(db, tmp_path):
    pid = _setup(db, tmp_path, "KEY")
    assert balances.pending(db, patient_id=pid) == {"patient_cents": MOVED, "insurance_cents": 0}
    # the invoices alone: C000001 is at 0.00, no statement yet
    assert _rows(aging.by_payer(db, TODAY, pending=False)) == {"TOTAL": (0, 0, 0)}
    # the aging as printed: the 30.00 PR-2 the patient owes, DOS 4 days ago -> 0-30
    assert _rows(aging.by_payer(db, TODAY)) == {
        "PATIENT": (MOVED, MOVED, MOVED),
        "TOTAL": (MOVED, MOVED, MOVED),
    }
    [by_pat] = [r for r in aging.by_patient(db, TODAY) if r["mrn"] == MRN]
    assert (by_pat["patient_cents"], by_pat["insurance_cents"]) == (MOVED, 0)
    s = view.account(db, MRN, as_of=TODAY)["summary"][0]
    assert (s["insurance_balance_cents"], s["patient_balance_cents"]) == (0, 0)
    assert (s["patient_pending_cents"], s["patient_owes_cents"]) == (MOVED, MOVED)
    assert checkin.checkin(db, MRN, TODAY).row["patient_balance_cents"] == MOVED
    assert invariants.invariant_findings(db, TODAY) == []

    assert _generate(db, tmp_path, "r2") == ["P000001"]  # the statement bills the 30.00
    assert balances.pending(db, patient_id=pid) == {"patient_cents": 0, "insurance_cents": 0}
    assert _rows(aging.by_payer(db, TODAY, pending=False)) == {
        "PATIENT": (MOVED, 0, MOVED),
        "TOTAL": (MOVED, 0, MOVED),
    }
    # counted once: the statement, not the statement and the transfer it carries
    assert _rows(aging.by_payer(db, TODAY)) == {
        "PATIENT": (MOVED, 0, MOVED),
        "TOTAL": (MOVED, 0, MOVED),
    }
    s = view.account(db, MRN, as_of=TODAY)["summary"][0]
    assert (s["patient_balance_cents"], s["patient_pending_cents"]) == (MOVED, 0)
    assert s["patient_owes_cents"] == MOVED
    assert checkin.checkin(db, MRN, TODAY).row["patient_balance_cents"] == MOVED
    assert invariants.invariant_findings(db, TODAY) == []


def test_next_payers_share_before_and_after_its_claim(db, tmp_path):
    pid = _setup(db, tmp_path, "KEY", "BVH")
    # routed COB-NEXT-PAYER to Blue Valley: insurance, never the patient's
    assert balances.pending(db, patient_id=pid) == {"patient_cents": 0, "insurance_cents": MOVED}
    assert _rows(aging.by_payer(db, TODAY, pending=False)) == {"TOTAL": (0, 0, 0)}
    assert _rows(aging.by_payer(db, TODAY)) == {
        "BVH": (MOVED, MOVED, MOVED),
        "TOTAL": (MOVED, MOVED, MOVED),
    }
    s = view.account(db, MRN, as_of=TODAY)["summary"][0]
    assert (s["insurance_balance_cents"], s["patient_owes_cents"]) == (MOVED, 0)
    assert checkin.checkin(db, MRN, TODAY).row["patient_balance_cents"] == 0
    assert invariants.invariant_findings(db, TODAY) == []

    assert _generate(db, tmp_path, "r2") == ["C000002"]
    assert balances.pending(db, patient_id=pid) == {"patient_cents": 0, "insurance_cents": 0}
    assert _rows(aging.by_payer(db, TODAY)) == {
        "BVH": (MOVED, 0, MOVED),
        "TOTAL": (MOVED, 0, MOVED),
    }
    s = view.account(db, MRN, as_of=TODAY)["summary"][0]
    assert (s["insurance_balance_cents"], s["patient_owes_cents"]) == (MOVED, 0)
    assert invariants.invariant_findings(db, TODAY) == []


def test_the_invariant_finds_a_pending_amount_the_aging_misses(db, tmp_path, monkeypatch):
    _setup(db, tmp_path, "KEY")
    monkeypatch.setattr(aging, "_pending", lambda conn, as_of, basis: [])
    found = invariants.invariant_findings(db, TODAY)
    assert {f.rule for f in found} == {"AGING-BALANCE"}
    assert len(found) == 2, found  # by payer and by patient, each 30.00 too little
    assert all("30.00 too little" in f.message for f in found), found


@pytest.mark.parametrize("basis", ["dos", "invoice"])
def test_report_aging_counts_pending_by_default(cli, db, tmp_path, basis):
    _setup(db, tmp_path, "KEY")
    on = TODAY.isoformat()
    import json

    # DOS 4 days before, posted today: 0-30 by either basis; 30.00 = 200.00 - 120.00 - 50.00
    for flag in ([], ["--pending"]):
        r = cli("report", "aging", "--as-of", on, "--by", basis, *flag, "-f", "json")
        assert r.exit_code == 0, r.stderr
        rows = {x["payer"]: x for x in json.loads(r.stdout)}
        assert rows["PATIENT"]["pending"] == rows["PATIENT"]["0-30"] == "30.00"
        assert rows["TOTAL"]["total"] == "30.00"
        assert "30.00 of it not on an invoice yet" in r.stderr
    r = cli("report", "aging", "--as-of", on, "--by", basis, "--invoiced-only", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert [x["payer"] for x in json.loads(r.stdout)] == ["TOTAL"]
    assert "pending" not in json.loads(r.stdout)[0]
    assert "30.00 (not in the aging" in r.stderr


def test_kpi_ar_counts_pending_like_the_aging(db, tmp_path):
    """days in A/R and A/R over 90 use the aging's A/R: the 30.00 the patient owes counts."""
    from billadmin.reports import kpi

    _setup(db, tmp_path, "KEY")
    assert kpi.ar_at(db, TODAY) == (MOVED, 0)  # DOS 4 days before: not over 90
    # 100 days later nothing moved: 104 days since the DOS, over 90
    assert kpi.ar_at(db, TODAY + dt.timedelta(days=100)) == (MOVED, MOVED)
    # before the 835 was posted (and before the claim was issued): nothing
    assert kpi.ar_at(db, TODAY - dt.timedelta(days=1)) == (0, 0)


def test_a_claim_forwarded_by_clp02_23_ages_under_the_payer_named(db, tmp_path):
    """Keystone answers C000001 (99213 at 150.00, DOS 4 days before) with CLP02 23: not its
    claim, forwarded to Blue Valley (NM1*TT BLUE VALLEY HMO), nothing paid, nothing posted. The
    150.00 is still open, and it is Blue Valley's answer the claim waits on: as of the 835's day
    (D+7, 11 days after the DOS -> 0-30) it ages under BVH, before it under KEY. Blue Valley
    then pays 100.00 with CO-45 50.00: 150.00 - 100.00 - 50.00 = 0.00, no row."""
    from test_claim_corrections import _setup

    _setup(db, tmp_path)
    claim = {"claim": "C000001", "status": "23", "charge": "150.00", "paid": "0.00"}
    claim |= {"pcn": "KEY-23", "cas": [["CO", "109", "150.00"]], "crossover": "BLUE VALLEY HMO"}
    path = tmp_path / "KEY23.835"
    path.write_text(
        ls.remit_text({"payer": "KEY", "trace": "KEY23", "on": "D+7", "claims": [claim]})
    )
    post.import_files(db, [path])
    d7 = ls.day("D+7")
    assert _rows(aging.by_payer(db, d7 - dt.timedelta(days=1))) == {
        "KEY": (15000, 0, 15000),
        "TOTAL": (15000, 0, 15000),
    }
    assert _rows(aging.by_payer(db, d7)) == {"BVH": (15000, 0, 15000), "TOTAL": (15000, 0, 15000)}
    assert invariants.invariant_findings(db, d7) == []
    paid = {"claim": "C000001", "status": "1", "charge": "150.00", "paid": "100.00"}
    paid |= {"pcn": "BVH-1", "lines": [{"code": "99213", "charge": "150.00", "paid": "100.00"}]}
    paid["lines"][0]["cas"] = [["CO", "45", "50.00"]]
    path = tmp_path / "BVH1.835"
    path.write_text(
        ls.remit_text({"payer": "BVH", "trace": "BVH1", "on": "D+30", "claims": [paid]})
    )
    post.import_files(db, [path])
    assert _rows(aging.by_payer(db, ls.day("D+30"))) == {"TOTAL": (0, 0, 0)}


def test_check_says_the_aging_is_open_balances_plus_pending(cli, db, tmp_path):
    """`billadmin check` passing states the aging as the sum it is: C000001's open balance
    200.00 - 120.00 - 50.00 - 30.00 = 0.00, plus the 30.00 PR-2 on no statement yet."""
    _setup(db, tmp_path, "KEY")
    r = cli("check")
    assert r.exit_code == 0, r.stderr
    assert (
        "Aging 30.00 = open balances of every claim and patient invoice 0.00"
        " (denied amounts included) + not on an invoice yet 30.00"
    ) in r.stderr
    assert _generate(db, tmp_path, "r2") == ["P000001"]  # the statement carries it now
    r = cli("check")
    assert "Aging 30.00 = open balances of every claim and patient invoice 30.00" in r.stderr
    assert "not on an invoice yet 0.00" in r.stderr

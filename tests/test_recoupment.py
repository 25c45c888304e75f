"""PLB recoupments (issue 12): a WO/72 takeback whose reference names one of our claims is
allocated to that claim; any other PLB stays provider-level and is reported, never with PHI;
idempotent with the 835. Every amount is written by hand."""

from __future__ import annotations

import datetime as dt
import json

import invoice_fixtures as fx
import ledger_scenarios as ls
from test_claim_corrections import _balance, _generate

from billadmin import db as dbmod

DOS = (ls.DAY0 - dt.timedelta(days=10)).isoformat()


def _setup(db, tmp_path) -> None:
    """C000001 (99213 at 150.00) and C000002 (99212 at 100.00) to Keystone; C000003 (99213 at
    120.00) to State Medicaid, for another patient."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R1601", "Rae", "Plb")
        fx.coverage(db, pid, "KEY", member="KEY001601")
        fx.encounter(db, pid, DOS, [("99213", 15000)])
        fx.encounter(db, pid, DOS, [("99212", 10000)])
        other = fx.patient(db, "R1602", "Ola", "Plb")
        fx.coverage(db, other, "MCD", member="MCD001602")
        fx.encounter(db, other, DOS, [("99213", 12000)])
    assert _generate(db, tmp_path, "g1") == ["C000001", "C000002", "C000003"]


def _first_835(cli, tmp_path) -> None:
    """Keystone pays C000001 in full, 150.00 (its fee schedule allows 110.00): overpaid."""
    claim = {"claim": "C000001", "status": "1", "charge": "150.00", "paid": "150.00"}
    claim |= {"pcn": "KEY-1601", "lines": [{"code": "99213", "charge": "150.00", "paid": "150.00"}]}
    _import(cli, tmp_path, {"payer": "KEY", "trace": "EFT1601", "on": "D+14", "claims": [claim]})


def _second(plb: list[dict], trace: str = "EFT1602") -> dict:
    """Keystone pays C000002 75.00 (CO-45 25.00) and takes back what the PLB says."""
    claim = {"claim": "C000002", "status": "1", "charge": "100.00", "paid": "75.00"}
    claim |= {"pcn": "KEY-1602", "lines": [_line("99212", "100.00", "75.00", "25.00")]}
    return {"payer": "KEY", "trace": trace, "on": "D+28", "claims": [claim], "plb": plb}


def _line(code, charge, paid, co45):
    return {"code": code, "charge": charge, "paid": paid, "cas": [["CO", "45", co45]]}


def _import(cli, tmp_path, step: dict, expect: int = 0):
    path = tmp_path / f"{step['trace']}-{len(list(tmp_path.glob('*.835')))}.835"
    path.write_text(ls.remit_text(step))
    r = cli("remit", "import", path)
    assert r.exit_code == expect, r.stderr
    return r


def _status(db, number: str) -> str:
    return db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()[0]


def _returns(db) -> list[tuple]:
    return db.execute(
        "SELECT r.kind, i.number, r.amount_cents, r.matched_by, b.reason_code"
        " FROM payer_returns r JOIN invoices i ON i.id = r.invoice_id"
        " LEFT JOIN remit_plb b ON b.id = r.plb_id ORDER BY r.id"
    ).fetchall()


def test_wo_naming_our_claim_is_allocated_to_it(db, tmp_path, cli):
    _setup(db, tmp_path)
    _first_835(cli, tmp_path)
    assert _balance(db, "C000001") == 0  # 150.00 - 150.00
    r = _import(cli, tmp_path, _second([{"reason": "WO", "ref": "C000001", "amount": "40.00"}]))
    # C000001: 150.00 - (150.00 - 40.00) paid = 40.00 open again
    assert _balance(db, "C000001") == 15000 - (15000 - 4000)
    assert _status(db, "C000001") == "partially_paid"
    # C000002: 100.00 - 75.00 - 25.00 = 0.00
    assert _balance(db, "C000002") == 0
    # the transaction's payment is the check: 75.00 - 40.00 = 35.00 (BPR02)
    pay = db.execute(
        "SELECT p.amount_cents, t.amount_cents FROM remit_payments rp"
        " JOIN payments p ON p.id = rp.payment_id JOIN remit_transactions t"
        " ON t.id = rp.transaction_id WHERE t.trace_number = 'EFT1602'"
    ).fetchone()
    assert pay == (7500 - 4000, 7500 - 4000)
    assert _returns(db) == [("recoupment", "C000001", 4000, "claim number", "WO")]
    assert "PLB WO C000001 40.00 (trace EFT1602): overpayment recovery allocated to C000001" in (
        r.stderr
    )
    assert cli("check").exit_code == 0
    listed = json.loads(cli("remit", "list", "--plb", "--format", "json").stdout)
    assert [(p["reason"], p["amount"], p["outcome"], p["claim_number"]) for p in listed] == [
        ("WO", "40.00", "recouped", "C000001")
    ]
    # the same 835 again: already posted, nothing recouped twice
    _import(cli, tmp_path, _second([{"reason": "WO", "ref": "C000001", "amount": "40.00"}]), 1)
    assert len(_returns(db)) == 1
    assert _balance(db, "C000001") == 4000


def test_reference_forms_name_the_claim(db, tmp_path, cli):
    """The payer's claim number (CLP07) alone, with a second word, or "CLP01 CLP07 TRN02"
    (X12 RFI 2370): one claim, allocated once."""
    _setup(db, tmp_path)
    _first_835(cli, tmp_path)
    plb = [
        {"reason": "WO", "ref": "KEY-1601", "amount": "10.00"},
        {"reason": "WO", "ref": "KEY-1601 X", "amount": "5.00"},
        {"reason": "72", "ref": "C000001 KEY-1601 EFT1601", "amount": "2.50"},
    ]
    _import(cli, tmp_path, _second(plb))
    assert _returns(db) == [
        ("recoupment", "C000001", 1000, "payer claim number", "WO"),
        ("recoupment", "C000001", 500, "payer claim number", "WO"),
        ("recoupment", "C000001", 250, "claim number", "72"),
    ]
    # 150.00 - (150.00 - 10.00 - 5.00 - 2.50) = 17.50
    assert _balance(db, "C000001") == 1750
    assert cli("check").exit_code == 0


def test_other_plb_stays_provider_level_and_is_reported_without_phi(db, tmp_path, cli):
    _setup(db, tmp_path)
    _first_835(cli, tmp_path)
    plb = [
        {"reason": "L6", "ref": "C000001", "amount": "-1.20"},  # interest paid: not a takeback
        {"reason": "FB", "ref": "C000001", "amount": "3.00"},  # forward balance
        {"reason": "WO", "ref": "ZZ99999", "amount": "4.00"},  # names nothing of ours
        {"reason": "WO", "ref": "C000001 C000002", "amount": "5.00"},  # two claims
        {"reason": "WO", "ref": "C000003", "amount": "6.00"},  # State Medicaid's claim
        # a Medicare-style reference: a 17-character FCN with the patient's HIC appended
        {"reason": "WO", "ref": "20261234567890123 1EG4TE5MK73", "amount": "7.00"},
    ]
    r = _import(cli, tmp_path, _second(plb))
    assert _returns(db) == []
    assert _balance(db, "C000001") == 0 and _balance(db, "C000003") == 12000
    assert "PLB L6 C000001 -1.20 (trace EFT1602): PLB L6 is not one claim's money" in r.stderr
    assert "PLB FB C000001 3.00" in r.stderr and "kept provider-level" in r.stderr
    assert "ZZ99999 4.00 (trace EFT1602): the reference names no claim of ours" in r.stderr
    assert "names several claims (C000001, C000002)" in r.stderr
    assert "names C000003, not this payer's claim" in r.stderr
    assert "PLB WO 20261234567890123 7.00" in r.stderr and "1EG4TE5MK73" not in r.stderr
    # the payment is what was posted; the PLB is kept on the transaction
    paid = db.execute(
        "SELECT p.amount_cents FROM payments p WHERE p.reference = 'EFT1602'"
    ).fetchone()[0]
    assert paid == 7500
    assert cli("check").exit_code == 0
    shown = cli("remit", "show", next(tmp_path.glob("EFT1602-*.835")), "--format", "json")
    assert "1EG4TE5MK73" not in shown.stdout
    listed = cli("remit", "list", "--plb", "--payer", "KEY", "--format", "csv").stdout
    assert listed.count("provider-level") == 6 and "recouped" not in listed
    assert "20261234567890123" in listed and "1EG4TE5MK73" not in listed


def test_negative_wo_gives_back_a_delayed_recovery(db, tmp_path, cli):
    """A negative WO returns money to the claim (the payer delays its recovery, X12 RFI 578);
    the later positive WO with the same reference takes it."""
    _setup(db, tmp_path)
    _first_835(cli, tmp_path)
    _import(cli, tmp_path, _second([{"reason": "WO", "ref": "KEY-1601", "amount": "-20.00"}]))
    # 150.00 - (150.00 + 20.00) = -20.00: the payer's money we hold until it recovers it
    assert _balance(db, "C000001") == -2000
    assert _status(db, "C000001") == "paid"
    later = {"payer": "KEY", "trace": "EFT1603", "on": "D+42", "claims": []}
    later["plb"] = [{"reason": "WO", "ref": "KEY-1601", "amount": "20.00"}]
    _import(cli, tmp_path, later)
    assert _balance(db, "C000001") == 0  # -20.00 + 20.00
    assert [r[2] for r in _returns(db)] == [-2000, 2000]
    assert cli("check").exit_code == 0


def test_whole_payment_recouped_reverses_the_claim(db, tmp_path, cli):
    _setup(db, tmp_path)
    _first_835(cli, tmp_path)
    _import(cli, tmp_path, _second([{"reason": "WO", "ref": "C000001", "amount": "150.00"}]))
    # 150.00 - (150.00 - 150.00) = 150.00 open, nothing paid: the payer took it all back
    assert _balance(db, "C000001") == 15000
    assert _status(db, "C000001") == "reversed"
    assert cli("check").exit_code == 0

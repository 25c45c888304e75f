"""Replacing or voiding a claim moves its open amount exactly once (issue 12), and a void of a
claim a payer answered needs the payer's claim number (837P 2300 REF*F8: "required when CLM05-3
indicates this claim is a replacement or void to a previously adjudicated claim"), while one
never adjudicated is voided without it. Every amount is written by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.errors import BadInput
from billadmin.remit import post
from billadmin.reports import aging, claim_checks, invariants

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


def _setup(db, tmp_path: Path) -> None:
    """C000001 to Keystone: one 99213 at 150.00, sent."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0001", "Rae", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99213", 15000)])
    assert _generate(db, tmp_path, "r1") == ["C000001"]


def _generate(db, tmp_path: Path, name: str) -> list[str]:
    res = gen.generate(
        db, out_dir=tmp_path / name, today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False
    )
    return [r["number"] for r in res.issued]


def _deny(db, tmp_path: Path, pcn: str) -> None:
    """Keystone denies C000001: CLP02 4, paid 0.00, CO-16 150.00 (claim lacks information)."""
    claim = {
        "claim": "C000001",
        "status": "4",
        "charge": "150.00",
        "paid": "0.00",
        "pcn": pcn,
        "lines": [
            {"code": "99213", "charge": "150.00", "paid": "0.00", "cas": [["CO", "16", "150.00"]]}
        ],
    }
    path = tmp_path / "DENY1.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "DENY1", "on": "D", "claims": [claim]}))
    res = post.import_files(db, [path])
    assert [t.result for t in res.transactions] == ["posted"], res


def _balance(db, number: str) -> int:
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _aging_total(db) -> dict[str, int]:
    # the invoices' aging (--invoiced-only): what a void or replacement moves; the PR-2 an 835
    # moved to the patient and no statement carries yet is aged apart (tests/test_balances.py)
    return {r["payer"]: r["total_cents"] for r in aging.by_payer(db, TODAY, pending=False)}


def _clean(db) -> None:
    assert claim_checks.claim_findings(db) == []
    assert invariants.invariant_findings(db, TODAY) == []


def test_replacing_a_denied_claim_moves_its_open_amount_once(db, tmp_path):
    _setup(db, tmp_path)
    _deny(db, tmp_path, "KEY-77")
    # a denial is not an adjustment: 150.00 - 0.00 paid - 0.00 adjusted = 150.00 stays open
    assert _balance(db, "C000001") == 15000
    assert lifecycle.status_of(db, 1) == "denied"
    assert _aging_total(db) == {"KEY": 15000, "TOTAL": 15000}
    _clean(db)

    res = lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert (res["replacement"], res["credit_note"], res["frequency"]) == (
        "C000002",
        "CN000001",
        "7",
    )
    cn = db.execute("SELECT total_cents FROM invoices WHERE number = 'CN000001'").fetchone()[0]
    assert cn == -15000  # the credit note takes off the 150.00 once
    assert _balance(db, "C000001") == 15000 - 15000  # 0.00: closed by the credit note alone
    assert _balance(db, "C000002") == 15000  # the replacement carries the 150.00
    # 0.00 + 150.00: never 0.00 (reduced twice) nor 300.00 (counted twice)
    assert _aging_total(db) == {"KEY": 15000, "TOTAL": 15000}
    _clean(db)
    _generate(db, tmp_path, "r2")  # the queued replacement goes out on the next 837P
    text = "".join(f.read_text() for f in (tmp_path / "r2").rglob("*.edi"))
    assert "CLM*C000002*150***11:B:7*" in text and "REF*F8*KEY-77~" in text


def test_void_of_an_answered_claim_needs_the_payer_claim_number(db, tmp_path):
    _setup(db, tmp_path)
    _deny(db, tmp_path, "")  # an 835 whose CLP07 is empty: no payer claim number known
    before = db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
    with pytest.raises(BadInput, match=r"^C000001: a payer answered it") as e:
        lifecycle.void(db, "C000001", reason="billed in error", today=TODAY)
    assert e.value.exit_code == 2
    assert db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == before  # nothing written
    assert lifecycle.status_of(db, 1) == "denied"
    assert _balance(db, "C000001") == 15000

    res = lifecycle.void(
        db, "C000001", reason="billed in error", payer_claim_number_="KEY-78", today=TODAY
    )
    assert res["sent_as_void"] and res["payer_claim_number_known"]
    assert _balance(db, "C000001") == 15000 - 15000
    assert _aging_total(db) == {"TOTAL": 0}
    _clean(db)


def test_void_of_a_claim_never_adjudicated_needs_no_number(db, tmp_path):
    _setup(db, tmp_path)
    res = lifecycle.void(db, "C000001", reason="wrong patient", today=TODAY)
    assert res["sent_as_void"] and not res["payer_claim_number_known"]
    assert _balance(db, "C000001") == 15000 - 15000
    assert _generate(db, tmp_path, "r2") == ["CN000001"]
    [edi] = list((tmp_path / "r2").rglob("*.edi"))
    text = edi.read_text()
    # frequency 8 and, never adjudicated, no REF*F8 ("if not required, do not send")
    assert "CLM*C000001*150***11:B:8*" in text and "REF*F8" not in text
    _clean(db)


def test_void_cli_refusal_is_one_line_naming_the_claim(cli, db, tmp_path):
    _setup(db, tmp_path)
    _deny(db, tmp_path, "")
    r = cli("invoice", "void", "C000001", "--reason", "billed in error")
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "C000001" in r.stderr, r.stderr


def _partly_paid(db, tmp_path: Path) -> None:
    """C000002 to Keystone: 99214 at 200.00 and 36415 at 30.00 = 230.00, partly paid: the 99214
    allowed 150.00 (CO-45 50.00), paid 120.00, PR-2 30.00 to the patient; the 36415 denied CO-16
    30.00 (a denial stays open). Open: 230.00 - 120.00 - 50.00 - 30.00 = 30.00."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0002", "Rae", "Part")
        fx.coverage(db, pid, "KEY", member="KEY002")
        fx.encounter(db, pid, DOS, [("99214", 20000), ("36415", 3000)])
    assert _generate(db, tmp_path, "p1") == ["C000001"]
    claim = {
        "claim": "C000001",
        "status": "1",
        "charge": "230.00",
        "paid": "120.00",
        "pr": "30.00",
        "pcn": "KEY-88",
        "lines": [
            {
                "code": "99214",
                "charge": "200.00",
                "paid": "120.00",
                "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]],
            },
            {"code": "36415", "charge": "30.00", "paid": "0.00", "cas": [["CO", "16", "30.00"]]},
        ],
    }
    path = tmp_path / "PART1.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "PART1", "on": "D", "claims": [claim]}))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]
    assert _balance(db, "C000001") == 23000 - 12000 - 5000 - 3000  # 30.00 open
    assert lifecycle.status_of(db, 1) == "partially_paid"


def test_void_of_a_partly_paid_claim_leaves_the_payer_payment_as_its_credit(db, tmp_path):
    _partly_paid(db, tmp_path)
    res = lifecycle.void(db, "C000001", reason="billed in error", today=TODAY)
    # the credit note takes off the 30.00 still open and the 120.00 the payer paid (now the
    # payer's credit), never the 80.00 adjustments took off: 30.00 + 120.00 = 150.00, not 230.00
    assert res["credit_cents"] == -(3000 + 12000)
    # 230.00 - 120.00 - 80.00 - 150.00 = -120.00: the payer's payment on a voided claim, no
    # more (the old whole-total credit left -200.00, the 80.00 reduced twice)
    assert _balance(db, "C000001") == 23000 - 12000 - 8000 - 15000
    assert _aging_total(db) == {"KEY": -12000, "TOTAL": -12000}
    _clean(db)


def test_replacing_a_partly_paid_claim_moves_its_open_amount_once(db, tmp_path):
    _partly_paid(db, tmp_path)
    assert _aging_total(db) == {"KEY": 3000, "TOTAL": 3000}
    res = lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert (res["replacement"], res["frequency"], res["total_cents"]) == ("C000002", "7", 23000)
    cn = db.execute("SELECT total_cents FROM invoices WHERE number = 'CN000001'").fetchone()[0]
    assert cn == -3000  # only the 30.00 open
    assert _balance(db, "C000001") == 23000 - 12000 - 8000 - 3000  # 0.00
    # the replacement is the whole claim (230.00, every line) carrying what the original had
    # settled (120.00 paid + 50.00 CO-45 + 30.00 PR-2 = 200.00): 230.00 - 200.00 = 30.00 open
    carried = db.execute(
        "SELECT amount_cents FROM adjustments WHERE source = 'carried' AND invoice_id ="
        " (SELECT id FROM invoices WHERE number = 'C000002')"
    ).fetchall()
    assert carried == [(12000 + 5000 + 3000,)]
    assert _balance(db, "C000002") == 23000 - 20000
    # the payer's A/R before and after: 30.00, moved once (never 260.00, never -170.00)
    assert _aging_total(db) == {"KEY": 3000, "TOTAL": 3000}
    _clean(db)
    _generate(db, tmp_path, "p2")
    text = "".join(f.read_text() for f in (tmp_path / "p2").rglob("*.edi"))
    assert "CLM*C000002*230***11:B:7*" in text and "REF*F8*KEY-88~" in text


def test_the_payers_reversal_after_a_replacement_is_settled_once(db, tmp_path):
    """The payer answers the replacement as payers do: CLP02 22 reverses its first answer to
    C000001 (-120.00 paid, -50.00 CO-45, -30.00 PR-2; -30.00 CO-16) and C000002 is adjudicated
    afresh: 99214 paid 120.00, CO-45 50.00, PR-2 30.00; 36415 paid 20.00, CO-45 10.00."""
    _partly_paid(db, tmp_path)
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    _generate(db, tmp_path, "p2")
    reversal = {
        "claim": "C000001",
        "status": "22",
        "charge": "-230.00",
        "paid": "-120.00",
        "pr": "-30.00",
        "pcn": "KEY-88",
        "lines": [
            {
                "code": "99214",
                "charge": "-200.00",
                "paid": "-120.00",
                "cas": [["CO", "45", "-50.00"], ["PR", "2", "-30.00"]],
            },
            {"code": "36415", "charge": "-30.00", "paid": "0.00", "cas": [["CO", "16", "-30.00"]]},
        ],
    }
    fresh = {
        "claim": "C000002",
        "status": "1",
        "charge": "230.00",
        "paid": "140.00",
        "pr": "30.00",
        "pcn": "KEY-89",
        "lines": [
            {
                "code": "99214",
                "charge": "200.00",
                "paid": "120.00",
                "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]],
            },
            {"code": "36415", "charge": "30.00", "paid": "20.00", "cas": [["CO", "45", "10.00"]]},
        ],
    }
    path = tmp_path / "PART2.835"
    step = {"payer": "KEY", "trace": "PART2", "on": "D", "claims": [reversal, fresh]}
    path.write_text(ls.remit_text(step))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]
    # the reversal re-opens what C000001 had settled (230.00 - 0.00 - 0.00 - 30.00 credited =
    # 200.00) while C000002 still carries it (230.00 - 200.00 - 140.00 - 90.00 = -200.00);
    # remit import settles that once, in the same transaction: C000001 200.00 - 200.00 = 0.00,
    # C000002 -200.00 + 200.00 = 0.00
    assert (_balance(db, "C000001"), _balance(db, "C000002")) == (0, 0)
    carried = db.execute(
        "SELECT invoice_id, amount_cents FROM adjustments WHERE source = 'carried'"
        " AND amount_cents IN (20000, -20000) ORDER BY invoice_id"
    ).fetchall()
    # C000001 (id 1) closed by 200.00; C000002 (id 3, after credit note id 2): the 200.00 the
    # replacement carried, then its opposite
    assert carried == [(1, 20000), (3, 20000), (3, -20000)]
    with dbmod.write(db):  # a second call finds nothing left to settle
        assert lifecycle.settle_takeback(db, 1, on=TODAY.isoformat()) == 0
    assert claim_checks.double_reduction_findings(db) == []


def test_check_finds_a_corrected_claim_no_new_claim_names(db, tmp_path):
    """CLAIM-STATE: 'corrected' (resubmitted, docs/claim-states.md) needs its credit note and
    new claim; a state event written without them is found."""
    _setup(db, tmp_path)
    with dbmod.write(db):
        db.execute(
            "INSERT INTO invoice_events (invoice_id, status, at, note) VALUES"
            " (1, 'corrected', '2026-01-01T00:00:00+00:00', 'planted')"
        )
    assert [f.message for f in claim_checks.state_findings(db)] == [
        "C000001: state corrected but no credit note or replacement names it"
    ]

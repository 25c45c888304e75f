"""The claim after the payer answers, driven the way a clerk would (wave audit): 835s, paper
EOBs, write-offs, transfers to the patient, appeals, voids and replacements in orders the other
tests do not try. After each sequence the ledger (invoice_balances), the claim's state and
`billadmin check` are compared with numbers worked by hand from the rules.

The practice: Rae (MRN R0001) with Keystone (KEY) as her only coverage; C000001 is a 99213 at
150.00 sent to Keystone (its 837P written by the run). Keystone's 835s are built in the test
(ledger_scenarios.remit_text); "D" is the day the suite runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import invoice_fixtures as fx
import ledger_scenarios as ls
import pytest
import test_per_payer_ledger as pp
from test_per_payer_ledger import desk  # noqa: F401 (the fixture)

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle
from billadmin.remit import post

TODAY = ls.DAY0
DOS = (TODAY - dt.timedelta(days=4)).isoformat()


def _setup(db, tmp_path: Path) -> None:
    """C000001 to Keystone: one 99213 at 150.00, issued and sent."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0001", "Rae", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99213", 15000)])
    res = gen.generate(
        db, out_dir=tmp_path / "r1", today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False
    )
    assert [r["number"] for r in res.issued] == ["C000001"]


def _remit(
    cli, tmp_path: Path, trace: str, claims: list[dict], on: str = "D+14", plb: list | None = None
) -> str:
    """Keystone's 835 (trace `trace`) posted with `remit import`; what it said on stderr."""
    path = tmp_path / f"{trace}.835"
    step = {"payer": "KEY", "trace": trace, "on": on, "claims": claims, "plb": plb or []}
    path.write_text(ls.remit_text(step))
    r = cli("remit", "import", str(path), "-f", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert [t["result"] for t in json.loads(r.stdout)] == ["posted"]
    return r.stderr


def _claim(
    status: str = "1",
    paid: str = "110.00",
    cas: tuple = (("CO", "45", "40.00"),),
    pcn: str = "KEY-A",
    charge: str = "150.00",
) -> dict:
    return {
        "claim": "C000001",
        "status": status,
        "charge": charge,
        "paid": paid,
        "pcn": pcn,
        "lines": [{"code": "99213", "charge": charge, "paid": paid, "cas": [list(c) for c in cas]}],
    }


PAID = _claim()  # 110.00 paid, CO-45 40.00
REVERSAL = _claim("22", "-110.00", (("CO", "45", "-40.00"),), charge="-150.00")
DENIED = _claim("4", "0.00", (("CO", "16", "150.00"),))  # lacks information: stays open


def _bal(db, number: str = "C000001") -> tuple[int, int, int, int, int]:
    """(total, credited, paid, adjusted, balance) of one invoice."""
    return db.execute(
        "SELECT total_cents, credited_cents, paid_cents, adjusted_cents,"
        " total_cents + credited_cents - paid_cents - adjusted_cents"
        " FROM invoice_balances WHERE number = ?",
        (number,),
    ).fetchone()


def _state(db, number: str = "C000001") -> str:
    return db.execute(
        "SELECT s.status FROM invoice_status s JOIN invoices i ON i.id = s.invoice_id"
        " WHERE i.number = ?",
        (number,),
    ).fetchone()[0]


def _ok(r) -> None:
    assert r.exit_code == 0, r.stdout + r.stderr


def _clean(db, cli) -> None:
    assert [f.message for f in integrity.run_checks(db)] == []
    _ok(cli("check"))


# -- a voided or replaced claim keeps its final state when the payer's answer comes after ----------


def test_a_denial_that_crosses_a_void_leaves_the_claim_voided(db, tmp_path, cli):
    """The clerk voids C000001 (sent, not answered yet: no payer claim number needed); the
    credit note takes off what is open, 150.00. Keystone's denial of the original crosses it in
    the mail (CLP02 4, CO-16 150.00). A denial posts nothing, so the claim stays 150.00 - 150.00
    = 0.00, and 'voided' is final (docs/claim-states.md): the 835 is recorded, the state stays.
    Before the rule the claim became 'denied' with nothing open, which check reported
    (CLAIM-STATE)."""
    _setup(db, tmp_path)
    _ok(cli("invoice", "void", "C000001", "--reason", "billed to the wrong payer"))
    assert _bal(db) == (15000, -15000, 0, 0, 0)
    said = _remit(cli, tmp_path, "DEN1", [DENIED])
    assert _state(db) == "voided"
    assert (
        "C000001 is voided: the payer's answer (denied) is posted, the claim stays voided" in said
    )
    assert _bal(db) == (15000, -15000, 0, 0, 0)
    _clean(db, cli)


def test_the_payers_reversal_of_a_voided_claim_leaves_it_voided(db, tmp_path, cli):
    """Keystone paid C000001 110.00 with CO-45 40.00 (0.00 open). The void credits what is open
    plus what Keystone paid: 0.00 + 110.00, so the claim is 150.00 - 110.00 - 110.00 - 40.00 =
    -110.00, Keystone's credit. Keystone answers the void (frequency 8) with a reversal (CLP02
    22: -110.00, CO-45 -40.00): 150.00 - 110.00 - 0.00 - 0.00 = 40.00 re-opened, closed once
    by remit import (a 'carried' 40.00): 0.00. The claim is still voided (final), not
    'reversed' (which says the payer owes a corrected payment)."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    assert _bal(db) == (15000, -11000, 11000, 4000, -11000)
    _remit(cli, tmp_path, "REV1", [REVERSAL], on="D+30")
    assert _bal(db) == (15000, -11000, 0, 4000, 0)
    assert _state(db) == "voided"
    _clean(db, cli)


def test_a_recoupment_of_a_voided_claims_credit_leaves_it_voided(db, tmp_path, cli):
    """Keystone paid C000001 110.00 (CO-45 40.00); the void leaves -110.00, Keystone's credit.
    Keystone recoups it on its next 835 (PLB WO 110.00 naming C000001, nothing else paid):
    -110.00 + 110.00 = 0.00. The claim stays 'voided'; before, the recoupment made it 'paid'."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    said = _remit(
        cli,
        tmp_path,
        "PLB1",
        [],
        on="D+30",
        plb=[{"reason": "WO", "ref": "C000001", "amount": "110.00"}],
    )
    assert "allocated to C000001" in said
    assert (_bal(db), _state(db)) == ((15000, -11000, 0, 4000, 0), "voided")
    _clean(db, cli)


# -- the payer pays what the clerk had written off or moved to the patient --------------------------


def _entry(db, kind: str) -> int:
    """The id of the clerk's (only) entry of `kind` on C000001."""
    return db.execute(
        "SELECT d.id FROM adjustments d JOIN clerk_adjustments c ON c.adjustment_id = d.id"
        " WHERE c.kind = ? AND c.reverses_adjustment_id IS NULL",
        (kind,),
    ).fetchone()[0]


def test_a_payment_after_a_denial_write_off_takes_the_write_off_back(db, tmp_path, cli):
    """Keystone denies C000001 (CO-16 150.00, stays open); the clerk writes the 150.00 off
    (denial-writeoff): 150.00 - 150.00 = 0.00, 'written_off'. Keystone then reprocesses it (a
    new payer claim number) and pays 110.00 with CO-45 40.00. The write-off said the money would
    not come; it came, so it is taken back: 150.00 - 110.00 - (40.00 + 150.00 - 150.00) = 0.00,
    'paid'. Before the rule the claim stood at 150.00 - 110.00 - 190.00 = -150.00: check found
    40.00 reduced twice (LEDGER-DOUBLE-REDUCTION) and `payment refund-payer` sent back 110.00
    the payer rightly paid."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [DENIED])
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 15000, 0), "written_off")
    wo = _entry(db, "writeoff")
    said = _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+40")
    assert _bal(db) == (15000, 0, 11000, 4000 + 15000 - 15000, 0)
    assert _state(db) == "paid"
    assert f"C000001: write-off {wo} reversed by 150.00" in said
    assert db.execute(
        "SELECT d.amount_cents, d.source, c.kind FROM adjustments d JOIN clerk_adjustments c"
        " ON c.adjustment_id = d.id WHERE c.reverses_adjustment_id = ?",
        (wo,),
    ).fetchall() == [(-15000, "writeoff", "writeoff")]
    _clean(db, cli)
    r = cli("payment", "refund-payer", "C000001", "110.00", "--method", "check")
    assert r.exit_code == 2 and "C000001" in r.stderr
    # the write-off is no longer there to undo
    assert cli("invoice", "writeoff-undo", "C000001", str(wo)).exit_code == 2
    assert _bal(db)[4] == 0


def test_a_partial_payment_takes_back_only_what_it_settles_of_a_write_off(db, tmp_path, cli):
    """Denied 150.00, written off whole (denial-writeoff). Keystone reprocesses and pays 50.00
    with CO-45 40.00 and still denies 60.00 (CO-16, not posted): 150.00 - 50.00 - (40.00 +
    150.00) = -90.00, so 90.00 of the write-off is taken back and 60.00 stays written off (what
    the payer still does not pay): 150.00 - 50.00 - (40.00 + 150.00 - 90.00) = 0.00."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [DENIED])
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    part = _claim(paid="50.00", cas=(("CO", "45", "40.00"), ("CO", "16", "60.00")), pcn="KEY-B")
    _remit(cli, tmp_path, "PAY2", [part], on="D+40")
    assert _bal(db) == (15000, 0, 5000, 4000 + 15000 - 9000, 0)
    assert db.execute(
        "SELECT amount_cents FROM adjustments WHERE source = 'writeoff' ORDER BY id"
    ).fetchall() == [(15000,), (-9000,)]
    _clean(db, cli)


def test_a_paper_eob_after_a_timely_filing_write_off_takes_the_write_off_back(db, tmp_path, cli):
    """The clerk wrote the whole 150.00 off as past timely filing; the payer's paper EOB pays it
    after all: 110.00 paid, CO-45 40.00, which settle the whole 150.00, so the whole write-off is
    taken back: 150.00 - 110.00 - (150.00 + 40.00 - 150.00) = 0.00."""
    _setup(db, tmp_path)
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "timely-filing"))
    _ok(
        cli(
            "payment",
            "eob",
            "C000001",
            "--paid",
            "110.00",
            "--adjust",
            "CO-45:40.00",
            "--reference",
            "EOB7",
        )
    )
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 15000 + 4000 - 15000, 0), "paid")
    _clean(db, cli)


def test_a_payment_after_a_transfer_to_the_patient_moves_it_back(db, tmp_path, cli):
    """Keystone denies C000001 for eligibility (CO-27, coverage ended); the clerk moves the 150.00
    to Rae (`invoice to-patient`): 'closed', Rae owes 150.00 pending. Keystone finds the
    coverage in force and pays 110.00 with CO-45 40.00. Rae never owes what the payer paid:
    the transfer is taken back, 150.00 - 110.00 - (40.00 + 150.00 - 150.00) = 0.00, 'paid',
    and Rae's pending share is 150.00 - 150.00 = 0.00."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [_claim("4", "0.00", (("CO", "27", "150.00"),))])
    _ok(cli("invoice", "to-patient", "C000001", "150.00"))
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 15000, 0), "closed")
    r = cli("account", "show", "R0001", "-f", "json")
    assert json.loads(r.stdout)["summary"]["patient_pending"] == "150.00"
    _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+40")
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    summary = json.loads(cli("account", "show", "R0001", "-f", "json").stdout)["summary"]
    assert (summary["patient_pending"], summary["patient_owes"]) == ("0.00", "0.00")
    _clean(db, cli)


# -- an appeal's decision after the clerk closed the claim another way ------------------------------

NECESSITY = _claim("4", "0.00", (("CO", "50", "150.00"),))  # not medically necessary: appealable


def _appeal(cli, tmp_path: Path) -> None:
    """Appeal #1 of C000001, opened and submitted: the claim is 'appealed'."""
    r = cli(
        "appeal",
        "create",
        "C000001",
        "--reason",
        "the notes show it was necessary",
        "-o",
        str(tmp_path / "appeal.pdf"),
    )
    _ok(r)
    _ok(cli("appeal", "update", "1", "--status", "submitted"))


def test_an_appeal_lost_after_a_write_off_leaves_the_claim_written_off(db, tmp_path, cli):
    """Denied 150.00 (CO-50), appealed; while the appeal waits the clerk writes the 150.00 off
    (denial-writeoff): 150.00 - 150.00 = 0.00, 'written_off'. The appeal is then lost: the
    denial stands, but nothing is open (docs/claim-states.md: 'denied' has a balance above 0.00),
    so the claim stays 'written_off'; before, it went back to 'denied' with 0.00 open."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [NECESSITY])
    _appeal(cli, tmp_path)
    assert _state(db) == "appealed"
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    assert _state(db) == "written_off"
    _ok(cli("appeal", "update", "1", "--status", "lost"))
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 15000, 0), "written_off")
    _clean(db, cli)


def test_an_appeal_withdrawn_after_a_void_leaves_the_claim_voided(db, tmp_path, cli):
    """Denied 150.00 (CO-50), appealed; the clerk finds the visit was billed under the wrong
    patient and voids C000001 (--rebill; Keystone's claim number KEY-A is known from its 835):
    the credit note takes off the 150.00 open, 0.00. The appeal is withdrawn: the claim stays
    'voided' (final). Before, it went back to 'denied' with nothing open, which check reported
    (CLAIM-STATE)."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [NECESSITY])
    _appeal(cli, tmp_path)
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient", "--rebill"))
    _ok(cli("appeal", "update", "1", "--status", "withdrawn"))
    assert (_bal(db), _state(db)) == ((15000, -15000, 0, 0, 0), "voided")
    _clean(db, cli)


def test_an_appeal_submitted_after_the_payer_paid_leaves_the_claim_paid(db, tmp_path, cli):
    """Denied 150.00 (CO-50); the clerk drafts an appeal ('appealed'), but Keystone reprocesses
    on its own and pays 110.00 with CO-45 40.00: 0.00 open, 'paid'. Submitting the draft then
    records the step on the appeal, not on the claim: it stays 'paid' (before, 'appealed' with
    nothing open)."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [NECESSITY])
    r = cli(
        "appeal",
        "create",
        "C000001",
        "--reason",
        "the notes show it was necessary",
        "-o",
        str(tmp_path / "appeal.pdf"),
    )
    _ok(r)
    _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+40")
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    _ok(cli("appeal", "update", "1", "--status", "submitted"))
    assert _state(db) == "paid"
    _clean(db, cli)


# -- the payer takes back a second payment -------------------------------------------------------


def test_the_reversal_of_a_second_payment_takes_back_only_what_it_posted(db, tmp_path, cli):
    """Keystone pays C000001 twice under two claim numbers: KEY-A 110.00 with CO-45 40.00, then
    KEY-B the same. The second's CO-45 only explains it (the charge is reduced by contract once):
    150.00 - 220.00 - 40.00 = -110.00, Keystone's credit. Keystone then reverses KEY-B (CLP02
    22: -110.00, CO-45 -40.00): its payment comes off, and nothing of the CO-45, which KEY-B
    never put in the ledger: 150.00 - 110.00 - 40.00 = 0.00, 'paid' (KEY-A still settles it).
    Before, the reversal took the 40.00 CO-45 of KEY-A off too: 40.00 open, 'reversed', that
    no one owes, and check passed."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+20")
    assert _bal(db) == (15000, 0, 22000, 4000, -11000)
    rev = _claim("22", "-110.00", (("CO", "45", "-40.00"),), charge="-150.00", pcn="KEY-B")
    _remit(cli, tmp_path, "REV2", [rev], on="D+30")
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    assert db.execute("SELECT outcome FROM remit_claims WHERE status_code = '22'").fetchall() == [
        ("reversed",)
    ]
    _clean(db, cli)


def test_the_reversal_of_a_second_payment_leaves_the_patient_share_moved_once(db, tmp_path, cli):
    """KEY-A pays 100.00 with CO-45 20.00 and PR-2 30.00 (30.00 moved to Rae); KEY-B repeats it
    (its CAS only explain it): 150.00 - 200.00 - 50.00 = -100.00. The reversal of KEY-B takes
    back its 100.00 and nothing else: 150.00 - 100.00 - (20.00 + 30.00) = 0.00; Rae still owes
    the 30.00 once (before, the reversal moved -30.00 back from her: she owed 0.00 and 50.00
    stood open on the claim)."""
    _setup(db, tmp_path)
    cas = (("CO", "45", "20.00"), ("PR", "2", "30.00"))
    _remit(cli, tmp_path, "PAY1", [_claim(paid="100.00", cas=cas)])
    _remit(cli, tmp_path, "PAY2", [_claim(paid="100.00", cas=cas, pcn="KEY-B")], on="D+20")
    assert _bal(db) == (15000, 0, 20000, 5000, -10000)
    back = (("CO", "45", "-20.00"), ("PR", "2", "-30.00"))
    rev = _claim("22", "-100.00", back, charge="-150.00", pcn="KEY-B")
    _remit(cli, tmp_path, "REV2", [rev], on="D+30")
    assert (_bal(db), _state(db)) == ((15000, 0, 10000, 5000, 0), "paid")
    summary = json.loads(cli("account", "show", "R0001", "-f", "json").stdout)["summary"]
    assert summary["patient_pending"] == "30.00"
    _clean(db, cli)


# -- found here, fixed elsewhere (billing/lifecycle.py is the lead's this wave) --------------------


def test_a_refund_then_the_payers_reversal_of_a_voided_claim_leaves_the_payer_owing(
    db, tmp_path, cli
):
    """Keystone paid C000001 110.00 with CO-45 40.00; the clerk voids it (the credit note takes
    off 0.00 open + 110.00 paid: -110.00, Keystone's credit) and sends Keystone a 110.00 refund
    check (`payment refund-payer`): 0.00. Keystone also answers the void with a reversal (CLP02
    22: -110.00, CO-45 -40.00), so it has taken its 110.00 back twice: it paid 110.00 - 110.00
    - 110.00 = -110.00 net. The claim must say Keystone owes the practice 110.00: 150.00 -
    110.00 credited + 110.00 - (0.00 + 40.00 carried, what the reversal re-opened of the
    contract) = 110.00. Today remit import closes the whole 150.00 the reversal re-opened
    ('carried'), so the claim shows 0.00, the 110.00 is lost from A/R, and check passes."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    _ok(cli("payment", "refund-payer", "C000001", "110.00", "--method", "check"))
    assert _bal(db) == (15000, -11000, 0, 4000, 0)
    _remit(cli, tmp_path, "REV1", [REVERSAL], on="D+30")
    assert _bal(db) == (15000, -11000, -11000, 4000, 11000)


def test_a_duplicate_payment_leaves_the_write_off_and_is_the_payers_credit(db, tmp_path, cli):
    """KEY-A pays 100.00 with CO-45 20.00 and denies 30.00 (CO-16, open); the clerk writes the
    30.00 off: 150.00 - 100.00 - (20.00 + 30.00) = 0.00. Keystone pays the same claim again
    under KEY-B, the same amounts (a duplicate payment; its CAS only explain it): 150.00 -
    200.00 - 50.00 = -100.00. That 100.00 is Keystone's overpayment, not a payment of the 30.00
    it still denies, so the write-off stays and all 100.00 is refundable."""
    _setup(db, tmp_path)
    cas = (("CO", "45", "20.00"), ("CO", "16", "30.00"))
    _remit(cli, tmp_path, "PAY1", [_claim(paid="100.00", cas=cas)])
    _ok(cli("invoice", "writeoff", "C000001", "30.00", "--reason", "denial-writeoff"))
    _remit(cli, tmp_path, "PAY2", [_claim(paid="100.00", cas=cas, pcn="KEY-B")], on="D+20")
    assert _bal(db) == (15000, 0, 20000, 5000, -10000)
    _ok(cli("payment", "refund-payer", "C000001", "100.00", "--method", "check"))
    assert _bal(db) == (15000, 0, 10000, 5000, 0)
    _clean(db, cli)


def test_a_reversal_and_correction_that_pay_the_denied_part_take_the_write_off_back(
    db, tmp_path, cli
):
    """KEY-A pays 100.00 with CO-45 20.00 and denies 30.00 (CO-16); the clerk writes the 30.00
    off. The appeal is won: Keystone's 835 reverses KEY-A (-100.00, CO-45 -20.00, CO-16 -30.00)
    and pays it corrected (KEY-A2: 124.00 with CO-45 26.00). The reversal nets KEY-A out, so the
    correction is no second payment: 150.00 - 124.00 - (26.00 + 30.00) = -30.00 takes the
    30.00 write-off back: 150.00 - 124.00 - (26.00 + 30.00 - 30.00) = 0.00, 'paid'."""
    _setup(db, tmp_path)
    cas = (("CO", "45", "20.00"), ("CO", "16", "30.00"))
    _remit(cli, tmp_path, "PAY1", [_claim(paid="100.00", cas=cas)])
    _ok(cli("invoice", "writeoff", "C000001", "30.00", "--reason", "denial-writeoff"))
    back = (("CO", "45", "-20.00"), ("CO", "16", "-30.00"))
    rev = _claim("22", "-100.00", back, charge="-150.00")
    corr = _claim(paid="124.00", cas=(("CO", "45", "26.00"),), pcn="KEY-A2")
    _remit(cli, tmp_path, "REV1", [rev, corr], on="D+40")
    assert (_bal(db), _state(db)) == ((15000, 0, 12400, 2600 + 3000 - 3000, 0), "paid")
    _clean(db, cli)


def _secondary(db, tmp_path: Path) -> None:
    """Cora (MRN C0001): Keystone primary, Blue Valley secondary, a 99214 at 200.00 (C000001).
    Keystone pays 120.00 with CO-45 50.00 and PR-2 30.00: the 30.00 is routed to Blue Valley
    (COB-NEXT-PAYER) and the next run bills it C000002, 200.00 with OA-23 170.00: 30.00 open."""
    with dbmod.write(db):
        fx.practice(db)
        p = fx.patient(db, "C0001", "Cora", "Benefit")
        fx.coverage(db, p, "KEY", member="KEY001", priority=1)
        fx.coverage(db, p, "BVH", member="BVH002", priority=2)
        fx.encounter(db, p, DOS, [("99214", 20000)])
    day = TODAY
    for run in ("r1", "r2"):
        gen.generate(
            db, out_dir=tmp_path / run, today=day, scrub=fx.no_scrub, pdf=False, xlsx=False
        )
        if run == "r1":
            paid = {
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
            path = tmp_path / "K1.835"
            path.write_text(
                ls.remit_text({"payer": "KEY", "trace": "K1", "on": "D", "claims": [paid]})
            )
            post.import_files(db, [path], today=day)
            day = TODAY + dt.timedelta(days=1)
    assert _bal(db, "C000002") == (20000, 0, 0, 17000, 3000)


def test_a_secondary_claim_voided_with_rebill_is_billed_again(db, tmp_path, cli):
    """The clerk voids the secondary claim C000002 (--rebill: a wrong field, to send again):
    its credit note takes off the 30.00 open. The 30.00 Keystone left is still owed by Blue
    Valley, so the next run bills it again: a new COB claim C000003, 200.00 - 170.00 OA-23 =
    30.00 open. Today nothing is billed: the 30.00 is owed by no one (C000001 0.00, C000002
    0.00, nothing pending for Cora) and check passes."""
    _secondary(db, tmp_path)
    _ok(cli("invoice", "void", "C000002", "--reason", "wrong subscriber", "--rebill"))
    assert _bal(db, "C000002") == (20000, -3000, 0, 17000, 0)
    res = gen.generate(
        db,
        out_dir=tmp_path / "r3",
        today=TODAY + dt.timedelta(days=2),
        scrub=fx.no_scrub,
        pdf=False,
        xlsx=False,
    )
    assert "C000003" in [r["number"] for r in res.issued]
    assert _bal(db, "C000003") == (20000, 0, 0, 17000, 3000)


# -- a crossover payer's paper EOB --------------------------------------------------------------


def test_a_crossover_payers_paper_eob_is_its_own_money(desk):
    """tests/test_per_payer_ledger.py's practice: a 99213 at 120.00, Medicare primary, Medicaid
    secondary. Medicare pays 80.00 with CO-45 20.00 and PR-2 20.00 and forwards the claim to
    Medicaid (CLP02 19, MA07): it waits on Medicaid, 20.00 open. Medicaid answers on paper:
    15.00 paid, OA-23 100.00 (Medicare's impact), CO-45 5.00 (its rate is payment in full). The
    EOB is Medicaid's, the payer the claim waits on: per payer MCR 80.00 paid / 20.00 adjusted,
    MCD 15.00 / 5.00, and the claim 120.00 - 95.00 - 25.00 = 0.00, 'paid'. Before, the EOB was
    posted as Medicare's money, its CO-45 taken for a repeat of Medicare's and dropped: 5.00
    left open that no one owes, and Medicare shown as paying 95.00."""
    desk.remit(pp.MEDICARE_835)
    desk.run(
        "payment",
        "eob",
        "C000001",
        "--paid",
        "15.00",
        "--adjust",
        "OA-23:100.00",
        "--adjust",
        "CO-45:5.00",
        "--reference",
        "MCD-EOB-1",
    )
    show = desk.json("invoice", "show", "C000001")
    payers = {p["payer"]: (p["paid"], p["adjusted"]) for p in show["payers"]}
    assert payers == {"MCR": ("80.00", "20.00"), "MCD": ("15.00", "5.00")}
    assert (show["paid"], show["adjusted"], show["balance"], show["status"]) == (
        "95.00",
        "25.00",
        "0.00",
        "paid",
    )
    desk.run("check")


# -- found here, to fix in billing/lifecycle.py (the lead's this wave) ------------------------------


def test_a_corrected_claim_after_a_write_off_asks_the_payer_for_the_written_off_amount(
    db, tmp_path, cli
):
    """Keystone denies C000001 (CO-16 150.00: information missing); the clerk first writes it
    off (denial-writeoff), then corrects the charge and replaces the claim (frequency 7) to be
    paid after all. The corrected claim C000002 asks Keystone for the 150.00 again: 150.00 open
    (Keystone settled nothing on C000001; a clerk write-off is not the payer's). Keystone pays
    it: 110.00 with CO-45 40.00, 150.00 - 110.00 - 40.00 = 0.00, and check is clean. Today the
    replacement carries the write-off as settled (0.00 open) and the payment leaves -150.00:
    40.00 reduced twice (check: LEDGER-DOUBLE-REDUCTION) and 110.00 refundable that Keystone
    rightly paid. Proposed: `replace`/`resubmit` first undo the original's clerk write-offs
    (an opposite entry naming each, as accounts.adjust does), so the credit note moves them
    and the replacement carries only what payers settled."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [DENIED])
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _bal(db, "C000002") == (15000, 0, 0, 0, 15000)
    paid = dict(_claim(pcn="KEY-B"), claim="C000002")
    _remit(cli, tmp_path, "PAY2", [paid], on="D+40")
    assert _bal(db, "C000002") == (15000, 0, 11000, 4000, 0)
    _clean(db, cli)


def test_medicares_reversal_of_a_crossed_over_claim_nets_the_crossover_out(desk):
    """Medicare pays the 99213 (120.00): 80.00, CO-45 20.00, PR-2 20.00, forwarded to Medicaid
    (CLP02 19, MA07): the 20.00 is put back on the claim for Medicaid (a 'cob' -20.00), 20.00
    open. Medicare then reverses its payment (CLP02 22: -80.00, CO-45 -20.00, PR-2 -20.00).
    Everything Medicare did comes off, the crossover's put-back too: 120.00 - 0.00 - (20.00 -
    20.00 + 20.00 - 20.00 - 20.00 + 20.00) = 120.00 open, 'reversed', and Rae owes nothing
    pending. Before, the put-back stayed and the reversed PR-2 counted as -20.00 the patient
    was owed: 140.00 open on a 120.00 charge and check failed (LEDGER-PATIENT-CHARGED)."""
    desk.remit(pp.MEDICARE_835)
    rev = copy.deepcopy(pp.MEDICARE_835)
    rev["trace"], rev["on"] = "EFT5599", "D+20"
    claim = rev["claims"][0]
    claim.update(status="22", charge="-120.00", paid="-80.00", pr="-20.00")
    back = [["CO", "45", "-20.00"], ["PR", "2", "-20.00"]]
    claim["lines"][0].update(charge="-120.00", paid="-80.00", cas=back)
    desk.remit(rev)
    show = desk.json("invoice", "show", "C000001")
    assert (show["paid"], show["adjusted"], show["balance"], show["status"]) == (
        "0.00",
        "0.00",
        "120.00",
        "reversed",
    )
    account = desk.json("account", "show", "G5501")["summary"]
    assert (account["patient_pending"], account["insurance_balance"]) == ("0.00", "120.00")
    desk.run("check")


PRIMARY_REVERSAL = {  # Keystone takes back its answer to C000001 (_secondary)
    "claim": "C000001",
    "status": "22",
    "charge": "-200.00",
    "paid": "-120.00",
    "pr": "-30.00",
    "pcn": "KEY-1",
    "lines": [
        {
            "code": "99214",
            "charge": "-200.00",
            "paid": "-120.00",
            "cas": [["CO", "45", "-50.00"], ["PR", "2", "-30.00"]],
        }
    ],
}


def _summary(cli, mrn: str) -> dict:
    return json.loads(cli("account", "show", mrn, "-f", "json").stdout)["summary"]


def test_the_primarys_reversal_after_the_secondary_claim_owes_the_patient_nothing(
    db, tmp_path, cli
):
    """Keystone's answer (120.00 paid, CO-45 50.00, PR-2 30.00) was billed to Blue Valley as
    C000002 (30.00 open). Keystone reverses it (CLP02 22): C000001 is 200.00 - 0.00 - (50.00 -
    50.00 + 30.00 - 30.00) = 200.00 open, 'reversed'. The reversed PR-2 was Blue Valley's
    (routed to it), not Cora's: she owes 0.00 pending, not -30.00; C000002 stays 30.00 open
    until the clerk voids it (docs/cob.md), then 0.00. Before, Cora was owed 30.00 she never
    paid and check failed (LEDGER-PATIENT-CHARGED), also after the void."""
    _secondary(db, tmp_path)
    _remit(cli, tmp_path, "KEYREV", [PRIMARY_REVERSAL], on="D+3")
    assert (_bal(db), _state(db)) == ((20000, 0, 0, 0, 20000), "reversed")
    summary = _summary(cli, "C0001")
    assert (summary["patient_pending"], summary["patient_owes"]) == ("0.00", "0.00")
    assert summary["insurance_balance"] == "230.00"  # 200.00 + C000002's 30.00
    _clean(db, cli)
    _ok(cli("invoice", "void", "C000002", "--reason", "primary reversed its answer"))
    assert _summary(cli, "C0001")["insurance_balance"] == "200.00"
    _clean(db, cli)


def test_a_dry_run_says_what_it_would_take_back_and_writes_nothing(db, tmp_path, cli):
    """The denial written off (150.00, 'written_off'); `remit import --dry-run` of Keystone's
    payment says it would take the write-off back, and leaves the claim as it was."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [DENIED])
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    wo = _entry(db, "writeoff")
    path = tmp_path / "PAY2.835"
    paid = _claim(pcn="KEY-B")
    path.write_text(
        ls.remit_text({"payer": "KEY", "trace": "PAY2", "on": "D+40", "claims": [paid]})
    )
    r = cli("remit", "import", str(path), "--dry-run")
    _ok(r)
    assert f"Would post: C000001: write-off {wo} reversed by 150.00" in r.stderr
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 15000, 0), "written_off")


def test_a_denial_upheld_after_the_write_off_leaves_the_claim_written_off(db, tmp_path, cli):
    """Denied 150.00 (CO-50), written off (denial-writeoff): 0.00, 'written_off'. Keystone
    answers a reconsideration by denying the claim again (a new claim number, CO-50 150.00):
    a denial posts nothing and 0.00 stays open, so the claim stays 'written_off' ('denied' says
    the amount is open, docs/claim-states.md); before, it went back to 'denied' with nothing
    open and `invoice list --status denied` listed it."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [NECESSITY])
    _ok(cli("invoice", "writeoff", "C000001", "150.00", "--reason", "denial-writeoff"))
    again = _claim("4", "0.00", (("CO", "50", "150.00"),), pcn="KEY-B")
    _remit(cli, tmp_path, "DEN2", [again], on="D+40")
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 15000, 0), "written_off")
    _clean(db, cli)


def test_a_secondary_claim_voided_with_rebill_after_the_primarys_reversal_bills_nothing(
    db, tmp_path, cli
):
    """Keystone reverses its answer after C000002 (Blue Valley, 30.00) was billed; the clerk
    voids C000002 with --rebill. What Keystone's answer left for Blue Valley is now 30.00 -
    30.00 = 0.00, so the next run bills Blue Valley nothing (no 0.00 claim sent to it); the
    corrected answer, when Keystone sends it, is routed afresh."""
    _secondary(db, tmp_path)
    _remit(cli, tmp_path, "KEYREV", [PRIMARY_REVERSAL], on="D+3")
    _ok(cli("invoice", "void", "C000002", "--reason", "primary reversed its answer", "--rebill"))
    res = gen.generate(
        db,
        out_dir=tmp_path / "r3",
        today=TODAY + dt.timedelta(days=5),
        scrub=fx.no_scrub,
        pdf=False,
        xlsx=False,
    )
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("CN000001", -3000)]
    assert _summary(cli, "C0001")["insurance_balance"] == "200.00"
    _clean(db, cli)


def test_a_corrected_claim_after_a_partial_payment_and_a_write_off_settles_once(db, tmp_path, cli):
    """C000001: a 99213 at 150.00 and a 36415 at 20.00. Keystone pays the 99213 110.00 (CO-45
    40.00) and denies the 36415 (CO-16 20.00, open); the clerk writes 5.00 of it off, then
    corrects the 36415 and replaces the claim. The corrected claim C000002 (170.00) carries what
    Keystone settled, 150.00, and asks again for the 20.00 (the write-off undone first:
    billing.lifecycle). Keystone reverses C000001 and pays C000002 afresh: 126.00, CO-45 40.00
    and 4.00. C000002: 170.00 - 126.00 - 44.00 = 0.00, C000001 0.00, and nothing is left for
    `payment refund-payer` (before the lead's fix 85cf836, C000002 stood at -5.00, the payer's
    money refundable although rightly paid)."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0001", "Rae", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99213", 15000), ("36415", 2000)])
    gen.generate(db, out_dir=tmp_path / "r1", today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False)

    def answer(number: str, status: str, sign: str, paid2: str, cas2: list, pcn: str) -> dict:
        return {
            "claim": number,
            "status": status,
            "charge": f"{sign}170.00",
            "paid": f"{sign}{ls.money_text(11000 + ls.cents(paid2))}",
            "pcn": pcn,
            "lines": [
                {
                    "code": "99213",
                    "charge": f"{sign}150.00",
                    "paid": f"{sign}110.00",
                    "cas": [["CO", "45", f"{sign}40.00"]],
                },
                {"code": "36415", "charge": f"{sign}20.00", "paid": f"{sign}{paid2}", "cas": cas2},
            ],
        }

    _remit(
        cli, tmp_path, "P1", [answer("C000001", "1", "", "0.00", [["CO", "16", "20.00"]], "KEY-A")]
    )
    _ok(cli("invoice", "writeoff", "C000001", "5.00", "--reason", "small-balance"))
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _bal(db, "C000002")[4] == 2000
    rev = answer("C000001", "22", "-", "0.00", [["CO", "16", "-20.00"]], "KEY-A")
    corr = answer("C000002", "1", "", "16.00", [["CO", "45", "4.00"]], "KEY-A2")
    _remit(cli, tmp_path, "R1", [rev, corr], on="D+30")
    assert (_bal(db, "C000002"), _state(db, "C000002")) == ((17000, 0, 12600, 4400, 0), "paid")
    assert _bal(db)[4] == 0
    _clean(db, cli)
    r = cli("payment", "refund-payer", "C000002", "0.01", "--method", "check")
    assert r.exit_code == 2 and "C000002" in r.stderr


def test_money_a_payer_gives_back_after_a_write_off_takes_the_write_off_back(db, tmp_path, cli):
    """Keystone paid C000001 110.00 (CO-45 40.00), then recouped it (PLB WO 110.00 naming
    C000001): 110.00 open, 'reversed'. The clerk gives up and writes the 110.00 off. Keystone
    then gives the recoupment back (PLB WO -110.00, a recovery it delays): the payment stands
    again, 150.00 - 110.00 - (40.00 + 110.00 - 110.00) = 0.00, 'paid'; before, the claim stood
    at -110.00 and `payment refund-payer` would send Keystone money it rightly paid."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    _remit(
        cli,
        tmp_path,
        "PLB1",
        [],
        on="D+20",
        plb=[{"reason": "WO", "ref": "C000001", "amount": "110.00"}],
    )
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 4000, 11000), "reversed")
    _ok(cli("invoice", "writeoff", "C000001", "110.00", "--reason", "bad-debt"))
    _remit(
        cli,
        tmp_path,
        "PLB2",
        [],
        on="D+40",
        plb=[{"reason": "WO", "ref": "C000001", "amount": "-110.00"}],
    )
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    _clean(db, cli)


# -- a denial the provider must work stays on the claim (accounts/adjust.py) ---------------------------


@pytest.mark.parametrize("carc", ["16", "97"])
def test_a_denial_the_provider_must_fix_is_not_moved_to_the_patient(db, tmp_path, cli, carc):
    """Keystone denies C000001 with CO-16 (information missing: correct and resubmit) or CO-97
    (bundled into another service): group CO, the provider's liability; "the beneficiary may
    not be billed for these amounts" (Noridian, Claim Adjustment Group Codes; PR is the group
    for amounts the patient may be billed). The documented rule (docs/claim-states.md,
    accounts/adjust.py) lets a denial move to the patient only with an ABN or for an
    eligibility or non-covered denial, so `invoice to-patient` must refuse (exit 2, nothing
    written) and the 150.00 stays open on the claim. Today it moves the 150.00 to Rae."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [_claim("4", "0.00", (("CO", carc, "150.00"),))])
    r = cli("invoice", "to-patient", "C000001", "150.00")
    assert r.exit_code == 2 and "C000001" in r.stderr
    assert (_bal(db), _state(db)) == ((15000, 0, 0, 0, 15000), "denied")


def test_only_the_denial_the_patient_may_be_billed_moves(db, tmp_path, cli):
    """Keystone denies C000001's two lines: the 99213 150.00 CO-16 (information missing: the
    provider corrects it) and the 36415 20.00 CO-27 (coverage had ended: Rae may be billed).
    Of the 170.00 denied only 20.00 may move: 170.00 and 20.01 are refused (exit 2, nothing
    written); 20.00 moves, leaving 150.00 open on the claim for the clerk to correct."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0001", "Rae", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99213", 15000), ("36415", 2000)])
    gen.generate(db, out_dir=tmp_path / "r1", today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False)
    lines = [
        {"code": "99213", "charge": "150.00", "paid": "0.00", "cas": [["CO", "16", "150.00"]]},
        {"code": "36415", "charge": "20.00", "paid": "0.00", "cas": [["CO", "27", "20.00"]]},
    ]
    claim = {"claim": "C000001", "status": "4", "charge": "170.00", "paid": "0.00"}
    _remit(cli, tmp_path, "DEN2", [claim | {"pcn": "KEY-A", "lines": lines}])
    for amount in ("170.00", "20.01"):
        r = cli("invoice", "to-patient", "C000001", amount)
        assert r.exit_code == 2 and "20.00" in r.stderr, r.stderr
        assert _bal(db) == (17000, 0, 0, 0, 17000)
    _ok(cli("invoice", "to-patient", "C000001", "20.00"))
    assert (_bal(db), _state(db)) == ((17000, 0, 0, 2000, 15000), "denied")
    _clean(db, cli)


def test_a_split_claim_with_a_denied_part_is_partly_paid_not_denied(db, tmp_path, cli):
    """Keystone splits C000001 (remark MA15): part KEY-A pays the 99213 110.00 (CO-45 40.00),
    part KEY-B denies the 36415 (CO-16 20.00, open). The claim is 170.00 - 110.00 - 40.00 =
    20.00 open with 110.00 paid: 'partially_paid' (docs/claim-states.md: 'denied' is nothing
    paid), and the denial worklist lists it as a partial denial of 20.00. Before, the last
    part's state won: 'denied'."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "R0001", "Rae", "Fix")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, DOS, [("99213", 15000), ("36415", 2000)])
    gen.generate(db, out_dir=tmp_path / "r1", today=TODAY, scrub=fx.no_scrub, pdf=False, xlsx=False)

    def part(pcn: str, status: str, code: str, charge: str, paid: str, cas: list) -> dict:
        line = {"code": code, "charge": charge, "paid": paid, "cas": [cas]}
        return {
            "claim": "C000001",
            "status": status,
            "charge": charge,
            "paid": paid,
            "pcn": pcn,
        } | {
            "remarks": ["MA15"],
            "lines": [line],
        }

    paid = part("KEY-A", "1", "99213", "150.00", "110.00", ["CO", "45", "40.00"])
    denied = part("KEY-B", "4", "36415", "20.00", "0.00", ["CO", "16", "20.00"])
    _remit(cli, tmp_path, "SPLIT1", [paid, denied])
    assert (_bal(db), _state(db)) == ((17000, 0, 11000, 4000, 2000), "partially_paid")
    rows = json.loads(cli("denial", "list", "-f", "json").stdout)
    assert [(r["invoice"], r["denial"], r["at_stake"]) for r in rows] == [
        ("C000001", "partial", "20.00")
    ]
    _clean(db, cli)


def test_a_payment_after_the_patient_was_billed_the_transfer_credits_her(db, tmp_path, cli):
    """CO-27 150.00 moved to Rae (`invoice to-patient`), billed on P000001 (150.00); she pays
    50.00. Keystone then pays the claim (110.00, CO-45 40.00): the transfer is taken back
    (C000001 0.00, 'paid'), P000001 is credited its 150.00 (billing.lifecycle, patient audit)
    and the 50.00 she paid is her credit: she owes 0.00 and has 50.00 to refund or apply."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "DEN1", [_claim("4", "0.00", (("CO", "27", "150.00"),))])
    _ok(cli("invoice", "to-patient", "C000001", "150.00"))
    res = gen.generate(
        db,
        out_dir=tmp_path / "r2",
        today=TODAY + dt.timedelta(days=1),
        scrub=fx.no_scrub,
        pdf=False,
        xlsx=False,
    )
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000001", 15000)]
    _ok(cli("payment", "post", "R0001", "50.00", "--method", "cash"))
    _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+40")
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    assert _bal(db, "P000001") == (15000, -15000, 0, 0, 0)
    summary = _summary(cli, "R0001")
    assert (summary["patient_owes"], summary["credit"]) == ("-50.00", "50.00")
    _clean(db, cli)


def test_a_paper_eob_names_its_payer_when_it_is_not_the_one_the_claim_waits_on(desk):
    """The claim crossed over to Medicaid; Medicare's own corrected EOB comes on paper
    (`payment eob --payer MCR`): it is Medicare's money, so its CO-45 repeats Medicare's (taken
    off once) and its 80.00 is Medicare's second payment: per payer MCR 160.00 paid / 20.00
    adjusted, MCD nothing. An unknown payer code is refused, nothing written."""
    desk.remit(pp.MEDICARE_835)
    eob = ["payment", "eob", "C000001", "--paid", "80.00", "--adjust", "CO-45:20.00"]
    eob += ["--adjust", "PR-2:20.00", "--reference", "MCR-EOB-2", "--date", "2026-11-04"]
    before = desk.json("invoice", "show", "C000001")["payers"]
    r = desk.run(*eob, "--payer", "NOPE", expect=2)
    assert "NOPE" in r.stderr
    assert desk.json("invoice", "show", "C000001")["payers"] == before
    desk.run(*eob, "--payer", "MCR")
    show = desk.json("invoice", "show", "C000001")
    assert {p["payer"]: (p["paid"], p["adjusted"]) for p in show["payers"]} == {
        "MCR": ("160.00", "20.00")
    }


def test_the_reversal_of_the_first_of_two_payments_leaves_the_contract_once(db, tmp_path, cli):
    """KEY-A and KEY-B each pay C000001 110.00 with CO-45 40.00 (the second's CO-45 only
    explains it): -110.00. Keystone reverses KEY-A, the first (-110.00, CO-45 -40.00): KEY-B's
    payment stands, and with it the contract's 40.00, which KEY-B's CAS explain: 150.00 -
    110.00 - 40.00 = 0.00, 'paid'. Before, the reversal took the only 40.00 CO-45 in the
    ledger off: 40.00 open that no one owed, 'reversed', and check passed."""
    _setup(db, tmp_path)
    _remit(cli, tmp_path, "PAY1", [PAID])
    _remit(cli, tmp_path, "PAY2", [_claim(pcn="KEY-B")], on="D+20")
    _remit(cli, tmp_path, "REV1", [REVERSAL], on="D+30")
    assert (_bal(db), _state(db)) == ((15000, 0, 11000, 4000, 0), "paid")
    _clean(db, cli)

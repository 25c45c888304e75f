"""Review of the lead's three fixes (1a6e54e, 93ec01a): `invoice to-patient` moves only what
the patient may be billed; an 835 payment crossing a void posts its money only; a replacement
paid while the payer's payment of its original stands posts only the CAS the original's
postings did not take off.

Every expected number was worked by hand from the billing rules (the remit/post.py,
accounts/adjust.py and billing/lifecycle.py docstrings, docs/claim-states.md) before the case
was run; the arithmetic is in each docstring. Balances are (total, credited, paid, adjusted,
balance) of invoice_balances. The practices are tests/test_audit_reports.py's (Al, MRN A1,
Keystone KEY, V1 a 99214 at 200.00; KEY_PAID: 120.00 paid, CO-45 50.00, PR-2 30.00) and, for
two-line claims, a 99213 at 150.00 and a 36415 at 20.00 (C000001, 170.00).
"""

from __future__ import annotations

import datetime as dt

import invoice_fixtures as fx
import pytest
import test_audit_claims as ac
import test_audit_reports as ar

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle

TODAY = ar.TODAY
KEY_PAID = ar.KEY_PAID
_balance, _findings, _remit, _ok = ar._balance, ar._findings, ar._remit, ar._ok


def _aging(db) -> dict[str, int]:
    """payer -> what `report aging` shows today, TOTAL included."""
    return ar._aging(db)


def _transfers(db) -> int:
    """What moved to the patient (835 PR transfers and clerk transfers, reversals netted)."""
    return db.execute(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM adjustments WHERE source = 'transfer'"
    ).fetchone()[0]


def _paid(claim: str, pcn: str) -> dict:
    """KEY_PAID for another claim number / payer claim number."""
    return {**KEY_PAID, "claim": claim, "pcn": pcn}


def _reversal(claim: str = "C000001", pcn: str = "KEY-1") -> dict:
    """Keystone takes back KEY_PAID: CLP02 22, -120.00, CO-45 -50.00, PR-2 -30.00."""
    line = {
        "code": "99214",
        "charge": "-200.00",
        "paid": "-120.00",
        "cas": [["CO", "45", "-50.00"], ["PR", "2", "-30.00"]],
    }
    return {
        "claim": claim,
        "status": "22",
        "charge": "-200.00",
        "paid": "-120.00",
        "pr": "-30.00",
        "pcn": pcn,
        "lines": [line],
    }


def _ln(code: str, charge: str, paid: str, *cas: tuple[str, str, str]) -> dict:
    return {"code": code, "charge": charge, "paid": paid, "cas": [list(c) for c in cas]}


def _clp(status: str, charge: str, paid: str, pcn: str, lines: list, **more) -> dict:
    head = {"claim": "C000001", "status": status, "charge": charge, "paid": paid, "pcn": pcn}
    return head | {"lines": lines} | more


def _two_lines(db, tmp_path, mods: str = "") -> None:
    """Al's V1: a 99213 at 150.00 (modifiers `mods`) and a 36415 at 20.00, C000001 to KEY."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "A1", "Al", "Ames")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, ar.DOS, [("99213", 15000, mods), ("36415", 2000)], number="V1")
    assert ar._run(db, tmp_path) == ["C000001"]


L1_PAID = _ln("99213", "150.00", "110.00", ("CO", "45", "40.00"))
L2_PAID = _ln("36415", "20.00", "15.00", ("CO", "45", "5.00"))


# ---------------------------------------------------------------------------------------------
# fix 3: a replacement paid while the original's payment stands


def test_a_replacement_of_a_replacement_paid_without_reversal_is_one_overpayment(db, cli, tmp_path):
    """C000001 paid (KEY_PAID), replaced by C000002 (carries 200.00), which is sent and replaced
    by C000003 (C000002's credit note takes its 0.00 open; C000003 carries 200.00). Keystone
    pays C000003 the same without reversing C000001: the chain walks back to C000001's CO-45
    50.00 and PR-2 30.00, so nothing more is reduced or moved: C000003 200.00 - 120.00 -
    200.00 = -120.00 (Keystone's overpayment), C000001 and C000002 0.00, Al's 30.00 once.
    Holds up."""
    ar._paid_then_replaced(db, cli, tmp_path)
    ar._run(db, tmp_path)
    lifecycle.replace(db, "C000002", scrub=fx.no_scrub, today=TODAY)
    _remit(cli, tmp_path, "KEY", [_paid("C000003", "KEY-3")])
    assert _balance(db, "C000001") == (20000, 0, 12000, 8000, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 20000, 0)
    assert _balance(db, "C000003") == (20000, 0, 12000, 20000, -12000)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_a_replacement_at_a_higher_charge_posts_only_the_new_contractual_part(db, cli, tmp_path):
    """After KEY_PAID on C000001 the 99214's fee is corrected to 250.00 and the claim replaced:
    C000002 250.00 carries the 200.00 settled, 50.00 open. Keystone pays C000002 150.00,
    CO-45 70.00, PR-2 30.00 without reversing C000001: of the CO-45 only 70.00 - 50.00 = 20.00
    is new, the PR-2 was moved already: 250.00 - 150.00 - (200.00 + 20.00) = -120.00, the
    payment of C000001 that Keystone made twice. Holds up."""
    ar._insured(db)
    ar._run(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    _ok(cli("charge", "correct", "V1", "--charge", "250.00", "--reason", "wrong fee"))
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _balance(db, "C000002") == (25000, 0, 0, 20000, 5000)
    line = _ln("99214", "250.00", "150.00", ("CO", "45", "70.00"), ("PR", "2", "30.00"))
    answer = {"claim": "C000002", "status": "1", "charge": "250.00", "paid": "150.00"}
    _remit(cli, tmp_path, "KEY", [answer | {"pr": "30.00", "pcn": "KEY-2", "lines": [line]}])
    assert _balance(db, "C000002") == (25000, 0, 15000, 22000, -12000)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_the_original_reversed_and_the_replacement_paid_in_one_835(db, cli, tmp_path):
    """One 835: Keystone's reversal of C000001 and its payment of C000002 (reversals post
    first; the carried 200.00 is taken off C000002 only after the file, but the reversal nets
    C000001's CAS to 0.00 so nothing is capped): C000001 0.00 (200.00 'carried' back),
    C000002 200.00 - 120.00 - 80.00 = 0.00, Al's 30.00 moved once (30 - 30 + 30). Holds up."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_reversal(), _paid("C000002", "KEY-2")])
    assert _balance(db, "C000001") == (20000, 0, 0, 20000, 0)
    assert _balance(db, "C000002") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_a_paper_eob_of_the_replacement_while_the_original_stands(db, cli, tmp_path):
    """The same answer on paper (`payment eob C000002`, EOB KEY): capped against the 835
    postings of C000001 like an 835: C000002 -120.00, Al's 30.00 once. An EOB for the replaced
    C000001 is refused (exit 2, nothing written), as post_eob's docstring says. Holds up."""
    ar._paid_then_replaced(db, cli, tmp_path)
    eob = ["payment", "eob", "--paid", "120.00", "--adjust", "CO-45:50.00"]
    eob += ["--adjust", "PR-2:30.00", "--reference"]
    _ok(cli(*eob[:2], "C000002", *eob[2:], "EOB-2"))
    assert _balance(db, "C000002") == (20000, 0, 12000, 20000, -12000)
    r = cli(*eob[:2], "C000001", *eob[2:], "EOB-1")
    assert r.exit_code == 2 and "replaced" in r.stderr
    assert _balance(db, "C000001") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_a_payment_crossing_a_replacement_of_an_unanswered_claim(db, cli, tmp_path):
    """C000001 sent, unanswered, replaced: its credit note takes the 200.00 open, C000002
    carries nothing (200.00 open). Keystone's payment of C000001 crosses it: money only,
    200.00 - 200.00 - 120.00 = -120.00, Keystone's credit. Its payment of C000002 is not
    capped (nothing carried): 200.00 - 120.00 - 80.00 = 0.00, Al's 30.00 once. Its reversal
    of C000001 takes back the 120.00 alone: C000001 0.00. Holds up."""
    ar._insured(db)
    ar._run(db, tmp_path)
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    assert _balance(db, "C000001") == (20000, -20000, 12000, 0, -12000)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    assert _balance(db, "C000002") == (20000, 0, 12000, 8000, 0)
    _remit(cli, tmp_path, "KEY", [_reversal()])
    assert _balance(db, "C000001") == (20000, -20000, 0, 0, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_cob_a_replacement_paid_without_reversal_routes_the_share_once(db, cli, tmp_path):
    """Cora (tests/test_audit_claims.py _secondary): Keystone paid C000001 (120.00, CO-45
    50.00, PR-2 30.00), the 30.00 billed to Blue Valley on C000002 (30.00 open). C000001 is
    replaced by C000003 (carries 200.00); Keystone pays C000003 the same without reversing
    C000001: C000003 -120.00, no PR-2 posted again, so nothing more goes to Blue Valley: the
    next run sends only C000003 to Keystone, no second Blue Valley claim. Holds up."""
    ac._secondary(db, tmp_path)
    day = TODAY + dt.timedelta(days=1)
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=day)
    _remit(cli, tmp_path, "KEY", [_paid("C000003", "KEY-3")])
    assert _balance(db, "C000003") == (20000, 0, 12000, 20000, -12000)
    res = gen.generate(
        db, out_dir=tmp_path / "r9", today=day, scrub=fx.no_scrub, pdf=False, xlsx=False
    )
    assert [r["number"] for r in res.issued] == ["C000003"]
    assert _balance(db, "C000002") == (20000, 0, 0, 17000, 3000)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_the_original_reversed_after_the_replacement_was_paid(db, cli, tmp_path):
    """Keystone pays the replacement C000002 (KEY_PAID, KEY-2) while its payment of C000001
    stands: C000002 200.00 - 120.00 - 200.00 carried = -120.00 (right). A later 835 reverses
    C000001 (-120.00, CO-45 -50.00, PR-2 -30.00). Keystone's only standing answer is now
    KEY-2: 120.00 paid, CO-45 50.00, PR-2 30.00, so C000002 must be 200.00 - 120.00 - 80.00 =
    0.00 (20000, 0, 12000, 8000, 0) and Al owes his 30.00 once. Was: C000002 (20000, 0, 12000,
    0, 8000), 80.00 open aged under KEY that Keystone does not owe, Al's 30.00 taken back and
    never moved again; check CLAIM-STATE. Now the reversal leaves on C000001 the CO-45 and
    PR-2 that KEY-2 stands on (as a reversal leaves what a second payment of one claim
    explains): C000001 re-opens 120.00, closed again ('carried'), which comes off what
    C000002 carried (200.00 - 120.00 = 80.00 left): C000002 0.00, Al's 30.00 never moved
    twice nor taken back."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    assert _balance(db, "C000002") == (20000, 0, 12000, 20000, -12000)
    _remit(cli, tmp_path, "KEY", [_reversal()])
    assert _balance(db, "C000001") == (20000, 0, 0, 20000, 0)
    assert _balance(db, "C000002") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_then_the_replacements_payment_is_reversed_too(db, cli, tmp_path):
    """After the case above (C000001 reversed, C000002's KEY-2 standing on the CO-45 50.00 and
    PR-2 30.00 left on C000001), Keystone reverses KEY-2 too (-120.00, CO-45 -50.00, PR-2
    -30.00): no answer of Keystone's stands, so C000002 is open for its whole 200.00 (20000, 0,
    0, 0, 20000) and Al owes nothing (transfers 30 - 30 = 0.00); C000001 stays 0.00: the
    reversal takes the CO-45 and PR-2 KEY-2 stood on off C000001, which re-opens 80.00,
    closed again off what C000002 carried. Was: C000002 (20000, 0, 0, 8000, 12000), 120.00
    open, and Al still owed 30.00."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal()])
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2")])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002") == (20000, 0, 0, 0, 20000)
    assert _transfers(db) == 0
    assert _findings(db) == []


def test_the_replacements_payment_reversed_while_the_original_stands(db, cli, tmp_path):
    """Keystone pays C000002 (KEY-2) while its payment of C000001 stands (-120.00, its
    overpayment), then reverses KEY-2 alone: C000001's own payment still stands on its CO-45
    and PR-2, so nothing is taken off C000001: C000002 is back to 200.00 - 0.00 - 200.00
    carried = 0.00 and Al's 30.00 stays, moved once; C000001 unchanged (20000, 0, 12000, 8000,
    0)."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2")])
    assert _balance(db, "C000001") == (20000, 0, 12000, 8000, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 20000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_a_chain_of_replacements_then_the_original_reversed_and_the_last_paid(db, cli, tmp_path):
    """C000001 paid (KEY_PAID), replaced by C000002, which is sent and replaced by C000003
    (each carries 200.00). One 835 reverses C000001 and pays C000003 (KEY_PAID, KEY-3).
    Expected: C000001 200.00 - 0.00 - 200.00 carried = 0.00; C000002 stays 0.00 (replaced is
    final, 0 open); C000003 no longer carries anything and is paid afresh: 200.00 - 120.00 -
    80.00 = 0.00 (20000, 0, 12000, 8000, 0); Al's 30.00 once. Found: settle_takeback takes
    the 200.00 off C000002's carried part (it looks for the claim whose original is C000001),
    so C000002 is (20000, 0, 0, 0, 20000), 200.00 open on a replaced claim, and C000003 keeps
    its 200.00 carried plus the payment's CO-45 and PR-2: (20000, 0, 12000, 28000, -20000);
    check: LEDGER-DOUBLE-REDUCTION on C000003 and CLAIM-STATE on C000002."""
    ar._paid_then_replaced(db, cli, tmp_path)
    ar._run(db, tmp_path)
    lifecycle.replace(db, "C000002", scrub=fx.no_scrub, today=TODAY)
    assert _balance(db, "C000003") == (20000, 0, 0, 20000, 0)
    _remit(cli, tmp_path, "KEY", [_reversal(), _paid("C000003", "KEY-3")])
    assert _balance(db, "C000001") == (20000, 0, 0, 20000, 0)
    assert _balance(db, "C000002")[4] == 0
    assert _balance(db, "C000003") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_a_split_payment_of_a_replacement_while_the_original_stands(db, cli, tmp_path):
    """C000001 (170.00) paid whole: 99213 110.00 CO-45 40.00, 36415 15.00 CO-45 5.00. It is
    replaced: C000002 carries 170.00, 0.00 open. Keystone pays C000002 split in two (MA15):
    KEY-2A the 99213 110.00 CO-45 40.00, KEY-2B the 36415 15.00 CO-45 5.00, without reversing
    C000001. Like an unsplit payment (the module rule), the CO-45s repeat C000001's and
    the 125.00 is the overpayment: 170.00 - 125.00 - 170.00 = -125.00 (17000, 0, 12500,
    17000, -12500), check clean. Found: (17000, 0, 12500, 21500, -17000), the 45.00 CO-45
    posted twice, check LEDGER-DOUBLE-REDUCTION "45.00 reduced twice"."""
    _two_lines(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [_clp("1", "170.00", "125.00", "KEY-1", [L1_PAID, L2_PAID])])
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=TODAY)
    assert _balance(db, "C000002") == (17000, 0, 0, 17000, 0)
    split = {"claim": "C000002", "remarks": ["MA15"]}
    a = _clp("1", "150.00", "110.00", "KEY-2A", [L1_PAID]) | split
    b = _clp("1", "20.00", "15.00", "KEY-2B", [L2_PAID]) | split
    _remit(cli, tmp_path, "KEY", [a, b])
    assert _balance(db, "C000002") == (17000, 0, 12500, 17000, -12500)
    assert _findings(db) == []


# ---------------------------------------------------------------------------------------------
# fix 2: a payment crossing a void posts its money only


def _partly_paid_then_voided(db, cli, tmp_path) -> None:
    """C000001 170.00: Keystone pays the 99213 110.00 (CO-45 40.00) and denies the 36415
    (CO-16 20.00, open): 20.00 open. Voided: the credit note takes the 20.00 open plus the
    110.00 paid, -130.00: 170.00 - 130.00 - 110.00 - 40.00 = -110.00, Keystone's credit."""
    _two_lines(db, tmp_path)
    l2 = _ln("36415", "20.00", "0.00", ("CO", "16", "20.00"))
    _remit(cli, tmp_path, "KEY", [_clp("1", "170.00", "110.00", "KEY-1", [L1_PAID, l2])])
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    assert _balance(db, "C000001") == (17000, -13000, 11000, 4000, -11000)
    # a late 835 pays the denied 36415 after all (15.00, CO-45 5.00), crossing the void
    late = _clp("1", "20.00", "15.00", "KEY-1B", [L2_PAID])
    _remit(cli, tmp_path, "KEY", [late])


def test_a_late_payment_of_a_partly_paid_voided_claim_is_the_payers_credit(db, cli, tmp_path):
    """The late payment posts its 15.00 only (its CO-45 5.00 not posted): 170.00 - 130.00 -
    125.00 - 40.00 = -125.00, all Keystone's money on a cancelled claim. Holds up."""
    _partly_paid_then_voided(db, cli, tmp_path)
    assert _balance(db, "C000001") == (17000, -13000, 12500, 4000, -12500)
    assert _aging(db) == {"KEY": -12500, "TOTAL": -12500}
    assert _findings(db) == []


def test_the_first_payment_of_a_voided_claim_reversed_while_a_late_one_stands(db, cli, tmp_path):
    """Then Keystone reverses KEY-1 (-110.00, CO-45 -40.00, CO-16 -20.00); KEY-1B (15.00)
    stands. Keystone's net money on the voided claim is 15.00, all its credit: the CO-45 40.00
    re-opened by the reversal is closed again ('carried'), 170.00 - 130.00 - 15.00 - 40.00 =
    -15.00 (17000, -13000, 1500, 4000, -1500), aging KEY -15.00. Found: (17000, -13000,
    1500, 2500, 0): the reversal took back only 35.00 of the CO-45 (KEY-1B's CO-45 5.00 as
    read counted as standing, though it never entered the ledger) and settle_takeback closed
    the 20.00 then open less nothing, leaving 0.00: Keystone's 15.00 is nowhere to refund;
    check passes."""
    _partly_paid_then_voided(db, cli, tmp_path)
    r1 = _ln("99213", "-150.00", "-110.00", ("CO", "45", "-40.00"))
    r2 = _ln("36415", "-20.00", "0.00", ("CO", "16", "-20.00"))
    _remit(cli, tmp_path, "KEY", [_clp("22", "-170.00", "-110.00", "KEY-1", [r1, r2])])
    assert _balance(db, "C000001") == (17000, -13000, 1500, 4000, -1500)
    assert _aging(db) == {"KEY": -1500, "TOTAL": -1500}


def test_a_reversal_and_correction_of_a_voided_paid_claim(db, cli, tmp_path):
    """C000001 paid (KEY_PAID: Al's 30.00 moved), then voided: the credit note takes the
    120.00 paid, (20000, -12000, 12000, 8000, -12000). One 835 reverses KEY-1 (-120.00,
    CO-45 -50.00, PR-2 -30.00) and pays a correction KEY-1B, 130.00 with CO-45 40.00 and PR-2
    30.00, crossing the void: money only. Keystone's net money on the voided claim is 130.00,
    its credit: the 80.00 of CAS the reversal re-opened is closed again, 200.00 - 120.00 -
    130.00 - 80.00 = -130.00 (20000, -12000, 13000, 8000, -13000), aging KEY -130.00, and
    nothing for Al (transfers 30 - 30 = 0). Found: (20000, -12000, 13000, 0, -5000): the
    re-opened 80.00 is hidden under Keystone's new money, aging KEY -50.00, so `payment
    refund-payer` would give back 50.00 of the 130.00; check passes."""
    ar._insured(db)
    ar._run(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [KEY_PAID])
    _ok(cli("invoice", "void", "C000001", "--reason", "wrong patient"))
    assert _balance(db, "C000001") == (20000, -12000, 12000, 8000, -12000)
    line = _ln("99214", "200.00", "130.00", ("CO", "45", "40.00"), ("PR", "2", "30.00"))
    corr = {**KEY_PAID, "paid": "130.00", "pcn": "KEY-1B", "lines": [line]}
    _remit(cli, tmp_path, "KEY", [_reversal(), corr])
    assert _transfers(db) == 0
    assert _balance(db, "C000001") == (20000, -12000, 13000, 8000, -13000)
    assert _aging(db) == {"KEY": -13000, "TOTAL": -13000}


# ---------------------------------------------------------------------------------------------
# fix 1: invoice to-patient


def _deny(cli, tmp_path, cas1: tuple[str, str], cas2: tuple[str, str]) -> None:
    """Keystone denies both lines: the 99213 150.00 with cas1, the 36415 20.00 with cas2."""
    lines = [
        _ln("99213", "150.00", "0.00", (*cas1, "150.00")),
        _ln("36415", "20.00", "0.00", (*cas2, "20.00")),
    ]
    _remit(cli, tmp_path, "KEY", [_clp("4", "170.00", "0.00", "KEY-1", lines)])


def test_a_ga_necessity_denial_moves_and_a_co16_beside_it_stays(db, cli, tmp_path):
    """The 99213 billed with GA (ABN on file) is denied CO-50 150.00, the 36415 CO-16 20.00.
    Only the 150.00 may be billed to Al: 170.00 and 150.01 are refused (exit 2, nothing
    written), 150.00 moves: (17000, 0, 0, 15000, 2000), the 20.00 stays open for the clerk
    to correct. Holds up."""
    _two_lines(db, tmp_path, "GA")
    _deny(cli, tmp_path, ("CO", "50"), ("CO", "16"))
    for amount in ("170.00", "150.01"):
        r = cli("invoice", "to-patient", "C000001", amount)
        assert r.exit_code == 2 and "150.00" in r.stderr, r.stderr
    _ok(cli("invoice", "to-patient", "C000001", "150.00"))
    assert _balance(db, "C000001") == (17000, 0, 0, 15000, 2000)
    assert _transfers(db) == 15000
    assert _findings(db) == []


@pytest.mark.parametrize(
    "cas1,cas2",
    [
        (("OA", "16"), ("PI", "97")),  # missing information, bundling: other groups
        (("CO", "999"), ("CO", "B7")),  # a CARC not in our table ('other'), provider
        (("CO", "16"), ("PR", "96")),  # PR moved by the 835 itself; CO-16 is not movable
        # a payer-initiated reduction is not the patient's whatever its reason (X12 group PI);
        # CO-151, documentation not supporting the frequency: medical necessity, no ABN
        (("PI", "27"), ("CO", "151")),
        # member id and name do not match: a registration error to correct, not the patient's
        (("CO", "140"), ("OA", "140")),
    ],
)
def test_a_denial_the_patient_may_not_be_billed_is_refused(db, cli, tmp_path, cas1, cas2):
    """None of these may be billed to Al: `to-patient 1.00` is refused (exit 2, nothing
    written). The PR-96 20.00 was moved by the 835 (transfer), so the claim stays at 150.00
    open there, 170.00 otherwise. Holds up."""
    _two_lines(db, tmp_path)
    _deny(cli, tmp_path, cas1, cas2)
    before = _balance(db, "C000001")
    r = cli("invoice", "to-patient", "C000001", "1.00")
    assert r.exit_code == 2 and "C000001" in r.stderr
    assert _balance(db, "C000001") == before
    assert before[4] == (15000 if cas2[0] == "PR" else 17000)


def test_the_patients_part_of_a_mixed_denial_moves_only_once(db, cli, tmp_path):
    """The 99213 is denied CO-16 150.00 (the provider's to correct), the 36415 CO-27 20.00
    (coverage ended: Al may be billed). `to-patient 20.00` moves the 20.00; a second
    `to-patient 20.00` must be refused (exit 2, nothing written): nothing the patient may be
    billed is left, (17000, 0, 0, 2000, 15000), 20.00 for Al. Found: it is accepted (and a
    third too): (17000, 0, 0, 6000, 11000), 60.00 pending for Al, 40.00 of it the CO-16
    amount the module rule says stays on the claim; check passes."""
    _two_lines(db, tmp_path)
    _deny(cli, tmp_path, ("CO", "16"), ("CO", "27"))
    _ok(cli("invoice", "to-patient", "C000001", "20.00"))
    r = cli("invoice", "to-patient", "C000001", "20.00")
    assert r.exit_code == 2 and "C000001" in r.stderr
    assert _balance(db, "C000001") == (17000, 0, 0, 2000, 15000)
    assert _transfers(db) == 2000

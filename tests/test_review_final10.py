"""Review of payment plans that cover exactly what was owed at set-up (statements/plans.py,
8aaab26) and of remit posting of replacements (remit/post.py, billing/lifecycle.py
settle_takeback).

Every expected number was worked by hand from the module rules (statements/plans.py "What a
plan covers" / "What is left", docs/statements.md, remit/post.py) before the case was run.
Balances are (total, credited, paid, adjusted, balance) of invoice_balances.
"""

from __future__ import annotations

import datetime as dt
import json

import invoice_fixtures as fx
import ledger_fixtures as lf
import pytest
import test_audit_reports as ar
import test_review_lead10 as rl

from billadmin import db as dbmod
from billadmin.billing import generate as gen
from billadmin.billing import lifecycle

_balance, _findings, _remit = ar._balance, ar._findings, ar._remit
_paid, _reversal, _transfers = rl._paid, rl._reversal, rl._transfers


def _ok(r):
    assert r.exit_code == 0, r.stdout + r.stderr
    return r


def _owes(cli, mrn: str) -> tuple[str, str, str, str]:
    """account show: (patient balance, pending, credit, owes)."""
    s = json.loads(_ok(cli("account", "show", mrn, "-f", "json")).stdout)["summary"]
    return s["patient_balance"], s["patient_pending"], s["credit"], s["patient_owes"]


def _plan(cli, mrn: str, total: str, monthly: str, on: str, start: str | None = None) -> None:
    _ok(cli("plan", "create", mrn, "--total", total, "--monthly", monthly, "--day", "15",
            "--start", start or on, "--date", on))  # fmt: skip


def _row(cli, on: str, *keys: str) -> tuple:
    (p,) = json.loads(_ok(cli("plan", "list", "--date", on, "-f", "json")).stdout)
    return tuple(p.get(k) for k in keys)


def _pat_with_share(db, share: int = 5000) -> tuple[int, int]:
    """0000301 (KEY) owes P000001 300.00 (10-01) and a share pending since 10-20 (claim A:
    99213 150.00, paid 150.00 - share, PR-1 share)."""
    with dbmod.write(db):
        return lf.owes_invoice_and_share(db, share)


def _redo(db, claim: int, on: str, old: int, new: int | None) -> None:
    """KEY reverses its answer (share old) and, when new is given, answers again (share new)."""
    with dbmod.write(db):
        lf.remit(db, claim, on, paid=old - 15000, adjustments=[("PR", "1", -old)])
        if new is not None:
            lf.remit(db, claim, on, paid=15000 - new, adjustments=[("PR", "1", new)])


# ---------------------------------------------------------------------------------------------
# payment plans


def test_a_covered_share_corrected_upward_keeps_its_old_part_on_the_plan(cli, db, tmp_path):
    """P000001 300.00 + share 50.00 pending; PP000001 on 11-01 for 350.00 at 100.00 on the 15th.
    11-25 KEY reverses (-50.00) and corrects to 70.00: she owes 300.00 + 70.00 = 370.00, of
    which 50.00 of the share on the plan (reversal in full -50.00, correction up to 50.00) and
    20.00 outside. left = min(350.00, 350.00) = 350.00, paid 0.00, credited 0.00, 4
    installments. `plan pay` 350.01 is refused (above what is left); 350.00 is taken: oldest
    first P000001 300.00, the 50.00 rest held for the pending share: the plan is completed
    (nothing left), she still owes the 20.00 outside it."""
    _pat_with_share(db)
    _plan(cli, "0000301", "350.00", "100.00", "2026-11-01")
    _redo(db, 2, "2026-11-25", 5000, 7000)
    assert _owes(cli, "0000301") == ("300.00", "70.00", "0.00", "370.00")
    keys = ("paid", "credited", "left", "installments")
    assert _row(cli, "2026-11-25", *keys) == ("0.00", "0.00", "350.00", 4)
    pay = ("plan", "pay", "0000301")
    r = cli(*pay, "350.01", "--method", "cash", "--date", "2026-11-26")
    assert r.exit_code == 2, r.stdout
    _ok(cli(*pay, "350.00", "--method", "cash", "--date", "2026-11-26"))
    assert _row(cli, "2026-11-26", "status", "paid", "left") == ("completed", "350.00", "0.00")
    assert _owes(cli, "0000301")[3] == "20.00"
    assert _findings(db) == []


def test_a_billed_share_reversed_and_corrected_upward_after_set_up(cli, db):
    """P000001 300.00; claim A's 50.00 share billed on P000002 (10-25). PP000001 on 11-01 for
    350.00. 11-25 KEY reverses (-50.00: P000002 credited by a credit note, 0.00) and corrects to
    70.00 (pending): she owes 300.00 + 70.00 = 370.00; on the plan 300.00 + 50.00 (the
    correction up to what the reversal took off): left 350.00, credited 0.00, paid 0.00; check
    clean."""
    pid, claim = _pat_with_share(db)
    with dbmod.write(db):
        p2 = lf.patient_invoice(
            db, pid, "2026-10-25", [("2026-10-02", "99213", 5000)], carries=claim
        )
    _plan(cli, "0000301", "350.00", "100.00", "2026-11-01")
    _redo(db, claim, "2026-11-25", 5000, 7000)
    with dbmod.write(db):  # as lifecycle.credit_reversed_share: the note's line carries it
        note = lf.credit_note(db, p2, "2026-11-25", 5000)
        db.execute(
            "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id)"
            " SELECT a.id, l.id FROM adjustments a, invoice_lines l WHERE a.invoice_id = ?"
            " AND a.amount_cents = -5000 AND l.invoice_id = ?",
            (claim, note),
        )
    assert _balance(db, "P000002") == (5000, -5000, 0, 0, 0)
    assert _owes(cli, "0000301") == ("300.00", "70.00", "0.00", "370.00")
    assert _row(cli, "2026-11-25", "paid", "credited", "left") == ("0.00", "0.00", "350.00")
    assert _findings(db) == []


def test_two_shares_one_corrected_down_one_reversed_with_no_correction(cli, db):
    """P000001 300.00, share A 50.00 (claim 2) and share B 40.00 (claim 4) pending at set-up;
    PP000001 on 11-01 for 390.00. 11-25: A reversed and corrected to 30.00; B reversed, no new
    answer. She owes 300.00 + 30.00 + 0.00 = 330.00, all on the plan: left 330.00, credited
    390.00 - 330.00 = 60.00, paid 0.00; installments on 330.00: 100 x 3 + 30 = 4."""
    pid, claim_a = _pat_with_share(db)
    with dbmod.write(db):
        enc, _ = lf.encounter(db, pid, "2026-10-04", [("99213", 15000)])
        claim_b = lf.claim(db, enc, "KEY", "2026-10-05")
        lf.remit(db, claim_b, "2026-10-21", paid=11000, adjustments=[("PR", "1", 4000)])
    _plan(cli, "0000301", "390.00", "100.00", "2026-11-01")
    _redo(db, claim_a, "2026-11-25", 5000, 3000)
    _redo(db, claim_b, "2026-11-25", 4000, None)
    assert _owes(cli, "0000301") == ("300.00", "30.00", "0.00", "330.00")
    keys = ("paid", "credited", "left", "installments")
    assert _row(cli, "2026-11-25", *keys) == ("0.00", "60.00", "330.00", 4)


def test_a_plan_for_part_of_the_balance_and_a_correction(cli, db):
    """P000001 300.00 + share 50.00; PP000001 on 11-01 for 200.00 of the 350.00. 11-25 the share
    is corrected down to 30.00: 20.00 taken off, which takes off the 150.00 the plan does not
    cover first: left 200.00, credited 0.00. Then corrected up again (30.00 -> 70.00): owes
    370.00, covered 300.00 + 50.00 = 350.00, left still 200.00, credited 0.00."""
    _, claim = _pat_with_share(db)
    _plan(cli, "0000301", "200.00", "100.00", "2026-11-01")
    _redo(db, claim, "2026-11-25", 5000, 3000)
    assert _row(cli, "2026-11-25", "paid", "credited", "left") == ("0.00", "0.00", "200.00")
    _redo(db, claim, "2026-11-26", 3000, 7000)
    assert _owes(cli, "0000301")[3] == "370.00"
    assert _row(cli, "2026-11-26", "paid", "credited", "left") == ("0.00", "0.00", "200.00")


def test_a_payment_over_a_covered_and_an_uncovered_invoice_and_a_refund(cli, db):
    """0000301 owes P000001 300.00; PP000001 on 11-01 for 300.00. P000002 40.00 issued 11-05
    (outside). `payment post` 100.00 on 11-06 (no --invoice): oldest first, P000001 100.00:
    paid 100.00, left 200.00. `payment post` 240.00 on 11-07: P000001 200.00, P000002 40.00;
    of the 340.00 only 300.00 went to what the plan covers: completed, paid 300.00, credited
    0.00. 11-20 a credit note takes 60.00 off P000001 (-60.00: her credit); a 60.00 cash refund
    on 11-21: she paid 340.00 - 60.00 - 40.00 (P000002's) = 240.00 toward it and the payer
    took off 60.00: completed, paid 240.00, credited 60.00, owes 0.00."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        inv = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    _plan(cli, "0000301", "300.00", "100.00", "2026-11-01")
    with dbmod.write(db):
        lf.patient_invoice(db, pid, "2026-11-05", [("2026-11-04", "99212", 4000)])
    post = ("payment", "post", "0000301")
    _ok(cli(*post, "100.00", "--method", "cash", "--date", "2026-11-06"))
    assert _row(cli, "2026-11-06", "paid", "credited", "left") == ("100.00", "0.00", "200.00")
    _ok(cli(*post, "240.00", "--method", "cash", "--date", "2026-11-07"))
    keys = ("status", "paid", "credited", "left")
    assert _row(cli, "2026-11-07", *keys) == ("completed", "300.00", "0.00", "0.00")
    with dbmod.write(db):
        lf.credit_note(db, inv, "2026-11-20", 6000)
    _ok(cli("payment", "refund", "0000301", "60.00", "--method", "cash", "--date", "2026-11-21"))
    assert _owes(cli, "0000301")[3] == "0.00"
    assert _row(cli, "2026-11-21", *keys) == ("completed", "240.00", "60.00", "0.00")


def test_a_rebill_after_set_up_and_a_new_charge_on_the_same_run(cli, db, tmp_path):
    """Self-pay Cy: 20.00 co-pay on 06-10, P000001 140.00 (06-30 run): owes 120.00. Plan on
    06-30 for 120.00 at 40.00 on the 15th from 07-01. 07-02 P000001 voided --rebill: the 20.00
    is her credit; a new visit on 07-10 (99212 60.00). The 07-15 run bills both on P000002:
    140.00 (the rebilled visit, covered whole) + 60.00 (new, outside) = 200.00, the 20.00
    credit applied: 180.00 due. Covered part first: 140.00 - 20.00 = 120.00 on the plan, 60.00
    outside. left 120.00, credited 0.00, paid 0.00. The 07-20 statement: installment 07-15
    40.00 due by... the first installment on or after 07-20 is 08-15: 40.00 + 40.00 = 80.00
    plus the 60.00 outside = 140.00 by 08-15."""
    with dbmod.write(db):
        fx.practice(db)
        cy = fx.patient(db, "2001", "Cy", "Cole")
        fx.copay_payment(db, cy, 2000, "2026-06-10")
        fx.encounter(db, cy, "2026-06-10", [("99213", 14000)], number="V1")
    kw = {"scrub": fx.no_scrub, "pdf": False}
    gen.generate(db, today=fx.TODAY, out_dir=tmp_path / "r1", **kw)
    _plan(cli, "2001", "120.00", "40.00", "2026-06-30", "2026-07-01")
    lifecycle.void(db, "P000001", reason="wrong code", rebill=True, today=dt.date(2026, 7, 2))
    with dbmod.write(db):
        fx.encounter(db, cy, "2026-07-10", [("99212", 6000)], number="V2")
    res = gen.generate(db, today=dt.date(2026, 7, 15), out_dir=tmp_path / "r2", **kw)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("P000002", 20000)]
    assert _balance(db, "P000002")[4] == 18000
    keys = ("paid", "credited", "left")
    assert _row(cli, "2026-07-15", *keys) == ("0.00", "0.00", "120.00")
    r = _ok(cli("statement", "run", "--date", "2026-07-20", "--out", tmp_path, "-f", "json"))
    (s,) = json.loads(r.stdout)
    assert (s["balance"], s["amount_due"], s["pay_by"]) == ("180.00", "140.00", "2026-08-15")
    assert _findings(db) == []


# ---------------------------------------------------------------------------------------------
# remit posting of replacements (ar._paid_then_replaced: Al's C000001 paid KEY-1: 120.00,
# CO-45 50.00, PR-2 30.00; replaced by C000002, which carries 200.00)

P2B = {**rl.KEY_PAID, "claim": "C000002", "pcn": "KEY-2B", "paid": "110.00", "pr": "40.00",
       "lines": [rl._ln("99214", "200.00", "110.00", ("CO", "45", "50.00"), ("PR", "2", "40.00"))]}  # fmt: skip  # noqa: E501


@pytest.mark.xfail(
    strict=True,
    reason="KEY-2 corrected in one 835 while KEY-1 stands: balances as the rule says, but check"
    " names LEDGER-DOUBLE-REDUCTION on C000002 (210.00 taken off a 200.00 total)",
)
def test_the_replacements_payment_corrected_while_the_original_stands(db, cli, tmp_path):
    """KEY-2 pays C000002 (capped: only 120.00 posted, C000002 -120.00). One 835 reverses KEY-2
    and answers again KEY-2B: 110.00 paid, CO-45 50.00, PR-2 40.00. KEY-1 still stands on
    C000001's CO-45 50.00 and PR-2 30.00, so KEY-2B posts 110.00 and only the 10.00 of PR-2 the
    original did not take off: C000002 200.00 - 110.00 - (200.00 + 10.00) = -120.00 (KEY-1's
    money, Keystone's overpayment); C000001 unchanged; Al owes 30.00 + 10.00 = 40.00; check
    clean.
    Found: the balances and transfers are exactly these, but run_checks gives
    LEDGER-DOUBLE-REDUCTION "C000002 (paid): credit note and adjustments take off 210.00 of a
    total 200.00 (10.00 reduced twice); payments 110.00, in all 320.00". The 10.00 PR-2 the cap
    posts is new patient responsibility, not a second reduction: either the cap
    (_split_cap/_taken_on_originals) should net it against the carried part or the check should
    count what the original's postings carried as the payer's overpayment. KEY-2B alone (no
    KEY-2 before it) gives the same balances and the same finding."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2"), P2B])
    assert _balance(db, "C000001") == (20000, 0, 12000, 8000, 0)
    assert _balance(db, "C000002") == (20000, 0, 11000, 21000, -12000)
    assert _transfers(db) == 4000
    assert _findings(db) == []


def test_the_replacements_payment_corrected_after_the_original_was_reversed(db, cli, tmp_path):
    """KEY-2 pays C000002, KEY-1 is reversed (C000002 stands on C000001's CO-45 and PR-2:
    (20000, 0, 12000, 8000, 0)). One 835 reverses KEY-2 and answers KEY-2B (110.00, CO-45
    50.00, PR-2 40.00): the reversal takes the 80.00 off C000001 (C000002 carries nothing,
    200.00 open), then KEY-2B posts whole: C000002 200.00 - 110.00 - 90.00 = 0.00; C000001
    0.00; Al owes 40.00 (transfers 30 - 30 + 40); check clean. In two 835s (KEY-2 reversed,
    then KEY-2B) the code gives exactly this.
    Was (one 835): C000001 (20000, 0, 0, 20000, 0), C000002 (20000, 0, 11000, 1000, 8000),
    transfers 10.00, check CLAIM-STATE "C000002: state paid but 80.00 is still open". The
    reversal took the 80.00 C000002 carried off it, and KEY-2B was still capped as if
    C000001's CO-45 50.00 / PR-2 30.00 stood for it (only the 10.00 PR-2 posted): the cap of a
    payment in the same 835 as the reversal of the replacement's payment does not see what
    _settle_takebacks takes off the original (it runs after, or _held_by_replacements still
    counts the reversed KEY-2)."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal()])
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2"), P2B])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002") == (20000, 0, 11000, 9000, 0)
    assert _transfers(db) == 4000
    assert _findings(db) == []


def test_a_billed_share_taken_back_when_the_replacements_payment_is_reversed(db, cli, tmp_path):
    """After KEY-1 the run bills Al's 30.00 on P000001. KEY-2 pays C000002 (capped), KEY-1 is
    reversed (the 30.00 stands on KEY-2: P000001 untouched, 30.00 owed), then KEY-2 is reversed:
    no answer stands, the 30.00 is taken back and P000001 credited: (3000, -3000, 0, 0, 0);
    C000002 open 200.00 (20000, 0, 0, 0, 20000); C000001 0.00; Al owes 0.00."""
    ar._insured(db)
    ar._run(db, tmp_path)
    _remit(cli, tmp_path, "KEY", [rl.KEY_PAID])
    assert ar._run(db, tmp_path) == ["P000001"]
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=ar.TODAY)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal()])
    assert _balance(db, "P000001") == (3000, 0, 0, 0, 3000)
    assert _owes(cli, "A1")[3] == "30.00"
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2")])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002") == (20000, 0, 0, 0, 20000)
    assert _balance(db, "P000001") == (3000, -3000, 0, 0, 0)
    assert _transfers(db) == 0
    assert _owes(cli, "A1")[3] == "0.00"
    assert _findings(db) == []


def test_a_paper_eob_of_the_replacement_then_the_original_reversed(db, cli, tmp_path):
    """`payment eob C000002` (120.00, CO-45 50.00, PR-2 30.00) while KEY-1 stands: capped,
    C000002 -120.00. KEY-1 reversed by 835: C000001 keeps the CO-45 and PR-2 the EOB stands on,
    C000002 (20000, 0, 12000, 8000, 0), Al's 30.00 once."""
    ar._paid_then_replaced(db, cli, tmp_path)
    eob = ["payment", "eob", "C000002", "--paid", "120.00", "--adjust", "CO-45:50.00"]
    _ok(cli(*eob, "--adjust", "PR-2:30.00", "--reference", "EOB-2"))
    _remit(cli, tmp_path, "KEY", [_reversal()])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002") == (20000, 0, 12000, 8000, 0)
    assert _transfers(db) == 3000
    assert _findings(db) == []


def test_cob_the_original_reversed_then_the_replacements_payment_reversed(db, cli, tmp_path):
    """Cora (test_audit_claims._secondary): KEY-1 paid C000001, its PR-2 30.00 routed to Blue
    Valley, billed on C000002 (30.00 open). C000001 replaced by C000003 (carries 200.00); KEY-3
    pays it (capped, -120.00, nothing routed again). KEY-1 reversed: KEY-3 stands on C000001's
    CO-45 and PR-2: C000003 (20000, 0, 12000, 8000, 0), Blue Valley's C000002 still 30.00 open,
    transfers 30.00, check clean (holds). Then KEY-3 reversed: no Keystone answer stands:
    C000003 open 200.00 (20000, 0, 0, 0, 20000), C000001 0.00, the 30.00 taken back (transfers
    0.00) and, as for a plain primary reversal (test_audit_reports
    test_a_primary_reversal_takes_back_the_share_it_routed_to_the_secondary), taken back from
    Blue Valley: its share was billed on C000002, which keeps it until the clerk voids it
    (remit/post.py _unroute, docs/cob.md: as for a plain primary reversal once the secondary
    claim is issued): aging {BVH 30.00, KEY 200.00}, Cora owes 0.00, check clean; after `invoice
    void C000002`, {KEY 200.00}. Was: the -30.00 PR-2 taken off C000001 had no cob_routes row,
    so it landed on Cora: aging {BVH 30.00, KEY 200.00, PATIENT -30.00}, account show pending
    -30.00, check LEDGER-PATIENT-CHARGED "patient id 1: charged -30.00"."""
    import test_audit_claims as ac

    ac._secondary(db, tmp_path)
    lifecycle.replace(db, "C000001", scrub=fx.no_scrub, today=ar.TODAY + dt.timedelta(days=1))
    _remit(cli, tmp_path, "KEY", [_paid("C000003", "KEY-3")])
    _remit(cli, tmp_path, "KEY", [_reversal()])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000003") == (20000, 0, 12000, 8000, 0)
    assert _balance(db, "C000002") == (20000, 0, 0, 17000, 3000)
    assert _transfers(db) == 3000
    assert _findings(db) == []
    _remit(cli, tmp_path, "KEY", [_reversal("C000003", "KEY-3")])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000003") == (20000, 0, 0, 0, 20000)
    assert _transfers(db) == 0
    assert _owes(cli, "C0001") == ("0.00", "0.00", "0.00", "0.00")
    later = ar.TODAY + dt.timedelta(days=5)
    assert ar._aging(db, later) == {"BVH": 3000, "KEY": 20000, "TOTAL": 23000}
    assert _findings(db) == []
    _ok(cli("invoice", "void", "C000002", "--reason", "the primary took its answer back"))
    assert ar._aging(db, later) == {"KEY": 20000, "TOTAL": 20000}
    assert _owes(cli, "C0001") == ("0.00", "0.00", "0.00", "0.00")
    assert _findings(db) == []


def test_a_second_replacement_then_the_first_replacements_payment_reversed(db, cli, tmp_path):
    """KEY-2 pays C000002 (capped), KEY-1 reversed (C000002 (20000, 0, 12000, 8000, 0), standing
    on C000001's CO-45/PR-2). C000002 replaced by C000003, which carries what C000002 settled
    (200.00): 0.00 open. KEY-2 reversed: no answer stands, the CO-45 50.00 and PR-2 30.00 come
    off C000001 and the 120.00 off C000002's settlement: C000003 open 200.00 (it carries
    nothing), C000001 and C000002 0.00, transfers 0.00, Al owes 0.00, check clean."""
    ar._paid_then_replaced(db, cli, tmp_path)
    _remit(cli, tmp_path, "KEY", [_paid("C000002", "KEY-2")])
    _remit(cli, tmp_path, "KEY", [_reversal()])
    lifecycle.replace(db, "C000002", scrub=fx.no_scrub, today=ar.TODAY)
    assert _balance(db, "C000003") == (20000, 0, 0, 20000, 0)
    _remit(cli, tmp_path, "KEY", [_reversal("C000002", "KEY-2")])
    assert _balance(db, "C000001")[4] == 0
    assert _balance(db, "C000002")[4] == 0
    assert _balance(db, "C000003") == (20000, 0, 0, 0, 20000)
    assert _transfers(db) == 0
    assert _owes(cli, "A1")[3] == "0.00"
    assert _findings(db) == []

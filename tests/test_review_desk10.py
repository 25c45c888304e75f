"""Review of `payment post` (the same payment keyed twice; what the patient owes now, a pending
835 share held as credit) and of payment plans that follow the balance (statements/plans.py).

Every number below was worked by hand from the rules (accounts/payments.py and
statements/plans.py module docstrings, docs/statements.md) before the case was run.
"""

from __future__ import annotations

import datetime as _dt
import json

import ledger_fixtures as lf

from billadmin import db as dbmod
from billadmin.accounts import payments
from billadmin.integrity import run_checks


def _d(s: str) -> _dt.date:
    return _dt.date.fromisoformat(s)


def _clean(db) -> None:
    bad = [f for f in run_checks(db) if f.severity == "error"]
    assert bad == [], bad


def _post(cli, mrn: str, amount: str, *args: str):
    return cli("payment", "post", mrn, amount, *args, "-f", "json")


def _ok(r) -> list[dict]:
    assert r.exit_code == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def _owes(cli, mrn: str) -> tuple[str, str, str, str]:
    """account show: (patient balance, pending, credit, owes)."""
    r = cli("account", "show", mrn, "-f", "json")
    s = json.loads(r.stdout)["summary"]
    return s["patient_balance"], s["patient_pending"], s["credit"], s["patient_owes"]


def _bal(db, number: str) -> int:
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _pid(db, mrn: str) -> int:
    return db.execute("SELECT id FROM patients WHERE mrn = ?", (mrn,)).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# payment post: the same payment keyed twice


def test_one_refund_pays_back_one_payment_not_two(cli, db):
    """Lee owes nothing. Card T-1 50.00 --credit on 11-02 (R0000001), card T-2 50.00 --credit on
    11-03 (R0000002): credit 100.00. One card refund of 50.00 on 11-04 (R0000003): credit 50.00.
    Rule: the card refunds on or after a payment pay back the payments oldest first, each whole:
    the 50.00 pays back T-1 (11-02), T-2 still stands (50.00 of credit is still held). So T-2 keyed
    again on 11-05 must be refused naming R0000002 (nothing written). Whichever payment the refund
    paid back, 50.00 cannot have paid back both 50.00 payments.
    Was: T-1 and T-2 were each set aside by the same 50.00 refund, T-2 posted (R0000004)."""
    with dbmod.write(db):
        lf.practice(db)
        lf.patient(db, "0000202", "Lee", "Ames")
    card = ("--method", "card", "--credit", "--reference")
    _ok(_post(cli, "0000202", "50.00", *card, "T-1", "--date", "2026-11-02"))
    _ok(_post(cli, "0000202", "50.00", *card, "T-2", "--date", "2026-11-03"))
    r = cli("payment", "refund", "0000202", "50.00", "--method", "card", "--date", "2026-11-04")
    assert r.exit_code == 0, r.stderr
    assert payments.credit_balance(db, _pid(db, "0000202")) == 5000
    r = cli("payment", "post", "0000202", "50.00", *card, "T-2", "--date", "2026-11-05")
    assert r.exit_code == 2, r.stdout
    assert "receipt R0000002 of 2026-11-03" in r.stderr


def test_a_check_held_as_credit_after_a_void_is_still_the_same_check(cli, db, tmp_path):
    """Self-pay Cy: the 06-30 run issues P000001 (99213 60.00). Check 1043 60.00 on 07-02
    (R0000001) pays it to 0.00. P000001 is voided on 07-05: the 60.00 is taken off it and held as
    his credit; account show: balance 0.00, pending 0.00, credit 60.00, owes -60.00. Check 1043
    keyed again on 07-06 (60.00 or 6.00, --credit) is still that check: refused naming R0000001,
    nothing written. The practice's refund check 9001 for 60.00 on 07-07 pays it back in full:
    1043 for 60.00 --credit then posts (R0000003, credit 60.00). check clean after each step."""
    import invoice_fixtures as fx

    from billadmin.billing import generate as gen
    from billadmin.billing import lifecycle

    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "2001", "Cy", "Cole")
        fx.encounter(db, pid, "2026-06-10", [("99213", 6000)], number="V1")
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "a", pdf=False)
    assert _bal(db, "P000001") == 6000
    chk = ("--method", "check", "--reference", "1043")
    _ok(_post(cli, "2001", "60.00", *chk, "--date", "2026-07-02"))
    lifecycle.void(db, "P000001", reason="billed in error", today=_d("2026-07-05"))
    assert _owes(cli, "2001") == ("0.00", "0.00", "60.00", "-60.00")
    _clean(db)
    before = db.execute("SELECT COUNT(*) FROM payments").fetchone()[0]
    for amount in ("60.00", "6.00"):
        r = cli("payment", "post", "2001", amount, *chk, "--credit", "--date", "2026-07-06")
        assert r.exit_code == 2 and "receipt R0000001 of 2026-07-02" in r.stderr, r.stderr
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == before
    refund = ("--method", "check", "--reference", "9001", "--date", "2026-07-07")
    assert cli("payment", "refund", "2001", "60.00", *refund).exit_code == 0
    rows = _ok(_post(cli, "2001", "60.00", *chk, "--credit", "--date", "2026-07-08"))
    assert [(x["receipt"], x["invoice"], x["applied"]) for x in rows] == [
        ("R0000003", "(credit)", "60.00")
    ]
    assert payments.credit_balance(db, pid) == 6000
    _clean(db)


# ---------------------------------------------------------------------------------------------
# payment post: what the patient owes now, a pending share held as credit


def test_a_pending_share_taken_back_before_it_is_billed_leaves_refundable_credit(cli, db):
    """Pat (KEY) has P000001 40.00 open (issued 09-01); KEY answered claim C000002 (99214 200.00)
    on 10-20: paid 120.00, CO-45 50.00, PR-2 30.00 pending. Owes 40.00 + 30.00 = 70.00. She pays
    70.00 cash on 11-02: P000001 40.00 -> 0.00 and 30.00 held for the pending share. On 11-10 KEY
    reverses its answer and pays the claim again without the share (paid 150.00, CO-45 50.00):
    pending 30.00 - 30.00 = 0.00. Her 30.00 now pays nothing: account show balance 0.00, pending
    0.00, credit 30.00, owes -30.00; `statement credits` lists her, refund 30.00; a 30.00 cash
    refund is taken (31.00 refused) and leaves owes 0.00; check clean."""
    with dbmod.write(db):
        lf.practice(db)
        pat = lf.patient(db, "0000101")
        lf.coverage(db, pat, "KEY")
        lf.patient_invoice(db, pat, "2026-09-01", [("2026-08-20", "99212", 4000)])
        eid, _ = lf.encounter(db, pat, "2026-10-05", [("99214", 20000)])
        claim = lf.claim(db, eid, "KEY", "2026-10-06")
        lf.remit(db, claim, "2026-10-20", paid=12000, adjustments=[("CO", "45", 5000), ("PR", "2", 3000)])  # fmt: skip
    rows = _ok(_post(cli, "0000101", "70.00", "--method", "cash", "--date", "2026-11-02"))
    assert [(x["invoice"], x["applied"]) for x in rows] == [
        ("P000001", "40.00"),
        ("(pending share)", "30.00"),
    ]
    with dbmod.write(db):
        back = [("CO", "45", -5000), ("PR", "2", -3000)]
        lf.remit(db, claim, "2026-11-10", paid=-12000, adjustments=back)
        lf.remit(db, claim, "2026-11-10", paid=15000, adjustments=[("CO", "45", 5000)])
    assert _owes(cli, "0000101") == ("0.00", "0.00", "30.00", "-30.00")
    r = cli("statement", "credits", "--date", "2026-11-10", "-f", "json")
    assert [(c["mrn"], c["refund"]) for c in json.loads(r.stdout)] == [("0000101", "30.00")]
    refund = ("payment", "refund", "0000101")
    assert cli(*refund, "31.00", "--method", "cash", "--date", "2026-11-11").exit_code == 2
    assert cli(*refund, "30.00", "--method", "cash", "--date", "2026-11-11").exit_code == 0
    assert _owes(cli, "0000101") == ("0.00", "0.00", "0.00", "0.00")
    _clean(db)


# ---------------------------------------------------------------------------------------------
# payment plans that follow the balance


def _plan(cli, mrn, total, monthly, on):
    r = cli(
        "plan", "create", mrn, "--total", total, "--monthly", monthly, "--day", "15",
        "--start", on, "--date", on, "-f", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _plans(cli, on):
    r = cli("plan", "list", "--date", on, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return {p["plan"]: p for p in json.loads(r.stdout)}


KEYS = ("status", "paid", "credited", "left", "missed", "installments", "next_due_on", "next_due")


def _row(p, keys=KEYS):
    return tuple(p.get(k) for k in keys)


def test_payer_credit_after_the_patient_paid_ahead(cli, db, tmp_path):
    """0000301 owes P000001 300.00; plan PP000001 on 11-01 for 300.00 at 100.00 on the 15th
    (11-15, 12-15, 01-15). `payment post` 100.00 on 11-10 (outside `plan pay`): P000001 200.00.
    11-20 the payer's credit note takes 150.00 off P000001: 50.00 owed on what the plan covers.
    left = min(300.00 - 0.00, 50.00) = 50.00; what else took it off 300.00 - 50.00 = 250.00, of
    which paid by other routes 100.00 and credited 150.00. Installments on 300.00 - 150.00 =
    150.00: 100.00 on 11-15 (paid) and 50.00 on 12-15. On 11-20: current, next 50.00 on 12-15.
    The 12-01 statement: balance 50.00, plan step, amount due 150.00 - 100.00 = 50.00 (= left)
    by 12-15. check clean."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        inv = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    _plan(cli, "0000301", "300.00", "100.00", "2026-11-01")
    r = cli("payment", "post", "0000301", "100.00", "--method", "card", "--date", "2026-11-10")
    assert r.exit_code == 0, r.stderr
    with dbmod.write(db):
        lf.credit_note(db, inv, "2026-11-20", 15000)
    p = _plans(cli, "2026-11-20")["PP000001"]
    assert _row(p) == ("current", "100.00", "150.00", "50.00", "0.00", 2, "2026-12-15", "50.00")
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    assert r.exit_code == 0, r.stderr
    (s,) = json.loads(r.stdout)
    assert (s["step"], s["balance"], s["amount_due"], s["pay_by"]) == (
        "plan", "50.00", "50.00", "2026-12-15",
    )  # fmt: skip
    _clean(db)


def test_a_plan_for_part_of_the_balance(cli, db, tmp_path):
    """0000301 owes P000001 300.00; PP000001 on 11-01 covers 200.00 of it at 100.00 on the 15th
    (11-15 and 12-15). `payment post` 50.00 on 11-10: the part the plan does not cover (100.00)
    goes first: plan paid 0.00, left 200.00. Another 100.00 on 11-12: 150.00 paid outside, 100.00
    of it on the uncovered part, 50.00 toward the plan: paid 50.00, credited 0.00, left 150.00.
    On 12-01: 11-15's 100.00 is past its 10 days of grace with 50.00 paid: missed 50.00, next
    11-15, to pay by today 50.00. The 12-01 statement: balance 150.00, plan installments due by
    12-15 200.00 - 50.00 = 150.00, nothing outside the plan (150.00 - 150.00 left): amount due
    150.00 by 12-15. check clean."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    _plan(cli, "0000301", "200.00", "100.00", "2026-11-01")
    pay = ("payment", "post", "0000301")
    assert cli(*pay, "50.00", "--method", "cash", "--date", "2026-11-10").exit_code == 0
    p = _plans(cli, "2026-11-10")["PP000001"]
    assert _row(p, ("paid", "credited", "left")) == ("0.00", "0.00", "200.00")
    assert cli(*pay, "100.00", "--method", "cash", "--date", "2026-11-12").exit_code == 0
    p = _plans(cli, "2026-12-01")["PP000001"]
    assert _row(p) == ("missed", "50.00", "0.00", "150.00", "50.00", 2, "2026-11-15", "50.00")
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    (s,) = json.loads(r.stdout)
    assert (s["balance"], s["amount_due"], s["pay_by"]) == ("150.00", "150.00", "2026-12-15")
    _clean(db)


def test_a_pending_share_the_payer_corrects_after_set_up(cli, db):
    """0000301 owes P000001 300.00 and a 50.00 share pending since 10-20 (KEY, claim C000002:
    99213 150.00, paid 100.00, PR-1 50.00). PP000001 on 11-01 covers 350.00 at 100.00 on the
    15th. On 11-25 KEY reverses that answer (paid -100.00, PR-1 -50.00) and corrects it (paid
    120.00, PR-1 30.00): the share is 30.00, pending 30.00, she owes 330.00, all of it on what
    the plan covers. left = min(350.00, 330.00) = 330.00, credited 20.00, paid 0.00;
    installments on 330.00: 100.00 x 3 + 30.00 = 4.
    Was: left 350.00, credited 0.00 (more left on the plan than she owes at all)."""
    with dbmod.write(db):
        pid, claim = lf.owes_invoice_and_share(db)
    _plan(cli, "0000301", "350.00", "100.00", "2026-11-01")
    with dbmod.write(db):
        lf.remit(db, claim, "2026-11-25", paid=-10000, adjustments=[("PR", "1", -5000)])
        lf.remit(db, claim, "2026-11-25", paid=12000, adjustments=[("PR", "1", 3000)])
    assert _owes(cli, "0000301") == ("300.00", "30.00", "0.00", "330.00")
    p = _plans(cli, "2026-11-25")["PP000001"]
    assert _row(p, ("paid", "credited", "left", "installments")) == (
        "0.00", "20.00", "330.00", 4,
    )  # fmt: skip


def test_a_payment_to_a_charge_outside_the_plan_is_not_paid_toward_it(cli, db):
    """0000301 owes P000001 300.00; PP000001 on 11-01 for 300.00 at 100.00 on the 15th. A visit
    billed on 11-05 (P000002 40.00) is outside the plan; she pays it: `payment post 40.00
    --invoice P000002` on 11-06 (P000002 0.00, P000001 still 300.00): the plan shows paid 0.00,
    left 300.00. On 11-20 the payer's credit note takes 100.00 off P000001: owed on the plan
    200.00, left 200.00, all of the 100.00 the payer's: credited 100.00, paid still 0.00;
    installments on 200.00 (11-15, 12-15 of 100.00). On 12-01 11-15's 100.00 is past its grace,
    unpaid: missed 100.00.
    Was: paid 40.00, credited 60.00 (the payer's credit turned the 40.00 for P000002 into
    plan money), installments 100/100/40, missed 60.00."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        inv = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    _plan(cli, "0000301", "300.00", "100.00", "2026-11-01")
    with dbmod.write(db):
        lf.patient_invoice(db, pid, "2026-11-05", [("2026-11-04", "99212", 4000)])
    r = cli("payment", "post", "0000301", "40.00", "--invoice", "P000002", "--method", "cash",
            "--date", "2026-11-06")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    p = _plans(cli, "2026-11-06")["PP000001"]
    assert _row(p, ("paid", "credited", "left")) == ("0.00", "0.00", "300.00")
    with dbmod.write(db):
        lf.credit_note(db, inv, "2026-11-20", 10000)
    p = _plans(cli, "2026-12-01")["PP000001"]
    assert _row(p, ("status", "paid", "credited", "left", "missed", "installments")) == (
        "missed", "0.00", "100.00", "200.00", "100.00", 2,
    )  # fmt: skip


def test_a_new_share_billed_beside_a_covered_one_stays_outside(cli, db):
    """0000301 owes P000001 300.00 and a 50.00 share pending since 10-20 (claim C000002, PR-1).
    PP000001 on 11-01 covers 350.00 at 100.00 on the 15th. After set-up: 11-10 KEY answers a new
    claim C000004 (99212 100.00: paid 70.00, PR-2 30.00), outside the plan; 11-12 a credit note
    takes 100.00 off P000001. Owed on what the plan covers: 200.00 + 50.00 = 250.00: left 250.00,
    credited 100.00. The 11-20 run bills both shares on one invoice (one patient invoice per
    patient and run): P000005 80.00 = 50.00 (covered, pending at set-up) + 30.00 (new). She owes
    200.00 + 80.00 = 280.00, of which 250.00 on the plan and 30.00 outside it: left still 250.00,
    credited 100.00 (new charges never raise the plan).
    Was: left 280.00, credited 70.00 (the 30.00 share posted after set-up is on the plan)."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        lf.coverage(db, pid, "KEY")
        p1 = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
        enc, _ = lf.encounter(db, pid, "2026-10-02", [("99213", 15000)])
        c_a = lf.claim(db, enc, "KEY", "2026-10-03")
        lf.remit(db, c_a, "2026-10-20", paid=10000, adjustments=[("PR", "1", 5000)])
    _plan(cli, "0000301", "350.00", "100.00", "2026-11-01")
    with dbmod.write(db):
        enc2, _ = lf.encounter(db, pid, "2026-11-05", [("99212", 10000)])
        c_b = lf.claim(db, enc2, "KEY", "2026-11-06")
        lf.remit(db, c_b, "2026-11-10", paid=7000, adjustments=[("PR", "2", 3000)])
        lf.credit_note(db, p1, "2026-11-12", 10000)
    p = _plans(cli, "2026-11-12")["PP000001"]
    assert _row(p, ("paid", "credited", "left")) == ("0.00", "100.00", "250.00")
    with dbmod.write(db):
        p2 = lf.patient_invoice(
            db,
            pid,
            "2026-11-20",
            [("2026-10-02", "99213", 5000), ("2026-11-05", "99212", 3000)],
            carries=c_a,
        )
        db.execute(
            "INSERT INTO patient_invoice_adjustments (adjustment_id, invoice_line_id)"
            " SELECT a.id, l.id FROM adjustments a, invoice_lines l WHERE a.invoice_id = ?"
            " AND a.source = 'transfer' AND l.invoice_id = ? AND l.line_no = 2",
            (c_b, p2),
        )
    assert _owes(cli, "0000301") == ("280.00", "0.00", "0.00", "280.00")
    p = _plans(cli, "2026-11-20")["PP000001"]
    assert _row(p, ("paid", "credited", "left")) == ("0.00", "100.00", "250.00")


def test_two_pending_shares_a_copay_and_one_run(cli, db, tmp_path):
    """The 835 path: Bea (KEY, co-pay 25.00) has claims C000001 (99214 200.00, visit D-6) and
    C000002 (99213 100.00, D-4). KEY's 835 on D: C000001 paid 120.00, CO-45 50.00, PR-2 30.00;
    C000002 paid 60.00, CO-45 20.00, PR-2 20.00: 50.00 pending, no invoice open. She checks in on
    D and pays a 25.00 co-pay (cash): owes 50.00 - 25.00 = 25.00. 25.01 by card is refused; 25.00
    is held for the pending share (account show: 0.00, 50.00 pending, 50.00 credit, owes 0.00).
    The next run issues one invoice P000001 of 30.00 + 20.00 = 50.00 and applies the 50.00 held:
    balance 0.00, credit 0.00, nothing pending, owes 0.00. check clean."""
    import invoice_fixtures as fx
    import ledger_scenarios as ls

    from billadmin.billing import generate as gen
    from billadmin.remit import post

    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "B0001", "Bea", "Lance")
        fx.coverage(db, pid, "KEY", member="KEY001", copay=2500)
        fx.encounter(db, pid, ls.day("D-6").isoformat(), [("99214", 20000)])
        fx.encounter(db, pid, ls.day("D-4").isoformat(), [("99213", 10000)])
    kw = {"today": ls.DAY0, "scrub": fx.no_scrub, "pdf": False, "xlsx": False}
    issued = gen.generate(db, out_dir=tmp_path / "r1", **kw).issued
    assert [r["number"] for r in issued] == ["C000001", "C000002"]
    claims = [
        {"claim": c, "status": "1", "charge": ch, "paid": pd, "pr": pr, "pcn": f"KEY-{c}",
         "lines": [{"code": code, "charge": ch, "paid": pd, "dos": dos,
                    "cas": [["CO", "45", co], ["PR", "2", pr]]}]}
        for c, code, dos, ch, pd, co, pr in (
            ("C000001", "99214", "D-6", "200.00", "120.00", "50.00", "30.00"),
            ("C000002", "99213", "D-4", "100.00", "60.00", "20.00", "20.00"),
        )
    ]  # fmt: skip
    path = tmp_path / "EFT1.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": claims}))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]
    assert _owes(cli, "B0001") == ("0.00", "50.00", "0.00", "50.00")
    r = cli("checkin", "B0001", "--collect", "25.00", "--method", "cash")
    assert r.exit_code == 0, r.stderr
    r = cli("payment", "post", "B0001", "25.01", "--method", "card")
    assert r.exit_code == 2 and "(0.01 too much)" in r.stderr, r.stderr
    rows = _ok(_post(cli, "B0001", "25.00", "--method", "card"))
    assert [(x["invoice"], x["applied"]) for x in rows] == [("(pending share)", "25.00")]
    assert _owes(cli, "B0001") == ("0.00", "50.00", "50.00", "0.00")
    issued = gen.generate(db, out_dir=tmp_path / "r2", **kw).issued
    assert [r["number"] for r in issued] == ["P000001"]
    assert (_bal(db, "P000001"), payments.credit_balance(db, pid)) == (0, 0)
    assert _owes(cli, "B0001") == ("0.00", "0.00", "0.00", "0.00")
    _clean(db)

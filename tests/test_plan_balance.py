"""A payment plan follows what the patient owes on what it covers (statements/plans.py).

Every test starts from patient 0000301 owing 300.00 on P000001 (issued 2026-10-01) and plan
PP000001 set up on 2026-11-01 for the whole 300.00 at 100.00 a month on the 15th: installments
of 100.00 on 2026-11-15, 2026-12-15 and 2027-01-15; 10 days of grace. Numbers by hand from the
module's rules: left = the total less what the patient paid toward it, never more than what is
owed on the invoices it covers; what the payer, a write-off or a void took off shortens the plan
from its end (installments on total - credited); every patient payment since the set-up counts
as paid; nothing left: completed.
"""

from __future__ import annotations

import json

import ledger_fixtures as lf
import pytest

from billadmin import db as dbmod


@pytest.fixture
def owes(db):
    """Patient 0000301 owes 300.00 on P000001 (issued 2026-10-01); returns (patient, invoice)."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000301")
        inv = lf.patient_invoice(db, pid, "2026-10-01", [("2026-09-29", "99215", 30000)])
    return pid, inv


def _create(cli, total="300.00", monthly="100.00", on="2026-11-01"):
    r = cli(
        "plan", "create", "0000301", "--total", total, "--monthly", monthly, "--day", "15",
        "--start", on, "--date", on, "-f", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _pay(cli, amount, on):
    return cli("plan", "pay", "0000301", amount, "--method", "card", "--date", on, "-f", "json")


def _plans(cli, on):
    r = cli("plan", "list", "--date", on, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return {p["plan"]: p for p in json.loads(r.stdout)}


def _row(p, *keys):
    return tuple(p.get(k) for k in keys)


def _events(db):
    return db.execute("SELECT plan_id, status, note FROM plan_events ORDER BY id").fetchall()


def _counts(db):
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("plan_events", "plan_payments", "payments", "audit_log")
    )


KEYS = ("status", "paid", "credited", "left", "missed", "installments", "next_due_on", "next_due")


def test_payer_credit_shortens_the_plan(cli, owes, db, tmp_path):
    """11-20: a late 835 takes back 150.00 of what the patient was billed (a credit note on
    P000001): owes 150.00, so 150.00 left on the plan, credited 150.00; installments on 150.00:
    100.00 on 11-15 and the rest 50.00 on 12-15. On 11-20 the 11-15 one (100.00) is unpaid and
    within its grace (to 11-25): due. Paid 100.00 on 11-24: 50.00 left, next 50.00 on 12-15. A
    12-01 statement asks for 12-15's 50.00, its plan box says left 50.00. 60.00 is refused (10.00
    too much); 50.00 on 12-15 completes it."""
    _pid, inv = owes
    _create(cli)
    with dbmod.write(db):
        lf.credit_note(db, inv, "2026-11-20", 15000)
    p = _plans(cli, "2026-11-20")["PP000001"]
    assert _row(p, *KEYS) == ("due", "0.00", "150.00", "150.00", "0.00", 2, "2026-11-15", "100.00")
    assert _pay(cli, "100.00", "2026-11-24").exit_code == 0
    p = _plans(cli, "2026-11-24")["PP000001"]
    assert _row(p, *KEYS) == (
        "current", "100.00", "150.00", "50.00", "0.00", 2, "2026-12-15", "50.00",
    )  # fmt: skip
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    assert r.exit_code == 0, r.stderr
    (s,) = json.loads(r.stdout)
    assert (s["step"], s["balance"], s["amount_due"], s["pay_by"]) == (
        "plan", "50.00", "50.00", "2026-12-15",
    )  # fmt: skip
    from pypdf import PdfReader

    text = " ".join(PdfReader(tmp_path / s["file"]).pages[0].extract_text().split())
    assert "left 50.00" in text and "credited 150.00" in text, text
    before = _counts(db)
    r = _pay(cli, "60.00", "2026-12-15")
    assert r.exit_code == 2 and "more than the 50.00 left on it (10.00 too much)" in r.stderr
    assert _counts(db) == before
    r = _pay(cli, "50.00", "2026-12-15")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "completed"


def test_payment_posted_outside_the_plan_counts(cli, owes, db):
    """`payment post` 150.00 on 11-10 (not `plan pay`): paid 150.00, left 150.00. On 12-20 the
    installments past their grace are 11-15's 100.00 (12-15's runs to 12-25): not missed; 11-15
    and 12-15 (200.00) fall due by 12-27, 150.00 paid: due, 50.00 of 12-15 to pay."""
    _create(cli)
    r = cli("payment", "post", "0000301", "150.00", "--method", "card", "--date", "2026-11-10")
    assert r.exit_code == 0, r.stderr
    p = _plans(cli, "2026-12-20")["PP000001"]
    assert _row(p, *KEYS) == ("due", "150.00", "0.00", "150.00", "0.00", 3, "2026-12-15", "50.00")
    r = _pay(cli, "150.00", "2026-12-20")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "completed"


def test_nothing_owed_completes_the_plan(cli, owes, db):
    """`payment post` 300.00 on 11-10: nothing owed, the plan is completed (paid 300.00, never
    missed) with the reason; it takes no payment (nothing written). A visit billed on 12-01
    (40.00) is owed outside it, and a new plan for it may be set up: the old one's completion is
    recorded then, PP000002 has 20.00 on 12-15 and 01-15, current on 12-01."""
    pid, _inv = owes
    _create(cli)
    r = cli("payment", "post", "0000301", "300.00", "--method", "cash", "--date", "2026-11-10")
    assert r.exit_code == 0, r.stderr
    p = _plans(cli, "2026-12-30")["PP000001"]
    assert _row(p, *KEYS) == ("completed", "300.00", "0.00", "0.00", "0.00", 3, None, "0.00")
    assert "nothing left owed" in p["note"]
    before = _counts(db)
    r = _pay(cli, "10.00", "2026-12-30")
    assert r.exit_code == 2 and "PP000001 is completed" in r.stderr, r.stderr
    assert _counts(db) == before
    with dbmod.write(db):
        lf.patient_invoice(db, pid, "2026-12-01", [("2026-11-30", "99212", 4000)])
    assert _plans(cli, "2026-12-01")["PP000001"]["status"] == "completed"
    new = _create(cli, total="40.00", monthly="20.00", on="2026-12-01")
    assert _row(new, "plan", "status", "installments", "next_due_on") == (
        "PP000002", "current", 2, "2026-12-15",
    )  # fmt: skip
    assert [e[1] for e in _events(db) if e[0] == 1] == ["open", "completed"]
    assert _plans(cli, "2026-12-01")["PP000001"]["status"] == "completed"


def test_new_charges_stay_outside_the_plan(cli, owes, db, tmp_path):
    """A visit billed 11-20 (P000002, 40.00) and a 100.00 write-off on P000001 on 11-21: owes
    240.00, of which 200.00 on P000001: left on the plan 200.00 (not 240.00), credited 100.00,
    installments 100.00 on 11-15 and 12-15; on 12-01 11-15's is missed (past 11-25) and next, 100.00
    to pay by today. The 12-01 statement asks for both (200.00, 11-15's
    missed) and the 40.00 outside the plan: 240.00 by 12-15."""
    pid, inv = owes
    _create(cli)
    with dbmod.write(db):
        lf.patient_invoice(db, pid, "2026-11-20", [("2026-11-19", "99212", 4000)])
        lf.adjust(db, inv, "2026-11-21", 10000)
    p = _plans(cli, "2026-12-01")["PP000001"]
    assert _row(p, *KEYS) == (
        "missed", "0.00", "100.00", "200.00", "100.00", 2, "2026-11-15", "100.00",
    )  # fmt: skip
    r = cli("statement", "run", "--date", "2026-12-01", "--out", tmp_path, "-f", "json")
    (s,) = json.loads(r.stdout)
    assert (s["balance"], s["amount_due"], s["pay_by"]) == ("240.00", "240.00", "2026-12-15")


def test_share_pending_at_set_up_stays_on_the_plan(cli, db):
    """0000301 owes 300.00 on P000001 and 50.00 of patient responsibility pending (the payer's
    PR-1 of 10-20 on a claim, not invoiced yet): the plan covers 350.00. P000002 bills that share
    on 11-20 (after the set-up, but it was owed then): still on the plan. The payer takes back
    20.00 of it on 11-25 (credit note on P000002): owes 330.00, left 330.00, credited 20.00."""
    with dbmod.write(db):
        pid, claim = lf.owes_invoice_and_share(db)
    _create(cli, total="350.00")
    with dbmod.write(db):
        p2 = lf.patient_invoice(
            db, pid, "2026-11-20", [("2026-10-02", "99213", 5000)], carries=claim
        )
        lf.credit_note(db, p2, "2026-11-25", 2000)
    p = _plans(cli, "2026-11-25")["PP000001"]
    assert _row(p, "left", "credited", "installments") == ("330.00", "20.00", 4)


def test_void_completes_the_plan_with_its_reason(cli, db, tmp_path):
    """Self-pay patient 2001: the 2026-06-30 run issues P000001 (99214 300.00, visit V1), the
    07-01 run P000002 (99212 100.00, V2); plan of the 400.00 at 100.00 set up 2026-07-01 (installments on
    the 15th from 07-15). Voiding P000002 on 07-10 leaves 300.00 owed: 300.00 left, credited
    100.00, still open (07-15's installment falls due within 7 days: due). Voiding P000001 on
    07-11: nothing owed, completed (not cancelled), the reason naming the invoice."""
    import invoice_fixtures as fx

    from billadmin.billing import generate as gen
    from billadmin.billing import lifecycle

    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "2001", "Cy", "Cole")
        fx.encounter(db, pid, "2026-06-10", [("99214", 30000)], number="V1")
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "a", pdf=False)
    with dbmod.write(db):
        fx.encounter(db, pid, "2026-06-30", [("99212", 10000)], number="V2")
    gen.generate(
        db, today=_date("2026-07-01"), scrub=fx.no_scrub, out_dir=tmp_path / "b", pdf=False
    )
    r = cli(
        "plan", "create", "2001", "--monthly", "100.00", "--day", "15", "--start", "2026-07-01",
        "--date", "2026-07-01",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lifecycle.void(db, "P000002", reason="billed twice", today=_date("2026-07-10"))
    p = _plans(cli, "2026-07-10")["PP000001"]
    assert _row(p, "status", "left", "credited") == ("due", "300.00", "100.00")
    lifecycle.void(db, "P000001", reason="billed twice", today=_date("2026-07-11"))
    assert _events(db)[-1][1:] == ("completed", "nothing left owed on it (P000001 voided)")
    p = _plans(cli, "2026-07-11")["PP000001"]
    assert _row(p, "status", "left", "note") == (
        "completed", "0.00", "nothing left owed on it (P000001 voided)",
    )  # fmt: skip


def _date(s):
    import datetime as _dt

    return _dt.date.fromisoformat(s)

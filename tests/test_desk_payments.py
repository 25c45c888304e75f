"""`payment post` at the front desk: the same payment keyed twice is refused (nothing written,
the earlier receipt named, no PHI) unless --again says it is a second payment; and the patient
may pay what they owe now, a share an 835 moved to them that no invoice carries yet included,
held as their credit until `invoice generate` bills the share. Every number is worked by hand
from the rules in accounts/payments.py.

The desk (ledger fixtures): Pat (MRN 0000101, KEY, co-pay 25.00) owes P000001 60.00 (issued
2026-09-01) and P000002 40.00 (2026-10-01); KEY answered her claim C000003 (99214 200.00) on
2026-10-20: paid 120.00, CO-45 50.00, PR-2 30.00, which no patient invoice carries yet. She owes
now 60.00 + 40.00 + 30.00 = 130.00. Lee (MRN 0000202) owes nothing.
"""

from __future__ import annotations

import json

import invoice_fixtures as fx
import ledger_fixtures as lf
import ledger_scenarios as ls
import pytest

from billadmin import db as dbmod
from billadmin.accounts import payments
from billadmin.billing import generate as gen
from billadmin.remit import post

PHI = ("Pat", "Sample", "1950", "MEM")


@pytest.fixture
def desk(db):
    with dbmod.write(db):
        lf.practice(db)
        pat = lf.patient(db, "0000101")
        lf.coverage(db, pat, "KEY", "2025-01-01", "2026-12-10", copay=2500)
        lf.patient_invoice(db, pat, "2026-09-01", [("2026-08-20", "99213", 6000)])
        lf.patient_invoice(db, pat, "2026-10-01", [("2026-09-25", "99212", 4000)])
        eid, _ = lf.encounter(db, pat, "2026-10-05", [("99214", 20000)])
        claim = lf.claim(db, eid, "KEY", "2026-10-06")
        lf.remit(db, claim, "2026-10-20", paid=12000, adjustments=[("CO", "45", 5000), ("PR", "2", 3000)])  # fmt: skip
        lf.patient(db, "0000202", "Lee", "Ames")
    return pat


def _post(cli, mrn: str, amount: str, *args: str):
    return cli("payment", "post", mrn, amount, *args, "-f", "json")


def _ok(r) -> list[dict]:
    assert r.exit_code == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def _rows(db) -> tuple[int, ...]:
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("payments", "receipts", "payment_allocations", "unapplied_credits", "audit_log")
    )


def _refused(cli, db, mrn: str, amount: str, *args: str) -> str:
    """Exit 2, nothing written, one line on stderr without PHI; returns it."""
    before = _rows(db)
    r = cli("payment", "post", mrn, amount, *args)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert _rows(db) == before and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert not any(x in r.stderr for x in PHI), r.stderr
    return r.stderr.strip()


def _bal(db, number: str) -> int:
    return db.execute(
        "SELECT total_cents + credited_cents - paid_cents - adjusted_cents FROM invoice_balances"
        " WHERE number = ?",
        (number,),
    ).fetchone()[0]


def _owes(cli, mrn: str) -> tuple[str, str, str, str]:
    """account show: (patient balance, pending, credit, owes)."""
    r = cli("account", "show", mrn, "-f", "json")
    s = json.loads(r.stdout)["summary"]
    return s["patient_balance"], s["patient_pending"], s["credit"], s["patient_owes"]


AGAIN = "this looks like that payment keyed twice, nothing posted; --again posts it as a second payment"  # fmt: skip


def test_the_same_check_keyed_twice_is_refused_until_again(cli, db, desk):
    """Check 1043 for 20.00 on 11-02 (R0000001) pays P000001 60.00 -> 40.00. Keyed again on
    11-03 as " 1043 " (spaces aside the same reference) or for 2.00 (a typo in the amount is still
    the same check): refused, naming R0000001 of 2026-11-02. A card slip 1043 is another
    instrument: posted (R0000002, P000001 40.00 -> 20.00). --again posts the check as a second
    one (R0000003, P000001 20.00 -> 0.00). The domain call refuses it as well (plan pay and any
    other caller), and posts it with again=True (R0000004, 10.00: P000002 40.00 -> 30.00)."""
    check = ("--method", "check", "--reference", "1043")
    _ok(_post(cli, "0000101", "20.00", *check, "--date", "2026-11-02"))
    for amount, ref in (("20.00", " 1043 "), ("2.00", "1043")):
        args = ("--method", "check", "--reference", ref, "--date", "2026-11-03")
        assert _refused(cli, db, "0000101", amount, *args) == (
            f"Error: receipt R0000001 of 2026-11-02 has the same reference and method: {AGAIN}"
        )
    card = ("--method", "card", "--reference", "1043", "--date", "2026-11-03")
    _ok(_post(cli, "0000101", "20.00", *card))
    rows = _ok(_post(cli, "0000101", "20.00", *check, "--date", "2026-11-03", "--again"))
    assert [(r["receipt"], r["invoice"], r["applied"], r["balance_after"]) for r in rows] == [
        ("R0000003", "P000001", "20.00", "0.00")
    ]
    assert (_bal(db, "P000001"), _bal(db, "P000002")) == (0, 4000)
    kw = {"method": "check", "on": ls.day("D"), "reference": "1043"}
    with pytest.raises(payments.DuplicatePayment, match="receipt R0000003 of 2026-11-03"):
        payments.post_payment(db, "0000101", 1000, **kw)
    p = payments.post_payment(db, "0000101", 1000, **kw, again=True)
    assert (p.receipt, _bal(db, "P000002")) == ("R0000004", 3000)


def test_without_a_reference_the_same_amount_method_and_day_is_refused(cli, db, desk):
    """Cash 40.00 on 11-02 (R0000001: P000001 60.00 -> 20.00); cash 40.00 again on 11-02 is
    refused; on 11-03 it is another payment (R0000002: P000001 20.00 -> 0.00, P000002 40.00 ->
    20.00). A co-pay taken at check-in on 11-04 by card, slip "Slip 77" (R0000003, held as
    credit 25.00), keyed again with `payment post` as "SLIP 77" is the same slip: refused."""
    cash = ("--method", "cash", "--date")
    _ok(_post(cli, "0000101", "40.00", *cash, "2026-11-02"))
    assert _refused(cli, db, "0000101", "40.00", *cash, "2026-11-02") == (
        "Error: receipt R0000001 of 2026-11-02 has the same amount and method on the same day:"
        f" {AGAIN}"
    )
    _ok(_post(cli, "0000101", "40.00", *cash, "2026-11-03"))
    assert (_bal(db, "P000001"), _bal(db, "P000002")) == (0, 2000)
    card = ("--method", "card", "--date", "2026-11-04", "--reference")
    r = cli("checkin", "0000101", "--collect", "25.00", *card, "Slip 77")
    assert r.exit_code == 0, r.stderr
    msg = _refused(cli, db, "0000101", "25.00", *card, "SLIP 77")
    assert "receipt R0000003 of 2026-11-04 has the same reference and method" in msg


def test_a_payment_refunded_in_full_no_longer_counts(cli, db, desk):
    """Lee owes nothing: card T-9 50.00 on 11-02 --credit (R0000001, credit 50.00). A card
    refund of 20.00 on 11-03 (credit 30.00) pays back part of it: T-9 keyed again on 11-04 is
    still refused. A second card refund of 30.00 on 11-04 (credit 0.00) completes 20.00 + 30.00
    = 50.00: the payment is paid back in full, and T-9 posts again (R0000004, credit 50.00)."""
    args = ("--method", "card", "--reference", "T-9", "--credit")
    _ok(_post(cli, "0000202", "50.00", *args, "--date", "2026-11-02"))
    refund = ("payment", "refund", "0000202")
    assert cli(*refund, "20.00", "--method", "card", "--date", "2026-11-03").exit_code == 0
    assert "receipt R0000001 of 2026-11-02" in _refused(
        cli, db, "0000202", "50.00", *args, "--date", "2026-11-04"
    )
    assert cli(*refund, "30.00", "--method", "card", "--date", "2026-11-04").exit_code == 0
    rows = _ok(_post(cli, "0000202", "50.00", *args, "--date", "2026-11-04"))
    assert [(r["receipt"], r["invoice"], r["applied"]) for r in rows] == [
        ("R0000004", "(credit)", "50.00")
    ]
    lee = db.execute("SELECT id FROM patients WHERE mrn = '0000202'").fetchone()[0]
    assert payments.credit_balance(db, lee) == 5000 - 2000 - 3000 + 5000


def test_a_check_split_over_invoices_posts_once_per_invoice(cli, db, desk):
    """Check 1043 for 100.00 split: 60.00 --invoice P000001 (R0000001), 40.00 --invoice P000002
    (R0000002): each part paid only its own invoice, so the second is not a repeat. The 40.00
    to P000002 keyed again (even --credit) repeats R0000002; 10.00 of it oldest first repeats the
    latest, R0000002."""
    check = ("--method", "check", "--reference", "1043", "--date", "2026-11-02")
    _ok(_post(cli, "0000101", "60.00", *check, "--invoice", "P000001"))
    _ok(_post(cli, "0000101", "40.00", *check, "--invoice", "P000002"))
    assert (_bal(db, "P000001"), _bal(db, "P000002")) == (0, 0)
    for amount, more in (("40.00", ("--invoice", "P000002", "--credit")), ("10.00", ())):
        msg = _refused(cli, db, "0000101", amount, *check, *more)
        assert msg.startswith("Error: receipt R0000002 of 2026-11-02 has the same reference")


def test_paying_what_is_owed_now_holds_the_pending_share(cli, db, desk):
    """A co-pay of 25.00 at check-in on 11-04 (R0000001) is her credit: she owes now 60.00 +
    40.00 + 30.00 pending - 25.00 = 105.00. 105.01 is refused (0.01 too much). 105.00 by card
    (R0000002) pays P000001 60.00 and P000002 40.00 and holds 105.00 - 100.00 = 5.00 for the
    pending share: account show says balance 0.00, pending 30.00, credit 25.00 + 5.00 = 30.00,
    owes 0.00. More than that still needs --credit: 1.00 then is kept as credit (overpayment)."""
    r = cli("checkin", "0000101", "--date", "2026-11-04", "--collect", "25.00", "--method", "cash")
    assert r.exit_code == 0, r.stderr
    msg = _refused(cli, db, "0000101", "105.01", "--method", "card", "--date", "2026-11-04")
    assert msg == (
        "Error: payment 105.01 is over what the patient owes now 105.00 (open patient invoices"
        " 100.00 + 30.00 pending, not invoiced yet, - 25.00 credit) (0.01 too much); --credit"
        " keeps the rest as credit"
    )
    r = _post(cli, "0000101", "105.00", "--method", "card", "--date", "2026-11-04")
    assert [(x["invoice"], x["applied"], x["balance_after"]) for x in _ok(r)] == [
        ("P000001", "60.00", "0.00"),
        ("P000002", "40.00", "0.00"),
        ("(pending share)", "5.00", None),
    ]
    assert r.stderr.strip() == (
        "Payment 105.00 recorded, receipt R0000002; 100.00 applied to invoices; 5.00 held for the"
        " pending patient share (applied when `invoice generate` bills it)"
    )
    assert _owes(cli, "0000101") == ("0.00", "30.00", "30.00", "0.00")
    assert "over the open patient balance 0.00 (1.00 too much)" in _refused(
        cli, db, "0000101", "1.00", "--method", "card", "--date", "2026-11-05"
    )
    r = _post(cli, "0000101", "1.00", "--method", "card", "--date", "2026-11-05", "--credit")
    assert [(x["invoice"], x["applied"]) for x in _ok(r)] == [("(credit)", "1.00")]
    assert "1.00 kept as credit" in r.stderr
    reasons = db.execute(
        "SELECT reason, amount_cents FROM unapplied_credits ORDER BY id"
    ).fetchall()
    assert reasons == [("copay", 2500), ("copay", 500), ("overpayment", 100)]
    assert payments.ledger_findings(db) == []


def test_the_run_that_bills_the_pending_share_applies_what_was_paid(cli, db, tmp_path):
    """The 835 path (as tests/test_balances.py): 99214 200.00, KEY allows 150.00 (CO-45 50.00),
    pays 120.00, PR-2 30.00 moved to Bea, pending. She pays the 30.00 by card at once: no
    invoice is open, so all 30.00 is held for the pending share. The next `invoice generate`
    issues P000001 for the 30.00 and applies her 30.00 to it: paid 30.00, balance 0.00, credit
    0.00, nothing pending, owes 0.00."""
    with dbmod.write(db):
        fx.practice(db)
        pid = fx.patient(db, "B0001", "Bea", "Lance")
        fx.coverage(db, pid, "KEY", member="KEY001")
        fx.encounter(db, pid, ls.day("D-4").isoformat(), [("99214", 20000)])
    kw = {"today": ls.DAY0, "scrub": fx.no_scrub, "pdf": False, "xlsx": False}
    assert [r["number"] for r in gen.generate(db, out_dir=tmp_path / "r1", **kw).issued] == ["C000001"]  # fmt: skip
    answer = {
        "claim": "C000001", "status": "1", "charge": "200.00", "paid": "120.00", "pr": "30.00",
        "pcn": "KEY-1",
        "lines": [{"code": "99214", "charge": "200.00", "paid": "120.00",
                   "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]]}],
    }  # fmt: skip
    path = tmp_path / "EFT1.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [answer]}))
    assert [t.result for t in post.import_files(db, [path]).transactions] == ["posted"]
    r = _post(cli, "B0001", "30.00", "--method", "card")
    assert [(x["invoice"], x["applied"]) for x in _ok(r)] == [("(pending share)", "30.00")]
    assert _owes(cli, "B0001") == ("0.00", "30.00", "30.00", "0.00")
    assert [r["number"] for r in gen.generate(db, out_dir=tmp_path / "r2", **kw).issued] == ["P000001"]  # fmt: skip
    paid = db.execute(
        "SELECT total_cents, paid_cents FROM invoice_balances WHERE number = 'P000001'"
    ).fetchone()
    assert (paid, _bal(db, "P000001")) == ((3000, 3000), 0)
    assert _owes(cli, "B0001") == ("0.00", "0.00", "0.00", "0.00")
    assert payments.ledger_findings(db) == []


def test_a_plan_installment_keyed_twice_is_refused_until_again(cli, db, desk):
    """Pat sets up a plan for the 100.00 her two invoices ask (30.00 a month from 2026-11-01)
    and pays 30.00 by card, slip 7781, on 2026-11-01: 70.00 left. The same slip keyed again
    through `plan pay` is refused (exit 2, nothing written, receipt R0000001 named); with
    --again it is her second installment: 40.00 left."""
    plan = ["plan", "create", "0000101", "--total", "100.00", "--monthly", "30.00", "--day", "1"]
    r = cli(*plan, "--start", "2026-11-01", "--date", "2026-10-25")
    assert r.exit_code == 0, r.stderr
    pay = ["plan", "pay", "0000101", "30.00", "--method", "card", "--reference", "7781"]
    pay += ["--date", "2026-11-01", "-f", "json"]
    assert cli(*pay).exit_code == 0
    before = _rows(db)
    r = cli(*pay)
    assert r.exit_code == 2 and "R0000001" in r.stderr and "--again" in r.stderr, r.stderr
    assert _rows(db) == before
    r = cli(*pay, "--again")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["left"] == "40.00"

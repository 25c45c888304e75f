"""A payer's second payment of a claim and the refund of its overpayment (issue 12): the second
payment's CAS only explains it (the charge is reduced by contract once, the patient's share moves
once); `payment refund-payer` sends the payer's credit back, never more. Amounts by hand."""

from __future__ import annotations

import json

import ledger_scenarios as ls
from test_claim_corrections import _balance, _setup

from billadmin.remit import post


def _remit(db, tmp_path, trace: str, claims: list[dict], on: str = "D+14"):
    path = tmp_path / f"{trace}.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": trace, "on": on, "claims": claims}))
    res = post.import_files(db, [path])
    assert [t.result for t in res.transactions] == ["posted"], res
    return res


def _paid(pcn: str, paid: str = "110.00", cas=(("CO", "45", "40.00"),), status: str = "1"):
    return {
        "claim": "C000001",
        "status": status,
        "charge": "150.00" if status != "22" else "-150.00",
        "paid": paid,
        "pcn": pcn,
        "lines": [
            {
                "code": "99213",
                "charge": "150.00" if status != "22" else "-150.00",
                "paid": paid,
                "cas": [list(c) for c in cas],
            }
        ],
    }


def _count(db, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_second_payment_reduces_the_charge_by_contract_once(db, tmp_path, cli):
    _setup(db, tmp_path)  # C000001: 99213 at 150.00 to Keystone
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    assert _balance(db, "C000001") == 15000 - 11000 - 4000
    res = _remit(db, tmp_path, "EFT2", [_paid("KEY-B")], on="D+35")
    assert [c.outcome for c in res.claims] == ["paid"]  # another CLP07: posted, not a duplicate
    # 150.00 - (110.00 + 110.00) paid - 40.00 CO-45 once = -110.00 (the payer's money we hold)
    assert _balance(db, "C000001") == 15000 - 11000 - 11000 - 4000
    assert db.execute("SELECT SUM(amount_cents) FROM adjustments").fetchone()[0] == 4000
    # both CAS kept as read; the second is not in the ledger
    rows = db.execute(
        "SELECT amount_cents, adjustment_id IS NOT NULL FROM remit_adjustments ORDER BY id"
    ).fetchall()
    assert rows == [(4000, 1), (4000, 0)]
    assert cli("check").exit_code == 0


def test_second_payment_moves_the_patient_share_once(db, tmp_path):
    _setup(db, tmp_path)
    cas = (("CO", "45", "20.00"), ("PR", "2", "30.00"))
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A", "100.00", cas)])
    _remit(db, tmp_path, "EFT2", [_paid("KEY-B", "100.00", cas)], on="D+35")
    src = dict(db.execute("SELECT source, SUM(amount_cents) FROM adjustments GROUP BY source"))
    assert src == {"remit": 2000, "transfer": 3000}  # CO-45 20.00 and PR-2 30.00, once each
    # 150.00 - 200.00 paid - 20.00 - 30.00 = -100.00
    assert _balance(db, "C000001") == 15000 - 20000 - 2000 - 3000


def test_reversal_and_correction_still_post_the_corrected_adjustment(db, tmp_path):
    """The reversal nets the first posting out, so the correction's CO-45 is taken in full."""
    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    reversal = _paid("KEY-A", "-110.00", (("CO", "45", "-40.00"),), status="22")
    correction = _paid("KEY-A2", "120.00", (("CO", "45", "30.00"),))
    _remit(db, tmp_path, "EFT2", [reversal, correction], on="D+30")
    # 150.00 - (110.00 - 110.00 + 120.00) paid - (40.00 - 40.00 + 30.00) CO-45 = 0.00
    assert _balance(db, "C000001") == 15000 - 12000 - 3000
    assert db.execute("SELECT SUM(amount_cents) FROM adjustments").fetchone()[0] == 3000


def test_refund_payer_returns_the_credit(db, tmp_path, cli):
    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    _remit(db, tmp_path, "EFT2", [_paid("KEY-B")], on="D+35")
    r = cli(
        "payment",
        "refund-payer",
        "C000001",
        "110.00",
        "--method",
        "check",
        "--reference",
        "5120",
        "--date",
        "2026-12-30",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert (row["payer"], row["refund"], row["balance_after"]) == ("KEY", "110.00", "0.00")
    # -110.00 + 110.00 refunded = 0.00; paid 110.00 + 110.00 - 110.00 = 110.00
    assert _balance(db, "C000001") == 0
    assert db.execute("SELECT paid_cents FROM invoice_balances").fetchone()[0] == 11000
    pay = db.execute(
        "SELECT p.kind, y.code, p.amount_cents, p.method, p.reference, p.received_on"
        " FROM payments p JOIN payers y ON y.id = p.payer_id ORDER BY p.id DESC LIMIT 1"
    ).fetchone()
    assert pay == ("insurance", "KEY", -11000, "check", "5120", "2026-12-30")
    ret = db.execute("SELECT kind, amount_cents, reference FROM payer_returns").fetchall()
    assert ret == [("refund", 11000, "5120")]
    audit = db.execute(
        "SELECT entity, detail FROM audit_log WHERE action = 'payment refund-payer'"
    ).fetchall()
    assert len(audit) == 1 and json.loads(audit[0][1])["amount_cents"] == 11000
    assert cli("check").exit_code == 0
    # nothing left to refund: refused
    r = cli("payment", "refund-payer", "C000001", "0.01", "--method", "check")
    assert r.exit_code == 2 and "C000001" in r.stderr and "credit" in r.stderr


def test_refund_payer_same_check_twice_is_refused(db, tmp_path, cli):
    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    _remit(db, tmp_path, "EFT2", [_paid("KEY-B")], on="D+35")
    args = ("payment", "refund-payer", "C000001", "50.00", "--method", "check")
    assert cli(*args, "--reference", "5120").exit_code == 0  # credit 110.00 - 50.00 = 60.00
    r = cli(*args, "--reference", "5120")
    assert r.exit_code == 2 and "5120 was already recorded" in r.stderr
    assert _balance(db, "C000001") == -6000
    assert cli(*args, "--reference", "5121").exit_code == 0  # another check: 60.00 - 50.00
    assert _balance(db, "C000001") == -1000


def test_refund_payer_refusals_write_nothing(db, tmp_path, cli):
    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    _remit(db, tmp_path, "EFT2", [_paid("KEY-B")], on="D+35")
    before = {t: _count(db, t) for t in ("payments", "payment_allocations", "payer_returns")}
    cases = [
        (["C000001", "110.01"], "110.00"),  # 0.01 more than the payer's credit of 110.00
        (["C000009", "10.00"], "no such claim"),
        (["C000001", "0.00"], "above 0.00"),
    ]
    for args, text in cases:
        r = cli("payment", "refund-payer", *args, "--method", "check")
        assert r.exit_code == 2, (args, r.stderr)
        assert text in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = cli("payment", "refund-payer", "C000001", "10.00", "--method", "barter")
    assert r.exit_code == 2
    assert {t: _count(db, t) for t in before} == before


def test_refund_payer_refused_when_the_claim_is_not_overpaid(db, tmp_path, cli):
    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])  # 150.00 - 110.00 - 40.00 = 0.00
    r = cli("payment", "refund-payer", "C000001", "10.00", "--method", "check")
    assert r.exit_code == 2 and "0.00" in r.stderr
    assert _count(db, "payer_returns") == 0


def test_check_finds_a_payer_return_its_payment_does_not_carry(db, tmp_path, cli):
    """A payer_returns row naming a payment with no matching allocation (written behind
    billadmin's back) is a PAYER-RETURN finding."""
    from billadmin import db as dbmod

    _setup(db, tmp_path)
    _remit(db, tmp_path, "EFT1", [_paid("KEY-A")])
    with dbmod.write(db):
        db.execute(
            "INSERT INTO payer_returns (kind, invoice_id, payer_id, payment_id, amount_cents,"
            " returned_on, os_user, at) SELECT 'refund', 1, payer_id, id, 2500, '2026-12-30',"
            " 'x', 'x' FROM payments"
        )
    r = cli("check")
    assert r.exit_code == 1 and "PAYER-RETURN" in r.stdout
    assert "C000001: payer refund 1 (25.00): no allocation of -25.00" in " ".join(r.stdout.split())


def test_second_payment_after_a_paper_eob_of_the_same_payer(db, tmp_path, cli):
    """The same payer's first answer came on paper (payment eob, claim-level CO-45), its second
    by 835 (line-level CO-45, another claim number): the CO-45 40.00 is taken off once."""
    _setup(db, tmp_path)
    r = cli(
        "payment", "eob", "C000001", "--paid", "110.00", "--adjust", "CO-45:40.00",
        "--reference", "EOB1", "--payer-claim-number", "KEY-A", "--date", "2026-12-20",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    _remit(db, tmp_path, "EFT2", [_paid("KEY-B")], on="D+35")
    # 150.00 - (110.00 + 110.00) paid - 40.00 CO-45 once = -110.00
    assert _balance(db, "C000001") == 15000 - 11000 - 11000 - 4000


def test_one_payment_repeating_a_reason_on_a_line_posts_both(db, tmp_path):
    """Two CO-45 on one line of ONE claim payment (10.00 and 30.00) are not a repeat: both post."""
    _setup(db, tmp_path)
    _remit(
        db,
        tmp_path,
        "EFT1",
        [_paid("KEY-A", "110.00", (("CO", "45", "10.00"), ("CO", "45", "30.00")))],
    )
    # 150.00 - 110.00 - 10.00 - 30.00 = 0.00
    assert _balance(db, "C000001") == 15000 - 11000 - 1000 - 3000

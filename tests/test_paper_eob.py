"""`payment eob`: a payer's paper EOB posted through the 835 posting path (remit/post.py
post_eob), refused whole when it does not balance. Every amount is written by hand."""

from __future__ import annotations

import json

from test_claim_corrections import _balance, _setup

from billadmin.accounts import balances


def _eob(cli, *args):
    return cli("payment", "eob", *args, "--date", "2026-12-26")


def _count(db, table):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_paper_eob_posts_like_an_835(cli, db, tmp_path):
    _setup(db, tmp_path)  # C000001 99213 at 150.00 to Keystone
    r = _eob(
        cli,
        "C000001",
        "--paid",
        "100.00",
        "--adjust",
        "CO-45:30.00",
        "--cas",
        "PR-2:20.00",
        "--reference",
        "CHK 88123",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert (row["outcome"], row["paid"]) == ("paid", "100.00")
    # 150.00 - 100.00 paid - 30.00 CO-45 - 20.00 PR-2 (moved to the patient) = 0.00
    assert _balance(db, "C000001") == 15000 - 10000 - 3000 - 2000
    assert balances.pending(db, patient_id=1)["patient_cents"] == 2000
    src = dict(db.execute("SELECT source, SUM(amount_cents) FROM adjustments GROUP BY source"))
    assert src == {"remit": 3000, "transfer": 2000}
    assert db.execute("SELECT SUM(amount_cents) FROM payments").fetchone()[0] == 10000
    assert cli("check").exit_code == 0
    # the same EOB again: refused, nothing written
    before = _count(db, "payments")
    r = _eob(
        cli,
        "C000001",
        "--paid",
        "100.00",
        "--adjust",
        "CO-45:30.00",
        "--adjust",
        "PR-2:20.00",
        "--reference",
        "CHK 88123",
    )
    assert r.exit_code == 2 and "C000001" in r.stderr and "already posted" in r.stderr
    assert _count(db, "payments") == before


def test_paper_eob_denial_stays_open(cli, db, tmp_path):
    _setup(db, tmp_path)
    r = _eob(cli, "C000001", "--paid", "0.00", "--adjust", "CO-16:150.00", "--reference", "EOB7")
    assert r.exit_code == 0, r.stderr
    assert _balance(db, "C000001") == 15000  # a denial is not an adjustment: 150.00 open
    status = db.execute("SELECT status FROM invoice_status WHERE invoice_id = 1").fetchone()[0]
    assert status == "denied"


def test_paper_eob_refusals_name_the_claim_and_write_nothing(cli, db, tmp_path):
    _setup(db, tmp_path)
    counts = {t: _count(db, t) for t in ("payments", "adjustments", "remit_claims")}
    cases = [
        # 100.00 + 30.00 + 10.00 = 140.00, 10.00 short of the 150.00 charge
        (
            [
                "C000001",
                "--paid",
                "100.00",
                "--adjust",
                "CO-45:30.00",
                "--adjust",
                "PR-2:10.00",
                "--reference",
                "X1",
            ],
            "C000001: paid 100.00 + adjustments 40.00 = 140.00 != charge 150.00 (10.00 too little)",
        ),
        (["C009999", "--paid", "1.00", "--reference", "X2"], "C009999: no such claim"),
        (["C000001", "--paid", "150.00"], "C000001: --reference"),
        (
            ["C000001", "--paid", "100.00", "--adjust", "XX-45:50", "--reference", "X3"],
            "GROUP-CARC:AMOUNT",
        ),
    ]
    for args, msg in cases:
        r = _eob(cli, *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert msg in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert {t: _count(db, t) for t in counts} == counts
    # voided: nothing replaced it, so the refusal says what to do with the payer's money
    assert cli("invoice", "void", "C000001", "--reason", "wrong patient").exit_code == 0
    counts = {t: _count(db, t) for t in counts}
    r = _eob(cli, "C000001", "--paid", "150.00", "--reference", "X4")
    assert r.exit_code == 2 and "C000001: the claim is voided" in r.stderr, r.stderr
    assert "replaced" not in r.stderr and {t: _count(db, t) for t in counts} == counts

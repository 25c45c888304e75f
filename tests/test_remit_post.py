"""Posting 835s against issued claims: payments and allocations per line, CAS adjustments,
patient responsibility transfers, claim status, unmatched claims, PLB, reversals, duplicates,
idempotency, refusals. Every expectation is computed by hand from the 835 the test writes."""

from __future__ import annotations

import pytest
from test_remit_support import Remit, balance_of, issue_claim, status_of

from billadmin import db as dbmod
from billadmin import integrity


@pytest.fixture
def claims(db):
    """Two issued claims: C000001 (99213 140.00 + 36415 15.00) and C000002 (99214-25 205.00)."""
    a = issue_claim(db, "C000001", [("99213", "", "140.00"), ("36415", "", "15.00")])
    b = issue_claim(db, "C000002", [("99214", "25", "205.00")])
    return a, b


def _count(db, table, where="1=1", params=()):
    return db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()[0]


def paid_remit(**kw) -> Remit:
    return Remit(**kw).claim(
        "C000001",
        "1",
        "155",
        "100",
        "20",
        pcn="KP-1",
        lines=[
            ("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")]),
            ("HC:36415", "15", "10", [("CO", "45", "5")]),
        ],
    )


def test_paid_claim_posts_payment_adjustments_and_transfer(cli, db, claims, tmp_path):
    inv, _ = claims
    res = cli("remit", "import", paid_remit().write(tmp_path / "a.835"))
    assert res.exit_code == 0, res.output
    assert balance_of(db, inv) == {"total": 15500, "paid": 10000, "adjusted": 5500, "balance": 0}
    assert status_of(db, inv) == "paid"
    pay = db.execute(
        "SELECT kind, payer_id, amount_cents, method, reference, received_on FROM payments"
    ).fetchall()
    assert pay == [
        (
            "insurance",
            db.execute("SELECT payer_id FROM invoices WHERE id = ?", (inv,)).fetchone()[0],
            10000,
            "ACH",
            "EFT1001",
            "2026-03-14",
        )
    ]
    allocs = db.execute(
        "SELECT l.code, a.amount_cents FROM payment_allocations a"
        " JOIN invoice_lines l ON l.id = a.invoice_line_id ORDER BY l.line_no"
    ).fetchall()
    assert allocs == [("99213", 9000), ("36415", 1000)]
    adj = db.execute(
        "SELECT l.code, d.group_code, d.reason_code, d.amount_cents, d.source FROM adjustments d"
        " JOIN invoice_lines l ON l.id = d.invoice_line_id ORDER BY d.id"
    ).fetchall()
    assert adj == [
        ("99213", "CO", "45", 3000, "remit"),
        ("99213", "PR", "2", 2000, "transfer"),
        ("36415", "CO", "45", 500, "remit"),
    ]
    assert db.execute(
        "SELECT payer_claim_number FROM payer_claim_numbers WHERE invoice_id = ?", (inv,)
    ).fetchone() == ("KP-1",)
    assert _count(db, "audit_log", "action = 'remit import'") == 1
    assert integrity.run_checks(db) == []
    assert "Posted 1 transaction(s), 100.00; claims: 1 paid" in res.stderr


def test_partial_payment_leaves_a_balance(cli, db, claims, tmp_path):
    inv, _ = claims
    # the payer adjudicated only the office visit: the lab line is still open
    r = Remit().claim(
        "C000001",
        "1",
        "140",
        "90",
        "20",
        lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")])],
    )
    assert cli("remit", "import", r.write(tmp_path / "p.835")).exit_code == 0
    assert balance_of(db, inv)["balance"] == 1500
    assert status_of(db, inv) == "partially_paid"


def test_denials(cli, db, claims, tmp_path):
    inv1, inv2 = claims
    r = (
        Remit()
        .claim("C000002", "4", "205", "0", cas=[("CO", "50", "205")])  # denied by status code
        .claim("C000001", "1", "155", "0", cas=[("CO", "29", "155")])
    )  # nothing paid, timely filing
    assert cli("remit", "import", r.write(tmp_path / "d.835")).exit_code == 0
    assert status_of(db, inv2) == "denied" and status_of(db, inv1) == "denied"
    assert _count(db, "payments") == 0
    # denials stay open (issue 12): before, CO-50/CO-29 were posted as adjustments and both
    # balances dropped to 0.00; now 205.00 - 0 paid - 0 adjusted = 205.00 stays in A/R
    assert balance_of(db, inv2) == {"total": 20500, "paid": 0, "adjusted": 0, "balance": 20500}
    assert balance_of(db, inv1) == {"total": 15500, "paid": 0, "adjusted": 0, "balance": 15500}
    assert _count(db, "adjustments") == 0
    assert db.execute(
        "SELECT group_code, reason_code, amount_cents, adjustment_id, class FROM remit_adjustments"
        " ORDER BY id"
    ).fetchall() == [("CO", "50", 20500, None, "denial"), ("CO", "29", 15500, None, "denial")]
    assert integrity.run_checks(db) == []
    listed = cli("remit", "list", "--claims", "--outcome", "denied", "-f", "csv")
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 3 and "CO-29" in listed.stdout


def test_deductible_only_is_not_a_denial(cli, db, claims, tmp_path):
    inv, _ = claims
    r = Remit().claim("C000001", "1", "155", "0", "155", cas=[("PR", "1", "155")])
    assert cli("remit", "import", r.write(tmp_path / "ded.835")).exit_code == 0
    assert status_of(db, inv) == "paid"
    assert db.execute("SELECT source, amount_cents FROM adjustments").fetchall() == [
        ("transfer", 15500)
    ]


def test_claim_level_adjustment_with_lines(cli, db, claims, tmp_path):
    """Like the corpus 'dollars and data sent separate': lines pay 500, a claim-level CO-A2 of 50
    makes the claim's payment 450; the ledger must show 450 paid, not 500."""
    inv = issue_claim(db, "C000003", [("99211", "", "800.00")])
    r = Remit().claim(
        "C000003",
        "1",
        "800",
        "450",
        "300",
        cas=[("CO", "A2", "50")],
        lines=[("HC:99211", "800", "500", [("PR", "1", "300")])],
    )
    assert cli("remit", "import", r.write(tmp_path / "cl.835")).exit_code == 0
    assert balance_of(db, inv) == {"total": 80000, "paid": 45000, "adjusted": 35000, "balance": 0}
    allocs = db.execute(
        "SELECT invoice_line_id IS NULL, amount_cents FROM payment_allocations ORDER BY id"
    ).fetchall()
    assert allocs == [(0, 50000), (1, -5000)]
    assert db.execute("SELECT amount_cents FROM payments").fetchone() == (45000,)
    assert integrity.run_checks(db) == []


def test_claim_without_lines_and_line_matching_by_modifier(cli, db, claims, tmp_path):
    _, inv2 = claims
    inv4 = issue_claim(db, "C000004", [("99213", "", "140.00"), ("99213", "25", "140.00")])
    r = (
        Remit()
        .claim("C000002", "1", "205", "150", cas=[("CO", "45", "55")])
        .claim(
            "C000004",
            "1",
            "280",
            "200",
            lines=[
                ("HC:99213:25", "140", "110", [("CO", "45", "30")]),
                ("HC:99213", "140", "90", [("CO", "45", "50")]),
            ],
        )
    )
    assert cli("remit", "import", r.write(tmp_path / "m.835")).exit_code == 0
    assert db.execute(
        "SELECT invoice_line_id, amount_cents FROM payment_allocations WHERE invoice_id = ?",
        (inv2,),
    ).fetchall() == [(None, 15000)]
    got = db.execute(
        "SELECT l.modifiers, a.amount_cents FROM payment_allocations a JOIN invoice_lines l"
        " ON l.id = a.invoice_line_id WHERE a.invoice_id = ? ORDER BY a.id",
        (inv4,),
    ).fetchall()
    assert got == [("25", 11000), ("", 9000)]
    assert balance_of(db, inv2)["balance"] == 0 and balance_of(db, inv4)["balance"] == 0


def test_unmatched_claims_are_kept_and_reported(cli, db, claims, tmp_path):
    r = paid_remit().claim("X-99", "1", "50", "40", cas=[("CO", "45", "10")])
    res = cli("remit", "import", r.write(tmp_path / "u.835"))
    assert res.exit_code == 0
    assert "unmatched: claim X-99" in res.stderr
    row = db.execute(
        "SELECT invoice_id, outcome, paid_cents FROM remit_claims WHERE claim_number = 'X-99'"
    ).fetchone()
    assert row == (None, "unmatched", 4000)
    t = db.execute(
        "SELECT amount_cents, posted_cents, unmatched_cents FROM remit_transactions"
    ).fetchone()
    assert t == (14000, 10000, 4000)
    assert db.execute("SELECT SUM(amount_cents) FROM payments").fetchone()[0] == 10000
    assert _count(db, "adjustments") == 3  # the foreign claim's CO-45 is not posted anywhere


def test_plb_is_kept_and_balances_the_transaction(cli, db, claims, tmp_path):
    r = (
        paid_remit()
        .provider_adjustment("WO", "C000009", "25")
        .provider_adjustment("L6", None, "-1.50")
    )
    assert cli("remit", "import", r.write(tmp_path / "plb.835")).exit_code == 0
    assert db.execute(
        "SELECT reason_code, reference, amount_cents FROM remit_plb ORDER BY id"
    ).fetchall() == [("WO", "C000009", 2500), ("L6", None, -150)]
    amount, posted, unmatched, plb = db.execute(
        "SELECT amount_cents, posted_cents, unmatched_cents, plb_cents FROM remit_transactions"
    ).fetchone()
    assert (amount, posted, unmatched, plb) == (7650, 10000, 0, 2350)
    assert amount == posted + unmatched - plb


def test_same_trace_twice_is_already_posted(cli, db, claims, tmp_path):
    inv, _ = claims
    p = paid_remit().write(tmp_path / "a.835")
    assert cli("remit", "import", p).exit_code == 0
    before = [
        _count(db, t)
        for t in (
            "payments",
            "payment_allocations",
            "adjustments",
            "invoice_events",
            "remit_claims",
        )
    ]
    # the same payment in a file with different bytes (a resend) is refused too
    p2 = paid_remit(newline="\n").write(tmp_path / "a-resent.835")
    res = cli("remit", "import", p2)
    assert res.exit_code == 1
    assert "already posted" in res.stdout and "trace EFT1001 was posted from a.835" in res.stderr
    after = [
        _count(db, t)
        for t in (
            "payments",
            "payment_allocations",
            "adjustments",
            "invoice_events",
            "remit_claims",
        )
    ]
    assert after == before
    assert balance_of(db, inv)["balance"] == 0


def test_other_payer_with_same_trace_is_not_a_duplicate(cli, db, claims, tmp_path):
    assert cli("remit", "import", paid_remit().write(tmp_path / "a.835")).exit_code == 0
    other = Remit(payer_tin="1999999999", payer="SUMMIT HEALTH").claim(
        "C000002", "1", "205", "150", cas=[("CO", "45", "55")]
    )
    assert cli("remit", "import", other.write(tmp_path / "b.835")).exit_code == 0


def test_reversal_and_correction(cli, db, claims, tmp_path):
    inv, _ = claims
    assert cli("remit", "import", paid_remit().write(tmp_path / "a.835")).exit_code == 0
    # the payer takes the payment back (CLP02 22, negative amounts) and pays it again corrected
    r = (
        Remit(trace="EFT2002")
        .claim(
            "C000001",
            "22",
            "-155",
            "-100",
            "-20",
            pcn="KP-1",
            lines=[
                ("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")]),
                ("HC:36415", "-15", "-10", [("CO", "45", "-5")]),
            ],
        )
        .claim(
            "C000001",
            "1",
            "155",
            "115",
            "20",
            pcn="KP-2",
            lines=[
                ("HC:99213", "140", "105", [("CO", "45", "15"), ("PR", "2", "20")]),
                ("HC:36415", "15", "10", [("CO", "45", "5")]),
            ],
        )
    )
    res = cli("remit", "import", r.write(tmp_path / "rev.835"))
    assert res.exit_code == 0, res.output
    outcomes = db.execute(
        "SELECT status_code, outcome, reverses_id FROM remit_claims ORDER BY id"
    ).fetchall()
    assert outcomes == [("1", "paid", None), ("22", "reversed", 1), ("1", "paid", None)]
    assert balance_of(db, inv) == {"total": 15500, "paid": 11500, "adjusted": 4000, "balance": 0}
    events = [
        r[0]
        for r in db.execute(
            "SELECT status FROM invoice_events WHERE invoice_id = ? ORDER BY id", (inv,)
        )
    ]
    assert events == ["issued", "paid", "reversed", "paid"]
    assert db.execute("SELECT amount_cents FROM payments ORDER BY id").fetchall() == [
        (10000,),
        (1500,),
    ]
    assert db.execute(
        "SELECT payer_claim_number FROM payer_claim_numbers WHERE invoice_id = ?", (inv,)
    ).fetchone() == ("KP-2",)
    assert integrity.run_checks(db) == []


def test_reversal_of_a_whole_check_under_its_own_trace(cli, db, claims, tmp_path):
    inv, _ = claims
    assert cli("remit", "import", paid_remit().write(tmp_path / "a.835")).exit_code == 0
    rev = Remit().claim(
        "C000001",
        "22",
        "-155",
        "-100",
        "-20",
        pcn="KP-1",
        lines=[
            ("HC:99213", "-140", "-90", [("CO", "45", "-30"), ("PR", "2", "-20")]),
            ("HC:36415", "-15", "-10", [("CO", "45", "-5")]),
        ],
    )
    res = cli("remit", "import", rev.write(tmp_path / "takeback.835"))
    assert res.exit_code == 0, res.output  # same trace EFT1001, but a reversal: not a duplicate
    assert balance_of(db, inv) == {"total": 15500, "paid": 0, "adjusted": 0, "balance": 15500}
    assert status_of(db, inv) == "reversed"
    assert db.execute(
        "SELECT credit_debit, amount_cents FROM remit_transactions ORDER BY id"
    ).fetchall() == [("C", 10000), ("D", -10000)]
    assert db.execute("SELECT amount_cents FROM payments ORDER BY id").fetchall() == [
        (10000,),
        (-10000,),
    ]
    assert integrity.run_checks(db) == []
    again = cli("remit", "import", tmp_path / "takeback.835")
    assert again.exit_code == 1


def test_reversal_of_unposted_payment_is_not_posted(cli, db, claims, tmp_path):
    inv, _ = claims
    rev = Remit(trace="EFT3").claim("C000001", "22", "-155", "-100", cas=[("CO", "45", "-55")])
    res = cli("remit", "import", rev.write(tmp_path / "rev.835"))
    assert res.exit_code == 0
    assert "reversal of a payment that was never posted" in res.stderr
    assert balance_of(db, inv)["paid"] == 0 and status_of(db, inv) == "issued"


def test_duplicate_claim_payment_in_a_new_trace_is_not_posted(cli, db, claims, tmp_path):
    inv, _ = claims
    assert cli("remit", "import", paid_remit().write(tmp_path / "a.835")).exit_code == 0
    res = cli("remit", "import", paid_remit(trace="EFT9").write(tmp_path / "b.835"))
    assert res.exit_code == 0
    assert "duplicate: claim C000001" in res.stderr
    assert balance_of(db, inv) == {"total": 15500, "paid": 10000, "adjusted": 5500, "balance": 0}
    assert db.execute(
        "SELECT posted_cents, skipped_cents FROM remit_transactions WHERE trace_number = 'EFT9'"
    ).fetchone() == (0, 10000)


def test_unbalanced_file_refuses_the_whole_call(cli, db, claims, tmp_path):
    good = paid_remit().write(tmp_path / "good.835")
    bad = paid_remit(trace="EFT2")
    bad.bpr_override = "99"
    res = cli("remit", "import", good, bad.write(tmp_path / "bad.835"))
    assert res.exit_code == 2
    assert "bad.835: ST 0001, segment 3: BPR02 payment does not balance" in res.stderr
    assert "expected 100.00 != found 99.00 (1.00 too little)" in res.stderr
    assert (
        _count(db, "remit_files") == 0
        and _count(db, "payments") == 0
        and _count(db, "adjustments") == 0
    )


def test_dry_run_posts_nothing(cli, db, claims, tmp_path):
    res = cli("remit", "import", "--dry-run", paid_remit().write(tmp_path / "a.835"))
    assert res.exit_code == 0 and "would post" in res.stdout
    assert (
        _count(db, "remit_files") == 0
        and _count(db, "payments") == 0
        and _count(db, "audit_log", "action = 'remit import'") == 0
    )


def test_several_files_and_list(cli, db, claims, tmp_path):
    a = paid_remit().write(tmp_path / "a.835")
    b = (
        Remit(trace="CHK55", method="CHK")
        .claim("C000002", "1", "205", "150", cas=[("CO", "45", "55")])
        .write(tmp_path / "b.835")
    )
    res = cli("remit", "import", a, b, "-f", "json")
    assert res.exit_code == 0
    res = cli("remit", "list", "-f", "csv")
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("id,imported_at,file,payer,trace_number")
    assert [ln.split(",")[4] for ln in lines[1:]] == ["CHK55", "EFT1001"]
    only = cli("remit", "list", "--trace", "CHK55", "-f", "json")
    assert '"amount": "150.00"' in only.stdout and "EFT1001" not in only.stdout
    assert cli("remit", "list", "--outcome", "paid").exit_code == 2


def test_help_has_examples(cli):
    for cmd in (["remit", "import"], ["remit", "show"], ["remit", "list"]):
        res = cli(*cmd, "--help", db=False)
        assert res.exit_code == 0 and "Example:" in res.stdout


def test_remittance_invariant_for_billadmin_check(cli, db, claims, tmp_path):
    from billadmin.remit.checks import check_remittances

    r = (
        paid_remit()
        .claim("X-99", "1", "50", "40", cas=[("CO", "45", "10")])
        .provider_adjustment("L6", None, "-2")
    )
    assert cli("remit", "import", r.write(tmp_path / "a.835")).exit_code == 0
    assert check_remittances(db) == []
    db.execute("PRAGMA ignore_check_constraints = 1")
    db.execute("UPDATE remit_transactions SET posted_cents = posted_cents + 1")
    assert [f.rule for f in check_remittances(db)] == ["REMIT-BALANCE", "REMIT-BALANCE"]


def _adjusted(db, inv):
    return db.execute(
        "SELECT group_code, reason_code, amount_cents, source FROM adjustments"
        " WHERE invoice_id = ? ORDER BY id",
        (inv,),
    ).fetchall()


def test_denied_line_stays_open_contractual_lines_reduce(cli, db, claims, tmp_path):
    """99213 paid 90.00 with CO-45 30.00 and PR-2 20.00; 36415 denied CO-97 15.00 (bundled)."""
    inv, _ = claims
    r = Remit().claim(
        "C000001",
        "1",
        "155",
        "90",
        "20",
        lines=[
            ("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")]),
            ("HC:36415", "15", "0", [("CO", "97", "15")], ["M15"]),
        ],
    )
    assert cli("remit", "import", r.write(tmp_path / "p.835")).exit_code == 0
    # 155.00 - 90.00 paid - 30.00 CO-45 - 20.00 PR-2 (to the patient) = 15.00 open (the CO-97 line)
    assert balance_of(db, inv) == {
        "total": 15500,
        "paid": 9000,
        "adjusted": 3000 + 2000,
        "balance": 15500 - 9000 - 3000 - 2000,
    }
    assert status_of(db, inv) == "partially_paid"
    assert _adjusted(db, inv) == [("CO", "45", 3000, "remit"), ("PR", "2", 2000, "transfer")]


def test_sequestration_reduces_prior_payer_and_oa18_do_not(cli, db, claims, tmp_path):
    """CO-253 (2% sequestration) reduces the balance; OA-23 on a later payer's 835 explains
    without posting (the next payer's claim carries the prior payer's impact)."""
    inv, inv2 = claims
    # 205.00: allowed 100.00 (CO-45 105.00), Medicare 80% = 80.00 less 2% = 1.60 CO-253,
    # paid 78.40, PR-2 20.00 coinsurance; 78.40 + 105.00 + 1.60 + 20.00 = 205.00
    r = Remit().claim(
        "C000002",
        "1",
        "205",
        "78.4",
        "20",
        cas=[("CO", "45", "105"), ("CO", "253", "1.6"), ("PR", "2", "20")],
    )
    r.claim("C000001", "2", "155", "40", cas=[("OA", "23", "115")])
    assert cli("remit", "import", r.write(tmp_path / "s.835")).exit_code == 0
    assert balance_of(db, inv2)["balance"] == 20500 - 7840 - 10500 - 160 - 2000 == 0
    assert _adjusted(db, inv2) == [
        ("CO", "45", 10500, "remit"),
        ("CO", "253", 160, "remit"),
        ("PR", "2", 2000, "transfer"),
    ]
    # OA-23 115.00 kept as read (class prior_payer), not posted: 155.00 - 40.00 paid = 115.00
    assert balance_of(db, inv)["balance"] == 15500 - 4000
    assert db.execute(
        "SELECT class, adjustment_id FROM remit_adjustments WHERE reason_code = '23'"
    ).fetchall() == [("prior_payer", None)]


def test_payer_reports_duplicate_oa18_is_not_posted(cli, db, claims, tmp_path):
    inv, _ = claims
    assert cli("remit", "import", paid_remit().write(tmp_path / "a.835")).exit_code == 0
    r = Remit(trace="EFT77").claim(
        "C000001", "4", "155", "0", pcn="KP-9", cas=[("OA", "18", "155")]
    )
    res = cli("remit", "import", r.write(tmp_path / "dup.835"))
    assert res.exit_code == 0, res.output
    assert "duplicate: claim C000001" in res.stderr
    assert balance_of(db, inv) == {"total": 15500, "paid": 10000, "adjusted": 5500, "balance": 0}
    assert status_of(db, inv) == "paid"  # not 'denied': nothing to appeal


def test_duplicate_claim_inside_one_transaction_is_posted_once(cli, db, claims, tmp_path):
    inv, _ = claims
    r = paid_remit()
    r.claims.append(list(r.claims[0]))  # the same CLP (CLP01, CLP02, CLP07, amounts) again
    r.paid_total += 10000
    res = cli("remit", "import", r.write(tmp_path / "twice.835"))
    assert res.exit_code == 0, res.output
    assert "duplicate: claim C000001" in res.stderr
    # posted once: 155.00 - 100.00 - 35.00 CO-45 - 20.00 PR-2 = 0.00, not -155.00 + 155.00 ...
    assert balance_of(db, inv) == {"total": 15500, "paid": 10000, "adjusted": 5500, "balance": 0}
    assert db.execute("SELECT posted_cents, skipped_cents FROM remit_transactions").fetchone() == (
        10000,
        10000,
    )


def test_split_claim_ma15_posts_both_parts(cli, db, claims, tmp_path):
    inv, _ = claims
    r = (
        Remit()
        .claim(
            "C000001",
            "1",
            "140",
            "90",
            "20",
            pcn="KP-1A",
            lines=[("HC:99213", "140", "90", [("CO", "45", "30"), ("PR", "2", "20")], ["MA15"])],
        )
        .claim(
            "C000001",
            "1",
            "15",
            "10",
            pcn="KP-1B",
            lines=[("HC:36415", "15", "10", [("CO", "45", "5")], ["MA15"])],
        )
    )
    assert cli("remit", "import", r.write(tmp_path / "split.835")).exit_code == 0
    # 155.00 - (90.00 + 10.00) paid - (30.00 + 5.00) CO-45 - 20.00 PR-2 = 0.00
    assert balance_of(db, inv) == {
        "total": 15500,
        "paid": 9000 + 1000,
        "adjusted": 3000 + 500 + 2000,
        "balance": 0,
    }
    assert status_of(db, inv) == "paid"


def test_medicare_ma130_is_unprocessable_not_denied(cli, db, claims, tmp_path):
    inv, _ = claims
    with dbmod.write(db):
        db.execute("UPDATE payers SET kind = 'medicare' WHERE code = 'KEY'")
    r = Remit().claim(
        "C000001",
        "4",
        "155",
        "0",
        lines=[
            ("HC:99213", "140", "0", [("CO", "16", "140")], ["MA130"]),
            ("HC:36415", "15", "0", [("CO", "16", "15")]),
        ],
    )
    res = cli("remit", "import", r.write(tmp_path / "u.835"))
    assert res.exit_code == 0, res.output
    assert status_of(db, inv) == "unprocessable"
    assert balance_of(db, inv)["balance"] == 15500  # 155.00 stays open, nothing posted
    import datetime as dt

    from billadmin.accounts import denials

    wl = denials.worklist(db, as_of=dt.date(2026, 3, 20))
    assert [(w["invoice"], w["at_stake_cents"]) for w in wl] == [("C000001", 15500)]
    assert wl[0]["next_step"].startswith("resubmit as a new claim, do not appeal")


def test_payer_override_makes_co97_contractual(cli, db, claims, tmp_path):
    inv, _ = claims
    res = cli("payer", "carc-rule", "KEY", "CO-97", "contractual")
    assert res.exit_code == 0, res.output
    listed = cli("payer", "carc-rules", "KEY", "-f", "csv")
    assert "CO,97,contractual" in listed.stdout.replace('"', "")
    assert cli("payer", "carc-rule", "KEY", "XX-97", "contractual").exit_code == 2
    assert cli("payer", "carc-rule", "KEY", "CO-97", "maybe").exit_code == 2
    r = Remit().claim(
        "C000001",
        "1",
        "155",
        "140",
        lines=[
            ("HC:99213", "140", "140", []),
            ("HC:36415", "15", "0", [("CO", "97", "15")]),
        ],
    )
    assert cli("remit", "import", r.write(tmp_path / "o.835")).exit_code == 0
    # under this payer's contract CO-97 is agreed bundling: 155.00 - 140.00 - 15.00 = 0.00
    assert balance_of(db, inv)["balance"] == 15500 - 14000 - 1500 == 0
    assert status_of(db, inv) == "paid"


def test_writeoff_and_transfer_of_denied_amounts(cli, db, claims, tmp_path):
    """C000002 denied CO-50 205.00 (no ABN), C000001 denied CO-27 155.00 (coverage ended)."""
    import datetime as dt

    from billadmin.accounts import denials

    inv1, inv2 = claims
    r = (
        Remit()
        .claim("C000002", "4", "205", "0", cas=[("CO", "50", "205")])
        .claim("C000001", "4", "155", "0", cas=[("CO", "27", "155")])
    )
    assert cli("remit", "import", r.write(tmp_path / "d.835")).exit_code == 0
    before = _count(db, "adjustments"), _count(db, "audit_log")
    bad = cli("invoice", "writeoff", "C000002", "205.01", "--reason", "denial-writeoff")
    assert bad.exit_code == 2 and "C000002" in bad.stderr and "0.01 too much" in bad.stderr
    nope = cli("invoice", "to-patient", "C000002", "205.00")  # CO-50 without GA: provider's
    assert nope.exit_code == 2 and "C000002" in nope.stderr and "GA" in nope.stderr
    assert cli("invoice", "writeoff", "C000002", "1.00", "--reason", "whim").exit_code == 2
    assert (_count(db, "adjustments"), _count(db, "audit_log")) == before  # nothing written

    ok = cli(
        "invoice", "writeoff", "C000002", "200.00", "--reason", "denial-writeoff", "-f", "json"
    )
    assert ok.exit_code == 0, ok.output
    assert balance_of(db, inv2)["balance"] == 20500 - 20000
    wl = {
        w["invoice"]: w["at_stake_cents"] for w in denials.worklist(db, as_of=dt.date(2026, 4, 1))
    }
    assert wl["C000002"] == 20500 - 20000  # at stake: the denial, at most what is still open
    last = cli(
        "invoice", "writeoff", "C000002", "5.00", "--reason", "denial-writeoff", "-f", "json"
    )
    entry = __import__("json").loads(last.stdout)["entry"]
    assert balance_of(db, inv2)["balance"] == 0 and status_of(db, inv2) == "written_off"
    assert "C000002" not in {w["invoice"] for w in denials.worklist(db, as_of=dt.date(2026, 4, 1))}
    again = cli("invoice", "writeoff", "C000002", "0.01", "--reason", "courtesy")
    assert again.exit_code == 2 and "C000002" in again.stderr  # nothing open
    undo = cli("invoice", "writeoff-undo", "C000002", str(entry))
    assert undo.exit_code == 0, undo.output
    assert balance_of(db, inv2)["balance"] == 500 and status_of(db, inv2) == "denied"
    assert cli("invoice", "writeoff-undo", "C000002", str(entry)).exit_code == 2  # once
    # the undo is an opposite entry: 200.00 + 5.00 - 5.00 written off
    assert db.execute(
        "SELECT amount_cents FROM adjustments WHERE invoice_id = ? ORDER BY id", (inv2,)
    ).fetchall() == [(20000,), (500,), (-500,)]

    moved = cli("invoice", "to-patient", "C000001", "155.00")
    assert moved.exit_code == 0, moved.output
    assert _adjusted(db, inv1) == [("PR", "27", 15500, "transfer")]
    assert balance_of(db, inv1)["balance"] == 0 and status_of(db, inv1) == "closed"
    assert integrity.run_checks(db) == []

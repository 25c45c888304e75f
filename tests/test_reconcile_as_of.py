"""`reconcile remits --as-of D`: every claim-side figure (paid, unpaid, underpaid, denied) from
the ledger's dated events up to D, so last month's run reruns to the same numbers after more is
posted; and a secondary's OA-23 (the prior payer's impact) explained, not an underpayment.

Expected numbers are worked by hand in the comments."""

from __future__ import annotations

import json

import pytest
from test_remit_support import Remit, issue_claim

from billadmin import db as dbmod

D = "2026-03-31"


def _fee(db, rows):
    with dbmod.write(db):
        db.conn.executemany(
            "INSERT INTO fee_schedule (payer_id, code, modifier, amount_cents, effective_from)"
            " VALUES (NULL, ?, '', ?, '2026-01-01')",
            rows,
        )


@pytest.fixture
def march(db, cli, tmp_path):
    issue_claim(db, "C000001", [("99213", "", "140.00")], issued_on="2026-01-05")  # unpaid 85 d
    issue_claim(db, "C000002", [("99214", "", "205.00")], issued_on="2026-02-01")  # unpaid 58 d
    issue_claim(db, "C000003", [("99213", "", "140.00")], issued_on="2026-02-10")  # denied 03-14
    issue_claim(db, "C000004", [("99213", "", "140.00")], issued_on="2026-02-10")  # paid 100.00
    issue_claim(db, "C000005", [("99213", "", "140.00")], issued_on="2026-02-10")  # paid 80.00
    _fee(db, [("99213", 10000), ("99214", 15000)])
    eft1 = (
        Remit(trace="EFT1", date="20260314")
        .claim("C000003", "1", "140", "0", cas=[("CO", "197", "140")])
        .claim("C000004", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])])
        .claim("C000005", "1", "140", "80", lines=[("HC:99213", "140", "80", [("CO", "45", "60")])])
    )  # fmt: skip
    assert cli("remit", "import", eft1.write(tmp_path / "eft1.835")).exit_code == 0


def _run(cli, *extra):
    res = cli("reconcile", "remits", *extra, "-f", "json")
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def _figures(doc):
    return (
        [(r["category"], r["payer"], r["count"], r["amount"], r["difference"]) for r in doc["summary"]],
        [(r["category"], r["claim_number"], r["difference"], r["note"]) for r in doc["rows"]],
    )  # fmt: skip


def test_a_past_as_of_reruns_to_the_same_numbers(cli, db, march, tmp_path):
    before = _run(cli, "--as-of", D)
    s = {r["category"]: r for r in before["summary"] if not r["payer"]}
    # paid: C000004 100.00 + C000005 80.00; unpaid: C000001 140.00 + C000002 205.00 (issued
    # more than 30 days before 03-31, no answer); underpaid: C000005 allowed 80.00 < fee 100.00;
    # denied: C000003 (CO-197)
    assert (s["paid"]["count"], s["paid"]["amount"]) == (2, "180.00")
    assert (s["unpaid"]["count"], s["unpaid"]["difference"]) == (2, "-345.00")
    assert (s["underpaid"]["count"], s["underpaid"]["difference"]) == (1, "-20.00")
    assert [r["claim_number"] for r in before["rows"] if r["category"] == "denied"] == ["C000003"]
    # April: C000001 paid in full, C000005's payment reversed and paid again at the fee,
    # C000003 paid on appeal, C000002 written off; all dated after 03-31
    eft2 = (
        Remit(trace="EFT2", date="20260410")
        .claim("C000001", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])])
        .claim("C000005", "22", "-140", "-80", lines=[("HC:99213", "-140", "-80", [("CO", "45", "-60")])])
        .claim("C000005", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])])
        .claim("C000003", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])])
    )  # fmt: skip
    res = cli("remit", "import", eft2.write(tmp_path / "eft2.835"))
    assert res.exit_code == 0, res.output
    res = cli(
        "invoice", "writeoff", "C000002", "205.00", "--reason", "courtesy", "--date", "2026-04-15"
    )
    assert res.exit_code == 0, res.output
    after = _run(cli, "--as-of", D)
    assert _figures(after) == _figures(before)
    # ... and as of the end of April every figure moved
    now = _run(cli, "--as-of", "2026-04-30")
    s = {r["category"]: r for r in now["summary"] if not r["payer"]}
    # paid: 100 (C4) + 100 (C1) + 100 (C5 again) + 100 (C3); nothing unpaid, underpaid, denied
    assert (s["paid"]["count"], s["paid"]["amount"]) == (4, "400.00")
    assert (s["unpaid"]["count"], s["underpaid"]["count"], s["denied"]["count"]) == (0, 0, 0)


def test_payments_and_adjustments_after_the_day_leave_the_balance_open(cli, db, march):
    """An unpaid claim stays unpaid as of D with its whole balance when it is written off later."""
    assert (
        cli(
            "invoice",
            "writeoff",
            "C000001",
            "40.00",
            "--reason",
            "courtesy",
            "--date",
            "2026-04-02",
        ).exit_code
        == 0
    )
    rows = _run(cli, "--as-of", D)["rows"]
    assert [(r["claim_number"], r["difference"]) for r in rows if r["category"] == "unpaid"] == [
        ("C000001", "-140.00"),
        ("C000002", "-205.00"),
    ]
    rows = _run(cli, "--as-of", "2026-04-02")["rows"]
    assert [(r["claim_number"], r["difference"]) for r in rows if r["category"] == "unpaid"] == [
        ("C000001", "-100.00"),
        ("C000002", "-205.00"),
    ]


def test_a_secondarys_oa23_is_an_explained_reduction(cli, db, tmp_path):
    issue_claim(db, "C000010", [("99213", "", "140.00")], issued_on="2026-03-01")
    issue_claim(db, "C000011", [("99213", "", "140.00")], issued_on="2026-03-01")
    issue_claim(db, "C000012", [("99213", "", "140.00")], issued_on="2026-03-01")
    _fee(db, [("99213", 10000)])
    r = (
        Remit(trace="SEC1", date="20260320")
        # the primary allowed 100.00 and paid 80.00: the secondary pays the 20.00 left; OA-23
        # 80.00 on the line (allowed 20 + 80 = 100 = fee: not underpaid)
        .claim("C000010", "1", "140", "20", lines=[("HC:99213", "140", "20", [("OA", "23", "80"), ("CO", "45", "40")])])
        # the same without the OA-23 (CO-45 120.00): allowed 20.00, underpaid by 80.00
        .claim("C000011", "1", "140", "20", lines=[("HC:99213", "140", "20", [("CO", "45", "120")])])
        # OA-23 of 50.00 only: allowed 20 + 50 = 70.00, still 30.00 short of the fee
        .claim("C000012", "1", "140", "20", lines=[("HC:99213", "140", "20", [("OA", "23", "50"), ("CO", "45", "70")])])
    )  # fmt: skip
    res = cli("remit", "import", r.write(tmp_path / "sec.835"))
    assert res.exit_code == 0, res.output
    rows = _run(cli, "--as-of", D)["rows"]
    under = [
        (x["claim_number"], x["amount"], x["difference"], x["note"])
        for x in rows
        if x["category"] == "underpaid"
    ]
    assert under == [
        ("C000011", "20.00", "-80.00", "allowed (paid + patient share) below the fee schedule"),
        (
            "C000012",
            "70.00",
            "-30.00",
            "allowed (paid + patient share + prior payer, OA-23) below the fee schedule",
        ),
    ]


def test_claim_level_oa23_without_lines(cli, db, tmp_path):
    issue_claim(db, "C000020", [("99213", "", "140.00")], issued_on="2026-03-01")
    _fee(db, [("99213", 10000)])
    r = Remit(trace="SEC2", date="20260320").claim(
        "C000020", "1", "140", "20", cas=[("OA", "23", "80"), ("CO", "45", "40")]
    )  # paid 20 + OA-23 80 = 100 = the fee
    assert cli("remit", "import", r.write(tmp_path / "sec2.835")).exit_code == 0
    rows = _run(cli, "--as-of", D)["rows"]
    assert not [x for x in rows if x["category"] == "underpaid"]


def test_a_denied_claim_replaced_by_then_is_not_denied(cli, db, march):
    """C000003, denied on 03-14, replaced by a corrected claim issued 04-05: denied as of 03-31,
    not as of 04-30 (the corrected claim's issue date counts, whenever it was recorded)."""
    from billadmin import audit

    old, patient, payer = db.execute(
        "SELECT id, patient_id, payer_id FROM invoices WHERE number = 'C000003'"
    ).fetchone()
    with dbmod.write(db):  # fixture: the corrected claim (frequency 7) and the 'replaced' event
        db.execute(
            "INSERT INTO invoices (number, kind, patient_id, payer_id, original_invoice_id,"
            " frequency_code, issued_on, total_cents, copay_cents, content_hash, created_at)"
            " VALUES ('C000009', 'claim', ?, ?, ?, '7', '2026-04-05', 14000, 0, 'x', ?)",
            (patient, payer, old, audit.utcnow()),
        )
        db.execute(
            "INSERT INTO invoice_events (invoice_id, status, at) VALUES (?, 'replaced', ?)",
            (old, audit.utcnow()),
        )

    def denied(day):
        rows = _run(cli, "--as-of", day)["rows"]
        return [r["claim_number"] for r in rows if r["category"] == "denied"]

    assert denied(D) == ["C000003"]
    assert denied("2026-04-30") == []

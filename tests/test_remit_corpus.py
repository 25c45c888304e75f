"""Every 835 in ../shared/data/x12/835 parses, balances and shows its payments; importing one
keeps claims we never issued as unmatched (none of them are ours)."""

from __future__ import annotations

import json

import pytest

from billadmin.remit import balance, parse

pytestmark = pytest.mark.corpus

# file -> (BPR02 in cents, claims, sum of CLP04, PLB total): read off the files by hand
EXPECTED = {
    "dollars-and-data-sent-separate.edi": (94500, 2, 94500, 0),
    "dollars-and-data-sent-together.edi": (15000000, 2, 14999873, -127),
    "era-sample.edi": (13200, 1, 13200, 0),
    "multiple-claims-single-check.edi": (81080, 9, 81080, 0),
    "secondary-payment-with-higher-fee-schedule.edi": (3400, 1, 3400, 0),
    "secondary-payments.edi": (122200, 2, 122200, 0),
    "tertiary-payments.edi": (18750, 1, 18750, 0),
}


def _files(corpus):
    files = sorted((corpus / "x12" / "835").glob("*.edi"))
    assert {f.name for f in files} == set(EXPECTED), "the corpus changed: update EXPECTED"
    return files


def test_every_file_parses_and_balances(corpus):
    for f in _files(corpus):
        rf = parse.parse_file(f)
        assert rf.errors == [], (f.name, [str(i) for i in rf.errors])
        assert [d for d in balance.check_file(rf) if d.severity == "error"] == [], f.name
        (tx,) = rf.transactions
        amount, claims, paid, plb = EXPECTED[f.name]
        assert (tx.amount_cents, len(tx.claims), tx.claims_paid_cents, tx.plb_cents) == (
            amount,
            claims,
            paid,
            plb,
        ), f.name


def test_corpus_details(corpus):
    d = corpus / "x12" / "835"
    sec = parse.parse_file(d / "secondary-payments.edi").transactions[0].claims[1]
    assert sec.status_code == "2" and sec.patient_resp_cents == 22000
    ln = sec.lines[1]
    assert (ln.code, ln.modifiers, ln.units) == ("66543", ["26"], "1")
    assert [(a.group, a.reason, a.amount_cents) for a in ln.adjustments] == [
        ("PR", "1", 15000),
        ("PR", "2", 7000),
        ("CO", "42", 8500),
    ]
    neg = (
        parse.parse_file(d / "secondary-payment-with-higher-fee-schedule.edi")
        .transactions[0]
        .claims[0]
    )
    assert [(a.group, a.reason, a.amount_cents) for a in neg.lines[0].adjustments] == [
        ("OA", "23", 51600),
        ("OA", "94", -900),
    ]
    sep = parse.parse_file(d / "dollars-and-data-sent-separate.edi").transactions[0].claims[0]
    assert (
        [a.reason for a in sep.adjustments] == ["A2"]
        and sep.lines[0].paid_cents == 50000
        and sep.paid_cents == 45000
    )
    tog = parse.parse_file(d / "dollars-and-data-sent-together.edi").transactions[0]
    assert tog.claims[1].remarks == ["MA02"]
    assert [(p.reason, p.reference) for p in tog.plb] == [("CV", "CP")]


def test_show_prints_every_payment(corpus, cli):
    for f in _files(corpus):
        res = cli("remit", "show", f, "--format", "json", db=False)
        assert res.exit_code == 0, (f.name, res.output)
        doc = json.loads(res.stdout)
        tx = doc["transactions"][0]
        amount, claims, _, _ = EXPECTED[f.name]
        assert tx["amount"] == f"{amount // 100}.{amount % 100:02d}"
        assert len(tx["claims"]) == claims and tx["balance"] == "ok"
        table = cli("remit", "show", f, db=False)
        assert table.exit_code == 0 and tx["trace_number"] in table.stdout


def test_import_keeps_foreign_claims_unmatched(corpus, cli, db):
    f = corpus / "x12" / "835" / "multiple-claims-single-check.edi"
    res = cli("remit", "import", f)
    assert res.exit_code == 0, res.output
    rows = db.execute(
        "SELECT outcome, COUNT(*), SUM(paid_cents) FROM remit_claims GROUP BY outcome"
    ).fetchall()
    assert rows == [("unmatched", 9, 81080)]
    assert db.execute(
        "SELECT posted_cents, unmatched_cents FROM remit_transactions"
    ).fetchone() == (0, 81080)
    assert db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == 0
    assert (
        db.execute("SELECT COUNT(*) FROM remit_lines").fetchone()[0] == 33
    )  # SVC segments in the file
    again = cli("remit", "import", f)
    assert again.exit_code == 1 and "already posted" in again.stderr.lower()

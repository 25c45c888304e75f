"""Account view (audited PHI read), notes, payer rules."""

import json

import ledger_fixtures as lf
import pytest

from billadmin import audit
from billadmin import db as dbmod


@pytest.fixture
def acct(db):
    """Patient 0000101 (MCR primary, SUM secondary ended): encounter 2026-09-10 billed to MCR as
    C1 200.00 (paid 120.00, CO-45 50.00, PR-2 30.00 transferred), patient invoice P1 30.00,
    a 10.00 patient payment on P1, a 25.00 co-pay held as credit; an unbilled encounter."""
    with dbmod.write(db):
        lf.practice(db)
        pid = lf.patient(db, "0000101", "Rosa", "Keller", "1948-02-03")
        lf.coverage(db, pid, "MCR", "2013-02-01", copay=0, member="1EG4TE5MK72")
        lf.coverage(db, pid, "KEY", "2013-02-01", "2025-12-31", priority=2)
        eid, _ = lf.encounter(db, pid, "2026-09-10", [("99214", 15000), ("93000", 5000)])
        c1 = lf.claim(db, eid, "MCR", "2026-09-11")
        lf.remit(
            db, c1, "2026-10-01", paid=12000, adjustments=[("CO", "45", 5000), ("PR", "2", 3000)]
        )
        p1 = lf.patient_invoice(
            db, pid, "2026-10-02", [("2026-09-10", "99214", 3000)], encounter_id=eid, carries=c1
        )
        lf.encounter(db, pid, "2026-11-02", [("99213", 14000)])
    return {"pid": pid, "c1": c1, "p1": p1}


def test_account_show_json_sections_and_balances(cli, acct, db):
    assert (
        cli(
            "payment", "post", "0000101", "10.00", "--method", "cash", "--date", "2026-10-10"
        ).exit_code
        == 0
    )
    assert (
        cli(
            "checkin", "0000101", "--date", "2026-11-02", "--collect", "25", "--method", "card"
        ).exit_code
        == 0
    )
    assert cli("note", "add", "0000101", "Called: will pay the rest on the 15th").exit_code == 0
    r = cli("account", "show", "0000101", "--as-of", "2026-11-26", "-f", "json")
    assert r.exit_code == 0, r.stderr
    a = json.loads(r.stdout)
    s = a["summary"]
    # insurance: C1 200 - 120 paid - 80 adjusted = 0; patient: P1 30 - 10 = 20; credit 25 (co-pay)
    assert (
        s["insurance_balance"],
        s["patient_balance"],
        s["credit"],
        s["patient_owes"],
        s["account_balance"],
    ) == ("0.00", "20.00", "25.00", "-5.00", "-5.00")
    assert [c["status"] for c in a["coverages"]] == ["active", "ended"]
    assert [(e["date_of_service"], e["billing"], e["charges"]) for e in a["encounters"]] == [
        ("2026-11-02", "unbilled", "140.00"),
        ("2026-09-10", "billed", "200.00"),
    ]
    inv = {i["invoice"]: i for i in a["invoices"]}
    c1 = db.execute("SELECT number FROM invoices WHERE id = ?", (acct["c1"],)).fetchone()[0]
    assert (
        inv[c1]["paid"] == "120.00"
        and inv[c1]["adjusted"] == "80.00"
        and inv[c1]["status"] == "paid"
    )
    assert {p["kind"]: p["amount"] for p in a["payments"]} == {
        "copay": "25.00",
        "patient": "10.00",
        "insurance": "120.00",
    }
    adj = sorted((x["group"], x["carc"], x["amount"]) for x in a["adjustments"])
    assert adj == [("CO", "45", "50.00"), ("PR", "2", "30.00")]
    assert a["notes"][0]["text"].startswith("Called")


def test_account_show_is_audited_without_phi(cli, acct, db):
    r = cli("account", "show", "0000101")
    assert r.exit_code == 0, r.stderr
    assert "Keller" in r.stdout and "Summary" in r.stdout and "Invoices" in r.stdout
    row = db.execute(
        "SELECT action, entity, entity_ids, detail FROM audit_log WHERE action = 'account show'"
    ).fetchone()
    assert (
        row[1] == "patient"
        and row[2] == str(acct["pid"])
        and "Keller" not in row[3]
        and "0000101" not in row[3]
    )
    assert audit.verify(db) == []


def test_account_show_csv_and_xlsx(cli, acct, tmp_path):
    r = cli("account", "show", "0000101", "-f", "csv")
    assert r.exit_code == 0 and "# summary\n" in r.stdout and "# invoices\n" in r.stdout
    p = tmp_path / "acct.xlsx"
    r = cli("account", "show", "0000101", "-f", "xlsx", "-o", p)
    assert r.exit_code == 0, r.stderr
    from openpyxl import load_workbook

    wb = load_workbook(p)
    assert wb.sheetnames == [
        "Summary",
        "Coverages",
        "Encounters",
        "Invoices",
        "Payments",
        "Adjustments",
        "Notes",
    ]


def test_account_unknown_mrn(cli, acct, db):
    r = cli("account", "show", "7777777")
    assert r.exit_code == 2 and "7777777" not in r.stderr
    assert (
        db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'account show'").fetchone()[0]
        == 0
    )


def test_notes_on_patient_and_invoice(cli, acct, db):
    c1 = db.execute("SELECT number FROM invoices WHERE id = ?", (acct["c1"],)).fetchone()[0]
    assert cli("note", "add", c1, "Payer rep says resubmit with modifier 25").exit_code == 0
    assert cli("note", "add", "0000101", "Statement mailed").exit_code == 0
    r = cli("note", "list", c1, "-f", "json")
    rows = json.loads(r.stdout)
    assert [x["text"] for x in rows] == ["Payer rep says resubmit with modifier 25"] and rows[0][
        "invoice"
    ] == c1
    r = cli("note", "list", "0000101", "-f", "json")
    assert len(json.loads(r.stdout)) == 2
    assert cli("note", "add", "0000101", "   ").exit_code == 2
    r = cli("note", "add", "nobody", "x")
    assert r.exit_code == 2 and "no patient with that MRN and no invoice" in r.stderr
    # the note text never reaches the audit log
    assert not db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%modifier 25%'"
    ).fetchone()[0]


def test_note_target_both_mrn_and_invoice(cli, acct, db):
    c1 = db.execute("SELECT number FROM invoices WHERE id = ?", (acct["c1"],)).fetchone()[0]
    with dbmod.write(db):
        lf.patient(db, c1)
    r = cli("note", "add", c1, "which one?")
    assert r.exit_code == 2 and "--invoice or --patient" in r.stderr
    assert cli("note", "add", c1, "the claim", "--invoice").exit_code == 0
    assert cli("note", "add", c1, "the person", "--patient").exit_code == 0
    assert (
        db.execute("SELECT COUNT(*) FROM account_notes WHERE invoice_id IS NULL").fetchone()[0] == 1
    )


def test_payer_rules_defaults_and_set(cli, acct, db):
    r = cli("payer", "list", "-f", "json")
    rules = {x["payer"]: x for x in json.loads(r.stdout)}
    assert rules["MCR"]["timely_filing"] == "12 months from DOS"
    assert (
        rules["KEY"]["timely_filing"] == "180 days from DOS" and rules["KEY"]["appeal_days"] == 120
    )
    assert rules["SELF"]["timely_filing"] == "none"
    r = cli(
        "payer",
        "set",
        "KEY",
        "--timely-filing-months",
        "6",
        "--appeal-days",
        "180",
        "--corrected-claim-days",
        "60",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["timely_filing"] == "6 months from DOS" and out["appeal_days"] == 180
    assert out["corrected_claim"] == "60 days from remittance"
    assert db.execute(
        "SELECT timely_filing_days, timely_filing_months FROM payers WHERE code='KEY'"
    ).fetchone() == (None, 6)
    assert (
        db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'payer set'").fetchone()[0] == 1
    )
    with dbmod.write(db):
        db.execute(
            "UPDATE payers SET timely_filing_days = NULL, timely_filing_months = NULL WHERE code = 'BVH'"
        )
    rules = {x["payer"]: x for x in json.loads(cli("payer", "list", "-f", "json").stdout)}
    assert rules["BVH"]["timely_filing"] == "90 days from DOS (default)"


@pytest.mark.parametrize(
    "args,msg",
    [
        (["KEY"], "nothing to set"),
        (["KEY", "--timely-filing-days", "0"], "between 1 and 3650"),
        (["KEY", "--timely-filing-days", "90", "--timely-filing-months", "3"], "not both"),
        (["NOPE", "--appeal-days", "90"], "no payer 'NOPE'"),
    ],
)
def test_payer_set_refusals(cli, acct, args, msg):
    r = cli("payer", "set", *args)
    assert r.exit_code == 2 and msg in r.stderr, r.stderr


def test_deadline_arithmetic():
    import datetime as dt

    from billadmin.accounts import rules

    mcr = rules.from_row(
        {
            "id": 1,
            "code": "MCR",
            "name": "M",
            "kind": "medicare",
            "timely_filing_days": None,
            "timely_filing_months": None,
            "appeal_days": 120,
            "corrected_claim_days": None,
        }
    )
    assert mcr.filing_deadline(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    assert mcr.appeal_deadline(dt.date(2026, 10, 1)) == dt.date(2027, 1, 29)
    assert mcr.corrected_deadline(dt.date(2026, 3, 15), dt.date(2026, 5, 1)) == dt.date(2027, 3, 15)
    key = rules.from_row(
        {
            "id": 2,
            "code": "KEY",
            "name": "K",
            "kind": "commercial",
            "timely_filing_days": 90,
            "timely_filing_months": None,
            "appeal_days": 60,
            "corrected_claim_days": 30,
        }
    )
    assert key.filing_deadline(dt.date(2026, 1, 1)) == dt.date(2026, 4, 1)
    assert key.corrected_deadline(dt.date(2026, 1, 1), dt.date(2026, 3, 1)) == dt.date(2026, 3, 31)

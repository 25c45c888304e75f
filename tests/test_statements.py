"""Statement runs (issue 19): who gets a statement, its balance, aging and dunning step (numbers
by hand from the billing rules), the text read back from the PDF, idempotence, credits, holds."""

from __future__ import annotations

import csv
import json

import ledger_fixtures as lf
import pytest

from billadmin import db as dbmod
from billadmin import money


def _pay(cli, mrn, amount, on, *extra):
    r = cli("payment", "post", mrn, amount, "--method", "check", "--date", on, *extra)
    assert r.exit_code == 0, r.stderr
    return r


@pytest.fixture
def book(db, cli):
    """A: P 100.00 issued 08-01 (20.00 paid 08-20) and P 50.00 issued 10-15.
    B: P 3.00 issued 11-20 (under the 5.00 minimum). C: P 40.00 paid with 65.00 (25.00 credit).
    D: P 200.00 issued 11-01, on hold. E: claim 100.00 paid 80.00, PR-2 20.00 posted 10-20 and
    not invoiced yet (pending patient responsibility)."""
    with dbmod.write(db):
        lf.practice(db)
        ids = {m: lf.patient(db, m) for m in ("0000201", "0000202", "0000203", "0000204")}
        ids["0000205"] = lf.patient(db, "0000205")
        lf.patient_invoice(db, ids["0000201"], "2026-08-01", [("2026-07-30", "99213", 10000)])
        lf.patient_invoice(db, ids["0000201"], "2026-10-15", [("2026-10-10", "99212", 5000)])
        lf.patient_invoice(db, ids["0000202"], "2026-11-20", [("2026-11-18", "A4550", 300)])
        lf.patient_invoice(db, ids["0000203"], "2026-09-20", [("2026-09-18", "99213", 4000)])
        lf.patient_invoice(db, ids["0000204"], "2026-11-01", [("2026-10-30", "99214", 20000)])
        lf.coverage(db, ids["0000205"], "KEY")
        eid, _ = lf.encounter(db, ids["0000205"], "2026-09-28", [("99213", 10000)])
        claim = lf.claim(db, eid, "KEY", "2026-10-01")
        lf.remit(db, claim, "2026-10-20", paid=8000, adjustments=[("PR", "2", 2000)])
    _pay(cli, "0000201", "20.00", "2026-08-20")
    _pay(cli, "0000203", "65.00", "2026-09-25", "--credit")
    r = cli(
        "statement", "hold", "0000204", "--reason", "disputes the visit", "--date", "2026-11-25"
    )
    assert r.exit_code == 0, r.stderr
    return ids


def _run(cli, tmp_path, on, *extra):
    r = cli("statement", "run", "--date", on, "--out", tmp_path / on, "-f", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return {s["mrn"]: s for s in json.loads(r.stdout)}, r


def test_run_states_who_owes_with_step_and_aging(cli, book, db, tmp_path):
    got, r = _run(cli, tmp_path, "2026-12-01")
    # B is under the minimum, C has a credit, D is on hold
    assert sorted(got) == ["0000201", "0000205"]
    assert "skipped: 1 credit, 1 hold, 1 under minimum" in r.stderr
    a, e = got["0000201"], got["0000205"]
    # A: 100.00 - 20.00 = 80.00 open from 08-01 (122 days: final), 50.00 from 10-15 (47 days)
    assert (a["balance"], a["amount_due"], a["step"], a["oldest_days"]) == (
        "130.00",
        "130.00",
        "final",
        122,
    )
    # E: the 20.00 PR-2 posted 10-20 is owed though not invoiced yet (42 days: 30)
    assert (e["balance"], e["step"], e["oldest_days"]) == ("20.00", "30", 42)
    content = json.loads(
        db.execute(
            "SELECT content FROM statements s JOIN patients p ON p.id = s.patient_id"
            " WHERE p.mrn = '0000201'"
        ).fetchone()[0]
    )
    aging = {x["bucket"]: x["amount_cents"] for x in content["aging"]}
    assert aging == {"current": 0, "30-59": 5000, "60-89": 0, "90-119": 0, "120+": 8000}
    assert [(i["date"], i["open_cents"]) for i in content["items"]] == [
        ("2026-08-01", 8000),
        ("2026-10-15", 5000),
    ]
    # the first statement shows every payment so far
    assert [(x["date"], x["amount_cents"]) for x in content["activity"]] == [("2026-08-20", -2000)]


def test_balance_agrees_with_account_show_and_checkin(cli, book, tmp_path):
    got, _ = _run(cli, tmp_path, "2026-12-01")
    for mrn in ("0000201", "0000205"):
        r = cli("account", "show", mrn, "-f", "json")
        assert json.loads(r.stdout)["summary"]["patient_owes"] == got[mrn]["balance"]
        r = cli("checkin", mrn, "--date", "2026-12-01", "-f", "json")
        row = json.loads(r.stdout)
        owes = money.parse_cents(row["patient_balance"]) - money.parse_cents(row["credit"])
        assert money.fmt(owes) == got[mrn]["balance"]


def test_statement_pdf_text(cli, book, tmp_path):
    from pypdf import PdfReader

    got, _ = _run(cli, tmp_path, "2026-12-01")
    path = tmp_path / "2026-12-01" / got["0000201"]["file"]
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    assert "FINAL NOTICE" in text and "sent to a collection agency" in text
    assert "$130.00" in text and "0000201" in text and got["0000201"]["statement"] in text
    assert "Please detach and return this part with your payment" in text
    assert "Amount enclosed" in text and "12/31/2026" in text  # pay by: 30 days after
    assert "80.00" in text and "50.00" in text  # the open items, and the 120+ / 30-59 aging
    e = tmp_path / "2026-12-01" / got["0000205"]["file"]
    etext = PdfReader(e).pages[0].extract_text()
    assert "past due" in etext and "to be invoiced" in etext and "$20.00" in etext


def test_mail_house_list(cli, book, tmp_path):
    got, _ = _run(cli, tmp_path, "2026-12-01")
    with open(tmp_path / "2026-12-01" / "mail-house-2026-12-01.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["account"], r["step"], r["amount_due"]) for r in rows] == [
        ("0000201", "final", "130.00"),
        ("0000205", "30", "20.00"),
    ]
    assert rows[0]["address1"] == "5 Oak St" and rows[0]["file"].endswith(".pdf")
    assert (tmp_path / "2026-12-01" / "mail-house-2026-12-01.csv").stat().st_mode & 0o077 == 0


def test_next_run_shows_activity_since_and_rerun_is_idempotent(cli, book, db, tmp_path):
    _run(cli, tmp_path, "2026-12-01")
    _pay(cli, "0000201", "30.00", "2026-12-10")  # oldest first: 80.00 -> 50.00 on the 08-01 one
    got, _ = _run(cli, tmp_path, "2027-01-02")
    a = got["0000201"]
    assert (a["balance"], a["step"]) == ("100.00", "final")
    c = json.loads(
        db.execute("SELECT content FROM statements WHERE stated_on = '2027-01-02'").fetchone()[0]
    )
    assert c["since_on"] == "2026-12-01"
    assert [(x["date"], x["amount_cents"]) for x in c["activity"]] == [("2026-12-10", -3000)]
    n = db.execute("SELECT COUNT(*) FROM statements").fetchone()[0]
    again, r = _run(cli, tmp_path, "2027-01-02")
    assert again == got and "already run" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == n
    # a run dated before the latest is refused, nothing written
    r = cli("statement", "run", "--date", "2026-12-15", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "2027-01-02" in r.stderr
    assert db.execute("SELECT COUNT(*) FROM statement_runs").fetchone()[0] == 2


def test_credits_list_the_refund(cli, book):
    r = cli("statement", "credits", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == [
        {
            "mrn": "0000203",
            "credit": "25.00",
            "refund": "25.00",
            "overpaid_invoices": None,
        }
    ]


def test_hold_release_and_minimum_setting(cli, book, tmp_path):
    assert cli("statement", "hold", "0000204", "--release").exit_code == 0
    r = cli("statement", "config", "--minimum", "2.00")
    assert r.exit_code == 0, r.stderr
    got, _ = _run(cli, tmp_path, "2026-12-01")
    # D released (200.00 from 11-01: 30 days), B now above the minimum (3.00 from 11-20: current)
    assert (got["0000204"]["balance"], got["0000204"]["step"]) == ("200.00", "30")
    assert (got["0000202"]["balance"], got["0000202"]["step"]) == ("3.00", "current")
    assert cli("statement", "config", "--minimum", "abc").exit_code == 2
    assert cli("statement", "config", "--text", "45=hello").exit_code == 2


def test_statement_text_per_step_set_by_practice(cli, book, tmp_path, db):
    r = cli("statement", "config", "--text", "30=Please call Ann at the front desk.")
    assert r.exit_code == 0, r.stderr
    _run(cli, tmp_path, "2026-12-01")
    c = json.loads(db.execute("SELECT content FROM statements WHERE step = '30'").fetchone()[0])
    assert c["message"] == "Please call Ann at the front desk."


def test_statements_are_append_only(cli, book, db, tmp_path):
    import sqlite3

    _run(cli, tmp_path, "2026-12-01")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE statements SET balance_cents = 0")
    r = cli("check")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_cycle_days_mail_house_xlsx_and_list(cli, book, db, tmp_path):
    from openpyxl import load_workbook

    assert cli("statement", "config", "--cycle-days", "15,1").exit_code == 0
    r = cli("statement", "run", "--date", "2026-12-01", "--cycle-day", "7")
    assert r.exit_code == 2 and "not one of the practice's cycle days (1,15)" in r.stderr
    # two cycles: patient ids 1 and 5 (0000201, 0000205) are odd -> the second day, 15
    got, _ = _run(cli, tmp_path, "2026-12-15", "--cycle-day", "15", "--mail-house", "xlsx")
    assert sorted(got) == ["0000201", "0000205"]
    got, _ = _run(cli, tmp_path, "2026-12-16", "--cycle-day", "1")
    assert got == {}  # 0000202 under the minimum, 0000204 on hold
    wb = load_workbook(tmp_path / "2026-12-15" / "mail-house-2026-12-15.xlsx")
    ws = wb["Statements"]
    assert [c.value for c in ws[1]][:2] == ["statement", "account"]
    assert ws.max_row == 3
    r = cli("statement", "list", "0000201", "-f", "json")
    assert [(s["stated_on"], s["step"]) for s in json.loads(r.stdout)] == [("2026-12-15", "final")]


def test_run_audit_names_no_patient(cli, book, db, tmp_path):
    _run(cli, tmp_path, "2026-12-01")
    detail = db.execute(
        "SELECT entity, row_count, detail FROM audit_log WHERE action = 'statement run'"
    ).fetchone()
    assert detail[0] == "statement_runs" and detail[1] == 2
    assert "0000201" not in detail[2] and "Sample" not in detail[2]

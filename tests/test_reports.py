"""Reports on a small hand-built ledger: every expected figure below is computed by hand from
the fixture's docstring."""

import json
from decimal import Decimal

import pytest

import ledger_fixtures as lf
from billadmin import db as dbmod

AS_OF = "2026-11-26"


@pytest.fixture
def ledger(db):
    """Patients A 0000101, B 0000202.
    C1 A MCR DOS 11-10 issued 11-11, 200.00 open.
    C2 A KEY DOS 09-20 issued 09-21, 300.00; remit 10-15 paid 150.00, CO-45 50.00 -> 100.00 open.
    C3 B MCR DOS 07-01 issued 07-02, 500.00; remit 08-01 denied CO-50 500.00 -> 0.
    C4 B KEY DOS 06-01 issued 06-02, 250.00 open.
    C5 B MCD DOS 10-20 issued 10-21, 120.00; voided by a credit note 10-25 -> 0.
    P1 A patient invoice issued 10-20 (line DOS 09-20) 30.00 open.
    P2 B patient invoice issued 08-01 (line DOS 07-28) 80.00; B paid 90.00 on 09-15 -> -10.00.
    """
    with dbmod.write(db):
        lf.practice(db)
        a = lf.patient(db, "0000101", "Rosa", "Keller")
        b = lf.patient(db, "0000202", "Omar", "Haddad")
        ids = {}

        def mk(name, pat, payer, dos, issued, lines):
            eid, _ = lf.encounter(db, pat, dos, lines)
            ids[name] = lf.claim(db, eid, payer, issued)

        mk("C1", a, "MCR", "2026-11-10", "2026-11-11", [("99214", 20000)])
        mk("C2", a, "KEY", "2026-09-20", "2026-09-21", [("99213", 20000), ("93000", 10000)])
        lf.remit(db, ids["C2"], "2026-10-15", paid=15000, adjustments=[("CO", "45", 5000)], line_paid=[10000, 5000])
        mk("C3", b, "MCR", "2026-07-01", "2026-07-02", [("99215", 50000)])
        lf.remit(db, ids["C3"], "2026-08-01", adjustments=[("CO", "50", 50000)])
        mk("C4", b, "KEY", "2026-06-01", "2026-06-02", [("99214", 25000)])
        mk("C5", b, "MCD", "2026-10-20", "2026-10-21", [("99213", 12000)])
        lf.credit_note(db, ids["C5"], "2026-10-25")
        ids["P1"] = lf.patient_invoice(db, a, "2026-10-20", [("2026-09-20", "99213", 3000)])
        ids["P2"] = lf.patient_invoice(db, b, "2026-08-01", [("2026-07-28", "99212", 8000)])
        pay = db.execute("INSERT INTO payments (kind, patient_id, amount_cents, method, received_on, created_at)"
                         " VALUES ('patient', ?, 9000, 'cash', '2026-09-15', 'x')", (b,)).lastrowid
        db.execute("INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents) VALUES (?,?,9000)", (pay, ids["P2"]))
    return ids


def _json(cli, *args):
    r = cli("report", *args, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_aging_by_payer(cli, ledger):
    rows = {r["payer"]: r for r in _json(cli, "aging", "--as-of", AS_OF)}
    assert list(rows) == ["KEY", "MCR", "PATIENT", "TOTAL"]
    assert [rows["MCR"][k] for k in ("invoices", "0-30", "31-60", "61-90", "91-120", "120+", "total")] == [
        1, "200.00", "0.00", "0.00", "0.00", "0.00", "200.00"]
    assert [rows["KEY"][k] for k in ("invoices", "61-90", "120+", "total")] == [2, "100.00", "250.00", "350.00"]
    assert [rows["PATIENT"][k] for k in ("invoices", "61-90", "120+", "total")] == [2, "30.00", "-10.00", "20.00"]
    t = rows["TOTAL"]
    assert [t[k] for k in ("invoices", "0-30", "31-60", "61-90", "91-120", "120+", "total", "share_pct")] == [
        5, "200.00", "0.00", "130.00", "0.00", "240.00", "570.00", "100.0"]


def test_aging_by_invoice_date_and_per_patient(cli, ledger):
    rows = {r["payer"]: r for r in _json(cli, "aging", "--as-of", AS_OF, "--by", "invoice")}
    assert rows["PATIENT"]["31-60"] == "30.00" and rows["PATIENT"]["61-90"] == "0.00"   # P1 issued 10-20: 37 days
    assert rows["PATIENT"]["91-120"] == "-10.00"                                          # P2 issued 08-01: 117 days
    pts = _json(cli, "aging", "--as-of", AS_OF, "--per", "patient")
    assert [(p["mrn"], p["insurance"], p["patient"], p["total"]) for p in pts] == [
        ("0000101", "300.00", "30.00", "330.00"), ("0000202", "250.00", "-10.00", "240.00"), ("TOTAL", "550.00", "20.00", "570.00")]
    assert pts[0]["patient"] == "30.00"


def test_aging_as_of_a_past_date(cli, ledger):
    t = _json(cli, "aging", "--as-of", "2026-10-01")[-1]
    # C2 300 (before its remittance) in 0-30; C4 250 in 120+; P2 -10 (paid 09-15) in 61-90; C3 denied 08-01
    assert [t[k] for k in ("0-30", "61-90", "120+", "total")] == ["300.00", "-10.00", "250.00", "540.00"]


def test_aging_invariant_on_fixture(db, ledger):
    import datetime as dt

    from billadmin.reports import aging, ledger as lg

    for day in ("2026-07-15", "2026-10-01", AS_OF):
        d = dt.date.fromisoformat(day)
        total = aging.by_payer(db, d)[-1]["total_cents"]
        assert total == lg.ledger_totals(db, d)["balance_cents"]
    view = db.execute("SELECT SUM(total_cents + credited_cents - paid_cents - adjusted_cents) FROM invoice_balances").fetchone()[0]
    assert total == view == 57000


def test_aging_xlsx_with_chart(cli, ledger, tmp_path):
    from openpyxl import load_workbook

    p = tmp_path / "aging.xlsx"
    r = cli("report", "aging", "--as-of", AS_OF, "-f", "xlsx", "-o", p)
    assert r.exit_code == 0, r.stderr
    assert "contains PHI" in r.stderr
    wb = load_workbook(p)
    assert wb.sheetnames == ["Aging by payer", "Aging by patient"]
    ws = wb["Aging by payer"]
    assert [c.value for c in ws[1]][:5] == ["payer", "payer_name", "kind", "invoices", "0-30"]
    assert ws.freeze_panes == "A2"
    assert ws["E2"].number_format == "#,##0.00"
    total_row = [c.value for c in ws[5]]
    assert total_row[0] == "TOTAL" and Decimal(str(total_row[9])) == Decimal("570.00") and ws["A5"].font.b
    charts = ws._charts
    assert len(charts) == 1 and len(charts[0].series) == 3   # one series per payer row (KEY, MCR, PATIENT)


def test_report_refusals(cli, ledger):
    assert cli("report", "aging", "--by", "week").exit_code == 2
    r = cli("report", "aging", "-f", "xlsx")
    assert r.exit_code == 2 and "needs -o" in r.stderr
    assert cli("report", "aging", "--as-of", "2026-02-30").exit_code == 2

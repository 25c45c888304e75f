"""Reports on a small hand-built ledger: every expected figure below is computed by hand from
the fixture's docstring."""

import json
from decimal import Decimal

import ledger_fixtures as lf
import pytest

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
        lf.remit(
            db,
            ids["C2"],
            "2026-10-15",
            paid=15000,
            adjustments=[("CO", "45", 5000)],
            line_paid=[10000, 5000],
        )
        mk("C3", b, "MCR", "2026-07-01", "2026-07-02", [("99215", 50000)])
        lf.remit(db, ids["C3"], "2026-08-01", adjustments=[("CO", "50", 50000)])
        mk("C4", b, "KEY", "2026-06-01", "2026-06-02", [("99214", 25000)])
        mk("C5", b, "MCD", "2026-10-20", "2026-10-21", [("99213", 12000)])
        lf.credit_note(db, ids["C5"], "2026-10-25")
        ids["P1"] = lf.patient_invoice(db, a, "2026-10-20", [("2026-09-20", "99213", 3000)])
        ids["P2"] = lf.patient_invoice(db, b, "2026-08-01", [("2026-07-28", "99212", 8000)])
        pay = db.execute(
            "INSERT INTO payments (kind, patient_id, amount_cents, method, received_on, created_at)"
            " VALUES ('patient', ?, 9000, 'cash', '2026-09-15', 'x')",
            (b,),
        ).lastrowid
        db.execute(
            "INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents) VALUES (?,?,9000)",
            (pay, ids["P2"]),
        )
    return ids


def _json(cli, *args):
    r = cli("report", *args, "-f", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_aging_by_payer(cli, ledger):
    rows = {r["payer"]: r for r in _json(cli, "aging", "--as-of", AS_OF)}
    assert list(rows) == ["KEY", "MCR", "PATIENT", "TOTAL"]
    assert [
        rows["MCR"][k] for k in ("invoices", "0-30", "31-60", "61-90", "91-120", "120+", "total")
    ] == [1, "200.00", "0.00", "0.00", "0.00", "0.00", "200.00"]
    assert [rows["KEY"][k] for k in ("invoices", "61-90", "120+", "total")] == [
        2,
        "100.00",
        "250.00",
        "350.00",
    ]
    assert [rows["PATIENT"][k] for k in ("invoices", "61-90", "120+", "total")] == [
        2,
        "30.00",
        "-10.00",
        "20.00",
    ]
    t = rows["TOTAL"]
    assert [
        t[k] for k in ("invoices", "0-30", "31-60", "61-90", "91-120", "120+", "total", "share_pct")
    ] == [5, "200.00", "0.00", "130.00", "0.00", "240.00", "570.00", "100.0"]


def test_aging_by_invoice_date_and_per_patient(cli, ledger):
    rows = {r["payer"]: r for r in _json(cli, "aging", "--as-of", AS_OF, "--by", "invoice")}
    assert (
        rows["PATIENT"]["31-60"] == "30.00" and rows["PATIENT"]["61-90"] == "0.00"
    )  # P1 issued 10-20: 37 days
    assert rows["PATIENT"]["91-120"] == "-10.00"  # P2 issued 08-01: 117 days
    pts = _json(cli, "aging", "--as-of", AS_OF, "--per", "patient")
    assert [(p["mrn"], p["insurance"], p["patient"], p["total"]) for p in pts] == [
        ("0000101", "300.00", "30.00", "330.00"),
        ("0000202", "250.00", "-10.00", "240.00"),
        ("TOTAL", "550.00", "20.00", "570.00"),
    ]
    assert pts[0]["patient"] == "30.00"
    # the name has its own key: no two columns share one (the JSON kept only one of them)
    assert set(pts[0]) >= {"mrn", "patient_name", "insurance", "patient", "total"}
    assert pts[0]["patient_name"] and pts[-1]["patient_name"] is None


def test_aging_as_of_a_past_date(cli, ledger):
    t = _json(cli, "aging", "--as-of", "2026-10-01")[-1]
    # C2 300 (before its remittance) in 0-30; C4 250 in 120+; P2 -10 (paid 09-15) in 61-90; C3 denied 08-01
    assert [t[k] for k in ("0-30", "61-90", "120+", "total")] == [
        "300.00",
        "-10.00",
        "250.00",
        "540.00",
    ]


def test_aging_invariant_on_fixture(db, ledger):
    import datetime as dt

    from billadmin.reports import aging
    from billadmin.reports import ledger as lg

    for day in ("2026-07-15", "2026-10-01", AS_OF):
        d = dt.date.fromisoformat(day)
        total = aging.by_payer(db, d)[-1]["total_cents"]
        assert total == lg.ledger_totals(db, d)["balance_cents"]
    view = db.execute(
        "SELECT SUM(total_cents + credited_cents - paid_cents - adjusted_cents) FROM invoice_balances"
    ).fetchone()[0]
    assert total == view == 57000


def test_aging_xlsx_with_chart(cli, ledger, tmp_path):
    from openpyxl import load_workbook

    p = tmp_path / "aging.xlsx"
    r = cli("report", "aging", "--as-of", AS_OF, "-f", "xlsx", "-o", p)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("may contain PHI") == 1  # names patients: said once
    wb = load_workbook(p)
    assert wb.sheetnames == ["Aging by payer", "Aging by patient"]
    ws = wb["Aging by payer"]
    assert [c.value for c in ws[1]][:5] == ["payer", "payer_name", "kind", "invoices", "0-30"]
    assert ws.freeze_panes == "A2"
    assert ws["E2"].number_format == "#,##0.00"
    total_row = [c.value for c in ws[5]]
    assert [c.value for c in ws[1]][9:11] == ["pending", "total"]
    assert (
        total_row[0] == "TOTAL"
        and Decimal(str(total_row[9])) == Decimal("0.00")  # no 835 moved anything off a claim
        and Decimal(str(total_row[10])) == Decimal("570.00")
        and ws["A5"].font.b
    )
    charts = ws._charts
    assert (
        len(charts) == 1 and len(charts[0].series) == 3
    )  # one series per payer row (KEY, MCR, PATIENT)


def test_report_refusals(cli, ledger):
    assert cli("report", "aging", "--by", "week").exit_code == 2
    r = cli("report", "aging", "-f", "xlsx")
    assert r.exit_code == 2 and "needs -o" in r.stderr
    assert cli("report", "aging", "--as-of", "2026-02-30").exit_code == 2


def test_kpi_values_and_formulas(cli, ledger):
    rows = {r["kpi"]: r for r in _json(cli, "kpi", "--from", "2026-09-01", "--to", AS_OF)}
    # A/R 570.00; charges by DOS in 87 days: C1 200 + C2 300 + C5 120 = 620.00 -> 57000 / (62000 / 87) = 79.98
    assert (
        rows["days_in_ar"]["value"] == "80.0"
        and rows["days_in_ar"]["denominator"] == "charges 620.00 / 87 days"
    )
    # C2 is the only claim issued and answered in the period: never denied -> clean
    assert rows["clean_claim_rate"]["value"] == "100.0"
    # C2 answered on 10-15 but 100.00 left open -> not settled on the first pass
    assert rows["first_pass_rate"]["value"] == "0.0" and rows["denial_rate"]["value"] == "0.0"
    # payments 150 (C2) + 90 (P2) = 240 / (620 - 50 CO-45) = 42.1%
    assert rows["net_collection_rate"]["value"] == "42.1"
    # over 90 days by DOS: C4 250 + P2 -10 = 240 / 570
    assert rows["ar_over_90_pct"]["value"] == "42.1"
    assert all(r["formula"] for r in rows.values())
    wide = {r["kpi"]: r["value"] for r in _json(cli, "kpi", "--from", "2026-06-01", "--to", AS_OF)}
    # C2 clean, C3 denied; both first answered in the period
    assert (wide["clean_claim_rate"], wide["denial_rate"], wide["first_pass_rate"]) == (
        "50.0",
        "50.0",
        "0.0",
    )


def test_kpi_help_lists_formulas(cli):
    r = cli("report", "kpi", "--help", db=False)
    assert "days_in_ar          = A/R / (gross charges in period / days in period)" in r.stdout
    assert (
        "net_collection_rate = payments received / (gross charges - contractual adjustments)"
        in r.stdout
    )


def test_kpi_monthly_trend(cli, ledger):
    rows = _json(cli, "kpi", "--from", "2026-09-01", "--to", AS_OF, "--monthly")
    assert [r["month"] for r in rows] == ["2026-09", "2026-10", "2026-11"]
    sep, oct_ = rows[0], rows[1]
    # 09-30: C2 300 + C4 250 + P2 -10 = 540; September charges C2 300 over 30 days -> 54.0 days
    assert (sep["ar"], sep["charges"], sep["days_in_ar"]) == ("540.00", "300.00", "54.0")
    # 10-31: C2 100 + C4 250 + P1 30 + P2 -10 = 370; October charges C5 120 over 31 days -> 95.6 days
    assert (oct_["ar"], oct_["charges"], oct_["days_in_ar"], oct_["payments"]) == (
        "370.00",
        "120.00",
        "95.6",
        "150.00",
    )


def test_kpi_xlsx_has_trend_chart(cli, ledger, tmp_path):
    from openpyxl import load_workbook

    p = tmp_path / "kpi.xlsx"
    r = cli("report", "kpi", "--from", "2026-09-01", "--to", AS_OF, "-f", "xlsx", "-o", p)
    assert r.exit_code == 0, r.stderr
    wb = load_workbook(p)
    assert wb.sheetnames == ["KPI", "KPI trend"]
    assert wb["KPI"]["B2"].value == 80.0 and wb["KPI"]["B2"].number_format == "0.0"
    assert len(wb["KPI trend"]._charts) == 2
    assert wb["KPI trend"]["C2"].number_format == '0.0"%"'


def test_medicare_report(cli, ledger):
    rows = _json(cli, "medicare", "--from", "2026-06-01", "--to", AS_OF)
    # C5, Medicaid's one claim, was voided by its credit note: no Medicaid claim is counted
    # (tests/test_audit_reports.py), and nothing else happened under Medicaid
    assert [(r["month"], r["program"]) for r in rows] == [
        ("2026-06", "Commercial"),
        ("2026-07", "Medicare"),
        ("2026-08", "Medicare"),
        ("2026-09", "Commercial"),
        ("2026-10", "Commercial"),
        ("2026-11", "Medicare"),
        ("total", "Medicare"),
        ("total", "Commercial"),
    ]
    aug = rows[2]
    assert (
        aug["answered"],
        aug["denied_claims"],
        aug["denied"],
        aug["denial_rate_pct"],
        aug["top_carcs"],
    ) == (1, 1, "500.00", "100.0", "CO-50")
    oct_c = rows[4]
    assert (oct_c["payments"], oct_c["contractual"], oct_c["avg_days_to_pay"]) == (
        "150.00",
        "50.00",
        "24.0",
    )
    mcr, com = rows[6:]
    assert (mcr["claims"], mcr["charges"], mcr["denial_rate_pct"]) == (2, "700.00", "100.0")
    assert (com["claims"], com["charges"], com["payments"], com["avg_days_to_pay"]) == (
        2,
        "550.00",
        "150.00",
        "24.0",
    )


def test_payer_mix(cli, ledger, tmp_path):
    rows = {r["payer"]: r for r in _json(cli, "payer-mix", "--from", "2026-06-01", "--to", AS_OF)}
    assert list(rows) == ["KEY", "MCD", "MCR", "PATIENT", "TOTAL"]
    assert (rows["MCR"]["encounters"], rows["MCR"]["charges"], rows["MCR"]["charges_pct"]) == (
        2,
        "700.00",
        "51.1",
    )
    assert (
        rows["KEY"]["charges"],
        rows["KEY"]["charges_pct"],
        rows["KEY"]["payments"],
        rows["KEY"]["payments_pct"],
    ) == ("550.00", "40.1", "150.00", "62.5")
    assert (rows["PATIENT"]["payments"], rows["PATIENT"]["ar"], rows["PATIENT"]["ar_pct"]) == (
        "90.00",
        "20.00",
        "3.5",
    )
    assert (rows["TOTAL"]["charges"], rows["TOTAL"]["payments"], rows["TOTAL"]["ar"]) == (
        "1370.00",
        "240.00",
        "570.00",
    )
    from openpyxl import load_workbook

    p = tmp_path / "mix.xlsx"
    assert (
        cli(
            "report", "payer-mix", "--from", "2026-06-01", "--to", AS_OF, "-f", "xlsx", "-o", p
        ).exit_code
        == 0
    )
    charts = load_workbook(p)["Payer mix"]._charts
    assert len(charts) == 2 and type(charts[0]).__name__ == "PieChart"


def test_payer_cpt(cli, ledger):
    rows = _json(cli, "payer-cpt", "--from", "2026-06-01", "--to", AS_OF)
    got = [
        (
            r["code"],
            r["payer"],
            r["rank"],
            r["lines"],
            r["paid_lines"],
            r["paid_avg"],
            r["paid_pct"],
        )
        for r in rows
    ]
    # C5's 99213 to MCD is not counted: the claim was voided unpaid (tests/test_audit_reports.py)
    assert got == [
        ("93000", "KEY", 1, 1, 1, "50.00", "50.0"),
        ("99213", "KEY", 1, 1, 1, "100.00", "50.0"),
        ("99214", "KEY", None, 1, 0, None, None),
        ("99214", "MCR", None, 1, 0, None, None),
        ("99215", "MCR", None, 1, 0, None, None),
    ]
    assert [
        r["code"]
        for r in _json(cli, "payer-cpt", "--from", "2026-06-01", "--to", AS_OF, "--code", "99214")
    ] == ["99214"] * 2


def test_daysheet(cli, ledger):
    rows = _json(cli, "daysheet", "--date", "2026-10-15")
    assert [(r["section"], r["ref"], r["amount"]) for r in rows if r["section"] != "total"] == [
        ("payments", rows[0]["ref"], "150.00"),
        ("adjustments", rows[1]["ref"], "50.00"),
    ]
    tot = {r["ref"]: r["amount"] for r in rows if r["section"] == "total"}
    assert tot == {
        "charges": "0.00",
        "invoices": "0.00",
        "payments": "150.00",
        "adjustments": "50.00",
    }
    rows = _json(cli, "daysheet", "--date", "2026-10-20")
    assert [
        (r["section"], r["who"], r["amount"])
        for r in rows
        if r["section"] in ("charges", "invoices")
    ] == [("charges", "0000202", "120.00"), ("invoices", "0000101", "30.00")]


def test_timely_filing(cli, ledger, db):
    with dbmod.write(db):
        a = db.execute("SELECT id FROM patients WHERE mrn = '0000101'").fetchone()[0]
        lf.coverage(db, a, "BVH", "2026-01-01")
        lf.encounter(db, a, "2026-08-20", [("99213", 14000)])  # unbilled, BVH 90 days -> 11-18
        self_pay = lf.patient(db, "0000303")
        lf.encounter(db, self_pay, "2026-01-05", [("99213", 14000)])  # self-pay: no deadline
    rows = _json(cli, "timely-filing", "--as-of", AS_OF)
    c4 = db.execute("SELECT number FROM invoices WHERE id = ?", (ledger["C4"],)).fetchone()[0]
    assert [
        (
            r["state"],
            r["days_left"],
            r["deadline"],
            r["what"],
            r["invoice"],
            r["payer"],
            r["amount"],
        )
        for r in rows
    ] == [
        ("past", -8, "2026-11-18", "unbilled charges", None, "BVH", "140.00"),
        ("due", 2, "2026-11-28", "claim not answered", c4, "KEY", "250.00"),
    ]
    assert _json(cli, "timely-filing", "--as-of", AS_OF, "--within", "0")[0]["state"] == "past"
    assert len(_json(cli, "timely-filing", "--as-of", AS_OF, "--within", "0")) == 1


def test_coverage_expiring(cli, db):
    with dbmod.write(db):
        lf.practice(db)
        a = lf.patient(db, "0000101")
        lf.coverage(db, a, "KEY", "2025-01-01", "2026-12-10")
        lf.encounter(db, a, "2026-12-01", [("99213", 14000)])
        b = lf.patient(db, "0000202")
        lf.coverage(db, b, "MCR", "2020-01-01", "2026-11-20")
        c = lf.patient(db, "0000303")
        lf.coverage(db, c, "BVH", "2024-01-01", "2026-12-20")
        d = lf.patient(db, "0000404")
        lf.coverage(db, d, "KEY", "2024-01-01", "2026-11-01", member="OLD")
        lf.coverage(db, d, "KEY", "2026-11-02", None, member="NEW")
        e = lf.patient(db, "0000505")
        lf.coverage(db, e, "KEY", "2024-01-01", "2026-10-01")
    rows = _json(cli, "coverage-expiring", "--as-of", AS_OF)
    assert [(r["mrn"], r["state"], r["days_left"], r["next_visit"]) for r in rows] == [
        ("0000101", "expiring", 14, "2026-12-01"),
        ("0000202", "lapsed", -6, None),
        ("0000303", "expiring", 24, None),
    ]
    r = cli("report", "coverage-expiring", "--as-of", AS_OF)
    assert "2 expiring, 1 lapsed, 1 with an upcoming visit" in r.stderr
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'report coverage-expiring'"
        ).fetchone()[0]
        == 2
    )


def test_csv_output_of_a_report(cli, ledger, tmp_path):
    p = tmp_path / "aging.csv"
    r = cli("report", "aging", "--as-of", AS_OF, "-f", "csv", "-o", p)
    assert r.exit_code == 0
    lines = p.read_text().splitlines()
    assert (
        lines[0]
        == "payer,payer_name,kind,invoices,0-30,31-60,61-90,91-120,120+,pending,total,share_pct"
    )
    assert lines[-1] == "TOTAL,,,5,200.00,0.00,130.00,0.00,240.00,0.00,570.00,100.0"
    r = cli("report", "aging", "--as-of", AS_OF, "--invoiced-only", "-f", "csv")
    assert r.stdout.splitlines()[0].endswith(",120+,total,share_pct")


def test_invariant_findings_detect_a_tampered_ledger(db, ledger):
    import datetime as dt

    from billadmin.reports import invariants as lg

    today = dt.date(2027, 1, 1)
    assert lg.invariant_findings(db, today) == []
    # an allocation dated in the future of its payment row cannot happen through billadmin; an
    # orphan allocation to a credit note (outside every balance) must not move the aging
    cn = db.execute("SELECT id FROM invoices WHERE kind = 'credit'").fetchone()[0]
    pay = db.execute("SELECT id FROM payments LIMIT 1").fetchone()[0]
    db.execute(
        "INSERT INTO payment_allocations (payment_id, invoice_id, amount_cents) VALUES (?,?,500)",
        (pay, cn),
    )
    assert lg.invariant_findings(db, today) == []
    # a payment dated after --as-of shows up as a difference between the as-of views and the all-time view
    # payments are append-only: an attacker drops the trigger first
    db.execute("DROP TRIGGER payments_append_only_update")
    db.execute("UPDATE payments SET received_on = '2027-06-01' WHERE id = ?", (pay,))
    f = lg.invariant_findings(db, today)
    assert {x.rule for x in f} == {"AGING-BALANCE"} and len(f) == 3
    assert "too much" in f[0].message
    # `billadmin check` (no date) takes the whole ledger: a payment dated ahead of today (an
    # 835's EFT effective date) is not a difference
    db.execute(
        "UPDATE payments SET received_on = ? WHERE id = ?",
        ((dt.date.today() + dt.timedelta(days=3)).isoformat(), pay),
    )
    assert lg.invariant_findings(db) == []
    assert {x.rule for x in lg.invariant_findings(db, dt.date.today())} == {"AGING-BALANCE"}


def test_medicare_and_daysheet_xlsx(cli, ledger, tmp_path):
    from openpyxl import load_workbook

    p = tmp_path / "m.xlsx"
    r = cli("report", "medicare", "--from", "2026-06-01", "--to", AS_OF, "-f", "xlsx", "-o", p)
    assert r.exit_code == 0 and "PHI" not in r.stderr  # totals by program name no patient
    assert (
        oct(p.stat().st_mode & 0o777) == "0o600"
    )  # still private: a ledger figure is not for the world
    wb = load_workbook(p)
    assert wb.sheetnames == ["Medicare-Medicaid", "Payments by program"]
    ws = wb["Payments by program"]
    assert [c.value for c in ws[1]] == ["month", "medicare", "medicaid", "commercial"]
    assert type(ws._charts[0]).__name__ == "LineChart"
    p = tmp_path / "d.xlsx"
    r = cli("report", "daysheet", "--date", "2026-10-15", "-f", "xlsx", "-o", p)
    assert r.exit_code == 0 and r.stderr.count("may contain PHI") == 1
    wb = load_workbook(p)
    assert wb.sheetnames == [
        "Day totals",
        "Day charges",
        "Day invoices",
        "Day payments",
        "Day adjustments",
    ]
    assert [c.value for c in wb["Day totals"]["A"]][1:] == ["total"] * 4


def test_aging_notes_patient_responsibility_not_yet_invoiced(cli, ledger, db):
    with dbmod.write(db):
        lf.remit(
            db,
            ledger["C1"],
            "2026-11-20",
            paid=15000,
            adjustments=[("CO", "45", 2000), ("PR", "2", 3000)],
        )
    # C1 (200.00, DOS 11-10) answered on 11-20: paid 150.00, CO-45 20.00, PR-2 30.00 moved to
    # patient A, on no statement yet. The aging counts it by default, in PATIENT, aged from the
    # DOS: 11-10 to 11-26 = 16 days -> 0-30. Old PATIENT row: P1 30.00 (61-90) + P2 -10.00 (120+)
    rows = {r["payer"]: r for r in _json(cli, "aging", "--as-of", AS_OF)}
    assert [rows["PATIENT"][k] for k in ("0-30", "61-90", "120+", "pending", "total")] == [
        "30.00",
        "30.00",
        "-10.00",
        "30.00",
        "50.00",  # 30.00 + 30.00 - 10.00
    ]
    assert "MCR" not in rows  # 200.00 - 150.00 - 20.00 - 30.00 = 0.00 left on C1
    # TOTAL: KEY 350.00 + PATIENT 50.00 = 400.00 (was 570.00 - C1's 200.00 + the 30.00 pending)
    assert rows["TOTAL"]["total"] == "400.00" and rows["TOTAL"]["pending"] == "30.00"
    r = cli("report", "aging", "--as-of", AS_OF)
    assert "30.00 of it not on an invoice yet" in r.stderr
    # the invoices alone: the 30.00 is outside, and a note says so
    r = cli("report", "aging", "--as-of", AS_OF, "--invoiced-only")
    assert "not on a patient invoice yet: 30.00" in r.stderr
    r = cli("report", "aging", "--as-of", "2026-11-19", "--invoiced-only")
    assert "not on a patient invoice yet" not in r.stderr
    # before the answer was posted nothing is pending
    t = _json(cli, "aging", "--as-of", "2026-11-19")[-1]
    assert t["pending"] == "0.00"


def test_reports_naming_patients_record_their_read_in_the_domain(ledger, db):
    """Issue 14: the domain function that builds a report naming patients records the PHI read
    (a Python caller cannot skip it); a report of payer totals names nobody and records none."""
    import datetime as dt

    from billadmin.reports import aging, deadlines

    before = db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    aging.report(db, as_of=dt.date(2026, 11, 26), per="payer")
    assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == before
    aging.report(db, as_of=dt.date(2026, 11, 26), per="patient")
    deadlines.filing_report(db, as_of=dt.date(2026, 11, 26))
    rows = db.execute(
        "SELECT action, detail FROM audit_log WHERE id > (SELECT MAX(id) - 2 FROM audit_log)"
        " ORDER BY id"
    ).fetchall()
    assert [a for a, _ in rows] == ["report aging", "report timely-filing"]
    assert all('"phi_read": true' in d for _, d in rows)

"""Institutional self-pay (billadmin/institutional/selfpay.py): a facility claim with no coverage
active on its statement-from date is billed to the patient on a patient invoice."""

from __future__ import annotations

import datetime as dt
import json

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import integrity
from billadmin.billing import practice
from billadmin.billing.files import Staged, place_run_files
from billadmin.billing.invoices import InvoiceIds
from billadmin.billing.result import Held, RunResult
from billadmin.findings import Finding
from billadmin.institutional import selfpay


@pytest.fixture
def hospital(db):
    """The hospital's two Medicare patients (a: outpatient H1, b: inpatient H2) and a patient
    with no insurance, c: an outpatient visit H3 (the endoscopy: $1,850.00 + 2 x pathology
    $420.00 total + recovery $300.00) and a stay H4 (statement 2026-06-01..04, lines undated)."""
    with dbmod.write(db):
        ids = ifx.hospital(db)
        c = fx.patient(db, "H1003", "Cy", "Cole")
        ids["c"] = c
        ifx.outpatient(db, ids["a"], "H1", ids["facility"])
        ifx.inpatient(db, ids["b"], "H2", ids["facility"])
        ifx.outpatient(db, c, "H3", ids["facility"])
        ifx.inpatient(db, c, "H4", ids["facility"])
    return ids


def _issue(db, tmp_path, *, held=(), today=fx.TODAY):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    result = RunResult(out_dir=out, dry_run=False, held=list(held))
    staged = Staged()
    files: dict[int, str] = {}
    with dbmod.write(db):
        run_id = db.execute(
            "INSERT INTO billing_runs (started_at, issued_on, through, out_dir, os_user)"
            " VALUES (?, ?, ?, ?, 'test')",
            (fx.NOW, today.isoformat(), today.isoformat(), str(out.resolve())),
        ).lastrowid
        claims = selfpay.due(db, through=today)
        issues = selfpay.issue(
            db,
            result,
            staged,
            practice.get(db),
            claims,
            InvoiceIds(db),
            issued_on=today.isoformat(),
            at=fx.NOW,
            run_id=run_id,
            pdf=True,
            today=today,
            files_by_invoice=files,
        )
        staged.record(db, run_id)
    staged.committed()
    place_run_files(db, run_id)
    return claims, issues, result, files


def _lines(db, number):
    return db.execute(
        "SELECT l.line_no, l.code, l.units, l.date_of_service, l.amount_cents, l.description"
        " FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.number = ?"
        " ORDER BY l.line_no",
        (number,),
    ).fetchall()


def test_only_claims_without_coverage_are_due(db, hospital):
    assert [c.key for c in selfpay.due(db, through=fx.TODAY)] == ["H3", "H4"]
    # the stay ends 2026-06-04, the visit is on 2026-06-10
    assert [c.key for c in selfpay.due(db, through=dt.date(2026, 6, 5))] == ["H4"]


def test_coverage_lapsed_on_the_statement_from_date_is_self_pay(db, hospital):
    with dbmod.write(db):
        fx.coverage(db, hospital["c"], "KEY", eff_from="2026-01-01", eff_to="2026-06-05")
    # covered on 2026-06-01 (the stay), not on 2026-06-10 (the visit)
    assert [c.key for c in selfpay.due(db, through=fx.TODAY)] == ["H3"]


def test_one_patient_invoice_per_claim_with_its_revenue_lines(db, hospital, tmp_path):
    claims, issues, result, files = _issue(db, tmp_path)
    assert [(it.row["number"], it.row["total_cents"]) for it in issues] == [
        ("P000001", 185000 + 42000 + 30000),  # H3
        ("P000002", 540000 + 36000 + 420000),  # H4
    ]
    assert [it.row["due_on"] for it in issues] == ["2026-07-30", "2026-07-30"]  # 30 days
    assert _lines(db, "P000001") == [
        (1, "45380", 1, "2026-06-10", 185000, "revenue code 0750"),
        (2, "88305", 2, "2026-06-10", 42000, "revenue code 0310"),
        (3, "0710", 1, "2026-06-10", 30000, "revenue code 0710"),
    ]
    # the stay's lines carry no date: the statement-from date; no HCPCS: the revenue code
    assert _lines(db, "P000002") == [
        (1, "0120", 3, "2026-06-01", 540000, "revenue code 0120"),
        (2, "0250", 12, "2026-06-01", 36000, "revenue code 0250"),
        (3, "0360", 1, "2026-06-01", 420000, "revenue code 0360"),
    ]
    # linked, billed, the invoice names the claim's encounter
    assert db.execute(
        "SELECT i.number, e.number, c.status FROM inst_claim_invoices x"
        " JOIN invoices i ON i.id = x.invoice_id JOIN inst_claims c ON c.id = x.claim_id"
        " JOIN encounters e ON e.id = c.encounter_id ORDER BY i.number"
    ).fetchall() == [("P000001", "H3", "billed"), ("P000002", "H4", "billed")]
    assert [it.encounter for it in issues] == ["H3", "H4"]
    assert db.execute(
        "SELECT e.number, c.status FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE c.status = 'unbilled' ORDER BY e.number"
    ).fetchall() == [("H1", "unbilled"), ("H2", "unbilled")]
    # the statement: content stored, PDF written for the balance due
    snap = json.loads(
        db.execute(
            "SELECT s.data FROM invoice_snapshots s JOIN invoices i ON i.id = s.invoice_id"
            " WHERE i.number = 'P000001'"
        ).fetchone()[0]
    )
    assert snap["kind"] == "patient" and snap["balance_due_cents"] == 257000
    assert [ln["code"] for ln in snap["lines"]] == ["45380", "88305", "0710"]
    assert sorted(files.values()) == ["P000001.pdf", "P000002.pdf"]
    assert (tmp_path / "out" / "P000001.pdf").read_bytes().startswith(b"%PDF")
    assert integrity.run_checks(db) == []
    # billed once: nothing is due any more
    assert selfpay.due(db, through=fx.TODAY) == []


def test_credit_held_for_the_patient_pays_the_invoice(db, hospital, tmp_path):
    with dbmod.write(db):
        fx.copay_payment(db, hospital["c"], 5000, "2026-06-10")
    _, issues, _, _ = _issue(db, tmp_path)
    balance = db.execute(
        "SELECT json_extract(s.data, '$.balance_due_cents') FROM invoice_snapshots s"
        " JOIN invoices i ON i.id = s.invoice_id WHERE i.number = 'P000001'"
    ).fetchone()[0]
    assert balance == 257000 - 5000


def test_its_no_coverage_hold_is_taken_off(db, hospital, tmp_path):
    h3 = db.execute("SELECT id FROM encounters WHERE number = 'H3'").fetchone()[0]
    held = [
        Held("H3", h3, [Finding("INST-NO-COVERAGE", "error", "no coverage", encounter="H3")]),
        Held("H1", 0, [Finding("INST-STATUS", "error", "no patient status", encounter="H1")]),
    ]
    _, _, result, _ = _issue(db, tmp_path, held=held)
    assert [h.encounter for h in result.held] == ["H1"]


def test_a_claim_totalling_zero_is_not_invoiced(db, tmp_path):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        c = fx.patient(db, "H1003")
        ifx.outpatient(
            db,
            c,
            "H3",
            ids["facility"],
            lines=[{"revenue_code": "0710", "units": 1, "charge_cents": 0}],
        )
    _, issues, result, _ = _issue(db, tmp_path)
    assert issues == [] and result.skipped_zero == 1
    assert [c.key for c in selfpay.due(db, through=fx.TODAY)] == ["H3"]


def test_invoice_generate_bills_them_to_the_patients(db, hospital, tmp_path):
    from billadmin.billing import generate as gen

    out = tmp_path / "run"
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out)
    assert res.held == []
    assert sorted(
        (r["number"], r["bill_to"], r["encounter"], r["total_cents"]) for r in res.issued
    ) == [
        ("C000001", "MCR", "H2", 996000),  # the insured claims: 837I
        ("C000002", "MCR", "H1", 257000),
        ("P000001", "patient", "H3", 257000),  # the uninsured: statements
        ("P000002", "patient", "H4", 996000),
    ]
    assert (out / "P000001.pdf").exists() and (out / "P000002.pdf").exists()
    listing = (out / "invoices.csv").read_text()
    assert "P000001,patient,1," in listing and ",H3," in listing
    assert selfpay.due(db, through=fx.TODAY) == []
    assert integrity.run_checks(db) == []
    again = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=out)
    assert again.issued == [] and again.held == []


def test_claims_only_still_holds_them(db, hospital, tmp_path):
    from billadmin.billing import generate as gen

    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path, patients=False)
    assert sorted((h.encounter, [f.rule for f in h.findings]) for h in res.held) == [
        ("H3", ["INST-NO-COVERAGE"]),
        ("H4", ["INST-NO-COVERAGE"]),
    ]


def _status(db, key):
    return db.execute(
        "SELECT c.status FROM inst_claims c JOIN encounters e ON e.id = c.encounter_id"
        " WHERE e.number = ?",
        (key,),
    ).fetchone()[0]


def test_void_rebill_bills_the_facility_claim_again(cli, db, hospital, tmp_path):
    """`invoice void --rebill` of the visit's statement P000001 (H3: 1,850.00 + 420.00 +
    300.00 = 2,570.00) sets H3 back to unbilled and the next run bills it again on P000003
    (2,570.00); a plain void of the stay's P000002 leaves H4 billed, and nothing bills it
    again. The ledger stays consistent (`billadmin check`)."""
    from billadmin.billing import generate as gen

    first = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "run1")
    assert {r["number"]: r["encounter"] for r in first.issued if r["bill_to"] == "patient"} == {
        "P000001": "H3",
        "P000002": "H4",
    }
    r = cli("invoice", "void", "P000001", "--reason", "wrong amount", "--rebill")
    assert r.exit_code == 0, r.output
    r = cli("invoice", "void", "P000002", "--reason", "not ours")
    assert r.exit_code == 0, r.output
    assert (_status(db, "H3"), _status(db, "H4")) == ("unbilled", "billed")
    assert [c.key for c in selfpay.due(db, through=fx.TODAY)] == ["H3"]
    assert integrity.run_checks(db) == []

    again = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "run2")
    assert again.held == []
    assert [
        (x["number"], x["bill_to"], x["encounter"], x["total_cents"]) for x in again.issued
    ] == [("P000003", "patient", "H3", 257000)]
    assert _lines(db, "P000003") == [
        (1, "45380", 1, "2026-06-10", 185000, "revenue code 0750"),
        (2, "88305", 2, "2026-06-10", 42000, "revenue code 0310"),
        (3, "0710", 1, "2026-06-10", 30000, "revenue code 0710"),
    ]
    # both statements of H3 stay linked (history); the claim is billed once more
    assert db.execute(
        "SELECT i.number FROM inst_claim_invoices x JOIN invoices i ON i.id = x.invoice_id"
        " JOIN inst_claims c ON c.id = x.claim_id JOIN encounters e ON e.id = c.encounter_id"
        " WHERE e.number = 'H3' ORDER BY i.number"
    ).fetchall() == [("P000001",), ("P000003",)]
    assert _status(db, "H3") == "billed"
    assert integrity.run_checks(db) == []
    assert cli("check").exit_code == 0
    third = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "run3")
    assert third.issued == [] and third.held == []


def test_void_rebill_after_coverage_found_bills_the_payer(cli, db, hospital, tmp_path):
    """The uninsured visit's patient turns out to have had Medicare on the visit date: void the
    statement with --rebill and the next run bills H3 to Medicare on an 837I (2,570.00), not to
    the patient."""
    from billadmin.billing import generate as gen

    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "run1")
    with dbmod.write(db):
        fx.coverage(db, hospital["c"], "MCR", member="1EG4TE5MK99", eff_from="2026-06-05")
    r = cli("invoice", "void", "P000001", "--reason", "Medicare found", "--rebill")
    assert r.exit_code == 0, r.output
    again = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "run2")
    assert again.held == []
    assert [
        (x["number"], x["bill_to"], x["encounter"], x["total_cents"]) for x in again.issued
    ] == [("C000003", "MCR", "H3", 257000)]
    assert _status(db, "H3") == "billed"
    assert integrity.run_checks(db) == []

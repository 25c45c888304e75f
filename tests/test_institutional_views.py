"""Institutional claims in the views (issue 17): `account show` lists the claim's revenue lines
and charges (it has no charge lines), the KPIs' gross charges and the day sheet count them, and
`invoice show` of an 837I claim lists its UB-04 header and revenue lines. Amounts by hand from
the fixtures: the outpatient endoscopy HO1 (2026-06-10) 1,850.00 + 420.00 + 300.00 = 2,570.00;
the inpatient stay HI1 (2026-06-01) 5,400.00 + 360.00 + 4,200.00 = 9,960.00."""

from __future__ import annotations

import datetime as dt
import json

import institutional_fixtures as ifx
import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin.accounts import view
from billadmin.billing import generate as gen
from billadmin.reports import daysheet, kpi


@pytest.fixture
def hosp(db):
    with dbmod.write(db):
        ids = ifx.hospital(db)
        ifx.outpatient(db, ids["a"], "HO1", ids["facility"])
        ifx.inpatient(db, ids["b"], "HI1", ids["facility"])
    return db


def _encounter(db, mrn, number):
    (e,) = [e for e in view.account(db, mrn)["encounters"] if e["encounter"] == number]
    return e


def test_account_show_lists_revenue_lines(hosp, tmp_path):
    e = _encounter(hosp, "H1001", "HO1")
    assert (e["lines"], e["charges_cents"], e["billing"], e["invoices"]) == (
        3,
        257000,
        "unbilled",
        None,
    )
    gen.generate(hosp, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    e = _encounter(hosp, "H1002", "HI1")
    assert (e["lines"], e["charges_cents"], e["billing"], e["invoices"]) == (
        3,
        996000,
        "billed",
        "C000001",
    )
    # the insurance balance is the claim's: 9,960.00 open
    assert view.account(hosp, "H1002")["summary"][0]["insurance_balance_cents"] == 996000


def test_kpi_gross_charges_count_institutional_claims(hosp):
    # June 2026: both claims' statement-from dates; June 5-30: the outpatient one only
    assert kpi.gross_charges(hosp, dt.date(2026, 6, 1), dt.date(2026, 6, 30)) == 1253000
    assert kpi.gross_charges(hosp, dt.date(2026, 6, 5), dt.date(2026, 6, 30)) == 257000
    assert kpi.gross_charges(hosp, dt.date(2026, 7, 1), dt.date(2026, 7, 31)) == 0


def test_daysheet_lists_institutional_charges(hosp):
    charges = daysheet.compute(hosp, dt.date(2026, 6, 10))["charges"]
    assert [(c["ref"], c["amount_cents"]) for c in charges] == [("HO1", 257000)]
    assert charges[0]["detail"] == "Okafor: 45380 88305 rev 0710"
    charges = daysheet.compute(hosp, dt.date(2026, 6, 1))["charges"]
    assert [(c["ref"], c["amount_cents"]) for c in charges] == [("HI1", 996000)]


def test_invoice_show_lists_the_revenue_lines(cli, hosp, tmp_path):
    gen.generate(hosp, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    r = cli("invoice", "show", "C000002", "--format", "json")
    assert r.exit_code == 0, r.stderr
    inst = json.loads(r.stdout)["institutional"]
    assert inst["claim"]["type_of_bill"] == "131"
    assert inst["claim"]["statement_from"] == inst["claim"]["statement_through"] == "2026-06-10"
    assert [
        (ln["revenue_code"], ln["hcpcs"], ln["units"], ln["charge"]) for ln in inst["lines"]
    ] == [
        ("0750", "45380", 1, "1850.00"),
        ("0310", "88305", 2, "420.00"),
        ("0710", None, 1, "300.00"),
    ]
    r = cli("invoice", "show", "C000001")
    assert r.exit_code == 0, r.stderr
    assert "Revenue lines" in r.stdout and "0120" in r.stdout and "DA" in r.stdout

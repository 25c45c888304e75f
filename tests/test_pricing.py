"""Prices across time: the charge master and payer contracts (effective-dated, never edited),
bad files refused with file/row/column, each claim line's expected allowed amount, contract
underpayments, and the monthly price-change report. Expected amounts are written by hand."""

from __future__ import annotations

import csv
import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod


def _csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


CM = ["Code", "Modifier", "Price", "Effective From", "Effective To"]
CT = ["Payer", "Code", "Modifier", "Allowed", "Percent", "Base", "Effective From", "Effective To"]


@pytest.fixture
def pdb(db):
    with dbmod.write(db):
        fx.practice(db)
    return db


def _count(conn, table):
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_charge_master_prices_across_time(cli, pdb, tmp_path):
    f = _csv(
        tmp_path / "cdm.csv",
        CM,
        [
            ["99213", "", "140.00", "2026-01-01", ""],
            ["99213", "", "150.00", "2026-10-01", ""],
            ["20610", "RT", "$210", "2026-01-01", ""],
        ],
    )
    r = cli("codes", "price-load", "charge-master", f)
    assert r.exit_code == 0, r.output
    assert "3 charge master row(s) loaded" in r.stderr
    r = cli("codes", "price-load", "charge-master", f)  # the same file again changes nothing
    assert r.exit_code == 0 and "0 charge master row(s) loaded, 3 unchanged" in r.stderr
    from billadmin.pricing.prices import charge_price

    assert charge_price(pdb, "99213", "", "2026-09-30") == 14000
    assert charge_price(pdb, "99213", "", "2026-10-01") == 15000
    assert charge_price(pdb, "99213", "25", "2026-10-01") == 15000  # a modifier without its own row
    assert charge_price(pdb, "20610", "RT", "2026-03-01") == 21000
    assert charge_price(pdb, "99213", "", "2025-12-31") is None
    with pytest.raises(Exception, match="never edited"):
        with dbmod.write(pdb):
            pdb.execute("UPDATE charge_master SET price_cents = 1")


def test_overlapping_dates_are_refused_with_file_row_column(cli, pdb, tmp_path):
    f = _csv(
        tmp_path / "cdm.csv",
        CM,
        [
            ["99213", "", "140.00", "2026-01-01", "2026-12-31"],
            ["99213", "", "150.00", "2026-10-01", ""],  # inside the row above
            ["99214", "", "-5", "2026-01-01", ""],
        ],
    )
    r = cli("codes", "price-load", "charge-master", f)
    assert r.exit_code == 2
    assert "cdm.csv, row 3, column 'Effective From': overlaps row 2 of this file" in r.output
    assert "cdm.csv, row 4, column 'Price': amount must not be negative" in r.output
    assert _count(pdb, "charge_master") == 0
    ok = _csv(tmp_path / "ok.csv", CM, [["99213", "", "140.00", "2026-01-01", "2026-12-31"]])
    assert cli("codes", "price-load", "charge-master", ok).exit_code == 0
    later = _csv(tmp_path / "later.csv", CM, [["99213", "", "150.00", "2026-10-01", ""]])
    r = cli("codes", "price-load", "charge-master", later)
    assert r.exit_code == 2 and "row 2, column 'Effective From': overlaps a loaded row" in r.output
    assert _count(pdb, "charge_master") == 1


def test_contracts_amount_and_percentage_and_unknown_payer(cli, pdb, tmp_path):
    cdm = _csv(tmp_path / "cdm.csv", CM, [["99213", "", "150.00", "2026-01-01", ""]])
    assert cli("codes", "price-load", "charge-master", cdm).exit_code == 0
    bad = _csv(
        tmp_path / "contracts.csv",
        CT,
        [
            ["NOPE", "99213", "", "80.00", "", "", "2026-01-01", ""],
            ["KEY", "99213", "", "80.00", "90", "", "2026-01-01", ""],
        ],
    )
    r = cli("codes", "price-load", "contracts", bad)
    assert r.exit_code == 2
    assert "contracts.csv, row 2, column 'Payer': no payer with this code" in r.output
    assert "row 3, column 'Allowed': give either Allowed or Percent" in r.output
    assert _count(pdb, "payer_contracts") == 0
    good = _csv(
        tmp_path / "contracts.csv",
        CT,
        [
            ["MCR", "99213", "", "92.03", "", "", "2026-01-01", ""],
            ["KEY", "99213", "", "", "120", "MCR", "2026-01-01", ""],
            ["BVH", "99213", "", "", "65%", "charge master", "2026-01-01", ""],
        ],
    )
    r = cli("codes", "price-load", "contracts", good)
    assert r.exit_code == 0, r.output
    r = cli("codes", "prices", "99213", "--date", "2026-06-01", "-f", "json")
    rows = {x["payer"]: x for x in json.loads(r.stdout)}
    assert rows["(charge master)"]["price"] == "150.00"
    assert rows["MCR"]["price"] == "92.03"
    # 120% of 92.03 = 110.436 -> 110.44 (half-up); 65% of 150.00 = 97.50
    assert rows["KEY"]["price"] == "110.44" and "120% of MCR" in rows["KEY"]["basis"]
    assert rows["BVH"]["price"] == "97.50"


def _claim(conn, payer, dos, lines, number):
    """A claim invoice as billing stores it: (code, modifiers, units, charge cents) lines."""
    pid = fx.payer_id(conn, payer)
    pat = conn.execute("SELECT id FROM patients LIMIT 1").fetchone()
    if pat is None:
        pat = (fx.patient(conn, "0001", "Jane", "Smith"),)
    iid = conn.execute(
        "INSERT INTO invoices (number, kind, patient_id, payer_id, issued_on, total_cents,"
        " content_hash, created_at) VALUES (?, 'claim', ?, ?, ?, ?, 'x', '2026-01-01T00:00:00')",
        (number, pat[0], pid, dos, sum(x[3] for x in lines)),
    ).lastrowid
    ids = []
    for n, (code, mods, units, cents) in enumerate(lines, start=1):
        ids.append(
            conn.execute(
                "INSERT INTO invoice_lines (invoice_id, line_no, date_of_service, code, modifiers,"
                " units, amount_cents) VALUES (?,?,?,?,?,?,?)",
                (iid, n, dos, code, mods, units, cents),
            ).lastrowid
        )
    return iid, ids


def _remit_line(conn, invoice_id, line_id, charge, paid, allowed=None, co=0):
    fid = conn.execute(
        "INSERT INTO remit_files (file_name, sha256, size, segments, imported_at, os_user)"
        " VALUES ('x.835', ?, 1, 1, '2026-11-01', 'test')",
        (f"sha{line_id}",),
    ).lastrowid
    tid = conn.execute(
        "INSERT INTO remit_transactions (file_id, st_control, payer_key, handling_code,"
        " credit_debit, amount_cents, trace_number, claims_paid_cents, plb_cents, posted_cents,"
        " unmatched_cents) VALUES (?, '0001', 'K', 'I', 'C', ?, ?, ?, 0, ?, 0)",
        (fid, paid, f"T{line_id}", paid, paid),
    ).lastrowid
    cid = conn.execute(
        "INSERT INTO remit_claims (transaction_id, seq, claim_number, invoice_id, status_code,"
        " charge_cents, paid_cents, outcome) VALUES (?, 1, 'C', ?, '1', ?, ?, 'paid')",
        (tid, invoice_id, charge, paid),
    ).lastrowid
    rl = conn.execute(
        "INSERT INTO remit_lines (claim_id, seq, invoice_line_id, code, charge_cents, paid_cents,"
        " allowed_cents) VALUES (?, 1, ?, '99213', ?, ?, ?)",
        (cid, line_id, charge, paid, allowed),
    ).lastrowid
    if co:
        conn.execute(
            "INSERT INTO remit_adjustments (claim_id, line_id, group_code, reason_code,"
            " amount_cents) VALUES (?, ?, 'CO', '45', ?)",
            (cid, rl, co),
        )


def test_expected_allowed_per_claim_line_and_underpayments(cli, pdb, tmp_path):
    good = _csv(
        tmp_path / "contracts.csv",
        CT,
        [
            ["KEY", "99213", "", "98.50", "", "", "2026-01-01", ""],
            ["KEY", "36415", "", "8.00", "", "", "2026-01-01", ""],
        ],
    )
    assert cli("codes", "price-load", "contracts", good).exit_code == 0
    with dbmod.write(pdb):
        iid, (l1, l2) = _claim(
            pdb, "KEY", "2026-06-10", [("99213", "25", 1, 15000), ("36415", "", 2, 3000)], "C1"
        )
        iid2, (l3,) = _claim(pdb, "KEY", "2026-06-11", [("99213", "", 1, 15000)], "C2")
        # C1 line 1: allowed 98.50 as contracted; C2: AMT*B6 missing, charge 150 - CO 60 = 90.00
        _remit_line(pdb, iid, l1, 15000, 7880, allowed=9850)
        _remit_line(pdb, iid2, l3, 15000, 7200, co=6000)
    r = cli("report", "contract-expected", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    first = rows[0]
    assert (first["invoice"], first["line"], first["modifier"]) == ("C1", 1, "25")
    assert first["expected_allowed"] == "98.50"
    assert first["expected_contractual"] == "51.50"  # 150.00 - 98.50
    assert rows[1]["expected_allowed"] == "16.00"  # 2 units x 8.00
    assert rows[1]["expected_contractual"] == "14.00"
    r = cli("report", "underpaid-contracts", "-f", "json")
    assert r.exit_code == 0, r.output
    (u,) = json.loads(r.stdout)
    assert (u["invoice"], u["allowed_835"], u["short_by"]) == ("C2", "90.00", "8.50")
    assert "1 line(s) allowed below contract, 8.50 in all" in r.stderr
    r = cli("report", "underpaid-contracts", "--tolerance", "10.00", "-f", "json")
    assert json.loads(r.stdout) == []


def test_price_changes_report(cli, pdb, tmp_path):
    cdm = _csv(
        tmp_path / "cdm.csv",
        CM,
        [
            ["99213", "", "140.00", "2026-01-01", ""],
            ["99213", "", "150.00", "2026-10-01", ""],
            ["99214", "", "200.00", "2026-01-01", ""],  # unchanged in October
            ["G0439", "", "180.00", "2026-10-01", ""],  # new in October
        ],
    )
    assert cli("codes", "price-load", "charge-master", cdm).exit_code == 0
    ct = _csv(
        tmp_path / "ct.csv",
        CT,
        [
            ["KEY", "99213", "", "98.50", "", "", "2026-01-01", ""],
            ["KEY", "99213", "", "95.00", "", "", "2026-10-01", ""],
        ],
    )
    assert cli("codes", "price-load", "contracts", ct).exit_code == 0
    with dbmod.write(pdb):
        p = fx.patient(pdb, "0001", "Jane", "Smith")
        fx.encounter(pdb, p, "2026-09-03", [("99213", 14000), ("99214", 20000)])
        fx.encounter(pdb, p, "2026-09-17", [("99213", 14000, "", "1", 2)])
        fx.encounter(pdb, p, "2026-08-20", [("99213", 14000)])  # not the month before
        _claim(pdb, "KEY", "2026-09-03", [("99213", "", 1, 14000)], "C1")
        _claim(pdb, "KEY", "2026-09-17", [("99213", "", 2, 28000)], "C2")
    r = cli("report", "price-changes", "--month", "2026-10", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    by = {(x["kind"], x["code"]): x for x in rows}
    assert set(by) == {("charge", "99213"), ("charge", "G0439"), ("contract", "99213")}
    c = by[("charge", "99213")]
    # 3 units in September (1 + 2); +10.00 each -> +30.00 a month
    assert (c["old_price"], c["new_price"], c["change"]) == (
        "140.00",
        "150.00",
        "10.00",
    )
    assert c["units_month_before"] == 3 and c["revenue_impact"] == "30.00"
    assert c["change_pct"] == "7.1"
    k = by[("contract", "99213")]
    assert (k["payer"], k["old_price"], k["new_price"]) == ("KEY", "98.50", "95.00")
    assert k["units_month_before"] == 3 and k["revenue_impact"] == "-10.50"
    g = by[("charge", "G0439")]
    assert g["old_price"] is None and g["revenue_impact"] is None
    out = tmp_path / "pc.xlsx"
    r = cli("report", "price-changes", "--month", "2026-10", "-f", "xlsx", "-o", out)
    assert r.exit_code == 0 and out.exists()
    r = cli("report", "price-changes", "--month", "2026-13")
    assert r.exit_code == 2 and "--month" in r.output


def test_demo_prices_changes_and_legacy_worksheet(demo_practice, demo_copy, cli):
    """The demo raises four charge master prices and Keystone's 99213/99214 on 2026-10-01 and
    writes the ICD-9-CM worksheet of a legacy file (nothing converted)."""
    src, stderr = demo_practice
    assert "4 raised on 2026-10-01" in stderr and "legacy-worksheet.csv" in stderr
    sheet = src.parent / f"{src.stem}-files" / "imports" / "legacy-worksheet.csv"
    rows = {r["icd9cm"]: r for r in csv.DictReader(open(sheet))}
    assert rows["250.00"]["candidates"] == "E11.9 [10000]" and rows["250.00"]["icd10cm"] == ""
    assert rows["724.2"]["candidates"] == "M54.5 [00000] (not valid)"  # a header since FY2022
    r = cli(
        "--db", demo_copy, "report", "price-changes", "--month", "2026-10", "-f", "json", db=False
    )
    assert r.exit_code == 0, r.output
    got = {
        (x["kind"], x["payer"], x["code"]): (x["old_price"], x["new_price"])
        for x in json.loads(r.stdout)
    }
    assert got[("charge", None, "99213")] == ("140.00", "150.00")
    assert got[("contract", "KEY", "99213")] == ("140.00", "145.00")
    assert len(got) == 6
    # Medicare's 99213 at the demo's fee schedule: (1.30 + 1.34 x 0.912 + 0.10 x 0.520) x 33.4009
    # = 85.976588672 -> 85.98 non-facility; (1.30 + 0.55 x 0.912 + 0.052) x 33.4009 -> 61.91
    r = cli("--db", demo_copy, "report", "contract-expected", "-f", "json", db=False)
    mcr = [x for x in json.loads(r.stdout) if x["payer"] == "MCR" and x["code"] == "99213"]
    assert mcr and {x["expected_allowed"] for x in mcr} <= {"85.98", "61.91"}
    assert all(x["basis"].startswith("MPFS RVU-DEMO") for x in mcr)

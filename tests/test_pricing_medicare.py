"""Medicare's expected amount from the Physician Fee Schedule (pricing.medicare): the PPRRVU and
GPCI files in CMS's layouts, the locality, facility vs non-facility, the multiple procedure
reduction, the lower of charge and fee, and the 2% sequestration on the payment. Every expected
amount is computed by hand in the test (exact products, rounded half-up to the cent)."""

from __future__ import annotations

import csv
import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod

# PPRRVU's layout: title and copyright lines, then a header split over two rows (names read by
# the loader, not positions), then one row per code and modifier. Descriptions are left empty:
# CPT descriptors are the AMA's.
RVU_TOP = [
    ["2026 National Physician Fee Schedule Relative Value File January Release"],
    ["CPT codes and descriptions only are copyright American Medical Association."],
    [],
    ["", "", "", "STATUS", "NOT USED FOR", "WORK", "NON-FAC", "NON-FAC", "FACILITY"]
    + ["FACILITY", "MP", "NON-FACILITY", "FACILITY", "PCTC", "GLOB", "MULT", "BILAT"]
    + ["", "", "", "", "CONV"],
    ["HCPCS", "MOD", "DESCRIPTION", "CODE", "MEDICARE PAYMENT", "RVU", "PE RVU"]
    + ["NA INDICATOR", "PE RVU", "NA INDICATOR", "RVU", "TOTAL", "TOTAL", "IND", "DAYS"]
    + ["PROC", "SURG", "ASST SURG", "CO-SURG", "TEAM SURG", "ENDO BASE", "FACTOR"],
]


def _rvu_row(code, mod, status, work, pe_n, pe_f, mp, mult, cf="33.4009"):
    return [code, mod, "", status, "", work, pe_n, "", pe_f, "", mp, "", "", "0", "000", mult] + [
        "0",
        "0",
        "0",
        "0",
        "",
        cf,
    ]


RVU_ROWS = [
    _rvu_row("99213", "", "A", "1.30", "1.34", "0.55", "0.10", "0"),
    _rvu_row("11401", "", "A", "1.27", "2.68", "1.05", "0.16", "2"),
    _rvu_row("11402", "", "A", "1.55", "2.91", "1.20", "0.20", "2"),
    _rvu_row("71046", "26", "A", "0.22", "0.09", "0.09", "0.02", "0"),
    _rvu_row("71046", "TC", "A", "0.00", "0.75", "0.75", "0.01", "0"),
    _rvu_row("36415", "", "X", "0.00", "0.00", "0.00", "0.00", "9"),
]

GPCI_ROWS = [
    ["ADDENDUM E. FINAL CY 2026 GEOGRAPHIC PRACTICE COST INDICES (GPCIs)"],
    ["Medicare Administrative Contractor (MAC)", "State", "Locality Number", "Locality Name"]
    + ["2026 PW GPCI (without 1.0 Floor)", "2026 PW GPCI (with 1.0 Floor)"]
    + ["2026 PE GPCI", "2026 MP GPCI"],
    ["15202", "OH", "00", "OHIO", "0.982", "1.000", "0.912", "0.520"],
    ["1112", "CA", "54", "BAKERSFIELD", "1.027", "1.027", "1.079", "0.694"],
    ["* Payment locality is serviced by two MACs"],
]


def _csv(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def mdb(db, tmp_path, cli):
    """A practice with the January 2026 MPFS loaded and its locality set (MAC 15202, 00)."""
    with dbmod.write(db):
        fx.practice(db)
    rvu = _csv(tmp_path / "PPRRVU26_JAN.csv", RVU_TOP + RVU_ROWS)
    gpci = _csv(tmp_path / "GPCI2026.csv", GPCI_ROWS)
    r = cli("codes", "mpfs-load", "rvu", rvu, "--effective", "2026-01-01", "--version", "RVU26A")
    assert r.exit_code == 0, r.output
    assert "release RVU26A loaded from 2026-01-01, 6 row(s)" in r.stderr
    r = cli("codes", "mpfs-load", "gpci", gpci, "--effective", "2026-01-01")
    assert r.exit_code == 0, r.output
    r = cli("codes", "medicare-locality", "15202", "00")
    assert r.exit_code == 0, r.output
    assert "MAC 15202, locality 00 (OHIO)" in r.stderr
    return db


def _claim(conn, payer, dos, lines, number, *, pos="11"):
    """A claim invoice for an encounter at a place of service: lines (code, mods, units, cents)."""
    pat = conn.execute("SELECT id FROM patients LIMIT 1").fetchone()
    pat = pat[0] if pat else fx.patient(conn, "0001")
    eid = fx.encounter(conn, pat, dos, [(c, cents, m, "1", u) for c, m, u, cents in lines], pos=pos)
    iid = conn.execute(
        "INSERT INTO invoices (number, kind, patient_id, payer_id, encounter_id, issued_on,"
        " total_cents, content_hash, created_at) VALUES (?, 'claim', ?, ?, ?, ?, ?, 'x',"
        " '2026-01-01T00:00:00')",
        (number, pat, fx.payer_id(conn, payer), eid, dos, sum(x[3] for x in lines)),
    ).lastrowid
    ids = []
    for n, (code, mods, units, cents) in enumerate(lines, start=1):
        cl = conn.execute(
            "SELECT id FROM charge_lines WHERE encounter_id = ? AND line_no = ?", (eid, n)
        ).fetchone()[0]
        ids.append(
            conn.execute(
                "INSERT INTO invoice_lines (invoice_id, line_no, charge_line_id, date_of_service,"
                " code, modifiers, units, amount_cents) VALUES (?,?,?,?,?,?,?,?)",
                (iid, n, cl, dos, code, mods, units, cents),
            ).lastrowid
        )
    return iid, ids


def _expected(cli, invoice):
    r = cli("report", "contract-expected", "--invoice", invoice, "-f", "json")
    assert r.exit_code == 0, r.output
    return {x["line"]: x for x in json.loads(r.stdout)}


def test_fee_schedule_amount_non_facility_facility_and_multiple_procedures(cli, mdb, tmp_path):
    ct = _csv(
        tmp_path / "ct.csv",
        [["Payer", "Code", "Allowed", "Effective From"], ["MCR", "36415", "8.00", "2026-01-01"]],
    )
    assert cli("codes", "price-load", "contracts", ct).exit_code == 0
    with dbmod.write(mdb):
        _claim(
            mdb,
            "MCR",
            "2026-03-02",
            [
                ("99213", "25", 1, 15000),
                ("11401", "", 1, 20000),
                ("11402", "", 1, 25000),
                ("36415", "", 1, 2000),
            ],
            "C1",
        )
        _claim(mdb, "MCR", "2026-03-03", [("99213", "", 1, 15000)], "C2", pos="22")
    got = _expected(cli, "C1")
    # 99213 non-facility (POS 11), GPCIs 1.000 (the PW column with the floor) / 0.912 / 0.520:
    # (1.30 x 1.000 + 1.34 x 0.912 + 0.10 x 0.520) x 33.4009 = 2.57408 x 33.4009
    # = 85.976588672 -> 85.98
    assert got[1]["expected_allowed"] == "85.98"
    assert got[1]["expected_contractual"] == "64.02"  # 150.00 - 85.98
    # payment: 80% of 85.98 = 68.784 -> 68.78; sequestration 2% of 68.78 = 1.3756 -> 1.38
    assert (got[1]["expected_paid"], got[1]["expected_sequestration"]) == ("67.40", "1.38")
    assert "MPFS RVU26A, GPCI GPCI2026 locality 15202-00, non-facility" in got[1]["basis"]
    # 11402: (1.55 + 2.91 x 0.912 + 0.20 x 0.520) x 33.4009 = 4.30792 x 33.4009
    # = 143.888405128 -> 143.89, the highest of the indicator-2 procedures: 100%
    assert got[3]["expected_allowed"] == "143.89"
    # 11401: (1.27 + 2.68 x 0.912 + 0.16 x 0.520) x 33.4009 = 3.79736 x 33.4009
    # = 126.835241624 -> 126.84, ranked second: 50% = 63.42
    assert got[2]["expected_allowed"] == "63.42"
    assert "multiple procedure 50% of 126.84" in got[2]["basis"]
    # 36415 has status X (not paid under the MPFS): Medicare's contract row applies
    assert got[4]["expected_allowed"] == "8.00" and "contract from 2026-01-01" in got[4]["basis"]
    assert got[4]["expected_paid"] is None
    (fac,) = _expected(cli, "C2").values()
    # POS 22 is a facility: (1.30 + 0.55 x 0.912 + 0.052) x 33.4009 = 1.8536 x 33.4009
    # = 61.91190824 -> 61.91
    assert fac["expected_allowed"] == "61.91" and "facility" in fac["basis"]
    assert "non-facility" not in fac["basis"]


def test_units_pc_tc_lower_charge_and_other_payers(cli, mdb):
    with dbmod.write(mdb):
        _claim(mdb, "MCR", "2026-04-01", [("11401", "", 2, 40000)], "C3")
        _claim(mdb, "MCR", "2026-04-01", [("71046", "26", 1, 5000)], "C4")
        _claim(mdb, "MCR", "2026-04-02", [("99213", "", 1, 8000)], "C5")
        _claim(mdb, "KEY", "2026-04-02", [("99213", "", 1, 15000)], "C6")
    # two units of an indicator-2 code: 126.84 + 50% of 126.84 = 126.84 + 63.42 = 190.26
    assert _expected(cli, "C3")[1]["expected_allowed"] == "190.26"
    # 71046-26: (0.22 + 0.09 x 0.912 + 0.02 x 0.520) x 33.4009 = 0.31248 x 33.4009
    # = 10.437113232 -> 10.44
    assert _expected(cli, "C4")[1]["expected_allowed"] == "10.44"
    # charge 80.00 below the fee schedule's 85.98: Medicare allows the charge
    c5 = _expected(cli, "C5")[1]
    assert c5["expected_allowed"] == "80.00" and "the charge" in c5["basis"]
    # a commercial payer is never priced from the MPFS
    c6 = _expected(cli, "C6")[1]
    assert (
        c6["expected_allowed"] is None and c6["basis"] == "no contract row on the date of service"
    )


def test_no_locality_or_release_says_why(cli, db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        _claim(db, "MCR", "2026-03-02", [("99213", "", 1, 15000)], "C1")
    row = _expected(cli, "C1")[1]
    assert row["expected_allowed"] is None
    assert row["basis"].startswith("Medicare locality not set")
    r = cli("codes", "medicare-locality")
    assert r.exit_code == 0 and r.stdout.strip() == "not set"
    assert cli("codes", "medicare-locality", "15202", "00").exit_code == 0
    assert "no MPFS RVU release on 2026-03-02" in _expected(cli, "C1")[1]["basis"]


def test_sequestration_is_not_an_underpayment(cli, mdb):
    from test_pricing import _remit_line

    with dbmod.write(mdb):
        iid, (l1, l2, l3) = _claim(
            mdb,
            "MCR",
            "2026-03-02",
            [("99213", "", 1, 15000), ("11401", "", 1, 20000), ("11402", "", 1, 25000)],
            "C1",
        )
        # 99213 paid as expected, no AMT*B6: charge 150.00 - CO-45 64.02 = 85.98 allowed; the
        # CO-253 of 1.38 reduces the payment, not the allowed
        _remit_line(mdb, iid, l1, 15000, 6740, co=6402)
        rl = mdb.execute("SELECT MAX(id), MAX(claim_id) FROM remit_lines").fetchone()
        mdb.execute(
            "INSERT INTO remit_adjustments (claim_id, line_id, group_code, reason_code,"
            " amount_cents) VALUES (?, ?, 'CO', '253', 138)",
            (rl[1], rl[0]),
        )
        # 11401 allowed 60.00 (AMT*B6) where 63.42 is expected (50% of 126.84): 3.42 short
        _remit_line(mdb, iid, l2, 20000, 4704, allowed=6000)
    r = cli("report", "underpaid-contracts", "-f", "json")
    assert r.exit_code == 0, r.output
    (u,) = json.loads(r.stdout)
    assert (u["line"], u["expected_allowed"], u["allowed_835"], u["short_by"]) == (
        2,
        "63.42",
        "60.00",
        "3.42",
    )
    assert "multiple procedure" in u["basis"]


def test_bad_files_are_refused_with_file_row_column(cli, db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
    bad = _csv(
        tmp_path / "PPRRVU26_APR.csv",
        RVU_TOP
        + [
            _rvu_row("99213", "", "A", "1.30", "x", "0.55", "0.10", "0"),
            _rvu_row("9921", "", "A", "1.30", "1.34", "0.55", "0.10", "0"),
            _rvu_row("11401", "", "A", "1.27", "2.68", "1.05", "0.16", "2"),
            _rvu_row("11401", "", "A", "1.27", "2.68", "1.05", "0.16", "2"),
        ],
    )
    r = cli("codes", "mpfs-load", "rvu", bad, "--effective", "2026-04-01")
    assert r.exit_code == 2
    assert "PPRRVU26_APR.csv, row 6, column 'NON-FAC PE RVU': not a number" in r.output
    assert "row 7, column 'HCPCS': a procedure code is 5 letters or digits" in r.output
    assert "row 9, column 'HCPCS': the same code and modifier as row 8" in r.output
    no_cf = _csv(tmp_path / "x.csv", [r[:-1] for r in RVU_TOP + RVU_ROWS])
    r = cli("codes", "mpfs-load", "rvu", no_cf, "--effective", "2026-04-01")
    assert r.exit_code == 2 and "needs the column(s) CONV FACTOR" in r.output
    g = _csv(
        tmp_path / "GPCI.csv", GPCI_ROWS[:2] + [["15202", "OH", "0A", "OHIO", "", "1", "0", ""]]
    )
    r = cli("codes", "mpfs-load", "gpci", g, "--effective", "2026-01-01")
    assert r.exit_code == 2
    assert "GPCI.csv, row 3, column 'Locality Number': a locality is 2 digits" in r.output
    assert "row 3, column 'PE GPCI': a GPCI is a number above 0" in r.output
    assert db.execute("SELECT COUNT(*) FROM mpfs_releases").fetchone()[0] == 0
    assert cli("codes", "medicare-locality", "1520", "00").exit_code == 2


def test_releases_are_effective_dated_and_never_overlap(cli, mdb, tmp_path):
    rvu = tmp_path / "PPRRVU26_JAN.csv"
    r = cli("codes", "mpfs-load", "rvu", rvu, "--effective", "2026-01-01", "--version", "RVU26A")
    assert r.exit_code == 0 and "loaded already; nothing changed" in r.stderr
    other = _csv(tmp_path / "PPRRVU26_FIX.csv", RVU_TOP + RVU_ROWS[:2])
    r = cli("codes", "mpfs-load", "rvu", other, "--effective", "2026-01-01")
    assert r.exit_code == 2 and "overlaps release RVU26A (from 2026-01-01 to open)" in r.output
    # April's release: 99213's work RVU 1.40; the conversion factor unchanged
    april = _csv(
        tmp_path / "PPRRVU26_APR.csv",
        RVU_TOP + [_rvu_row("99213", "", "A", "1.40", "1.34", "0.55", "0.10", "0")],
    )
    r = cli("codes", "mpfs-load", "rvu", april, "--effective", "2026-04-01", "--version", "RVU26B")
    assert r.exit_code == 0 and "release RVU26A ends the day before" in r.stderr
    with dbmod.write(mdb):
        _claim(mdb, "MCR", "2026-03-31", [("99213", "", 1, 15000)], "C1")
        _claim(mdb, "MCR", "2026-04-01", [("99213", "", 1, 15000)], "C2")
    assert _expected(cli, "C1")[1]["expected_allowed"] == "85.98"  # RVU26A
    # (1.40 + 1.34 x 0.912 + 0.10 x 0.520) x 33.4009 = 2.67408 x 33.4009 = 89.316678672 -> 89.32
    c2 = _expected(cli, "C2")[1]
    assert c2["expected_allowed"] == "89.32" and "RVU26B" in c2["basis"]
    r = cli("codes", "sets", "--as-of", "2026-05-01", "-f", "json")
    sets = {(x["code_set"], x["version"]): x for x in json.loads(r.stdout)}
    assert sets[("MPFS relative values (PPRRVU)", "RVU26B")]["covers_today"] is True
    assert sets[("MPFS relative values (PPRRVU)", "RVU26A")]["effective_to"] == "2026-03-31"
    assert sets[("MPFS GPCIs", "GPCI2026")]["rows"] == 2


def _adjust(conn, group, reason, cents):
    """A CAS adjustment on the last 835 line posted."""
    rl, cid = conn.execute("SELECT MAX(id), MAX(claim_id) FROM remit_lines").fetchone()
    conn.execute(
        "INSERT INTO remit_adjustments (claim_id, line_id, group_code, reason_code, amount_cents)"
        " VALUES (?, ?, ?, ?, ?)",
        (cid, rl, group, reason, cents),
    )


def test_reconcile_remits_uses_contract_or_medicare_fee_schedule_per_line(cli, mdb, tmp_path):
    """`reconcile remits` compares each line with the Medicare fee schedule or the contract in
    force on its date of service, else the fee schedule, and names the basis in its note."""
    from test_pricing import _remit_line

    from billadmin.reconcile.remits import underpaid

    ct = _csv(
        tmp_path / "ct.csv",
        [["Payer", "Code", "Allowed", "Effective From"], ["KEY", "99213", "98.50", "2026-01-01"]],
    )
    assert cli("codes", "price-load", "contracts", ct).exit_code == 0
    with dbmod.write(mdb):
        mdb.execute(
            "INSERT INTO fee_schedule (payer_id, code, modifier, amount_cents, effective_from)"
            " VALUES (NULL, '99213', '', 12000, '2026-01-01')"
        )
        k1, (k1l,) = _claim(mdb, "KEY", "2026-03-02", [("99213", "", 1, 15000)], "K1")
        k2, (k2l,) = _claim(mdb, "KEY", "2026-03-03", [("99213", "", 1, 15000)], "K2")
        b1, (b1l,) = _claim(mdb, "BVH", "2026-03-03", [("99213", "", 1, 15000)], "B1")
        m1, (m1a, m1b) = _claim(
            mdb, "MCR", "2026-03-04", [("99213", "", 1, 15000), ("11401", "", 1, 20000)], "M1"
        )
        m2, (m2a, m2b) = _claim(
            mdb, "MCR", "2026-03-05", [("11402", "", 1, 25000), ("11401", "", 1, 20000)], "M2"
        )
        # K1 allowed as contracted (98.50): below the fee schedule's 120.00, but the contract
        # is in force, so it is not underpaid; K2 allowed 90.00: 8.50 below the contract
        _remit_line(mdb, k1, k1l, 15000, 9850, allowed=9850)
        _remit_line(mdb, k2, k2l, 15000, 9000, allowed=9000)
        # B1: no contract, the fee schedule's 120.00 against 100.00 allowed
        _remit_line(mdb, b1, b1l, 15000, 10000, allowed=10000)
        # M1 99213, no AMT*B6: paid 67.40 + PR-2 17.20 + CO-253 1.38 = 85.98, the MPFS amount
        _remit_line(mdb, m1, m1a, 15000, 6740, co=6402)
        _adjust(mdb, "PR", "2", 1720)
        _adjust(mdb, "CO", "253", 138)
        # M1 11401 alone on its claim: 126.84 expected at 100%; allowed 126.84
        _remit_line(mdb, m1, m1b, 20000, 9944, allowed=12684)
        # M2 11401 after 11402: 50% = 63.42 expected, the 835 allowed 126.84 (no reduction):
        # not underpaid; 11402 allowed 140.00 where 143.89 is expected: 3.89 short
        _remit_line(mdb, m2, m2b, 20000, 9944, allowed=12684)
        _remit_line(mdb, m2, m2a, 25000, 10976, allowed=14000)
    rows = {r["claim_number"]: r for r in underpaid(mdb, 0)}
    assert set(rows) == {"K2", "B1", "M2"}
    assert rows["K2"]["difference_cents"] == -850
    assert rows["K2"]["note"] == ("allowed (AMT*B6) below the contract (contract from 2026-01-01)")
    assert rows["B1"]["difference_cents"] == -2000
    assert rows["B1"]["note"] == "allowed (AMT*B6) below the fee schedule"
    assert (rows["M2"]["line"], rows["M2"]["expected_cents"], rows["M2"]["amount_cents"]) == (
        1,
        14389,
        14000,
    )
    assert rows["M2"]["note"].startswith("allowed (AMT*B6) below the Medicare fee schedule (MPFS")
    r = cli("reconcile", "remits", "--as-of", "2026-12-01", "-f", "json")
    assert r.exit_code == 1, r.output
    assert "below the contract (contract from 2026-01-01)" in r.stdout


def test_a_percentage_of_medicare_is_of_the_fee_schedule_amount(cli, mdb, tmp_path):
    """BVH pays 120% of Medicare; Medicare has no contract row for 99213, so the base is its fee
    schedule amount at the line's place of service."""
    ct = _csv(
        tmp_path / "ct.csv",
        [
            ["Payer", "Code", "Percent", "Base", "Effective From"],
            ["BVH", "99213", "120", "MCR", "2026-01-01"],
        ],
    )
    assert cli("codes", "price-load", "contracts", ct).exit_code == 0
    with dbmod.write(mdb):
        _claim(mdb, "BVH", "2026-03-02", [("99213", "", 1, 15000)], "H1")
        _claim(mdb, "BVH", "2026-03-02", [("99213", "", 1, 15000)], "H2", pos="22")
    # 120% of 85.98 (non-facility) = 103.176 -> 103.18; of 61.91 (facility) = 74.292 -> 74.29
    h1 = _expected(cli, "H1")[1]
    assert h1["expected_allowed"] == "103.18"
    assert h1["basis"] == "120% of MCR's fee schedule amount (85.98)"
    assert _expected(cli, "H2")[1]["expected_allowed"] == "74.29"
    r = cli("codes", "prices", "99213", "--date", "2026-03-01", "-f", "json")
    assert r.exit_code == 0, r.output
    rows = {x["payer"]: x["price"] for x in json.loads(r.stdout)}
    assert rows["MCR (fee schedule, non-facility)"] == "85.98"
    assert rows["MCR (fee schedule, facility)"] == "61.91"
    assert rows["BVH"] == "103.18"


def test_the_xlsx_files_load_as_the_csv_ones(cli, db, tmp_path):
    """CMS ships the PPRRVU and GPCI files as XLSX too; numbers as numeric cells."""
    import openpyxl

    def xlsx(path, rows):
        wb = openpyxl.Workbook()
        ws = wb.active
        for r in rows:
            ws.append([float(c) if c.replace(".", "", 1).isdigit() and "." in c else c for c in r])
        wb.save(path)
        return path

    with dbmod.write(db):
        fx.practice(db)
    rvu = xlsx(tmp_path / "PPRRVU26_JAN.xlsx", RVU_TOP + RVU_ROWS)
    gpci = xlsx(tmp_path / "GPCI2026.xlsx", GPCI_ROWS)
    assert cli("codes", "mpfs-load", "rvu", rvu, "--effective", "2026-01-01").exit_code == 0
    assert cli("codes", "mpfs-load", "gpci", gpci, "--effective", "2026-01-01").exit_code == 0
    assert cli("codes", "medicare-locality", "15202", "00").exit_code == 0
    with dbmod.write(db):
        _claim(db, "MCR", "2026-03-02", [("99213", "", 1, 15000)], "C1")
    assert _expected(cli, "C1")[1]["expected_allowed"] == "85.98"  # as from the CSV files

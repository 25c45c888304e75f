"""`reconcile remits`: unpaid past N days per payer, underpaid against the fee schedule, denied,
remittances for unknown claims, and 835 payments against bank deposits; exit codes, xlsx,
history."""

from __future__ import annotations

import csv
import json

import pytest
from test_remit_support import Remit, issue_claim

from billadmin import db as dbmod


@pytest.fixture
def book(db, cli, tmp_path):
    """Claims, fee schedule, and three posted 835s (hand-computed amounts in the comments)."""
    issue_claim(
        db, "C000001", [("99213", "", "140.00")], issued_on="2026-01-05"
    )  # unpaid, KEY, 85 days
    issue_claim(
        db, "C000002", [("99213", "", "140.00")], issued_on="2026-03-25"
    )  # recent: not yet unpaid
    issue_claim(
        db,
        "C000003",
        [("99214", "", "205.00")],
        issued_on="2026-02-01",
        payer_code="SUM",
        payer_x12="SUM12",
    )  # unpaid, SUM, 58 days
    issue_claim(db, "C000004", [("99213", "", "140.00")], issued_on="2026-02-10")  # paid at the fee
    issue_claim(
        db, "C000005", [("99214", "", "205.00")], issued_on="2026-02-10"
    )  # underpaid by 30.00
    issue_claim(db, "C000006", [("99213", "", "140.00")], issued_on="2026-02-10")  # denied
    issue_claim(db, "C000007", [("99213", "", "140.00")], issued_on="2026-02-10")  # paid at the fee
    key = db.execute("SELECT id FROM payers WHERE code = 'KEY'").fetchone()[0]
    with dbmod.write(db):
        db.conn.executemany(
            "INSERT INTO fee_schedule (payer_id, code, modifier, amount_cents, effective_from) VALUES (?,?,?,?,?)",
            [
                (None, "99213", "", 10000, "2026-01-01"),
                (None, "99214", "", 13000, "2026-01-01"),
                (key, "99214", "", 15000, "2026-01-01"),
            ],
        )
    eft1 = (
        Remit(trace="EFT1")
        .claim(
            "C000004",
            "1",
            "140",
            "80",
            "20",
            lines=[("HC:99213", "140", "80", [("CO", "45", "40"), ("PR", "2", "20")])],
        )
        .claim(
            "C000005",
            "1",
            "205",
            "100",
            "20",
            lines=[("HC:99214", "205", "100", [("CO", "45", "85"), ("PR", "2", "20")])],
        )
        .claim("C000006", "1", "140", "0", cas=[("CO", "197", "140")])
        .claim("X-1", "1", "50", "40", cas=[("CO", "45", "10")])
    )  # BPR 220.00
    chk2 = Remit(trace="CHK2", method="CHK").claim(
        "C000007", "1", "140", "100", lines=[("HC:99213", "140", "100", [("CO", "45", "40")])]
    )  # BPR 100.00
    eft3 = Remit(trace="EFT3").claim("X-2", "1", "10", "10")  # BPR 10.00
    res = cli(
        "remit",
        "import",
        eft1.write(tmp_path / "eft1.835"),
        chk2.write(tmp_path / "chk2.835"),
        eft3.write(tmp_path / "eft3.835"),
    )
    assert res.exit_code == 0, res.output
    bank = tmp_path / "bank.csv"
    with open(bank, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Description", "EFT Trace", "Credit"])
        w.writerows(
            [
                ("2026-03-16", "HCCLAIMPMT KEY", "eft1", "220.00"),
                ("2026-03-17", "CHECK DEPOSIT", "CHK2", "95.00"),
                ("2026-03-17", "HCCLAIMPMT ?", "EFT404", "99.00"),
                ("2026-03-18", "DEP", "CHK9", "5.00"),
                ("2026-03-18", "DEP", "CHK9", "5.00"),
            ]
        )
    return bank


def _json(res):
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def test_categories(cli, db, book):
    doc = _json(cli("reconcile", "remits", "--as-of", "2026-03-31", "-f", "json"))
    rows = doc["rows"]
    by = {}
    for r in rows:
        by.setdefault(r["category"], []).append(r)
    unpaid = [(r["payer"], r["claim_number"], r["days"], r["difference"]) for r in by["unpaid"]]
    assert unpaid == [("KEY", "C000001", 85, "-140.00"), ("SUM", "C000003", 58, "-205.00")]
    (under,) = by["underpaid"]
    assert (
        under["claim_number"],
        under["code"],
        under["expected"],
        under["amount"],
        under["difference"],
    ) == ("C000005", "99214", "150.00", "120.00", "-30.00")
    (denied,) = by["denied"]
    assert (
        denied["claim_number"] == "C000006"
        and denied["reasons"] == "CO-197"
        and denied["trace_number"] == "EFT1"
    )
    assert [(r["claim_number"], r["amount"]) for r in by["unknown_claim"]] == [
        ("X-1", "40.00"),
        ("X-2", "10.00"),
    ]
    s = {(r["category"], r["payer"]): r for r in doc["summary"]}
    assert s[("unpaid", "")]["count"] == 2 and s[("unpaid", "KEY")]["expected"] == "140.00"
    assert s[("unpaid", "SUM")]["count"] == 1
    assert not any(c.startswith("deposit") for c, _ in s)
    assert doc["result"] == "differences"


def test_days_and_since(cli, db, book):
    doc = _json(cli("reconcile", "remits", "--as-of", "2026-03-31", "--days", "60", "-f", "json"))
    assert [r["claim_number"] for r in doc["rows"] if r["category"] == "unpaid"] == ["C000001"]
    doc = _json(
        cli("reconcile", "remits", "--as-of", "2026-03-31", "--since", "2026-03-15", "-f", "json")
    )
    assert not [r for r in doc["rows"] if r["category"] in ("denied", "unknown_claim")]


def test_deposits(cli, db, book):
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--deposits",
        book,
        "--key",
        "EFT Trace",
        "--amount",
        "Credit",
        "-f",
        "json",
    )
    doc = _json(res)
    dep = [
        (r["category"], r["trace_number"], r["expected"], r["amount"], r["difference"])
        for r in doc["rows"]
        if r["category"]
        in ("deposit_amount_differs", "only_in_835", "only_in_bank", "deposit_duplicate")
    ]
    assert dep == [
        ("deposit_amount_differs", "CHK2", "100.00", "95.00", "-5.00"),
        ("only_in_835", "EFT3", "10.00", None, "-10.00"),
        ("only_in_bank", "EFT404", None, "99.00", "99.00"),
        ("deposit_duplicate", "CHK9", None, "5.00", "5.00"),
        ("deposit_duplicate", "CHK9", None, "5.00", "5.00"),
    ]
    s = {r["category"]: r for r in doc["summary"] if not r["payer"]}
    assert (
        s["deposit_matched"]["count"],
        s["deposit_matched"]["expected"],
        s["deposit_matched"]["amount"],
    ) == (1, "220.00", "220.00")
    run = db.execute("SELECT kind, inputs, exit_code FROM reconcile_runs").fetchone()
    assert run[0] == "remits" and json.loads(run[1])[0]["file"] == "bank.csv" and run[2] == 1


def test_deposits_as_of_a_past_date_with_the_bank_date_column(cli, db, book, tmp_path):
    """A bank export runs to today; reconciled as of an earlier day, deposits after it are left
    out (with --date) instead of showing as only in the bank. MM/DD/YYYY via --date-format."""
    late = tmp_path / "bank-later.csv"
    rows = list(csv.reader(open(book)))
    rows.append(["2026-04-02", "HCCLAIMPMT KEY", "EFT77", "310.00"])  # after --as-of
    with open(late, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    base = [
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--deposits",
        late,
        "--key",
        "EFT Trace",
        "--amount",
        "Credit",
    ]
    without = _json(cli(*base, "-f", "json"))
    assert "EFT77" in [
        r["trace_number"] for r in without["rows"] if r["category"] == "only_in_bank"
    ]
    res = cli(*base, "--date", "Date", "-f", "json")
    with_date = _json(res)
    assert "EFT77" not in [r["trace_number"] for r in with_date["rows"]]
    assert "1 bank row(s) dated after 2026-03-31 left out" in res.stderr
    same = [r for r in without["rows"] if r["trace_number"] != "EFT77"]

    def undated(rows):  # with --date, a row only in the bank shows its bank date
        return [{k: v for k, v in r.items() if k != "date"} for r in rows]

    assert undated(with_date["rows"]) == undated(same)
    assert "not limited by date" in cli(*base).stderr
    # --since bounds the other end; US dates through --date-format
    us = tmp_path / "bank-us.csv"
    with open(us, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(rows[0])
        for r in rows[1:]:
            y, m, d = r[0].split("-")
            w.writerow([f"{m}/{d}/{y}"] + r[1:])
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--since",
        "2026-03-17",
        "--deposits",
        us,
        "--key",
        "EFT Trace",
        "--amount",
        "Credit",
        "--date",
        "Date",
        "--date-format",
        "MM/DD/YYYY",
        "-f",
        "json",
    )
    assert (
        "2 bank row(s) dated after 2026-03-31 or before 2026-03-17 left out" in res.stderr
    )  # EFT77, eft1
    assert "EFT1" not in [
        r["trace_number"] for r in _json(res)["rows"] if r["category"] == "only_in_bank"
    ]
    # a date that is not one: the file, row and column, exit 2, nothing recorded
    bad = tmp_path / "bank-bad.csv"
    with open(bad, "w", newline="") as fh:
        csv.writer(fh).writerows(rows[:2] + [["31/31/2026"] + rows[2][1:]])
    runs = db.execute("SELECT COUNT(*) FROM reconcile_runs").fetchone()[0]
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--deposits",
        bad,
        "--key",
        "EFT Trace",
        "--amount",
        "Credit",
        "--date",
        "Date",
    )
    assert (
        res.exit_code == 2
        and "bank-bad.csv" in res.stderr
        and "row 3" in res.stderr
        and "Date" in res.stderr
    )
    assert db.execute("SELECT COUNT(*) FROM reconcile_runs").fetchone()[0] == runs
    assert cli("reconcile", "remits", "--date", "Date").exit_code == 2  # --date without --deposits


def test_xlsx_and_history(cli, db, book, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "remits.xlsx"
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-03-31",
        "--deposits",
        book,
        "--key",
        "EFT Trace",
        "--amount",
        "Credit",
        "-o",
        out,
    )
    assert res.exit_code == 1
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
        "Paid",
        "Unpaid",
        "Underpaid",
        "Denied",
        "Unknown claims",
        "Deposits matched",
        "Deposit differs",
        "835 not deposited",
        "Deposit without 835",
        "Not from an 835",
        "Deposit duplicates",
    ]
    assert wb["Unpaid"].max_row == 3 and wb["Unpaid"].freeze_panes == "A2"
    hist = json.loads(cli("reconcile", "history", "--kind", "remits", "-f", "json").stdout)
    assert len(hist) == 1 and hist[0]["differences"] == 11 and "bank.csv" in hist[0]["inputs"]


def test_nothing_to_do_exits_0(cli, db, tmp_path):
    issue_claim(db, "C000001", [("99213", "", "140.00")], issued_on="2026-03-01")
    r = Remit(trace="EFT1").claim("C000001", "1", "140", "140")
    assert cli("remit", "import", r.write(tmp_path / "a.835")).exit_code == 0
    bank = tmp_path / "bank.csv"
    bank.write_text("trace,amount\nEFT1,140.00\n")
    res = cli(
        "reconcile",
        "remits",
        "--as-of",
        "2026-04-30",
        "--deposits",
        bank,
        "--key",
        "trace",
        "--amount",
        "amount",
    )
    assert res.exit_code == 0, res.output
    assert "no fee schedule" not in res.stderr


def test_usage_errors(cli, db, tmp_path):
    assert cli("reconcile", "remits", "--deposits", tmp_path / "x.csv").exit_code == 2
    assert cli("reconcile", "remits", "--key", "x").exit_code == 2
    assert cli("reconcile", "remits", "--as-of", "31/03/2026").exit_code == 2
    assert cli("reconcile", "history", "--kind", "nope").exit_code == 2


def test_fee_schedule_modifier_fallback(cli, db, tmp_path):
    issue_claim(
        db, "C000001", [("99213", "25", "140.00"), ("71046", "26", "95.00")], issued_on="2026-03-01"
    )
    with dbmod.write(db):
        db.conn.executemany(
            "INSERT INTO fee_schedule (payer_id, code, modifier, amount_cents, effective_from) VALUES (?,?,?,?,?)",
            [(None, "99213", "", 10000, "2026-01-01"), (None, "71046", "", 9500, "2026-01-01")],
        )
    r = Remit(trace="EFT1").claim(
        "C000001",
        "1",
        "235",
        "110",
        lines=[
            (
                "HC:99213:25",
                "140",
                "80",
                [("CO", "45", "60")],
            ),  # 25 does not change the price: 80 < 100
            ("HC:71046:26", "95", "30", [("CO", "45", "65")]),
        ],
    )  # 26 does: no 26 row, not compared
    assert cli("remit", "import", r.write(tmp_path / "a.835")).exit_code == 0
    doc = _json(cli("reconcile", "remits", "--as-of", "2026-03-31", "-f", "json"))
    under = [
        (x["code"], x["expected"], x["amount"]) for x in doc["rows"] if x["category"] == "underpaid"
    ]
    assert under == [("99213", "100.00", "80.00")]

"""`reconcile reports` across grains: a JDE-style export of invoice lines with keys written
"JDE-123-01" against a CMS-style report of claims "C00000123"; key rules and grouping from a
TOML map (or --group-a/--group-b), many-to-one and one-to-many matches reported as such, a
percentage tolerance, and a one-off comparison without a database (nothing kept).

Every expected match and total is worked by hand in the comments."""

from __future__ import annotations

import json

import pytest
from test_reconcile_reports import write_csv

from billadmin.reconcile.engine import Matcher

MAP = """
[a]
key = "Doc No"
amount = "Gross Amount"
group = true
strip_prefix = "JDE-"
regex = '^(\\d+)-\\d+$'
pad = 8
[b]
key = "Claim Number"
amount = "Billed"
group = true
strip_prefix = ["C", "CLM"]
pad = 8
"""


@pytest.fixture
def jde_cms(tmp_path):
    a = write_csv(
        tmp_path / "jde-lines.csv",
        ["Doc No", "Line", "Gross Amount"],
        [
            ("JDE-123-01", "1", "100.00"),  # } 123: 140.00, many-to-one
            ("JDE-123-02", "2", "40.00"),  # }
            ("JDE-124-01", "1", "205.00"),  # 124: one-to-one
            ("JDE-125-01", "1", "50.00"),  # } 125: 100.00, many-to-one
            ("jde-125-02", "2", "50.00"),  # }
            ("JDE-126-01", "1", "75.00"),  # 126: B 76.00 (1.00 off: over 1% of 75, under 2%)
            ("JDE-127-01", "1", "30.00"),  # only in A
            ("JDE-129-01", "1", "100.00"),  # 129: B in two rows 60 + 40, one-to-many
        ],
    )  # A total 650.00
    b = write_csv(
        tmp_path / "cms-claims.csv",
        ["Claim Number", "Billed"],
        [
            ("C00000123", "140.00"),
            ("C00000124", "205.00"),
            ("CLM125", "100.00"),  # another prefix, padded by the map
            ("C00000126", "76.00"),
            ("C00000128", "20.00"),  # only in B
            ("C00000129", "60.00"),
            ("C00000129", "40.00"),
        ],
    )  # B total 641.00
    m = tmp_path / "jde-cms.toml"
    m.write_text(MAP)
    return a, b, m


def _json(res):
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def test_jde_lines_against_cms_claims_at_the_claims_grain(cli, db, jde_cms):
    a, b, m = jde_cms
    res = cli("reconcile", "reports", a, b, "--map", m, "--tolerance", "2%", "-f", "json")
    doc = _json(res)
    s = {r["category"]: r for r in doc["summary"]}
    # matched 123, 124, 125, 126 (within 2%), 129: A 140+205+100+75+100 = 620.00,
    # B 140+205+100+76+100 = 621.00
    assert (s["matched"]["count_a"], s["matched"]["total_a"], s["matched"]["total_b"]) == (
        5,
        "620.00",
        "621.00",
    )
    assert (s["only_in_a"]["total_a"], s["only_in_b"]["total_b"]) == ("30.00", "20.00")
    assert s["duplicate_in_a"]["count_a"] == 0 and s["duplicate_in_b"]["count_b"] == 0
    assert (s["all rows"]["total_a"], s["all rows"]["total_b"], s["all rows"]["difference"]) == (
        "650.00",
        "641.00",
        "9.00",
    )
    assert doc["matched_by_grain"] == {"many-to-one": 2, "one-to-many": 1, "one-to-one": 2}
    assert [(r["category"], r["key"], r["match"]) for r in doc["rows"]] == [
        ("only_in_a", "00000127", "1:0"),
        ("only_in_b", "00000128", "0:1"),
    ]
    assert "5 matched (2 many-to-one, 1 one-to-many, 2 one-to-one)" in res.stderr
    a_in = doc["inputs"][0]
    assert a_in["grouped"] and "regex" in a_in["key_rule"] and "pad to 8" in a_in["key_rule"]


def test_percentage_tolerance_is_of_as_amount(cli, db, jde_cms):
    a, b, m = jde_cms
    doc = _json(cli("reconcile", "reports", a, b, "--map", m, "--tolerance", "1%", "-f", "json"))
    differs = [
        (r["key"], r["amount_a"], r["amount_b"], r["match"])
        for r in doc["rows"]
        if r["category"] == "amount_differs"
    ]
    assert differs == [("00000126", "75.00", "76.00", "1:1")]  # 1.00 > 1% of 75.00 = 0.75
    m2 = Matcher(0, 100)  # 1%
    m2.add_a("K", 2, 10000)
    m2.add_a("L", 3, -10000)
    m2.add_b("K", 2, 9900)  # 1.00 off 100.00: within
    m2.add_b("L", 3, -9899)  # 1.01 off: not
    out = m2.outcome()
    assert out.summary["matched"].count_a == 1 and out.summary["amount_differs"].count_a == 1
    for bad in ("-1%", "101%", "0.001%", "x%"):
        assert cli("reconcile", "reports", a, b, "--map", m, "--tolerance", bad).exit_code == 2


def test_group_flags_and_the_csv_match_column(cli, db, tmp_path):
    a = write_csv(tmp_path / "a.csv", ["Inv", "Amt"], [("7", "1.00"), ("7", "2.00"), ("8", "5.00")])
    b = write_csv(tmp_path / "b.csv", ["Inv", "Amt"], [("7", "3.00"), ("8", "2.50"), ("8", "2.50")])
    # without grouping: 7 is a duplicate in A, 8 a duplicate in B
    doc = _json(cli("reconcile", "reports", a, b, "--key", "Inv", "--amount", "Amt", "-f", "json"))
    assert {r["category"] for r in doc["rows"]} == {"duplicate_in_a", "duplicate_in_b"}
    res = cli(
        "reconcile", "reports", a, b, "--key", "Inv", "--amount", "Amt", "--group-a", "--group-b",
        "-f", "csv",
    )  # fmt: skip
    assert res.exit_code == 0, res.output  # 7: 1 + 2 = 3.00; 8: 5.00 = 2.50 + 2.50
    assert res.stdout.splitlines() == [
        "category,key,row_a,amount_a,row_b,amount_b,difference,match"
    ]
    assert "2 matched (1 many-to-one, 1 one-to-many)" in res.stderr


def test_a_key_the_regex_does_not_fit_is_bad_input(cli, db, jde_cms, tmp_path):
    a, b, m = jde_cms
    bad = tmp_path / "jde-total.csv"
    bad.write_text(a.read_text() + "TOTAL,,650.00\n")
    res = cli("reconcile", "reports", bad, b, "--map", m)
    assert res.exit_code == 2
    assert "jde-total.csv, row 10, column 'Doc No': key does not match the map's regex" in (
        res.stderr
    )
    assert db.execute("SELECT COUNT(*) FROM reconcile_runs").fetchone()[0] == 0
    for text, why in (
        ("[c]\n", "unknown key(s) c"),
        ("[a]\npad = -1\n", "pad is a width"),
        ("[a]\nregex = '('\n", "not a regular expression"),
        ("[a\n", "not valid TOML"),
    ):
        m.write_text(text)
        res = cli("reconcile", "reports", a, b, "--map", m, "--key", "Doc No", "--amount", "x")
        assert res.exit_code == 2 and why in res.stderr, (text, res.stderr)


def test_one_off_without_a_database_keeps_no_history(cli, db_path, jde_cms, tmp_path):
    from openpyxl import load_workbook

    a, b, m = jde_cms
    out = tmp_path / "result.xlsx"
    assert not db_path.exists()
    res = cli("reconcile", "reports", a, b, "--map", m, "--tolerance", "2%", "-o", out)
    assert res.exit_code == 1, res.output
    assert "no history kept" in res.stderr and "Run " not in res.stderr
    assert not db_path.exists()  # nothing created
    wb = load_workbook(out)
    assert wb["Matched"].max_row == 6  # header + 5
    labels = {
        r[0].value: r[1].value for r in wb["Summary"].iter_rows() if r[0].value and len(r) > 1
    }
    assert labels["Run"] == "not kept (no database)" and labels["Tolerance"] == "2.00%"
    assert [c.value for c in wb["Matched"][1]][-1] == "match"


def test_with_a_database_the_run_is_kept(cli, db, jde_cms):
    a, b, m = jde_cms
    res = cli("reconcile", "reports", a, b, "--map", m, "--tolerance", "2%")
    assert res.exit_code == 1 and "Run 1:" in res.stderr and "no history" not in res.stderr
    (opts,) = db.execute("SELECT options FROM reconcile_runs").fetchone()
    assert json.loads(opts)["tolerance_percent"] == "2.00"


def test_the_matched_sheet_is_capped_with_a_note(cli, db, jde_cms, tmp_path):
    from openpyxl import load_workbook

    a, b, m = jde_cms
    out = tmp_path / "capped.xlsx"
    args = ("reconcile", "reports", a, b, "--map", m, "--tolerance", "2%", "-o", out)
    res = cli(*args, "--matched-rows", "2")
    assert res.exit_code == 1, res.output
    assert "lists the first 2 of 5 matched pairs" in res.stderr
    ws = load_workbook(out)["Matched"]
    assert ws.max_row == 4  # header, 2 pairs, the note
    assert ws.cell(4, 1).value.startswith("... and 3 more matched pairs not listed")
    assert cli(*args, "--matched-rows", "0").exit_code == 1
    assert load_workbook(out)["Matched"].max_row == 6  # every pair, no note
    assert cli(*args, "--matched-rows", "-1").exit_code == 2

"""`reconcile reports`: categories with exact counts and totals on planted data (duplicates,
zero-padded keys, case and spaces, amount tolerance), CSV against XLSX, the xlsx result read
back, exit codes, bad input, and the run history."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

from billadmin.reconcile.engine import Matcher


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path, header, rows, sheet="Report"):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(
        ["CMS invoicing report, March"]
    )  # a title row above the header is not supported: keep it out
    ws.delete_rows(1)
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


# A: the ERP export. B: the CMS report (xlsx, other headers, numbers as numbers).
A_ROWS = [
    ("INV-1", "100.00"),  # matched
    ("inv-2 ", "$1,200.50"),  # matched (case, spaces, money format)
    ("INV-3", "50.00"),  # amount differs (B 45.00)
    ("INV-4", "10.00"),  # within tolerance 0.01 (B 10.01)
    ("000123", "75.00"),  # zero-padded: matches 123 only with --strip-zeros
    ("INV-5", "20.00"),  # only in A
    ("INV-6", "30.00"),  # duplicate in A ...
    ("INV-6", "31.00"),  # ... (B has INV-6 once: 30.00)
    ("INV-7", "(5.00)"),  # duplicate in B (B twice: -5.00, -5.00)
]
B_ROWS = [
    ("INV-1", 100),
    ("INV-2", 1200.5),
    ("INV-3", 45.0),
    ("INV-4", 10.01),
    (123, 75),
    ("INV-8", 12.340000000000002),  # only in B; float noise from a formula
    ("INV-6", 30),
    ("INV-7", -5),
    ("inv-7", -5.0),
]


@pytest.fixture
def reports(tmp_path):
    a = write_csv(
        tmp_path / "erp.csv",
        ["Invoice No", "Customer", "Net Amount"],
        [(k, "ACME", amt) for k, amt in A_ROWS],
    )
    b = write_xlsx(tmp_path / "cms.xlsx", ["Claim Number", "Billed"], B_ROWS)
    return a, b


def _run(cli, a, b, *extra):
    return cli(
        "reconcile",
        "reports",
        a,
        b,
        "--key",
        "Invoice No",
        "--key-b",
        "Claim Number",
        "--amount",
        "Net Amount",
        "--amount-b",
        "Billed",
        *extra,
    )


def test_categories_counts_and_totals(cli, db, reports):
    a, b = reports
    res = _run(cli, a, b, "--tolerance", "0.01", "--strip-zeros", "-f", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    s = {r["category"]: r for r in doc["summary"]}
    assert (s["matched"]["count_a"], s["matched"]["total_a"], s["matched"]["total_b"]) == (
        4,
        "1385.50",
        "1385.51",
    )
    assert s["matched"]["difference"] == "-0.01"
    assert (
        s["amount_differs"]["count_a"],
        s["amount_differs"]["total_a"],
        s["amount_differs"]["total_b"],
    ) == (1, "50.00", "45.00")
    assert (s["only_in_a"]["count_a"], s["only_in_a"]["total_a"], s["only_in_a"]["count_b"]) == (
        1,
        "20.00",
        0,
    )
    assert (s["only_in_b"]["count_b"], s["only_in_b"]["total_b"]) == (1, "12.34")
    assert (
        s["duplicate_in_a"]["count_a"],
        s["duplicate_in_a"]["total_a"],
        s["duplicate_in_a"]["count_b"],
        s["duplicate_in_a"]["total_b"],
    ) == (2, "61.00", 1, "30.00")
    assert (
        s["duplicate_in_b"]["count_a"],
        s["duplicate_in_b"]["total_a"],
        s["duplicate_in_b"]["count_b"],
        s["duplicate_in_b"]["total_b"],
    ) == (1, "-5.00", 2, "-10.00")
    allr = s["all rows"]
    assert (
        allr["count_a"],
        allr["total_a"],
        allr["count_b"],
        allr["total_b"],
        allr["difference"],
    ) == (9, "1511.50", 9, "1462.85", "48.65")
    rows = doc["rows"]
    differs = [r for r in rows if r["category"] == "amount_differs"]
    assert differs == [
        {
            "category": "amount_differs",
            "key": "INV-3",
            "row_a": 4,
            "amount_a": "50.00",
            "row_b": 4,
            "amount_b": "45.00",
            "difference": "5.00",
        }
    ]
    dup = [(r["row_a"], r["row_b"]) for r in rows if r["category"] == "duplicate_in_a"]
    assert dup == [(8, None), (9, None), (None, 8)]
    assert doc["result"] == "differences"


def test_without_strip_zeros_and_tolerance(cli, db, reports):
    a, b = reports
    res = _run(cli, a, b, "-f", "json")
    s = {r["category"]: r for r in json.loads(res.stdout)["summary"]}
    assert s["matched"]["count_a"] == 2  # INV-1, INV-2
    assert s["amount_differs"]["count_a"] == 2  # INV-3, INV-4 (0.01 off, no tolerance)
    assert s["only_in_a"]["count_a"] == 2  # INV-5, 000123
    assert s["only_in_b"]["count_b"] == 2  # INV-8, 123


def test_fully_reconciled_exits_0(cli, db, tmp_path):
    a = write_csv(tmp_path / "a.csv", ["Key", "Amount"], [("1", "1.00"), ("2", "2.00")])
    b = write_csv(tmp_path / "b.csv", ["key", "amount"], [("2", "2"), ("1", "1.0")])
    res = cli("reconcile", "reports", a, b, "--key", "Key", "--amount", "Amount")
    assert res.exit_code == 0, res.output
    assert (
        "2 matched, 0 amount differs, 0 only in A, 0 only in B, 0 duplicate rows; net difference 0.00"
        in res.stderr
    )


def test_multi_column_key(cli, db, tmp_path):
    a = write_csv(
        tmp_path / "a.csv",
        ["Invoice", "Line", "Amount"],
        [("C1", "1", "10.00"), ("C1", "2", "5.00")],
    )
    b = write_csv(
        tmp_path / "b.csv",
        ["Invoice", "Line", "Amount"],
        [("C1", "2", "5.00"), ("C1", "1", "11.00")],
    )
    res = cli(
        "reconcile", "reports", a, b, "--key", "Invoice,Line", "--amount", "Amount", "-f", "csv"
    )
    assert res.exit_code == 1
    assert res.stdout.splitlines()[1] == "amount_differs,C1 | 1,2,10.00,3,11.00,-1.00"


def test_xlsx_result_read_back(cli, db, reports, tmp_path):
    from openpyxl import load_workbook

    a, b = reports
    out = tmp_path / "result.xlsx"
    res = _run(cli, a, b, "--strip-zeros", "--tolerance", "0.01", "-o", out)
    assert res.exit_code == 1 and res.stdout == ""
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
        "Matched",
        "Amount differs",
        "Only in A",
        "Only in B",
        "Duplicates in A",
        "Duplicates in B",
    ]
    ws = wb["Summary"]
    assert [c.value for c in ws[1]] == [
        "category",
        "count_a",
        "total_a",
        "count_b",
        "total_b",
        "difference",
    ]
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    assert (
        ws["A2"].value == "matched"
        and float(ws["C2"].value) == 1385.5
        and ws["C2"].number_format == "#,##0.00"
    )
    labels = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert "A" in labels and "Tolerance" in labels
    m = wb["Matched"]
    assert m.freeze_panes == "A2" and m.max_row == 5
    assert [c.value for c in m[1]] == [
        "category",
        "key",
        "row_a",
        "amount_a",
        "row_b",
        "amount_b",
        "difference",
    ]
    d = wb["Amount differs"]
    assert [c.value for c in d[2]][:4] == ["amount_differs", "INV-3", 4, 50] and d[
        "G2"
    ].number_format == "#,##0.00"
    assert wb["Duplicates in B"].max_row == 4
    assert (out.stat().st_mode & 0o777) == 0o600


def test_history_keeps_runs_with_sha256(cli, db, reports):
    a, b = reports
    _run(cli, a, b)
    _run(cli, a, b, "--strip-zeros", "--tolerance", "0.01")
    res = cli("reconcile", "history", "-f", "json")
    runs = json.loads(res.stdout)
    assert [r["differences"] for r in runs] == [10, 14]  # newest first
    assert runs[0]["result"] == "differences" and runs[0]["rows"] == "9 / 9"
    sha_a = hashlib.sha256(a.read_bytes()).hexdigest()
    stored = json.loads(
        db.execute("SELECT inputs FROM reconcile_runs ORDER BY id LIMIT 1").fetchone()[0]
    )
    assert stored[0]["sha256"] == sha_a and stored[1]["file"] == "cms.xlsx"
    assert (
        db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'reconcile reports'").fetchone()[
            0
        ]
        == 2
    )


def test_bad_input_names_file_row_and_column(cli, db, tmp_path):
    a = write_csv(
        tmp_path / "a.csv",
        ["Key", "Amount"],
        [("1", "1.00"), ("2", "1.234"), ("", "3.00"), ("4", "N/A")],
    )
    b = write_csv(tmp_path / "b.csv", ["Key", "Amount"], [("1", "1.00")])
    res = cli("reconcile", "reports", a, b, "--key", "Key", "--amount", "Amount")
    assert res.exit_code == 2
    assert "a.csv, row 3, column 'Amount': more than two decimal places" in res.stderr
    assert "a.csv, row 4, column 'Key': key is empty" in res.stderr
    assert "a.csv, row 5, column 'Amount': not an amount" in res.stderr
    assert db.execute("SELECT COUNT(*) FROM reconcile_runs").fetchone()[0] == 0
    res = cli("reconcile", "reports", a, b, "--key", "Nope", "--amount", "Amount")
    assert res.exit_code == 2 and "no key column 'Nope' (columns: 'Key', 'Amount')" in res.stderr
    res = cli(
        "reconcile", "reports", a, tmp_path / "missing.csv", "--key", "Key", "--amount", "Amount"
    )
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = cli(
        "reconcile", "reports", a, b, "--key", "Key", "--amount", "Amount", "--tolerance", "-1"
    )
    assert res.exit_code == 2


def test_sheets_are_chosen_by_name(cli, db, tmp_path):
    from openpyxl import Workbook

    p = tmp_path / "two.xlsx"
    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet("Data")
    ws.append(["Key", "Amount"])
    ws.append(["A1", 5])
    wb.save(p)
    b = write_csv(tmp_path / "b.csv", ["Key", "Amount"], [("a1", "5.00")])
    res = cli(
        "reconcile", "reports", p, b, "--key", "Key", "--amount", "Amount", "--sheet-a", "Data"
    )
    assert res.exit_code == 0, res.output
    res = cli(
        "reconcile", "reports", p, b, "--key", "Key", "--amount", "Amount", "--sheet-a", "Nope"
    )
    assert res.exit_code == 2 and "no sheet named 'Nope'" in res.stderr


def test_matcher_keeps_every_row_of_duplicates():
    m = Matcher()
    for k, r, c in [("K", 2, 100), ("K", 3, 100), ("K", 4, 1), ("X", 5, 7)]:
        m.add_a(k, r, c)
    for k, r, c in [("X", 2, 7), ("X", 3, 7), ("K", 4, 100), ("Y", 5, 1), ("Y", 6, 2)]:
        m.add_b(k, r, c)
    out = m.outcome()
    assert (
        out.rows_a == 4
        and out.total_a_cents == 208
        and out.rows_b == 5
        and out.total_b_cents == 117
    )
    assert [(r["category"], r["key"], r["row_a"], r["row_b"]) for r in out.rows] == [
        ("duplicate_in_a", "K", 2, None),
        ("duplicate_in_a", "K", 3, None),
        ("duplicate_in_a", "K", 4, None),
        ("duplicate_in_a", "K", None, 4),
        ("duplicate_in_b", "X", 5, None),
        ("duplicate_in_b", "X", None, 2),
        ("duplicate_in_b", "X", None, 3),
        ("duplicate_in_b", "Y", None, 5),
        ("duplicate_in_b", "Y", None, 6),
    ]
    assert out.summary["matched"].count_a == 0 and out.differences == 9


def test_amount_fast_path_agrees_with_the_money_rules(tmp_path):
    """read_side's inlined parsing of "1234.50" must accept and refuse exactly what
    money.parse_cents does."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from billadmin import money
    from billadmin.errors import Problem
    from billadmin.reconcile.reports import Side, read_side

    fixed = [
        "1234.50",
        "0.01",
        ".50",
        "-12.50",
        "1.2.34",
        "1_0.00",
        "+1.00",
        " 7.05",
        "12.345",
        "1,234.50",
        "(5.00)",
        "1.",
        "١٢.٣٤",
        "00012.00",
        "-.50",
        "12.3",
        "1e3",
        "$9.99",
    ]

    def check(values):
        p = tmp_path / "amounts.csv"
        with open(p, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["k", "amount"])
            for i, v in enumerate(values):
                w.writerow([f"K{i}", v])
        m = Matcher()
        problems: list[Problem] = []
        read_side(Side("A", p, ["k"], "amount"), m, "a", strip_zeros=False, problems=problems)
        bad_rows = {pr.row for pr in problems}
        got = dict(zip(m.keys, m.a_amt, strict=True))
        for i, v in enumerate(values):
            try:
                want = money.parse_cents(v)
            except money.MoneyError:
                want = None
            if want is None:
                assert i + 2 in bad_rows, v
            else:
                assert got[f"K{i}"] == want, v

    check(fixed)

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(
            st.text(alphabet="0123456789.-_+ ,$()", min_size=1, max_size=9).filter(str.strip),
            min_size=1,
            max_size=30,
        )
    )
    def prop(values):
        check(values)

    prop()


def test_strip_zeros_inside_prefixed_keys(cli, db, tmp_path):
    from billadmin.reconcile.reports import strip_zeros_of

    assert [strip_zeros_of(k) for k in ("000123", "C000123", "INV-0042/01", "0", "A0B", "100")] == [
        "123",
        "C123",
        "INV-42/1",
        "0",
        "A0B",
        "100",
    ]
    a = write_csv(tmp_path / "a.csv", ["No", "Amount"], [("C000123", "5.00"), ("C000124", "6.00")])
    b = write_csv(tmp_path / "b.csv", ["No", "Amount"], [("c123", "5.00"), ("C124", "6.00")])
    assert cli("reconcile", "reports", a, b, "--key", "No", "--amount", "Amount").exit_code == 1
    assert (
        cli(
            "reconcile", "reports", a, b, "--key", "No", "--amount", "Amount", "--strip-zeros"
        ).exit_code
        == 0
    )

"""invoices.csv and invoices.xlsx written from the listing's tuples (issue 15): money as
"123.45", empty cells for None, text a spreadsheet would evaluate escaped."""

from __future__ import annotations

import io

from billadmin.billing.listing import LISTING_COLUMNS, write_listing_csv, write_listing_xlsx

ROWS = [
    (
        "C000000001",
        "claim",
        "1",
        "2026-03-05",
        "ACME",
        "=HYPERLINK(1)",  # an encounter number as imported: escaped
        "-M7",
        "2026-03-02",
        12345,
        -150,
        "2026-05-31",
        None,
        "837P-ACME-000000001.edi",
    ),
    (
        "P000000002",
        "patient",
        None,
        "2026-03-05",
        "patient",
        None,
        "@M8",
        None,
        5,
        None,
        None,
        "2026-04-04",
        None,
    ),
]


def test_csv_from_tuples():
    buf = io.StringIO()
    write_listing_csv(ROWS, LISTING_COLUMNS, buf)
    assert buf.getvalue().splitlines() == [
        "number,kind,frequency,issued_on,bill_to,encounter,account,date_of_service,total,copay,"
        "filing_deadline,due_on,file",
        "C000000001,claim,1,2026-03-05,ACME,'=HYPERLINK(1),'-M7,2026-03-02,123.45,-1.50,"
        "2026-05-31,,837P-ACME-000000001.edi",
        "P000000002,patient,,2026-03-05,patient,,'@M8,,0.05,,,2026-04-04,",
    ]


def test_xlsx_from_tuples(tmp_path):
    from decimal import Decimal

    from openpyxl import load_workbook

    path = tmp_path / "invoices.xlsx"
    with open(path, "wb") as fh:
        write_listing_xlsx(fh, ROWS, LISTING_COLUMNS)
    ws = load_workbook(path)["invoices"]
    got = [[c.value for c in row] for row in ws.iter_rows()]
    assert got[0] == [c[:-6] if c.endswith("_cents") else c for c in LISTING_COLUMNS]
    assert got[1][5:10] == ["'=HYPERLINK(1)", "'-M7", "2026-03-02", 123.45, -1.5]
    assert got[2][6:10] == ["'@M8", None, 0.05, None]
    assert ws["I2"].number_format == "#,##0.00"
    assert Decimal(str(got[1][8])) == Decimal("123.45")


def test_csv_column_fast_path_escapes_exactly_the_cells_safe_cell_would():
    """Random rows with cells that start like formulas, carry line breaks or are not text:
    the same bytes as escaping every cell one by one."""
    import csv
    import random

    from billadmin import money
    from billadmin.formats import safe_cell

    rnd = random.Random(15)
    pool = ["A1", "=1+1", "-M7", "+1", "@x", "\t9", "\rz", "a\n=b", "x\ny", "", None, 7, -3, "é"]
    for _ in range(200):
        rows = []
        for _ in range(rnd.randint(0, 6)):
            r = [rnd.choice(pool) for _ in LISTING_COLUMNS]
            r[8], r[9] = rnd.choice([0, 5, -150, 12345, None]), rnd.choice([None, 99])
            rows.append(tuple(r))
        want = io.StringIO()
        w = csv.writer(want, lineterminator="\n")
        w.writerow([c[:-6] if c.endswith("_cents") else c for c in LISTING_COLUMNS])
        for r in rows:
            w.writerow([money.fmt(v) if i in (8, 9) else safe_cell(v) for i, v in enumerate(r)])
        got = io.StringIO()
        write_listing_csv(rows, LISTING_COLUMNS, got)
        assert got.getvalue() == want.getvalue()

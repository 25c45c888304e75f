"""Property-based tests (hypothesis): whatever bytes arrive, the readers and parsers answer with
the project's own error and a message, never another exception, and never quote a value.

Covered: the CSV/TSV and XLSX readers (ingest.readers.open_table: arbitrary bytes, arbitrary
workbooks, damaged sheet XML), every import column's cell parser with every kind of value a
spreadsheet yields, the whole import of arbitrary rows (dry run), money from Decimals and X12
amounts, dates in arbitrary declared formats, the X12 tokenizer and the 835 parser (arbitrary
bytes and mutations of a real 835), and the 835 import (dry run). The text-only money and date
properties live in test_money.py / test_dates.py.
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import fault_helpers as fh
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from billadmin import dates, money
from billadmin.errors import BillAdminError
from billadmin.ingest import columns, readers, specs
from billadmin.remit import parse as remit_parse
from billadmin.x12 import reader as x12

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# cells carry the sentinel's values: a message that quotes a cell would show one
SENTINEL_CELLS = [
    "Zebulon",
    "Quixotefrost",
    "1937-08-14",
    fh.SENTINEL_MEMBER_ID,
    "8817 Xylophone Crescent",
]


def _message_ok(e: BillAdminError) -> None:
    assert isinstance(e.message, str) and e.message.strip(), (
        f"empty message from {type(e).__name__}"
    )
    fh.assert_no_phi(
        e.message + "\n" + "\n".join(e.details), f"{type(e).__name__} message", mrn=False
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _drain(path: Path, **kw) -> None:
    """Open and read every row; only BadInput may escape, every row has the header's width."""
    headers: list[str] = []
    try:
        with readers.open_table(path, **kw) as t:
            headers = t.headers
            assert t.headers and all(isinstance(h, str) for h in t.headers)
            for n, cells in t:
                assert isinstance(n, int)  # (a hostile sheet may number its rows as it likes)
                assert len(cells) == len(t.headers)
            for p in t.problems:
                if not fh.phi_found(
                    " ".join(headers), mrn=False
                ):  # column names are quoted by design
                    fh.assert_no_phi(str(p), "a row problem", mrn=False)
    except BillAdminError as e:
        if not fh.phi_found(" ".join(headers), mrn=False):
            _message_ok(e)
        else:
            assert e.message.strip()


# ---- CSV ---------------------------------------------------------------------------------------

CSV_PIECES = st.sampled_from(
    [
        ",",
        '"',
        '""',
        "\n",
        "\r\n",
        "\r",
        "\t",
        "\x00",
        " ",
        "\ufeff",
        "é",
        "€",
        "a",
        "1",
        "MRN",
        "First Name",
        *SENTINEL_CELLS,
    ]
)
csv_text = st.lists(CSV_PIECES, max_size=60).map("".join)


@SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=400),
        csv_text.map(lambda s: s.encode("utf-8")),
        csv_text.map(lambda s: s.encode("utf-8", "replace") + b"\xff\xfe" + s.encode("utf-16-le")),
    ),
    encoding=st.sampled_from(["utf-8", "cp1252", "latin-1"]),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
@example(data=b'A,B\n1,"open', encoding="utf-8", suffix=".csv")
@example(data=b"\xff\xfeA\x00,\x00B\x00", encoding="utf-8", suffix=".csv")
@example(data=b"A,B\n" + b"x" * (readers.MAX_FIELD + 10) + b",1\n", encoding="utf-8", suffix=".csv")
def test_csv_reader_takes_any_bytes(work, data, encoding, suffix):
    p = work / f"f{suffix}"
    p.write_bytes(data)
    _drain(p, encoding=encoding)


# ---- XLSX --------------------------------------------------------------------------------------

CELL_VALUES = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(SENTINEL_CELLS),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=_dt.datetime(1900, 3, 1), max_value=_dt.datetime(2100, 1, 1)),
    st.dates(min_value=_dt.date(1900, 3, 1), max_value=_dt.date(2100, 1, 1)),
    st.times(),
    st.sampled_from(["=1/0", "=A1+1", "#N/A", "#DIV/0!"]),
)


def _workbook(rows, merge=None, hidden_first=False) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append([v.replace("\x00", "") if isinstance(v, str) else v for v in r])
    if merge:
        ws.merge_cells(merge)
    if hidden_first:
        ws.sheet_state = "hidden"
        wb.create_sheet("Second").append(["A"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _legal(v):
    """openpyxl refuses control characters in strings; the reader never sees them from Excel."""
    if isinstance(v, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", v)
    return v


@FEW
@given(
    rows=st.lists(st.lists(CELL_VALUES.map(_legal), max_size=6), max_size=6),
    merge=st.sampled_from([None, "A1:B1", "A2:B3", "D5:E5"]),
    hidden=st.booleans(),
)
def test_xlsx_reader_takes_any_workbook(work, rows, merge, hidden):
    p = work / "w.xlsx"
    p.write_bytes(_workbook(rows, merge, hidden))
    _drain(p)


def _base_xlsx() -> bytes:
    return _workbook(
        [
            ["MRN", "First Name", "DOB", "Charge"],
            ["7700991", "Zebulon", _dt.date(1937, 8, 14), 12.5],
            ["0100007", "Quixotefrost", "1937-08-14", "=1/0"],
        ]
    )


SHEET_FRAGMENTS = st.sampled_from(
    [
        b'<c r="A2" t="s"><v>999</v></c>',
        b'<c r="B2"><v>1.2.3</v></c>',
        b'<c r="ZZZZZ9"><v>1</v></c>',
        b'<c r="A0"><v>1</v></c>',
        b'<c r="B2" t="e"><v>#REF!</v></c>',
        b'<c r="C2" t="d"><v>notadate</v></c>',
        b'<c r="C2" s="999"><v>1</v></c>',
        b'<row r="-1"><c r="A1"><v>1</v></c></row>',
        b'<mergeCell ref="A1:Z99"/>',
        b'<c r="D2" t="b"><v>7</v></c>',
        b'<c r="D2" t="inlineStr"><is><t>Zebulon</t></is></c>',
        b"<",
        b"&bogus;",
        b"</sheetData>",
        b"\x00",
        b"\xff",
    ]
)


@FEW
@given(data=st.data())
def test_xlsx_reader_takes_damaged_sheets(work, data):
    """A real workbook whose sheet XML is cut, has bytes flipped, or gets hostile fragments."""
    base = _base_xlsx()
    zin = zipfile.ZipFile(io.BytesIO(base))
    sheet = zin.read("xl/worksheets/sheet1.xml")
    how = data.draw(st.sampled_from(["cut", "flip", "insert", "replace-member"]))
    if how == "cut":
        sheet = sheet[: data.draw(st.integers(0, len(sheet)))]
    elif how == "flip":
        i = data.draw(st.integers(0, len(sheet) - 1))
        sheet = sheet[:i] + bytes([data.draw(st.integers(0, 255))]) + sheet[i + 1 :]
    elif how == "insert":
        i = sheet.find(b"<sheetData>") + len(b"<sheetData>")
        i = data.draw(
            st.sampled_from(
                [i, sheet.find(b"</row>"), sheet.rfind(b"</sheetData>"), len(sheet) // 2]
            )
        )
        sheet = sheet[:i] + data.draw(SHEET_FRAGMENTS) + sheet[i:]
    out = io.BytesIO()
    member = (
        data.draw(
            st.sampled_from(
                [
                    "xl/worksheets/sheet1.xml",
                    "xl/sharedStrings.xml",
                    "xl/styles.xml",
                    "xl/workbook.xml",
                ]
            )
        )
        if how == "replace-member"
        else "xl/worksheets/sheet1.xml"
    )
    with zipfile.ZipFile(out, "w") as z:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == member:
                body = sheet if how != "replace-member" else data.draw(st.binary(max_size=200))
            z.writestr(info.filename, body)
    p = work / "d.xlsx"
    p.write_bytes(out.getvalue())
    _drain(p)


@SETTINGS
@given(data=st.binary(max_size=300))
@example(data=b"PK\x03\x04")
def test_xlsx_reader_takes_any_bytes(work, data):
    p = work / "b.xlsx"
    p.write_bytes(data)
    _drain(p)


# ---- cells and whole imports -------------------------------------------------------------------

ALL_COLUMNS = [
    c
    for kind in (
        specs.PATIENTS,
        specs.PROVIDERS,
        specs.PAYERS,
        specs.COVERAGE,
        specs.CHARGES,
        specs.FEE_SCHEDULE,
    )
    for c in kind
]
ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e308",
        "1E+300",
        "NaN",
        "inf",
        "-0",
        "1,000.00",
        "(12.50)",
        "$-1",
        "2025-02-30",
        "02/30/2025",
        "0000-00-00",
        "9999-12-31",
        "\u0661\u0662\u0663",
        "\u00b2\u00b2\u00b2\u00b2\u00b2",
        "\uff11\uff12",
        "1_000",
        "１２３４５",
        "None",
        "TRUE",
        "Zebulon",
        "1937-08-14",
    ]
)
ANY_CELL = st.one_of(
    st.text(max_size=15),
    ODD_TEXT,
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.floats(),
    st.decimals(),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.timedeltas(),
)


@settings(max_examples=400, deadline=None)
@given(
    col=st.sampled_from(ALL_COLUMNS),
    v=ANY_CELL,
    fmt=st.sampled_from([None, "MM/DD/YYYY", "DD/MM/YYYY", "YYYYMMDD", "%Y.%m.%d"]),
)
@example(col=next(c for c in specs.CHARGES if c.type == "money"), v=1e300, fmt=None)
@example(col=next(c for c in specs.CHARGES if c.type == "money"), v=float("inf"), fmt=None)
@example(col=next(c for c in specs.CHARGES if c.type == "money"), v=Decimal("1E+40"), fmt=None)
def test_every_cell_parser_raises_only_cellerror(col, v, fmt):
    try:
        columns.parse_cell(v, col, date_format=fmt, today=_dt.date(2026, 11, 1))
    except columns.CellError as e:
        assert str(e).strip()
        fh.assert_no_phi(str(e), f"cell error for {col.field}", mrn=False)


@pytest.fixture(scope="module")
def import_db(tmp_path_factory):
    from billadmin import db as dbmod

    conn = dbmod.connect(tmp_path_factory.mktemp("importdb") / "p.db", create=True)
    yield conn
    conn.close()


ROW_CELL = st.one_of(
    ODD_TEXT,
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
    st.sampled_from(SENTINEL_CELLS),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(
        ["patients", "coverage", "charges", "payers", "providers", "fee-schedule"]
    ),
    data=st.data(),
)
def test_import_of_arbitrary_rows_fails_only_cleanly(work, import_db, kind, data):
    """Real headers, arbitrary cells (some rows shorter or longer): a dry-run import either
    succeeds or raises the project's error, whose messages quote no cell."""
    from billadmin.demo import HEADERS
    from billadmin.ingest.engine import ImportOptions, run_import

    headers = list(HEADERS[kind])
    if data.draw(st.booleans()):
        headers = data.draw(st.permutations(headers))
    rows = data.draw(
        st.lists(
            st.lists(ROW_CELL, min_size=len(headers) - 1, max_size=len(headers) + 1),
            min_size=1,
            max_size=4,
        )
    )
    p = work / f"{kind}.csv"
    import csv

    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(headers)
        w.writerows([[c.replace("\x00", "") for c in r] for r in rows])
    before = import_db.conn.total_changes
    try:
        run_import(import_db, kind, p, ImportOptions(dry_run=True, today=_dt.date(2026, 11, 1)))
    except BillAdminError as e:
        _message_ok(e)
    assert not import_db.conn.in_transaction
    del before


# ---- money and dates (beyond the text properties in test_money.py / test_dates.py) -------------


@SETTINGS
@given(
    d=st.one_of(
        st.decimals(),
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
        st.builds(
            lambda m, e: Decimal(m).scaleb(e), st.integers(-(10**6), 10**6), st.integers(-60, 60)
        ),
    ),
    allow_negative=st.booleans(),
)
@example(d=Decimal("1E+40"), allow_negative=True)
@example(d=Decimal("Infinity"), allow_negative=True)
@example(d=Decimal("sNaN"), allow_negative=True)
def test_parse_cents_of_any_decimal(d, allow_negative):
    try:
        cents = money.parse_cents(d, allow_negative=allow_negative)
    except money.MoneyError as e:
        assert str(e)
    else:
        assert Decimal(cents) == d * 100


@SETTINGS
@given(text=st.from_regex(r"\(?-?\$?\d{1,24}(\.\d{1,2})?\)?", fullmatch=True))
@example(text="99999999999999999999.00")
@example(text="-92233720368547758.08")
def test_parsed_amounts_fit_the_database(text):
    """Whatever parses fits a SQLite integer with room for sums (a 20-digit amount once
    crashed an import and a payment with OverflowError)."""
    try:
        cents = money.parse_cents(text)
    except money.MoneyError as e:
        assert str(e)
    else:
        assert abs(cents) <= money.MAX_CENTS < 2**63 // 10**5


X12_AMOUNT = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"-?\d{0,30}(\.\d{0,4})?([eE][-+]?\d{1,3})?", fullmatch=True),
)


@SETTINGS
@given(text=X12_AMOUNT)
@example(text="1E+30")
@example(text="1e999999")
@example(text="-0.00")
def test_parse_x12_amount_of_any_text(text):
    try:
        cents = money.parse_x12_amount(text)
    except money.MoneyError as e:
        assert str(e)
    else:
        assert isinstance(cents, int)


@SETTINGS
@given(
    text=st.one_of(st.text(max_size=14), st.dates().map(lambda d: d.strftime("%d.%m.%Y"))),
    fmt=st.one_of(
        st.text(max_size=10),
        st.lists(
            st.sampled_from(
                ["%Y", "%m", "%d", "%j", "%b", "%%", "%", "%Q", "-", "/", ".", " ", "%z", "%H"]
            ),
            max_size=5,
        ).map("".join),
    ),
)
@example(text="2026-02-30", fmt="%Y")
@example(text="1", fmt="%Y%")
def test_parse_date_with_any_declared_format(text, fmt):
    try:
        d = dates.parse_date(text, fmt)
    except dates.DateError as e:
        assert str(e)
        fh.assert_no_phi(str(e), "date error", mrn=False)
    else:
        assert isinstance(d, _dt.date) and d.year >= 1000


# ---- X12 and 835 ------------------------------------------------------------------------------

ISA = "ISA*00*          *00*          *ZZ*KEY77          *ZZ*RBFM01         *261101*0800*^*00501*000000001*0*P*:~"
BODY = (
    "GS*HP*KEY77*RBFM01*20261101*0800*1*X*005010X221A1~ST*835*0001~"
    "BPR*I*165*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20261101~"
    "TRN*1*KEY26110101*1512345678~DTM*405*20261101~N1*PR*KEYSTONE COMMERCIAL INSURANCE~N3*PO BOX 1~"
    "N4*COLUMBUS*OH*43215~REF*2U*KEY77~N1*PE*RIVERBEND FAMILY MEDICINE*XX*1748392010~LX*1~"
    "CLP*C000001*1*155*105*30*CI*KEY00000001~NM1*QC*1*QUIXOTEFROST*ZEBULON****MI*QX7734219056~"
    "SVC*HC:99213*140*90**1~DTM*472*20261020~CAS*CO*45*20~CAS*PR*2*30~AMT*B6*120~"
    "SVC*HC:36415*15*15**1~DTM*472*20261020~AMT*B6*15~"
    "CLP*C000002*4*95*0**CI*KEY00000002~NM1*QC*1*QUIXOTEFROST*ZEBULON****MI*QX7734219056~"
    "SVC*HC:99212*95*0**1~CAS*CO*197*95~LQ*HE*N54~PLB*1748392010*20261231*WO:C000003*-60~"
    "SE*26*0001~GE*1*1~IEA*1*000000001~"
)
GOOD_835 = (ISA + BODY).encode()


def test_the_base_835_reads_clean():
    rf = remit_parse.parse_bytes(GOOD_835, name="good.835")
    assert [str(i) for i in rf.errors] == []
    assert len(rf.transactions) == 1 and len(rf.transactions[0].claims) == 2


MUTATIONS = st.sampled_from(
    ["cut", "flip", "delete", "duplicate", "insert", "delimiters", "amount"]
)
HOSTILE = st.sampled_from(
    [
        "~",
        "*",
        ":",
        "^",
        "\n",
        "ISA",
        "IEA*1*000000001~",
        "ST*835*0002~",
        "SE*1*0001~",
        "CLP*C9*22*-5*-5~",
        "CAS*ZZ*1*1~",
        "CAS*PR**5~",
        "SVC*HC:*1e30*1~",
        "1E+30",
        "9" * 40,
        "\x00",
        "é",
        "-.",
        ".5",
        "GS*HP~",
        "PLB*1*20261231*WO~",
        "LX*~",
        "TRN*1**1~",
    ]
)


def _mutate(data, text: str) -> str:
    how = data.draw(MUTATIONS)
    n = len(text)
    i = data.draw(st.integers(0, n - 1))
    if how == "cut":
        return text[:i]
    if how == "flip":
        return text[:i] + data.draw(st.characters(max_codepoint=0x2FF)) + text[i + 1 :]
    if how == "delete":
        j = data.draw(st.integers(i, min(n, i + 40)))
        return text[:i] + text[j:]
    if how == "duplicate":
        j = data.draw(st.integers(i, min(n, i + 120)))
        return text[:j] + text[i:j] + text[j:]
    if how == "delimiters":
        a, b = data.draw(
            st.sampled_from([("*", "|"), ("~", "\n"), (":", ">"), ("~", "*"), ("*", ":")])
        )
        return text.replace(a, b)
    if how == "amount":
        segs = text.split("~")
        k = data.draw(st.integers(0, len(segs) - 1))
        els = segs[k].split("*")
        e = data.draw(st.integers(0, len(els) - 1))
        els[e] = data.draw(X12_AMOUNT)
        segs[k] = "*".join(els)
        return "~".join(segs)
    return text[:i] + data.draw(HOSTILE) + text[i:]


@SETTINGS
@given(data=st.data())
def test_x12_reader_takes_any_input(data):
    raw = data.draw(st.one_of(st.binary(max_size=300), st.just(GOOD_835)))
    if data.draw(st.booleans()):
        raw = _mutate(data, x12.decode(raw) or ISA).encode("utf-8", "surrogatepass")
    try:
        ics = x12.interchanges(raw)
    except x12.X12SyntaxError as e:
        assert str(e)
        fh.assert_no_phi(str(e), "X12 syntax error", mrn=False)
    else:
        assert ics and all(ic.segments for ic in ics)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
@example(data=None)  # the explicit cases below
def test_835_parser_never_raises(data):
    """parse_bytes promises: problems become Issues (segment numbers, no values), never an
    exception; mutations of a real 835 and arbitrary bytes alike."""
    if data is None:
        texts = [
            ISA + BODY.replace("CAS*CO*45*20", "CAS*CO*45*1E+30"),
            ISA + BODY.replace("*155*", "*1e999*"),
        ]
    else:
        text = ISA + BODY
        for _ in range(data.draw(st.integers(1, 3))):
            text = _mutate(data, text) or ISA
        texts = [text]
    for text in texts:
        rf = remit_parse.parse_bytes(text.encode("utf-8", "surrogatepass"), name="m.835")
        for issue in rf.issues:
            assert issue.severity in ("error", "warning") and issue.message
            fh.assert_no_phi(str(issue), "an 835 issue", mrn=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_835_import_dry_run_fails_only_cleanly(work, import_db, data):
    from billadmin.remit import post

    text = ISA + BODY
    for _ in range(data.draw(st.integers(0, 2))):
        text = _mutate(data, text) or ISA
    p = work / "m.835"
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        res = post.import_files(import_db, [p], dry_run=True)
    except BillAdminError as e:
        _message_ok(e)
    else:
        assume(res is not None)
    assert not import_db.conn.in_transaction

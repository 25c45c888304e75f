"""835 MIA (inpatient) and MOA (outpatient) adjudication: every element read by its position in
the 835 TR3 (005010X221A1), kept as read (remit_adjudications, append-only and sealed), shown by
`remit show`; posting is the same with or without them. Expected cents are written by hand from
the segments the tests write."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from test_remit_support import Remit, balance_of, issue_claim

from billadmin import integrity
from billadmin.remit import parse
from billadmin.x12 import reader

# MIA01 covered days 4, MIA02 PPS operating outlier 125.50, MIA04 DRG 7,000.25, MIA05 MA01,
# MIA08 PPS capital 45, MIA13 capital IME 3.10, MIA15 cost report days 4, MIA18 indirect
# teaching 210, MIA19 non-payable professional 0.75, MIA20 N1, MIA24 capital exception 1.05
MIA = [
    "MIA",
    "4",
    "125.5",
    "",
    "7000.25",
    "MA01",
    "",
    "",
    "45",
    "",
    "",
    "",
    "",
    "3.1",
    "",
    "4",
    "",
    "",
    "210",
    ".75",
    "N1",
    "",
    "",
    "",
    "1.05",
]
# MOA01 rate 0.8, MOA02 HCPCS payable 150.25, MOA03/04 remarks, MOA08 ESRD 12.50, MOA09 3
MOA = ["MOA", "0.8", "150.25", "MA01", "MA02", "", "", "", "12.5", "3"]


def _with(remit: Remit, *segments: list[str]) -> Remit:
    """Put MIA/MOA where the TR3 puts them in loop 2100: after the claim's NM1 segments."""
    claim = remit.claims[-1]
    at = max(i for i, s in enumerate(claim) if s[0] == "NM1") + 1
    claim[at:at] = [list(s) for s in segments]
    return remit


def _inpatient(**kw) -> Remit:
    return Remit(**kw).claim("C000001", "1", "1000", "800", cas=[("CO", "45", "200")])


def _outpatient(**kw) -> Remit:
    return Remit(**kw).claim(
        "C000002",
        "1",
        "205",
        "150",
        pr="20",
        lines=[("HC:43239", "205", "150", [("CO", "45", "35"), ("PR", "2", "20")])],
    )


def test_mia_every_element_by_position(tmp_path):
    rf = parse.parse_bytes(_with(_inpatient(), MIA).text().encode())
    assert rf.errors == [] and rf.warnings == []
    (claim,) = rf.transactions[0].claims
    (adj,) = claim.adjudications
    assert adj.kind == "inpatient"
    assert adj.amounts == {
        "pps_operating_outlier_cents": 12550,
        "drg_cents": 700025,
        "pps_capital_cents": 4500,
        "pps_capital_ime_cents": 310,
        "indirect_teaching_cents": 21000,
        "nonpayable_professional_cents": 75,
        "pps_capital_exception_cents": 105,
    }
    assert adj.values == {"covered_days": "4", "cost_report_days": "4"}
    assert adj.remarks == ["MA01", "N1"]
    # the remark codes stay with the claim's, as before (posting reads MA130, MA15 there)
    assert claim.remarks == ["MA01", "N1"]


def test_moa_every_element_by_position():
    rf = parse.parse_bytes(_with(_outpatient(), MOA).text().encode())
    assert rf.errors == [] and rf.warnings == []
    (adj,) = rf.transactions[0].claims[0].adjudications
    assert adj.kind == "outpatient"
    assert adj.amounts == {
        "hcpcs_payable_cents": 15025,
        "esrd_payment_cents": 1250,
        "nonpayable_professional_cents": 300,
    }
    assert adj.values == {"reimbursement_rate": "0.8"}
    assert adj.remarks == ["MA01", "MA02"]


def test_bad_amount_refuses_the_file_naming_segment_and_element(cli, db, tmp_path):
    issue_claim(db, "C000001", [("99223", "", "1000.00")])
    bad = list(MIA)
    bad[2] = "125.555"  # three decimal places: not an amount
    f = _with(_inpatient(), bad).write(tmp_path / "bad.835")
    res = cli("remit", "import", f)
    assert res.exit_code == 2, res.output
    # the message names the file, the segment number and the element, not the value
    assert re.search(
        r"bad\.835: segment \d+: MIA02 \(PPS operating outlier\) has more than two decimal",
        res.stderr,
    ), res.stderr
    assert "125.555" not in res.stderr
    for table in ("remit_files", "remit_claims", "remit_adjudications", "payments"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_bad_count_is_a_warning_and_left_out():
    bad = list(MIA)
    bad[1] = "four"
    rf = parse.parse_bytes(_with(_inpatient(), bad).text().encode())
    assert rf.errors == []
    assert [i.message for i in rf.warnings] == [
        "MIA01 (covered days or visits) is not a number; ignored"
    ]
    assert "four" not in str(rf.warnings[0])
    assert rf.transactions[0].claims[0].adjudications[0].values == {"cost_report_days": "4"}


def _ledger(db) -> list:
    """Everything posting writes to the ledger, without ids and times."""
    return [
        db.execute(
            "SELECT kind, payer_id, amount_cents, method, reference FROM payments ORDER BY id"
        ).fetchall(),
        db.execute(
            "SELECT invoice_id, invoice_line_id, amount_cents FROM payment_allocations ORDER BY id"
        ).fetchall(),
        db.execute(
            "SELECT invoice_id, invoice_line_id, group_code, reason_code, amount_cents, source"
            " FROM adjustments ORDER BY id"
        ).fetchall(),
        db.execute("SELECT invoice_id, status, note FROM invoice_events ORDER BY id").fetchall(),
        db.execute(
            "SELECT claim_number, invoice_id, outcome, paid_cents, note FROM remit_claims"
        ).fetchall(),
    ]


def test_posting_is_the_same_with_or_without_mia_moa(cli, db, db_path, tmp_path):
    from billadmin import db as dbmod

    def post(path, remit_for) -> list:
        conn = dbmod.connect(path, create=True)
        a = issue_claim(conn, "C000001", [("99223", "", "1000.00")])
        b = issue_claim(conn, "C000002", [("43239", "", "205.00")])
        remit = remit_for(Remit())
        res = cli("--db", str(path), "remit", "import", remit.write(tmp_path / "r.835"), db=False)
        assert res.exit_code == 0, res.output
        out = _ledger(conn) + [balance_of(conn, a), balance_of(conn, b)]
        conn.close()
        return out

    def plain(r: Remit) -> Remit:
        return _outpatient_on(_inpatient_on(r))

    def with_segments(r: Remit) -> Remit:
        return _with(_outpatient_on(_with(_inpatient_on(r), MIA)), MOA)

    without = post(tmp_path / "a.db", plain)
    with_ = post(tmp_path / "b.db", with_segments)
    assert with_ == without
    # by hand: 800.00 paid on C000001 (CO-45 200.00), 150.00 on C000002 (CO-45 35, PR-2 20)
    assert without[-2] == {"total": 100000, "paid": 80000, "adjusted": 20000, "balance": 0}
    assert without[-1]["paid"] == 15000


def _inpatient_on(r: Remit) -> Remit:
    return r.claim("C000001", "1", "1000", "800", cas=[("CO", "45", "200")])


def _outpatient_on(r: Remit) -> Remit:
    return r.claim(
        "C000002",
        "1",
        "205",
        "150",
        pr="20",
        lines=[("HC:43239", "205", "150", [("CO", "45", "35"), ("PR", "2", "20")])],
    )


def test_import_stores_adjudication_append_only_and_sealed(cli, db, tmp_path):
    issue_claim(db, "C000001", [("99223", "", "1000.00")])
    issue_claim(db, "C000002", [("43239", "", "205.00")])
    remit = _with(_outpatient_on(_with(_inpatient_on(Remit()), MIA)), MOA)
    res = cli("remit", "import", remit.write(tmp_path / "r.835"))
    assert res.exit_code == 0, res.output
    rows = db.execute(
        "SELECT c.claim_number, a.kind, a.covered_days, a.cost_report_days,"
        " a.pps_operating_outlier_cents, a.drg_cents, a.pps_capital_cents,"
        " a.pps_capital_ime_cents, a.indirect_teaching_cents, a.nonpayable_professional_cents,"
        " a.pps_capital_exception_cents, a.reimbursement_rate, a.hcpcs_payable_cents,"
        " a.esrd_payment_cents, a.remarks"
        " FROM remit_adjudications a JOIN remit_claims c ON c.id = a.claim_id ORDER BY a.id"
    ).fetchall()
    assert rows == [
        (
            "C000001",
            "inpatient",
            "4",
            "4",
            12550,
            700025,
            4500,
            310,
            21000,
            75,
            105,
            None,
            None,
            None,
            "MA01,N1",
        ),
        (
            "C000002",
            "outpatient",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            300,
            None,
            "0.8",
            15025,
            1250,
            "MA01,MA02",
        ),
    ]
    assert integrity.run_checks(db) == []
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE remit_adjudications SET drg_cents = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM remit_adjudications")


def test_every_element_key_is_a_column(db):
    # the element tables are read by position: each lists every element, in order
    assert [p for p, *_ in parse.MIA_ELEMENTS] == list(range(1, 25))  # MIA01-MIA24
    assert [p for p, *_ in parse.MOA_ELEMENTS] == list(range(1, 10))  # MOA01-MOA09
    cols = {r[1] for r in db.execute("PRAGMA table_info(remit_adjudications)")}
    keys = {k for _, k, kind, _ in parse.MIA_ELEMENTS + parse.MOA_ELEMENTS if kind != "remark"}
    assert keys <= cols, keys - cols


def test_show_prints_the_adjudication_block(cli, tmp_path):
    f = _with(_outpatient_on(_with(_inpatient_on(Remit()), MIA)), MOA).write(tmp_path / "r.835")
    res = cli("remit", "show", f, db=False)
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "Medicare inpatient/outpatient adjudication (MIA/MOA)" in out
    block = out[out.index("Medicare inpatient/outpatient adjudication") :]
    for text in (
        "MIA02",
        "PPS operating outlier",
        "125.50",
        "7,000.25",
        "MIA24",
        "1.05",
        "MOA01",
        "0.8",
        "HCPCS payable amount",
        "150.25",
        "ESRD payment",
        "12.50",
        "MA01,MA02",
    ):
        assert text in block, text
    doc = json.loads(cli("remit", "show", f, "--format", "json", db=False).stdout)
    c1, c2 = doc["transactions"][0]["claims"]
    inp = c1["inpatient_adjudication"]
    assert (inp["covered_days"], inp["pps_operating_outlier"], inp["drg"]) == (
        "4",
        "125.50",
        "7000.25",
    )
    assert [r["code"] for r in inp["remarks"]] == ["MA01", "N1"]
    assert "outpatient_adjudication" not in c1 and "inpatient_adjudication" not in c2
    out_ = c2["outpatient_adjudication"]
    assert (out_["reimbursement_rate"], out_["hcpcs_payable"], out_["esrd_payment"]) == (
        "0.8",
        "150.25",
        "12.50",
    )


def test_show_without_mia_moa_has_no_block(cli, tmp_path):
    res = cli("remit", "show", _outpatient().write(tmp_path / "r.835"), db=False)
    assert res.exit_code == 0 and "adjudication" not in res.stdout


@pytest.mark.corpus
def test_corpus_mia_read_and_posting_unchanged(corpus, cli, tmp_path):
    """Every corpus 835 posts the same with its MIA/MOA segments as with them taken out; the
    one inpatient claim (dollars-and-data-sent-together, MIA*0***138018.4) keeps its DRG."""
    from billadmin import db as dbmod

    d = corpus / "x12" / "835"
    tog = parse.parse_file(d / "dollars-and-data-sent-together.edi").transactions[0]
    adjs = [
        (c.claim_number, a.kind, a.amounts, a.values) for c in tog.claims for a in c.adjudications
    ]
    assert ("inpatient", {"drg_cents": 13801840}, {"covered_days": "0"}) in [a[1:] for a in adjs]
    for n, f in enumerate(sorted(d.glob("*.edi"))):
        text = f.read_bytes()
        sep = reader.interchanges(text)[0].separators
        elem, term = sep.element.encode(), sep.segment.encode()
        stripped = term.join(
            s for s in text.split(term) if s.strip().split(elem)[0] not in (b"MIA", b"MOA")
        )
        results = []
        for tag, data in (("with", text), ("without", stripped)):
            path, src = tmp_path / f"{n}-{tag}.db", tmp_path / f"{n}-{tag}.edi"
            src.write_bytes(data)
            dbmod.connect(path, create=True).close()
            res = cli("--db", str(path), "remit", "import", src, db=False)
            assert res.exit_code in (0, 1), (f.name, res.output)
            conn = dbmod.connect(path)
            results.append(_ledger(conn))
            read = parse.parse_bytes(data).transactions
            segs = sum(len(c.adjudications) for t in read for c in t.claims)
            stored = conn.execute("SELECT COUNT(*) FROM remit_adjudications").fetchone()[0]
            assert stored == segs, (f.name, tag)
            conn.close()
        assert results[0] == results[1], f.name

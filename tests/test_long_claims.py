"""837P encounters of more than 50 lines: split into several claims or held, as the practice's
`--long-claims` setting says (billing/split.py)."""

from __future__ import annotations

import datetime as dt
import json

import invoice_fixtures as fx
import pytest

from billadmin import db as dbmod
from billadmin import scrub
from billadmin.billing import corrections, lifecycle, practice
from billadmin.billing import generate as gen
from billadmin.x12 import validate

DOS = "2026-06-10"


def _run(db, tmp_path, **kw):
    kw.setdefault("today", fx.TODAY)
    kw.setdefault("scrub", fx.no_scrub)
    kw.setdefault("out_dir", tmp_path / "out")
    return gen.generate(db, **kw)


def _lines_120() -> list[tuple]:
    """120 lines of $10.00, but line 101 ($25.00, pointing at the third diagnosis) and line 120
    ($40.00, two units)."""
    out: list[tuple] = []
    for n in range(1, 121):
        if n == 101:
            out.append(("36415", 2500, "", "3"))
        elif n == 120:
            out.append(("97110", 4000, "", "1,2", 2))
        else:
            out.append(("97110", 1000, "", "1"))
    return out


@pytest.fixture
def long_visit(db):
    """One KEY patient with a $30.00 co-pay collected on the day and a 120-line encounter E1
    (diagnoses E11.9, I10, M54.50), plus an ordinary two-line encounter E2."""
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, DOS, _lines_120(), dx=("E11.9", "I10", "M54.50"), number="E1")
        fx.copay_payment(db, a, 3000, DOS)
        b = fx.patient(db, "1002")
        fx.coverage(db, b, "KEY")
        fx.encounter(db, b, "2026-06-11", [("99213", 14000), ("36415", 1500)], number="E2")
    return db


def _claim_rules(conn, *, encounter_ids=None, as_of=None):
    """The scrubber with the rules a split claim could trip (no code sets loaded here)."""
    return scrub.check(
        conn, encounter_ids=encounter_ids, as_of=as_of, rules=["ALREADY-BILLED", "CLAIM-LINES"]
    )


def _split(db):
    practice.update(db, {"long_claims": "split"})


def _claims(db):
    return db.execute(
        "SELECT i.number, i.total_cents, i.copay_cents, COUNT(l.id), s.data FROM invoices i"
        " JOIN invoice_lines l ON l.invoice_id = i.id JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE i.kind = 'claim' GROUP BY i.id ORDER BY i.number"
    ).fetchall()


def test_default_holds_with_claim_lines(long_visit, tmp_path):
    db = long_visit
    assert practice.get(db)["long_claims"] == "hold"
    res = _run(db, tmp_path)
    assert [(h.encounter, [f.rule for f in h.findings]) for h in res.held] == [
        ("E1", ["CLAIM-LINES"])
    ]
    assert [(r["number"], r["encounter"]) for r in res.issued] == [("C000001", "E2")]
    found = [f for f in scrub.check(db, as_of=fx.TODAY) if f.rule == "CLAIM-LINES"]
    assert [(f.encounter, f.severity) for f in found] == [("E1", "error")]


def test_split_120_lines_into_50_50_20(long_visit, tmp_path):
    db = long_visit
    _split(db)
    assert not [f for f in scrub.check(db, as_of=fx.TODAY) if f.rule == "CLAIM-LINES"]
    res = _run(db, tmp_path)
    assert res.held == []
    rows = _claims(db)
    # E1 (visit of 2026-06-10) sorts before E2: three claims, then E2's
    assert [(n, total, copay, count) for n, total, copay, count, _ in rows] == [
        ("C000001", 50 * 1000, 3000, 50),  # lines 1-50, the day's co-pay
        ("C000002", 50 * 1000, 0, 50),  # lines 51-100
        ("C000003", 18 * 1000 + 2500 + 4000, 0, 20),  # lines 101-120: 18 x $10, $25, $40
        ("C000004", 15500, 0, 2),
    ]
    parts = [json.loads(r[4]) for r in rows[:3]]
    assert [p["split"] for p in parts] == [{"part": k, "of": 3} for k in (1, 2, 3)]
    assert all(p["diagnoses"] == ["E11.9", "I10", "M54.50"] for p in parts)
    assert all(p["encounter"] == "E1" for p in parts)
    # line order kept; pointers point at the same codes (line 101 -> M54.50, line 120 -> 1,2)
    third = parts[2]["lines"]
    assert third[0]["pointers"] == [3] and third[-1]["pointers"] == [1, 2]
    assert third[-1]["units"] == 2
    assert "split" not in json.loads(rows[3][4])
    # every charge line billed once, on the part holding it
    assert db.execute(
        "SELECT l.line_no, i.number FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " JOIN charge_lines c ON c.id = l.charge_line_id WHERE c.line_no IN (50, 51, 100, 101, 120)"
        " AND i.encounter_id = (SELECT id FROM encounters WHERE number = 'E1') ORDER BY c.line_no"
    ).fetchall() == [
        (50, "C000001"),
        (1, "C000002"),
        (50, "C000002"),
        (1, "C000003"),
        (20, "C000003"),
    ]
    assert db.execute("SELECT COUNT(*) FROM charge_lines WHERE status = 'billed'").fetchone() == (
        122,
    )
    # one 837P, valid for pyx12, each part with its note
    (edi,) = (tmp_path / "out").glob("*.edi")
    text = edi.read_text()
    verdict = validate.validate_text(text)
    assert verdict.valid, [str(p) for p in verdict.problems]
    segs = text.replace("\n", "").split("~")
    notes = [s for s in segs if s.startswith("NTE*")]
    assert notes == [
        f"NTE*ADD*CLAIM {k} OF 3 FOR THE SAME VISIT (50 LINES A CLAIM)" for k in (1, 2, 3)
    ]
    assert [s.split("*")[1:3] for s in segs if s.startswith("CLM*")] == [
        ["C000001", "500"],
        ["C000002", "500"],
        ["C000003", "245"],
        ["C000004", "155"],
    ]
    assert sum(s == "AMT*F5*30" for s in segs) == 1
    assert sum(s.startswith("LX*") for s in segs) == 122
    # the listing says which part each claim is
    listing = (tmp_path / "out" / "invoices.csv").read_text().splitlines()
    assert [ln.split(",")[5] for ln in listing[1:]] == [
        "E1 (part 1 of 3)",
        "E1 (part 2 of 3)",
        "E1 (part 3 of 3)",
        "E2",
    ]
    # nothing is billed twice: a second run issues nothing and holds nothing
    again = _run(db, tmp_path)
    assert again.issued == [] and again.held == []


def test_split_does_not_release_other_errors(db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001", address=False)
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, DOS, [("97110", 1000)] * 51, number="E1")
    _split(db)
    res = _run(db, tmp_path)
    assert [(h.encounter, [f.rule for f in h.findings]) for h in res.held] == [
        ("E1", ["CLAIM-ADDRESS"])
    ]
    assert res.issued == []


def test_fifty_lines_is_one_claim(db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, DOS, [("97110", 1000)] * 50, number="E1")
    _split(db)
    res = _run(db, tmp_path)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [("C000001", 50000)]
    assert "split" not in json.loads(_claims(db)[0][4])


def test_replace_a_part_rebuilds_that_part_only(long_visit, tmp_path):
    db = long_visit
    _split(db)
    _run(db, tmp_path)
    # line 60 is on C000002: its charge goes from $10.00 to $12.50
    corrections.correct(
        db,
        "E1",
        line=60,
        change=corrections.LineChange(charge="12.50"),
        reason="fee schedule",
        on=fx.TODAY,
    )
    res = lifecycle.replace(db, "C000002", scrub=_claim_rules, today=fx.TODAY)
    assert res["frequency"] == "7" and res["total_cents"] == 49 * 1000 + 1250
    (data,) = db.execute(
        "SELECT s.data FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE i.number = ?",
        (res["replacement"],),
    ).fetchone()
    c = json.loads(data)
    assert c["split"] == {"part": 2, "of": 3} and len(c["lines"]) == 50
    assert c["diagnoses"] == ["E11.9", "I10", "M54.50"]
    # the replacement goes out on the next run's 837P, valid, with its note
    out = tmp_path / "next"
    _run(db, tmp_path, out_dir=out)
    (edi,) = out.glob("*.edi")
    text = edi.read_text()
    assert validate.validate_text(text).valid
    assert "NTE*ADD*CLAIM 2 OF 3 FOR THE SAME VISIT" in text


def test_void_rebill_a_part_bills_its_lines_again(long_visit, tmp_path):
    db = long_visit
    _split(db)
    _run(db, tmp_path)
    lifecycle.void(db, "C000003", reason="wrong payer", rebill=True, today=fx.TODAY)
    # ALREADY-BILLED does not count the other parts against the lines given back
    assert not [f for f in scrub.check(db, as_of=fx.TODAY) if f.rule == "ALREADY-BILLED"]
    res = _run(db, tmp_path, out_dir=tmp_path / "next")
    assert res.held == []
    new = [r for r in res.issued if r["kind"] == "claim" and not r.get("queued")]
    assert [(r["encounter"], r["total_cents"]) for r in new] == [("E1", 18 * 1000 + 2500 + 4000)]
    # it is part 3 again, and says so
    (data,) = db.execute(
        "SELECT s.data FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE i.number = ?",
        (new[0]["number"],),
    ).fetchone()
    assert json.loads(data)["split"] == {"part": 3, "of": 3}
    text = next((tmp_path / "next").glob("*.edi")).read_text()
    assert validate.validate_text(text).valid
    assert "NTE*ADD*CLAIM 3 OF 3 FOR THE SAME VISIT" in text
    # and it is replaced from its own 20 lines, not the encounter's 120
    res = lifecycle.replace(db, new[0]["number"], scrub=_claim_rules, today=fx.TODAY)
    assert res["total_cents"] == 18 * 1000 + 2500 + 4000


def test_a_line_added_to_a_split_encounter_is_a_correction(long_visit, tmp_path):
    db = long_visit
    _split(db)
    _run(db, tmp_path)
    eid = db.execute("SELECT id FROM encounters WHERE number = 'E1'").fetchone()[0]
    with dbmod.write(db):  # a late line
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units,"
            " charge_cents) VALUES (?, 121, '36415', '1', 1, 1500)",
            (eid,),
        )
    res = _run(db, tmp_path, out_dir=tmp_path / "next")
    assert [(h.encounter, [f.rule for f in h.findings]) for h in res.held] == [
        ("E1", ["ALREADY-BILLED"])
    ]
    # replacing the last part adds it there: 21 lines
    res = lifecycle.replace(db, "C000003", scrub=_claim_rules, today=fx.TODAY)
    assert res["total_cents"] == 18 * 1000 + 2500 + 4000 + 1500
    n = db.execute(
        "SELECT COUNT(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id"
        " WHERE i.number = ?",
        (res["replacement"],),
    ).fetchone()[0]
    assert n == 21


def test_already_billed_still_holds_an_unsplit_encounter(db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        eid = fx.encounter(db, a, DOS, [("99213", 14000)], number="E1")
    _split(db)
    _run(db, tmp_path)
    with dbmod.write(db):  # a late line
        db.execute(
            "INSERT INTO charge_lines (encounter_id, line_no, code, dx_pointers, units,"
            " charge_cents) VALUES (?, 2, '36415', '1', 1, 1500)",
            (eid,),
        )
    res = _run(db, tmp_path, out_dir=tmp_path / "next")
    assert [(h.encounter, [f.rule for f in h.findings]) for h in res.held] == [
        ("E1", ["ALREADY-BILLED"])
    ]


def test_practice_set_long_claims(cli, db):
    with dbmod.write(db):
        fx.practice(db)
    r = cli("practice", "set", "--long-claims", "split", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["long_claims"] == "split"
    r = cli("practice", "set", "--long-claims", "sometimes")
    assert r.exit_code == 2
    assert "--long-claims: long claims must be split or hold" in r.stderr
    assert practice.get(db)["long_claims"] == "split"
    r = cli("practice", "set", "--long-claims", "HOLD")
    assert r.exit_code == 0 and practice.get(db)["long_claims"] == "hold"


def test_split_parts_are_in_line_order():
    from billadmin.billing import split

    lines = [
        {"line_no": n, "date_of_service": "2026-06-02" if n <= 3 else "2026-06-01"}
        for n in range(1, 8)
    ]
    got = [[ln["line_no"] for ln in part] for part in split.parts(lines, size=3)]
    assert got == [[4, 5, 6], [7, 1, 2], [3]]


def test_the_next_payer_claim_of_a_part_is_that_part(db, tmp_path):
    import ledger_scenarios as ls

    from billadmin.remit import post

    today = ls.DAY0
    dos = (today - dt.timedelta(days=4)).isoformat()
    with dbmod.write(db):
        fx.practice(db)
        p = fx.patient(db, "C0001")
        fx.coverage(db, p, "KEY", member="KEY001", priority=1)
        fx.coverage(db, p, "BVH", member="BVH002", priority=2)
        fx.encounter(db, p, dos, [("97110", 1000)] * 50 + [("99214", 20000)], number="E1")
    _split(db)
    res = _run(db, tmp_path, today=today, out_dir=tmp_path / "r1", pdf=False, xlsx=False)
    assert [(r["number"], r["total_cents"]) for r in res.issued] == [
        ("C000001", 50000),
        ("C000002", 20000),  # line 51 alone: part 2 of 2
    ]
    # Keystone pays 120.00 of part 2, CO-45 50.00, PR-2 30.00 coinsurance for Blue Valley
    answer = {
        "claim": "C000002",
        "status": "1",
        "charge": "200.00",
        "paid": "120.00",
        "pr": "30.00",
        "pcn": "KEY-1",
        "lines": [
            {
                "code": "99214",
                "charge": "200.00",
                "paid": "120.00",
                "cas": [["CO", "45", "50.00"], ["PR", "2", "30.00"]],
            }
        ],
    }
    path = tmp_path / "EFT1.835"
    path.write_text(ls.remit_text({"payer": "KEY", "trace": "EFT1", "on": "D", "claims": [answer]}))
    post.import_files(db, [path])
    res = _run(db, tmp_path, today=today, out_dir=tmp_path / "r2", pdf=False, xlsx=False)
    assert [(r["number"], r["bill_to"]) for r in res.issued] == [("C000003", "BVH")]
    (data,) = db.execute(
        "SELECT s.data FROM invoices i JOIN invoice_snapshots s ON s.invoice_id = i.id"
        " WHERE i.number = 'C000003'"
    ).fetchone()
    assert json.loads(data)["split"] == {"part": 2, "of": 2}
    (edi,) = (tmp_path / "r2").glob("837P-BVH-*.edi")
    text = edi.read_text()
    assert validate.validate_text(text).valid
    assert "NTE*ADD*CLAIM 2 OF 2 FOR THE SAME VISIT (50 LINES A CLAIM)" in text


def test_cms1500_of_a_part_has_its_note_in_item_19(long_visit, tmp_path, cli):
    """A split part printed on the CMS-1500: item 19 (line 36 from column 1, up to item 20 at
    column 50) says which part it is, as its 837P's NTE*ADD does: NUCC's qualifiers NTE and
    ADD, then "CLAIM 2 OF 3 FOR THE SAME VISIT" (48 columns leave out "(50 LINES A CLAIM)"),
    on each of its pages (50 lines, 6 a page: 9 pages); a claim that is not a part has none."""
    from test_cms1500 import read_back

    db = long_visit
    _split(db)
    _run(db, tmp_path)
    out = tmp_path / "c2.pdf"
    r = cli("invoice", "export", "C000002", "--format", "cms1500-data", "-o", out)
    assert r.exit_code == 0, r.output
    pages = read_back(out.read_bytes())
    assert len(pages) == 9
    assert [p[(36, 1)] for p in pages] == ["NTEADDCLAIM 2 OF 3 FOR THE SAME VISIT"] * 9
    assert pages[0][(36, 57)] == "X"  # item 20 (outside lab: no) where it was
    assert pages[0][(56, 23)] == "C000002"
    r = cli("invoice", "export", "C000004", "--format", "cms1500", "-o", tmp_path / "c4.pdf")
    assert r.exit_code == 0, r.output
    [page] = read_back((tmp_path / "c4.pdf").read_bytes())
    assert (36, 1) not in page and page[(56, 23)] == "C000004"

"""The CMS-1500 (02/12) paper claim: each value read back from the PDF at its box's position on
the form's 10-per-inch, 6-lines-per-inch grid, and compared with the claim (issue 17)."""

from __future__ import annotations

import io
import json

import invoice_fixtures as fx
import pytest
from pypdf import PdfReader

from billadmin import db as dbmod
from billadmin.billing import cms1500
from billadmin.billing import generate as gen

PRACTICE = {
    "name": "Test Family Practice",
    "npi": "1234567893",
    "tax_id": "812345678",
    "address1": "1 Main St",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151234",
    "phone": "6145550100",
}


def read_back(pdf: bytes) -> list[dict[tuple[int, int], str]]:
    """{(line, column): text} per page, from where each Courier string is drawn (the red box
    labels are Helvetica and left out)."""
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        cells: dict[tuple[int, int], str] = {}

        def visit(text, cm, tm, font, size, cells=cells, height=height):
            if not text.strip() or "Courier" not in str((font or {}).get("/BaseFont", "")):
                return
            col = round((tm[4] - cms1500.LEFT_PT) / cms1500.CHAR_PT) + 1
            line = round((height - tm[5] - cms1500.TOP_PT - cms1500.BASELINE_PT) / 12) + 1
            # pypdf puts a space before a string that follows another on the same line
            cells[(line, col)] = cells.get((line, col), "") + text.lstrip(" ")

        page.extract_text(visitor_text=visit)
        out.append(cells)
    return out


def labels_of(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _claim(n_lines: int = 2, **over) -> dict:
    lines = [
        {"code": "99213", "units": 1, "charge_cents": 14000, "pointers": [1, 2]},
        {"code": "36415", "units": 1, "charge_cents": 1500, "pointers": [1], "modifiers": ["59"]},
    ]
    while len(lines) < n_lines:
        lines.append({"code": "81002", "units": 2, "charge_cents": 1000, "pointers": [2]})
    c = {
        "kind": "claim",
        "number": "C000001",
        "frequency": "1",
        "date_of_service": "2026-06-01",
        "place_of_service": "11",
        "total_cents": sum(ln["charge_cents"] for ln in lines[:n_lines]),
        "payer": {"code": "KEY", "name": "Keystone Commercial", "kind": "commercial", "id": "KEY7"},
        "subscriber": {
            "last": "Able",
            "first": "Ann",
            "dob": "1960-02-03",
            "sex": "F",
            "address1": "9 Elm St",
            "city": "Dayton",
            "state": "OH",
            "zip": "45402",
            "member_id": "A10",
            "group": "G77",
            "relationship": "self",
        },
        "patient": None,
        "other_payers": [],
        "rendering": {"npi": "1497758544", "last": "Okafor", "first": "Ann"},
        "diagnoses": ["E11.9", "I10"],
        "lines": lines[:n_lines],
    }
    c.update(over)
    return c


def test_every_box_is_where_the_form_prints_it():
    pdf = cms1500.render(
        _claim(), PRACTICE, {"address1": "PO Box 5", "city": "Erie", "state": "PA", "zip": "16501"}
    )
    [page] = read_back(pdf)
    # written by hand from the NUCC 02/12 items and the form's grid (line, column)
    expected = {
        (2, 41): "KEYSTONE COMMERCIAL",  # carrier block
        (3, 41): "PO BOX 5",
        (4, 41): "ERIE, PA 16501",
        (8, 31): "X",  # 1: group health plan
        (8, 50): "A10",  # 1a
        (10, 1): "ABLE, ANN",  # 2
        (10, 31): "02",  # 3: MM DD YYYY
        (10, 34): "03",
        (10, 37): "1960",
        (10, 47): "X",  # 3: F
        (10, 50): "ABLE, ANN",  # 4
        (12, 1): "9 ELM ST",  # 5
        (14, 1): "DAYTON",
        (14, 26): "OH",
        (16, 1): "45402",
        (12, 33): "X",  # 6: self
        (12, 50): "9 ELM ST",  # 7 (the patient is the insured)
        (14, 50): "DAYTON",
        (14, 74): "OH",
        (16, 50): "45402",
        (18, 50): "G77",  # 11
        (20, 41): "X",  # 10a no
        (22, 41): "X",  # 10b no
        (24, 41): "X",  # 10c no
        (20, 53): "02",  # 11a
        (20, 56): "03",
        (20, 59): "1960",
        (20, 75): "X",
        (24, 50): "KEYSTONE COMMERCIAL",  # 11c
        (26, 57): "X",  # 11d no
        (29, 7): "SIGNATURE ON FILE",  # 12
        (29, 55): "SIGNATURE ON FILE",  # 13
        (36, 57): "X",  # 20 no
        (37, 42): "0",  # 21 ICD-10
        (38, 3): "E119",  # 21A (no decimal point)
        (38, 16): "I10",  # 21B
        # 24, row 1 (line 44): 06 01 26 to 06 01 26, POS 11, 99213, pointers AB, 140 00, 1 unit
        (44, 1): "06",
        (44, 4): "01",
        (44, 7): "26",
        (44, 10): "06",
        (44, 13): "01",
        (44, 16): "26",
        (44, 19): "11",
        (44, 25): "99213",
        (44, 45): "AB",
        (44, 52): "140 00",
        (44, 59): "1",
        (44, 68): "1497758544",
        # row 2 (line 46): 36415-59, pointer A, 15 00
        (46, 1): "06",
        (46, 4): "01",
        (46, 7): "26",
        (46, 10): "06",
        (46, 13): "01",
        (46, 16): "26",
        (46, 19): "11",
        (46, 25): "36415",
        (46, 33): "59",
        (46, 45): "A",
        (46, 53): "15 00",
        (46, 59): "1",
        (46, 68): "1497758544",
        (56, 1): "812345678",  # 25
        (56, 19): "X",  # 25 EIN
        (56, 23): "C000001",  # 26
        (56, 38): "X",  # 27 yes
        (56, 54): "155 00",  # 28: 140.00 + 15.00
        (56, 66): "0 00",  # 29
        (57, 66): "614",  # 33 phone
        (57, 70): "555-0100",
        (58, 23): "TEST FAMILY PRACTICE",  # 32
        (59, 23): "1 MAIN ST",
        (60, 23): "COLUMBUS OH 432151234",
        (58, 50): "TEST FAMILY PRACTICE",  # 33
        (59, 50): "1 MAIN ST",
        (60, 50): "COLUMBUS OH 432151234",
        (60, 1): "ANN OKAFOR",  # 31
        (61, 6): "06",
        (61, 9): "01",
        (61, 12): "26",
        (61, 23): "1234567893",  # 32a
        (61, 50): "1234567893",  # 33a
    }
    assert page == expected
    assert "1a INSURED'S I.D. NUMBER" in labels_of(pdf)  # the red labels, with form=True


def test_data_only_prints_no_labels_and_the_same_values():
    c = _claim()
    data = cms1500.render(c, PRACTICE, form=False)
    assert "INSURED'S I.D." not in labels_of(data)
    assert read_back(data) == read_back(cms1500.render(c, PRACTICE))


def test_more_than_six_lines_continue_on_a_second_page():
    c = _claim(8)  # 140 + 15 + 6 x 10.00 = 215.00
    p1, p2 = read_back(cms1500.render(c, PRACTICE))
    assert p1[(56, 52)] == "CONTINUED" and (56, 66) not in p1
    assert p2[(56, 54)] == "215 00"
    assert p1[(62, 50)] == "PAGE 1 OF 2" and p2[(62, 50)] == "PAGE 2 OF 2"
    assert [p1.get((42 + 2 * r, 25)) for r in range(1, 7)] == ["99213", "36415"] + ["81002"] * 4
    assert [p2.get((42 + 2 * r, 25)) for r in range(1, 3)] == ["81002", "81002"]
    assert p2.get((48, 25)) is None
    assert p2[(10, 1)] == "ABLE, ANN"  # the header repeats


def test_drug_referral_secondary_and_replacement_boxes():
    c = _claim(
        frequency="7",
        payer_claim_number="PCN123",
        prior_auth="AUTH9",
        referring={"npi": "1659318355", "last": "Reyes", "first": "Luz"},
        dates={"onset_date": "2026-05-20"},
        accident={"cause": "AA", "state": "NY"},
    )
    c["lines"][0]["drug"] = {"ndc": "00409-4888-02", "unit": "ML", "quantity": 2}
    c["other_payers"] = [
        {
            "priority": 2,
            "payer": {"code": "MCD", "name": "State Medicaid", "kind": "medicaid"},
            "subscriber": {"last": "Able", "first": "Ann", "member_id": "M55"},
            "adjudication": {"paid_cents": 9000, "cas": []},
        }
    ]
    [page] = read_back(cms1500.render(c, PRACTICE))
    assert page[(43, 1)] == "N400409488802   ML2"  # 24 shaded: N4, 11 digits, unit, quantity
    assert (page[(34, 1)], page[(34, 4)], page[(34, 33)]) == ("DN", "REYES, LUZ", "1659318355")
    assert (page[(38, 50)], page[(38, 62)]) == ("7", "PCN123")  # 22
    assert page[(40, 50)] == "AUTH9"  # 23
    assert (page[(32, 2)], page[(32, 5)], page[(32, 8)], page[(32, 16)]) == (
        "05",
        "20",
        "2026",
        "431",
    )
    assert page[(22, 35)] == "X" and page[(22, 45)] == "NY" and (22, 41) not in page  # 10b auto
    assert (page[(18, 1)], page[(20, 1)], page[(26, 1)]) == ("ABLE, ANN", "M55", "STATE MEDICAID")
    assert page[(26, 52)] == "X"  # 11d yes
    assert page[(56, 65)] == "90 00"  # 29: what the other payer paid


def test_medicare_primary_group_is_none():
    c = _claim(payer={"code": "MCR", "name": "Medicare Part B", "kind": "medicare"})
    [page] = read_back(cms1500.render(c, PRACTICE))
    assert page[(8, 1)] == "X" and page[(18, 50)] == "NONE"


@pytest.fixture
def billed(db, tmp_path):
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000), ("36415", 1500)], number="E1")
        b = fx.patient(db, "1002")
        fx.coverage(db, b, "MCR")
        fx.encounter(db, b, "2026-06-02", [("99214", 20500)], number="E2")
        c = fx.patient(db, "1003")
        fx.encounter(db, c, "2026-06-03", [("99203", 17500)], number="E3")
    gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    return db


def test_export_reads_back_as_the_issued_claim(billed, cli, tmp_path):
    out = tmp_path / "c1.pdf"
    r = cli("invoice", "export", "C000001", "--format", "cms1500-data", "-o", out)
    assert r.exit_code == 0, r.output
    [page] = read_back(out.read_bytes())
    assert page[(44, 25)] == "99213" and page[(46, 25)] == "36415"
    assert page[(56, 54)] == "155 00" and page[(56, 23)] == "C000001"
    assert page[(58, 50)] == fx.PRACTICE["name"].upper()
    assert "ASCA" not in r.stderr
    # a Medicare claim on paper: the ASCA exceptions are named
    r = cli("invoice", "export", "C000002", "--format", "cms1500", "-o", tmp_path / "c2.pdf")
    assert r.exit_code == 0 and "ASCA" in r.stderr
    # a patient invoice has no CMS-1500
    r = cli("invoice", "export", "P000001", "--format", "cms1500", "-o", tmp_path / "p.pdf")
    assert r.exit_code == 2 and "not a claim" in r.stderr
    assert not (tmp_path / "p.pdf").exists()


def test_paper_payer_gets_cms1500_pdfs_from_generate(db, cli, tmp_path):
    """`payer set KEY --paper`: KEY's claims are printed (values only, for the red form), the
    other payers' still go on 837Ps; the printed claim is sent, its file recorded."""
    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001")
        fx.coverage(db, a, "KEY")
        fx.encounter(db, a, "2026-06-01", [("99213", 14000), ("36415", 1500)], number="E1")
        b = fx.patient(db, "1002")
        fx.coverage(db, b, "BVH")
        fx.encounter(db, b, "2026-06-02", [("99214", 20500)], number="E2")
    r = cli("payer", "set", "KEY", "--paper")
    assert r.exit_code == 0, r.output
    rows = {x["payer"]: x for x in json.loads(cli("payer", "list", "-f", "json").stdout)}
    assert rows["KEY"]["claims"] == "paper (CMS-1500/UB-04)" and rows["BVH"]["claims"] == "837P"
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    names = sorted(p.name for p in res.files)
    assert "CMS1500-KEY-C000002.pdf" in names  # numbered by payer code: BVH C000001
    assert [n for n in names if n.startswith("837P-")] == [
        next(n for n in names if n.startswith("837P-BVH-"))
    ]
    pdf = (tmp_path / "out" / "CMS1500-KEY-C000002.pdf").read_bytes()
    [page] = read_back(pdf)
    assert page[(56, 23)] == "C000002" and page[(56, 54)] == "155 00"
    assert "INSURED'S I.D." not in labels_of(pdf)  # values only: printed on the red form
    show = json.loads(cli("invoice", "show", "C000002", "-f", "json").stdout)
    assert show["status"] == "sent" and [f["kind"] for f in show["files"]] == ["pdf"]
    # back to electronic: audited, and the next claim goes on an 837P
    assert cli("payer", "set", "KEY", "--electronic").exit_code == 0
    audit = db.execute("SELECT count(*) FROM audit_log WHERE action = 'payer set'").fetchone()[0]
    assert audit == 2


def test_item_19_of_a_split_part():
    """Part 12 of 13 of a long encounter: item 19 at line 36, column 1, NTE and ADD (NUCC's
    qualifiers for an 837P claim note) then the note, its reason left out for the 48
    columns: "NTEADDCLAIM 12 OF 13 FOR THE SAME VISIT" (39 characters)."""
    [page] = cms1500.pages(_claim(split={"part": 12, "of": 13}), PRACTICE)
    assert page[(36, 1)] == "NTEADDCLAIM 12 OF 13 FOR THE SAME VISIT"
    [page] = read_back(cms1500.render(_claim(split={"part": 1, "of": 2}), PRACTICE))
    assert page[(36, 1)] == "NTEADDCLAIM 1 OF 2 FOR THE SAME VISIT"
    [page] = cms1500.pages(_claim(), PRACTICE)
    assert (36, 1) not in page

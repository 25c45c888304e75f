"""The UB-04 (CMS-1450) paper claim: each value read back from the PDF at its form locator's
position on the form's 10-per-inch, 6-lines-per-inch grid, and compared with the claim
(issue 17). Positions: VistA IB file 364.6, form 3 (UB-04); contents: CMS Pub. 100-04 ch. 25
s. 75."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from billadmin.billing import cms1500, ub04


def read_back(pdf: bytes) -> list[dict[tuple[int, int], str]]:
    """{(line, column): text} per page, from where each Courier string is drawn (the red
    locator labels are Helvetica and left out)."""
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        cells: dict[tuple[int, int], str] = {}

        def visit(text, cm, tm, font, size, cells=cells, height=height):
            if not text.strip() or "Courier" not in str((font or {}).get("/BaseFont", "")):
                return
            col = round((tm[4] - cms1500.LEFT_PT) / cms1500.CHAR_PT) + 1
            line = round((height - tm[5] - cms1500.TOP_PT - cms1500.BASELINE_PT) / 12) + 1
            cells[(line, col)] = cells.get((line, col), "") + text.lstrip(" ")

        page.extract_text(visitor_text=visit)
        out.append(cells)
    return out


def labels_of(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _line(rev: str, hcpcs: str | None, cents: int, units: int = 1, **more) -> dict:
    return {
        "revenue_code": rev,
        "hcpcs": hcpcs,
        "date": "2026-06-01",
        "units": units,
        "charge_cents": cents,
        **more,
    }


def _fields(n_lines: int = 2, **over) -> dict:
    """An outpatient endoscopy (type of bill 131) to Medicare."""
    lines = [
        _line("0750", "43239", 245000, modifiers=["PT"]),
        _line("0310", "88305", 31000, units=2),
    ]
    while len(lines) < n_lines:
        lines.append(_line("0300", "80053", 4500))
    f = {
        "1": {
            "name": "Riverside Hospital",
            "address1": "100 River Rd",
            "city": "Columbus",
            "state": "OH",
            "zip": "432151234",
            "phone": "(614) 555-0199",
        },
        "3a": "C000007",
        "3b": "MRN1001",
        "4": "131",
        "5": "81-2345678",
        "6": ["2026-06-01", "2026-06-01"],
        "8b": "Able, Ann",
        "9": {"address1": "9 Elm St", "city": "Dayton", "state": "OH", "zip": "45402"},
        "10": "1950-02-03",
        "11": "F",
        "14": "3",
        "15": "1",
        "17": "01",
        "42-48": lines[:n_lines],
        "45": "2026-06-05",
        "total_cents": sum(ln["charge_cents"] for ln in lines[:n_lines]),
        "38": ["Medicare Part A", "PO Box 5", "Erie PA 16501"],
        "50-55": [
            {
                "name": "Medicare Part A",
                "release": "Y",
                "assignment": "Y",
                "due_cents": sum(ln["charge_cents"] for ln in lines[:n_lines]),
            }
        ],
        "56": "1234567893",
        "58-62": [{"name": "Able, Ann", "relationship": "self", "id": "1EG4TE5MK73"}],
        "66": "0",
        "67": [["K21.9", ""], ["K29.70", ""]],
        "70": ["R10.13"],
        "76": {"npi": "1497758544", "last": "Okafor", "first": "Ann"},
        "81": [["B3", "282N00000X", ""]],
    }
    f.update(over)
    return f


def test_every_locator_is_where_the_form_prints_it():
    [page] = read_back(ub04.render(_fields()))
    # written by hand from CMS Pub. 100-04 ch. 25 s. 75 and the form's grid (line, column)
    expected = {
        (2, 2): "RIVERSIDE HOSPITAL",  # FL 1
        (3, 1): "100 RIVER RD",
        (4, 1): "COLUMBUS",
        (4, 14): "OH",
        (4, 17): "432151234",
        (5, 1): "6145550199",
        (2, 54): "C000007",  # FL 3a: our claim number
        (3, 54): "MRN1001",  # FL 3b
        (3, 78): "0131",  # FL 4: leading zero, hospital outpatient, admit-through-discharge
        (5, 51): "81-2345678",  # FL 5
        (5, 62): "060126",  # FL 6 from, MMDDYY
        (5, 69): "060126",  # FL 6 through
        (7, 2): "ABLE, ANN",  # FL 8b
        (6, 42): "9 ELM ST",  # FL 9a-d
        (7, 32): "DAYTON",
        (7, 65): "OH",
        (7, 69): "45402",
        (9, 1): "02031950",  # FL 10, MMDDYYYY
        (9, 10): "F",  # FL 11
        (9, 22): "3",  # FL 14
        (9, 25): "1",  # FL 15
        (9, 31): "01",  # FL 17
        (13, 1): "MEDICARE PART A",  # FL 38
        (14, 1): "PO BOX 5",
        (15, 1): "ERIE PA 16501",
        # FL 42-47, line 1: 0750, 43239-PT, 06/01/26, 1 unit, 2,450.00
        (19, 1): "0750",
        (19, 31): "43239PT",
        (19, 46): "060126",
        (19, 59): "1",
        (19, 63): "2450 00",
        # line 2: 0310, 88305, 2 units, 310.00
        (20, 1): "0310",
        (20, 31): "88305",
        (20, 46): "060126",
        (20, 59): "2",
        (20, 64): "310 00",
        # line 23: 0001, page 1 of 1, creation date, total 2,450.00 + 310.00 = 2,760.00
        (41, 1): "0001",
        (41, 6): "PAGE 1 OF 1",
        (41, 46): "060526",
        (41, 63): "2760 00",
        (42, 68): "1234567893",  # FL 56
        (43, 1): "MEDICARE PART A",  # FL 50A
        (43, 39): "Y",  # FL 52A
        (43, 42): "Y",  # FL 53A
        (43, 58): "2760 00",  # FL 55A
        (47, 1): "ABLE, ANN",  # FL 58A
        (47, 27): "18",  # FL 59A: self
        (47, 30): "1EG4TE5MK73",  # FL 60A
        (55, 1): "0",  # FL 66: ICD-10
        (54, 2): "K219",  # FL 67 principal, no decimal point
        (54, 10): "K2970",  # FL 67A
        (56, 17): "R1013",  # FL 70a
        (57, 59): "1497758544",  # FL 76 NPI
        (58, 53): "OKAFOR",  # FL 76 last, first
        (58, 71): "ANN",
        (61, 27): "B3",  # FL 81a: taxonomy
        (61, 29): "282N00000X",
    }
    assert page == expected


def test_data_only_prints_no_labels_and_the_same_values():
    f = _fields()
    form, data = ub04.render(f), ub04.render(f, form=False)
    assert "TYPE OF BILL" in labels_of(form) and "TYPE OF BILL" not in labels_of(data)
    assert read_back(data) == read_back(form)
    assert ub04.render(f, form=False) == data  # the same bytes on every reprint


def test_twenty_two_lines_a_page_totals_on_the_last():
    f = _fields(25)  # 2,450.00 + 310.00 + 23 x 45.00 = 3,795.00
    p1, p2 = read_back(ub04.render(f))
    assert [p1.get((19 + r, 1)) for r in range(22)] == ["0750", "0310"] + ["0300"] * 20
    assert [p2.get((19 + r, 1)) for r in range(3)] == ["0300"] * 3 and (22, 1) not in p2
    assert (p1[(41, 6)], p2[(41, 6)]) == ("PAGE 1 OF 2", "PAGE 2 OF 2")
    assert p1[(41, 1)] == p2[(41, 1)] == "0001"
    assert p1[(41, 46)] == p2[(41, 46)] == "060526"  # creation date on every page
    assert not any(col >= 60 for (line, col) in p1 if line == 41)  # no total on page 1
    assert p2[(41, 63)] == "3795 00"
    assert p1[(3, 78)] == p2[(3, 78)] == "0131" and p2[(7, 2)] == "ABLE, ANN"  # header repeats


def test_inpatient_stay_admission_poa_procedures_and_codes():
    """An inpatient stay (111): admission data, diagnoses with POA indicators, ICD-10-PCS
    procedures with dates, condition, occurrence, span and value codes, an operating
    physician, a replacement's document control number."""
    f = _fields(
        **{
            "4": "117",
            "6": ["2026-05-28", "2026-06-02"],
            "12": "2026-05-28",
            "13": "14",
            "14": "1",
            "15": "7",
            "16": "10",
            "17": "01",
            "18-28": ["39", "C1"],
            "29": "OH",
            "31-34": [
                ["11", "2026-05-27"],
                ["A1", "2026-01-01"],
                ["01", "2026-05-20"],
                ["02", "2026-05-21"],
                ["03", "2026-05-22"],
            ],
            "35-36": [
                ["70", "2026-05-01", "2026-05-03"],
                ["74", "2026-05-04", "2026-05-05"],
                ["M2", "2026-05-06", "2026-05-07"],
            ],
            "39-41": [["80", 500], ["A1", 163200], ["01", 12345], ["02", 100]],
            "42-48": [
                {
                    "revenue_code": "0120",
                    "rate_cents": 150000,
                    "date": "2026-05-28",
                    "units": 5,
                    "charge_cents": 750000,
                    "non_covered_cents": 150000,
                },
                _line("0360", "0DB68ZX", 420000),
            ],
            "total_cents": 1170000,
            "non_covered_cents": 150000,
            "64": ["12345678901234"],
            "67": [["K92.2", "Y"], ["D62", "N"], ["E11.9", "Y"], ["Z79.4", "1"]]
            + [[f"R{i:02d}.0", "U"] for i in range(1, 15)],
            "69": "K92.2",
            "71": "0378",
            "72": [["W19.XXXA", "Y"]],
            "74": [
                ["0DB68ZX", "2026-05-29"],
                ["0DJ08ZZ", "2026-05-30"],
                ["3E033GC", "2026-05-31"],
                ["0W3P8ZZ", "2026-06-01"],
            ],
            "77": {"npi": "1659318355", "last": "Reyes", "first": "Luz"},
            "78": {"qualifier": "DN", "npi": "1538164242", "last": "Stone", "first": "Al"},
            "80": ["REPLACES C000003"],
        }
    )
    [page] = read_back(ub04.render(f))
    assert page[(3, 78)] == "0117"
    assert (page[(5, 62)], page[(5, 69)]) == ("052826", "060226")
    # FL 12-17: admission 05/28/26 at 14h, type 1, source 7, discharged at 10h, status 01
    assert [page[(9, c)] for c in (13, 19, 22, 25, 28, 31)] == [
        "052826",
        "14",
        "1",
        "7",
        "10",
        "01",
    ]
    assert (page[(9, 34)], page[(9, 37)], page[(9, 67)]) == ("39", "C1", "OH")  # FL 18, 19, 29
    # FL 31a-34a across, then 31b
    assert [page[(11, c)] for c in (1, 5, 11, 15, 21, 31)] == [
        "11",
        "052726",
        "A1",
        "010126",
        "01",
        "02",
    ]
    assert (page[(12, 1)], page[(12, 5)]) == ("03", "052226")
    # FL 35a, 36a, 35b
    assert [page[(11, c)] for c in (41, 45, 52, 58, 62, 69)] == [
        "70",
        "050126",
        "050326",
        "74",
        "050426",
        "050526",
    ]
    assert (page[(12, 41)], page[(12, 45)], page[(12, 52)]) == ("M2", "050626", "050726")
    # FL 39a-41a, then 39b: 5.00, 1,632.00, 123.45, 1.00
    assert [page[(14, c)] for c in (44, 53, 57, 63, 70, 77)] == [
        "80",
        "5 00",
        "A1",
        "1632 00",
        "01",
        "123 45",
    ]
    assert (page[(15, 44)], page[(15, 53)]) == ("02", "1 00")
    # FL 44 the room rate 1,500.00, 5 days, 7,500.00 of which 1,500.00 not covered
    assert (page[(19, 1)], page[(19, 38)], page[(19, 59)]) == ("0120", "1500 00", "5")
    assert (page[(19, 63)], page[(19, 73)]) == ("7500 00", "1500 00")
    assert (page[(41, 62)], page[(41, 73)]) == ("11700 00", "1500 00")  # FL 47, 48 totals
    assert page[(51, 32)] == "12345678901234"  # FL 64A
    # FL 67: principal K922 Y; A D62 N; B E119 Y; C Z794 1 (exempt); H on line 54; I-Q line 55
    assert [(page[(54, c)], page[(54, c + 7)]) for c in (2, 10, 18, 26)] == [
        ("K922", "Y"),
        ("D62", "N"),
        ("E119", "Y"),
        ("Z794", "1"),
    ]
    assert page[(54, 66)] == "R050" and page[(54, 73)] == "U"  # 67H
    assert [page[(55, 2 + 8 * i)] for i in range(9)] == [f"R{i:02d}0" for i in range(6, 15)]
    assert (page[(56, 5)], page[(56, 43)]) == ("K922", "0378")  # FL 69, 71
    assert (page[(56, 49)], page[(56, 56)]) == ("W19XXXA", "Y")  # FL 72a with POA
    # FL 74 principal and a-c: code, MMDDYY
    assert [
        (page[(ln, c)], page[(ln, c + 9)]) for ln, c in ((58, 1), (58, 16), (58, 31), (60, 1))
    ] == [
        ("0DB68ZX", "052926"),
        ("0DJ08ZZ", "053026"),
        ("3E033GC", "053126"),
        ("0W3P8ZZ", "060126"),
    ]
    assert (page[(59, 59)], page[(60, 53)], page[(60, 71)]) == ("1659318355", "REYES", "LUZ")
    assert (page[(61, 56)], page[(61, 59)], page[(62, 53)]) == ("DN", "1538164242", "STONE")
    assert page[(61, 1)] == "REPLACES C000003"  # FL 80


def test_secondary_claim_rows_a_and_b():
    """Billed to the secondary: row A the primary with what it paid (FL 54), row B the payer
    billed with the amount due (FL 55), each with its insured."""
    f = _fields(
        **{
            "50-55": [
                {
                    "name": "Medicare Part B",
                    "release": "Y",
                    "assignment": "Y",
                    "prior_cents": 198000,
                },
                {
                    "name": "Keystone Supplement",
                    "plan_id": "KEY7",
                    "release": "Y",
                    "assignment": "Y",
                    "due_cents": 78000,
                },
            ],
            "58-62": [
                {"name": "Able, Ann", "relationship": "self", "id": "1EG4TE5MK73"},
                {
                    "name": "Able, Bob",
                    "relationship": "spouse",
                    "id": "K55",
                    "group_name": "ACME",
                    "group_number": "G77",
                },
            ],
            "63": ["", "AUTH9"],
        }
    )
    [page] = read_back(ub04.render(f))
    assert (page[(43, 1)], page[(43, 47)]) == ("MEDICARE PART B", "1980 00")  # 54A: 1,980.00
    assert (page[(44, 1)], page[(44, 24)], page[(44, 59)]) == (
        "KEYSTONE SUPPLEMENT",
        "KEY7",
        "780 00",
    )
    assert (43, 55) not in page and (43, 58) not in page  # nothing due from the primary
    assert [page[(48, c)] for c in (1, 27, 30, 50, 65)] == ["ABLE, BOB", "01", "K55", "ACME", "G77"]
    assert page[(52, 1)] == "AUTH9" and (51, 1) not in page  # FL 63B


@pytest.mark.parametrize(
    ("key", "n", "room"),
    [("67", 19, 18), ("74", 7, 6), ("18-28", 12, 11), ("31-34", 9, 8), ("39-41", 13, 12)],
)
def test_more_than_the_form_holds_is_refused(key, n, room):
    item = {
        "67": ["A00", "Y"],
        "74": ["0DB68ZX", "2026-05-29"],
        "18-28": "39",
        "31-34": ["11", "2026-05-27"],
        "39-41": ["80", 100],
    }[key]
    with pytest.raises(ub04.TooMuchForPaper) as e:
        ub04.render(_fields(**{key: [item] * n}))
    assert e.value.exit_code == 2
    assert f"{n} entries for UB-04 FL {key}, which has {room}" in e.value.message
    assert "C000007" in e.value.message and "837I" in e.value.message


# ---------------------------------------------------------------------------------------------
# from an institutional claim's issued content: `invoice export N --format ub04|ub04-data`,
# and the paper run

FACILITY = {
    "name": "Riverside Hospital",
    "npi": "1234567893",
    "tax_id": "812345678",
    "taxonomy": "282N00000X",
    "facility_type": "1",
    "address1": "100 River Rd",
    "city": "Columbus",
    "state": "OH",
    "zip": "432151234",
    "phone": "6145550199",
}


def _issue(db, key: str, tob: str, *, frequency: str = "1", original: str | None = None, **over):
    """A facility claim for patient 1001 and its issued invoice with the content the 837I run
    issues (institutional/content.py): billed to Medicare, Keystone second."""
    import invoice_fixtures as fx

    from billadmin.billing import content as bc
    from billadmin.billing import numbering
    from billadmin.institutional import content, model, store

    fid = db.execute("SELECT id FROM facilities WHERE code = 'RIV'").fetchone()[0]
    pat_id = db.execute("SELECT id FROM patients WHERE mrn = '1001'").fetchone()[0]
    claim = {
        "key": key,
        "patient_id": pat_id,
        "provider_id": 1,
        "facility_id": fid,
        "type_of_bill": tob,
        "statement_from": "2026-06-01",
        "statement_through": "2026-06-01",
        "patient_status": "01",
        "providers": [("attending", "1497758544", "Okafor", "Ann")],
        "diagnoses": [("ABK", "K219", ""), ("ABF", "K2970", ""), ("APR", "R1013", "")],
        "lines": [
            {
                "revenue_code": "0750",
                "hcpcs": "43239",
                "modifiers": ["PT"],
                "units": 1,
                "charge_cents": 245000,
                "line_date": "2026-06-01",
            },
            {
                "revenue_code": "0310",
                "hcpcs": "88305",
                "units": 2,
                "charge_cents": 31000,
                "line_date": "2026-06-01",
            },
        ],
        **over,
    }
    if original is None:
        store.insert_claim(db, claim)
    c = model.load_claim(db, key)
    table = bc.temp_ids(db, "t_ub04", [pat_id])
    patient = bc.load_patients(db, table)[pat_id]
    payers = bc.load_payers(db)
    cov, other = bc.active_coverages(bc.load_coverages(db, table)[pat_id], "2026-06-01", payers)
    [number] = numbering.take(db, "claim", 1)  # the claim series the runs share
    cnt = content.claim_content(
        c,
        number=number,
        frequency=frequency,
        line_ids=list(range(1, len(c.lines) + 1)),
        patient=patient,
        coverage=cov,
        payer=payers[cov["payer_id"]],
        others=[(other, payers[other["payer_id"]])],
        payer_claim_number="ICN2026001" if original else None,
    )
    orig_id = (
        db.execute("SELECT id FROM invoices WHERE number = ?", (original,)).fetchone()[0]
        if original
        else None
    )
    iid = db.execute(
        "INSERT INTO invoices (number, kind, patient_id, payer_id, coverage_id, encounter_id,"
        " original_invoice_id, frequency_code, issued_on, total_cents, content_hash, created_at)"
        " VALUES (?, 'claim', ?, ?, ?, ?, ?, ?, ?, ?, 'x', ?)",
        (
            number,
            pat_id,
            cov["payer_id"],
            cov["id"],
            c.encounter_id,
            orig_id,
            frequency,
            "2026-07-01" if original else "2026-06-05",
            c.total_cents,
            fx.NOW,
        ),
    ).lastrowid
    db.execute(
        "INSERT INTO invoice_snapshots (invoice_id, data) VALUES (?, ?)",
        (iid, bc.canonical(cnt)),
    )
    db.execute("INSERT INTO inst_claim_invoices (invoice_id, claim_id) VALUES (?, ?)", (iid, c.id))
    db.execute("UPDATE inst_claims SET status = 'billed' WHERE id = ?", (c.id,))
    return iid, cnt


@pytest.fixture
def hospital(db):
    import invoice_fixtures as fx

    from billadmin import db as dbmod
    from billadmin.institutional import store

    with dbmod.write(db):
        fx.practice(db)
        db.execute(
            "UPDATE payers SET address1 = 'PO Box 5', city = 'Erie', state = 'PA',"
            " zip = '16501' WHERE code = 'MCR'"
        )
        a = fx.patient(db, "1001", first="Ann", last="Able", dob="1950-02-03")
        fx.coverage(db, a, "MCR", member="1EG4TE5MK73")
        fx.coverage(db, a, "KEY", member="K55", priority=2, group="G77")
    store.save_facility(db, "RIV", FACILITY)
    with dbmod.write(db):
        _issue(db, "H1", "131")
        _issue(
            db,
            "H2",
            "111",
            statement_from="2026-05-28",
            statement_through="2026-06-02",
            admission_date="2026-05-28",
            admission_hour="1430",
            admission_type="1",
            admission_source="7",
            discharge_hour="10",
            diagnoses=[
                ("ABK", "K922", "Y"),
                ("ABJ", "K922", ""),
                ("ABF", "D62", "N"),
                ("ABN", "W19XXXA", "Y"),
            ],
            procedures=[("BBQ", "3E033GC", "2026-05-31"), ("BBR", "0DB68ZX", "2026-05-29")],
            providers=[
                ("attending", "1497758544", "Okafor", "Ann"),
                ("operating", "1659318355", "Reyes", "Luz"),
                ("referring", "1538164242", "Stone", "Al"),
            ],
            conditions=["39"],
            occurrences=[("11", "2026-05-27")],
            values=[("80", 500)],
            prior_auth="AUTH9",
        )
    return db


def test_export_reads_back_as_the_issued_claim(hospital, cli, tmp_path):
    out = tmp_path / "h1.pdf"
    r = cli("invoice", "export", "C000001", "--format", "ub04-data", "-o", out)
    assert r.exit_code == 0, r.output
    assert "ASCA" in r.stderr  # Medicare on paper: the ASCA exceptions are named
    [page] = read_back(out.read_bytes())
    assert "TYPE OF BILL" not in labels_of(out.read_bytes())
    assert (page[(2, 2)], page[(5, 1)], page[(5, 51)]) == (
        "RIVERSIDE HOSPITAL",
        "6145550199",
        "81-2345678",
    )
    # FL 3a: the claim number the 837I sends as CLM01; FL 4 with its leading zero
    assert (page[(2, 54)], page[(3, 78)]) == ("C000001", "0131")
    assert (page[(7, 2)], page[(9, 1)], page[(9, 10)], page[(9, 31)]) == (
        "ABLE, ANN",
        "02031950",
        "F",
        "01",
    )
    assert [page[(19, c)] for c in (1, 31, 46, 59, 63)] == [
        "0750",
        "43239PT",
        "060126",
        "1",
        "2450 00",
    ]
    assert [page[(20, c)] for c in (1, 31, 59, 64)] == ["0310", "88305", "2", "310 00"]
    assert (page[(41, 46)], page[(41, 63)]) == ("060526", "2760 00")  # issued 06/05/26; 2,760.00
    # FL 38: Medicare's mailing block; FL 50A Medicare (billed: 2,760.00 due), 50B Keystone
    assert [page[(13 + i, 1)] for i in range(3)] == [
        "MEDICARE PART B",
        "PO BOX 5",
        "ERIE PA 16501",
    ]
    assert (page[(43, 1)], page[(43, 24)], page[(43, 58)]) == (
        "MEDICARE PART B",
        "15202",
        "2760 00",
    )
    assert (page[(44, 1)], page[(44, 24)]) == ("KEYSTONE COMMERCIAL", "KEY77")
    assert (44, 58) not in page
    assert [page[(47, c)] for c in (1, 27, 30)] == ["ABLE, ANN", "18", "1EG4TE5MK73"]
    assert [page[(48, c)] for c in (30, 65)] == ["K55", "G77"]
    assert (page[(42, 68)], page[(55, 1)], page[(54, 2)], page[(54, 10)]) == (
        "1234567893",
        "0",
        "K219",
        "K2970",
    )
    assert page[(56, 17)] == "R1013"  # FL 70a reason for visit
    assert (page[(57, 59)], page[(58, 53)]) == ("1497758544", "OKAFOR")
    assert (page[(61, 27)], page[(61, 29)]) == ("B3", "282N00000X")


def test_export_an_inpatient_stay(hospital, cli, tmp_path):
    out = tmp_path / "h2.pdf"
    r = cli("invoice", "export", "C000002", "--format", "ub04", "-o", out)
    assert r.exit_code == 0, r.output
    assert "TYPE OF BILL" in labels_of(out.read_bytes())  # the red locator labels
    [page] = read_back(out.read_bytes())
    assert page[(3, 78)] == "0111"
    # FL 12-17: the admission hour 1430 prints as its hour, 14
    assert [page[(9, c)] for c in (13, 19, 22, 25, 28, 31)] == [
        "052826",
        "14",
        "1",
        "7",
        "10",
        "01",
    ]
    assert (page[(9, 34)], page[(11, 1)], page[(11, 5)]) == ("39", "11", "052726")
    assert (page[(14, 44)], page[(14, 53)]) == ("80", "5 00")
    # FL 67 principal K922 (POA Y), A D62 (N); FL 69 admitting; FL 72 external cause (Y)
    assert (page[(54, 2)], page[(54, 9)], page[(54, 10)], page[(54, 17)]) == (
        "K922",
        "Y",
        "D62",
        "N",
    )
    assert (page[(56, 5)], page[(56, 49)], page[(56, 56)]) == ("K922", "W19XXXA", "Y")
    # FL 74: the principal procedure first, whatever its order on the claim
    assert (page[(58, 1)], page[(58, 10)], page[(58, 16)], page[(58, 25)]) == (
        "0DB68ZX",
        "052926",
        "3E033GC",
        "053126",
    )
    assert (page[(59, 59)], page[(60, 53)]) == ("1659318355", "REYES")  # FL 77 operating
    assert (page[(61, 56)], page[(61, 59)], page[(62, 53)]) == ("DN", "1538164242", "STONE")
    assert page[(51, 1)] == "AUTH9"  # FL 63A: the billed payer's authorization


def test_replacement_carries_the_payers_claim_number(hospital, cli, tmp_path):
    """A replacement (frequency 7) of C000001: FL 4 ends in 7 and FL 64 carries the payer's
    claim number of the original; FL 45 its own issue date."""
    from billadmin import db as dbmod

    with dbmod.write(hospital):
        _issue(hospital, "H1", "131", frequency="7", original="C000001")
    out = tmp_path / "r.pdf"
    assert cli("invoice", "export", "C000003", "-f", "ub04-data", "-o", out).exit_code == 0
    [page] = read_back(out.read_bytes())
    assert (page[(2, 54)], page[(3, 78)]) == ("C000003", "0137")
    assert (page[(51, 32)], page[(41, 46)]) == ("ICN2026001", "070126")
    assert (52, 32) not in page  # only the billed payer's row


def test_export_refuses_the_wrong_form(hospital, cli, tmp_path):
    """A professional claim is not a UB-04, an institutional claim is not a CMS-1500."""
    import invoice_fixtures as fx

    from billadmin import db as dbmod
    from billadmin.billing import generate as gen

    with dbmod.write(hospital):
        b = fx.patient(hospital, "1002")
        fx.coverage(hospital, b, "KEY")
        fx.encounter(hospital, b, "2026-06-02", [("99213", 14000)], number="E9")
    gen.generate(hospital, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    prof = hospital.execute(
        "SELECT i.number FROM invoices i JOIN encounters e ON e.id = i.encounter_id"
        " WHERE e.number = 'E9'"
    ).fetchone()[0]
    r = cli("invoice", "export", prof, "--format", "ub04", "-o", tmp_path / "x.pdf")
    assert r.exit_code == 2 and "not an institutional claim" in r.stderr
    assert "--format cms1500" in r.stderr
    assert not (tmp_path / "x.pdf").exists()
    r = cli("invoice", "export", "C000001", "--format", "cms1500", "-o", tmp_path / "y.pdf")
    assert r.exit_code == 2 and "is an institutional claim" in r.stderr
    assert not (tmp_path / "y.pdf").exists()


def test_paper_payer_run_prints_the_ub04(hospital, tmp_path):
    """What `invoice generate` does for a paper-only payer's institutional claims (add_paper,
    as X12Run._add_paper does for the CMS-1500): values only, staged as
    UB04-<payer>-<claim>.pdf beside the run's files, handed to the run's paper list (which
    X12Run.finish records as the invoice's pdf file, sent)."""
    import json

    from billadmin.billing import content as bc
    from billadmin.billing.files import Staged
    from billadmin.billing.result import RunResult
    from billadmin.billing.x12files import X12Run

    out = tmp_path / "out"
    out.mkdir()
    payers = bc.load_payers(hospital)
    mcr = next(p for p in payers.values() if p["code"] == "MCR")
    iid, data = hospital.execute("SELECT invoice_id, data FROM invoice_snapshots").fetchone()
    staged = Staged(enabled=True)
    run = X12Run(
        hospital,
        RunResult(out_dir=out, dry_run=False),
        staged,
        {"submitter_id": "S", "receiver_id": "R"},
        payers,
        run_id=1,
        at="2026-12-31T10:00:00",  # FL 45 is the invoice's issue date, not the run's clock
        workers=1,
    )
    try:
        ub04.add_paper(run, mcr["id"], [(iid, json.loads(data))])
    finally:
        run.close()
    [(paper_iid, name, final)] = run.paper
    [note] = run.result.notes  # Medicare on paper: the ASCA exceptions are named
    assert "ASCA" in note and "payer set MCR --electronic" in note
    assert (paper_iid, name, final.name) == (iid, "UB04-MCR-C000001.pdf", "UB04-MCR-C000001.pdf")
    pdf = staged.pending(final).read_bytes()
    staged.discard()
    assert "TYPE OF BILL" not in labels_of(pdf)
    [page] = read_back(pdf)
    assert (page[(2, 54)], page[(3, 78)], page[(41, 46)], page[(41, 63)]) == (
        "C000001",
        "0131",
        "060526",
        "2760 00",
    )
    assert [page[(13 + i, 1)] for i in range(3)] == [
        "MEDICARE PART B",
        "PO BOX 5",
        "ERIE PA 16501",
    ]


def test_a_full_form_keeps_every_value_in_its_own_place():
    """Every box filled to its width: no value runs into the next, none past the paper's 85
    columns, and no red label is printed over a value."""
    from fpdf import FPDF

    person = {"npi": "1" * 11, "last": "L" * 16, "first": "F" * 12}
    f = _fields(
        22,
        **{
            "8a": "P" * 19,
            "12": "2026-05-28",
            "13": "14",
            "16": "10",
            "18-28": ["39"] * 11,
            "29": "OH",
            "31-34": [["11", "2026-05-27"]] * 8,
            "35-36": [["70", "2026-05-01", "2026-05-03"]] * 4,
            "38": ["P" * 42] * 5,
            "39-41": [["80", 123456789]] * 12,
            "50-55": [
                {
                    "name": "X" * 23,
                    "plan_id": "Y" * 15,
                    "release": "Y",
                    "assignment": "Y",
                    "prior_cents": 99999999,
                    "due_cents": 99999999,
                }
            ]
            * 3,
            "58-62": [
                {
                    "name": "N" * 26,
                    "relationship": "spouse",
                    "id": "I" * 20,
                    "group_name": "G" * 15,
                    "group_number": "H" * 18,
                }
            ]
            * 3,
            "63": ["A" * 30] * 3,
            "64": ["D" * 26] * 3,
            "65": ["E" * 25] * 3,
            "67": [["A000000", "Y"]] * 18,
            "69": "B000000",
            "70": ["C000000"] * 3,
            "71": "9999",
            "72": [["W000000", "Y"]] * 3,
            "74": [["0DB68ZX", "2026-05-29"]] * 6,
            "76": person,
            "77": person,
            "78": {"qualifier": "DN", **person},
            "79": {"qualifier": "ZZ", **person},
            "80": ["R" * 24] * 4,
            "81": [["B3", "T" * 10, "V" * 12]] * 4,
        },
    )
    f["42-48"][0].update(
        description="D" * 24,
        modifiers=["AA", "BB", "CC", "DD"],
        charge_cents=999999999,
        non_covered_cents=999999999,
        units=9999999,
    )
    [cells] = ub04.pages(f)
    spans = sorted((line, col, col + len(text) - 1) for (line, col), text in cells.items())
    assert all(end <= 85 for _, _, end in spans)
    for (l1, _, e1), (l2, c2, _) in zip(spans, spans[1:], strict=False):
        assert l1 != l2 or c2 > e1, (l1, e1, c2)
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=5)
    for line, col, text in ub04.LABELS:
        last_col = col + pdf.get_string_width(text) / cms1500.CHAR_PT
        assert last_col <= 86, text
        assert not [s for s in spans if s[0] == line and s[1] < last_col and col <= s[2]], text


def test_generate_prints_a_paper_payers_institutional_claims(db, cli, tmp_path):
    """`payer set MCR --paper`: the run prints MCR's institutional claims on the UB-04 (values
    only), records each as sent with its pdf, and `invoice export` prints the same page; the
    other payer's claims still go on an 837I."""
    import json

    import invoice_fixtures as fx

    from billadmin import db as dbmod
    from billadmin.billing import generate as gen
    from billadmin.institutional import store

    with dbmod.write(db):
        fx.practice(db)
        a = fx.patient(db, "1001", first="Ann", last="Able", dob="1950-02-03")
        fx.coverage(db, a, "MCR", member="1EG4TE5MK73")
        b = fx.patient(db, "1002")
        fx.coverage(db, b, "BVH")
    store.save_facility(db, "RIV", FACILITY)
    with dbmod.write(db):
        fid = db.execute("SELECT id FROM facilities").fetchone()[0]
        for key, pat in (("H1", a), ("H2", b)):
            store.insert_claim(
                db,
                {
                    "key": key,
                    "patient_id": pat,
                    "provider_id": 1,
                    "facility_id": fid,
                    "type_of_bill": "131",
                    "statement_from": "2026-06-01",
                    "statement_through": "2026-06-01",
                    "patient_status": "01",
                    "providers": [("attending", "1497758544", "Okafor", "Ann")],
                    "diagnoses": [("ABK", "K219", "")],
                    "lines": [
                        {
                            "revenue_code": "0750",
                            "hcpcs": "43239",
                            "units": 1,
                            "charge_cents": 245000,
                            "line_date": "2026-06-01",
                        }
                    ],
                },
            )
    assert cli("payer", "set", "MCR", "--paper").exit_code == 0
    res = gen.generate(db, today=fx.TODAY, scrub=fx.no_scrub, out_dir=tmp_path / "out")
    names = sorted(p.name for p in res.files)
    assert "UB04-MCR-C000002.pdf" in names  # numbered by payer code: BVH C000001
    assert any(n.startswith("837I-BVH-") for n in names)
    assert any("ASCA" in n for n in res.notes)
    [page] = read_back((tmp_path / "out" / "UB04-MCR-C000002.pdf").read_bytes())
    # issued 06/30/26 (the run's day), 2,450.00
    assert (page[(2, 54)], page[(41, 46)], page[(41, 63)]) == ("C000002", "063026", "2450 00")
    show = json.loads(cli("invoice", "show", "C000002", "-f", "json").stdout)
    assert show["status"] == "sent" and [f["kind"] for f in show["files"]] == ["pdf"]
    r = cli("invoice", "export", "C000002", "-f", "ub04", "-o", tmp_path / "e.pdf")
    assert r.exit_code == 0 and "ASCA" in r.stderr
    assert read_back((tmp_path / "e.pdf").read_bytes()) == [page]


def test_demo_prints_the_paper_payers_claims(demo_practice):
    """The demo's workers' comp carrier takes paper: its emergency department claim is printed
    on the UB-04 and the follow-up visit on the CMS-1500, both recorded as sent."""
    from billadmin import db as dbmod

    path, stderr = demo_practice
    out = path.parent / f"{path.stem}-files" / "out" / "paper"
    [ub] = list(out.glob("UB04-WCOMP-*.pdf"))
    [cms] = list(out.glob("CMS1500-WCOMP-*.pdf"))
    assert "Paper-only payer" in stderr and ub.name in stderr
    [page] = read_back(ub.read_bytes())
    assert (page[(3, 78)], page[(11, 1)]) == ("0131", "04")  # outpatient; employment related
    assert [page[(19, 1)], page[(19, 31)], page[(20, 1)], page[(20, 31)]] == [
        "0450",
        "99283",
        "0320",
        "73610",
    ]
    assert page[(41, 64)] == "850 00"  # 640.00 + 210.00
    assert page[(43, 1)].startswith("BUCKEYE WORKERS") and page[(54, 2)] == "S93401A"
    assert "TYPE OF BILL" not in labels_of(ub.read_bytes())  # values only, for the red form
    conn = dbmod.connect(path)
    rows = conn.execute(
        "SELECT f.path, s.status, f.kind FROM invoices i JOIN payers p ON p.id = i.payer_id"
        " JOIN invoice_status s ON s.invoice_id = i.id JOIN invoice_files f"
        " ON f.invoice_id = i.id WHERE p.code = 'WCOMP'"
    ).fetchall()
    assert sorted(Path(f).name for f, _, _ in rows) == sorted([cms.name, ub.name])
    assert {(s, k) for _, s, k in rows} == {("sent", "pdf")}

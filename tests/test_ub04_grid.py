"""The UB-04 PDF against a published print grid of the form: a sample of form locators (FL 1,
4, 6, 42-47 on revenue lines 1 and 22, 56, 58, 67, 80) must print inside their boxes.

The reference is the UB-04 form definition of the VA's VistA Integrated Billing package (a US
government work, public domain): file 364.6, IB FORM SKELETON DEFINITION, form type 3
(UB-04), as exported in WorldVistA/VistA-M, "Packages/Integrated Billing/Globals/364.6+IB FORM
SKELETON DEFINITION.zwr". Each entry's 0-node reads form^^^page^line^lines^^column^length^
name, e.g. ^IBA(364.6,1569,0)="3^N^^1^3^^1^78^4^TYPE OF BILL (FL-4)": page 1, line 3,
column 78, 4 characters. The grid is the form's print grid: 10 characters per inch and 6 lines
per inch from the sheet's top-left corner, so column c starts (c - 1) / 10 inch from the left
edge and line l is the l-th sixth of an inch. This test reads the positions back from the PDF
in points (1/72 inch) and converts them with those two pitches only, so a renderer that drifts
from the grid (another font size, pitch or origin) fails here even when its own (line, column)
bookkeeping is consistent.

Boxes are copied by hand from that file, entry numbers given; each value must start at its
box's column (left-aligned text) or end at its box's last column (amounts and units, right-
aligned) and fit inside it.
"""

from __future__ import annotations

import io

from pypdf import PdfReader

from billadmin.billing import ub04

CHAR_IN = 1 / 10  # 10 characters per inch
LINE_IN = 1 / 6  # 6 lines per inch
PT = 72  # points per inch

# (line, first column, length, VistA 364.6 entry) per box; revenue line n of a page is grid
# line 18 + n (entry 1705 puts line 1 on grid line 19; line 23, entries 1756-1757, on 41)
BOXES = {
    "FL1 name": (2, 2, 24, 1552),
    "FL1 address": (3, 1, 25, 1553),
    "FL1 city": (4, 1, 12, 1554),
    "FL1 state": (4, 14, 2, 1555),
    "FL1 zip": (4, 17, 9, 1556),
    "FL1 phone": (5, 1, 10, 1557),
    "FL4": (3, 78, 4, 1569),
    "FL6 from": (5, 62, 6, 1572),
    "FL6 through": (5, 69, 6, 1573),
    "FL42 line 1": (19, 1, 5, 1705),
    "FL43 line 1": (19, 6, 25, 1706),
    "FL44 line 1": (19, 31, 15, 1717),
    "FL45 line 1": (19, 46, 7, 1718),
    "FL46 line 1": (19, 53, 7, 1734),
    "FL47 line 1": (19, 60, 10, 1735),
    "FL42 line 22": (40, 1, 5, 1705),
    "FL43 line 22": (40, 6, 25, 1706),
    "FL44 line 22": (40, 31, 15, 1717),
    "FL45 line 22": (40, 46, 7, 1718),
    "FL46 line 22": (40, 53, 7, 1734),
    "FL47 line 22": (40, 60, 10, 1735),
    "FL56": (42, 68, 15, 1639),
    "FL58A": (47, 1, 26, 1661),
    "FL58B": (48, 1, 26, 1661),
    "FL67 principal": (54, 2, 7, 1598),
    "FL67 principal POA": (54, 9, 1, 1683),
    "FL67A": (54, 10, 7, 1646),
    "FL67A POA": (54, 17, 1, 1684),
    "FL67H": (54, 66, 7, 1653),
    "FL67H POA": (54, 73, 1, 1691),
    "FL67I": (55, 2, 7, 1654),
    "FL67I POA": (55, 9, 1, 1692),
    "FL67Q": (55, 66, 7, 1659),
    "FL67Q POA": (55, 73, 1, 1700),
    "FL80 line 1": (61, 1, 24, 1723),
    "FL80 line 4": (64, 1, 24, 1723),  # entry 1723: 4 lines from line 61
}
RIGHT_ALIGNED = {"FL46 line 1", "FL47 line 1", "FL46 line 22", "FL47 line 22"}


def _lines() -> list[dict]:
    """22 revenue lines: line 1 a colonoscopy 1,850.00, lines 2-21 a lab panel 45.00 each,
    line 22 a pathology reading x2 420.00."""
    first = {
        "revenue_code": "0750",
        "description": "GI SERVICES",
        "hcpcs": "45380",
        "modifiers": ["PT"],
        "date": "2026-06-10",
        "units": 1,
        "charge_cents": 185000,
    }
    mid = {"revenue_code": "0300", "hcpcs": "80053", "date": "2026-06-10", "units": 1}
    last = {
        "revenue_code": "0310",
        "description": "PATHOLOGY",
        "hcpcs": "88305",
        "date": "2026-06-11",
        "units": 2,
        "charge_cents": 42000,
    }
    return [first] + [{**mid, "charge_cents": 4500} for _ in range(20)] + [last]


def _fields() -> dict:
    # 17 other diagnoses: A-H on the first row, I-Q on the second; POA Y on each
    others = [[f"E11{i:02d}", "Y"] for i in range(17)]
    return {
        "1": {
            "name": "Riverside Hospital",
            "address1": "100 River Rd",
            "city": "Columbus",
            "state": "OH",
            "zip": "432151000",
            "phone": "6145550199",
        },
        "3a": "C000009",
        "4": "131",
        "6": ["2026-06-10", "2026-06-11"],
        "42-48": _lines(),
        "45": "2026-06-15",
        # 1,850.00 + 20 x 45.00 + 420.00 = 3,170.00
        "total_cents": 317000,
        "56": "1876543210",
        "58-62": [
            {"name": "Able, Ann", "relationship": "self", "id": "1EG4TE5MK73"},
            {"name": "Able, Ann", "relationship": "self", "id": "OH0012345"},
        ],
        "66": "0",
        "67": [["K63.5", "N"], *others],
        "80": ["FIRST REMARK", "SECOND", "THIRD", "FOURTH REMARK LINE"],
    }


# what each sampled box must hold, written by hand from _fields
EXPECTED = {
    "FL1 name": "RIVERSIDE HOSPITAL",
    "FL1 address": "100 RIVER RD",
    "FL1 city": "COLUMBUS",
    "FL1 state": "OH",
    "FL1 zip": "432151000",
    "FL1 phone": "6145550199",
    "FL4": "0131",
    "FL6 from": "061026",
    "FL6 through": "061126",
    "FL42 line 1": "0750",
    "FL43 line 1": "GI SERVICES",
    "FL44 line 1": "45380PT",
    "FL45 line 1": "061026",
    "FL46 line 1": "1",
    "FL47 line 1": "1850 00",
    "FL42 line 22": "0310",
    "FL43 line 22": "PATHOLOGY",
    "FL44 line 22": "88305",
    "FL45 line 22": "061126",
    "FL46 line 22": "2",
    "FL47 line 22": "420 00",
    "FL56": "1876543210",
    "FL58A": "ABLE, ANN",
    "FL58B": "ABLE, ANN",
    "FL67 principal": "K635",
    "FL67 principal POA": "N",
    "FL67A": "E1100",
    "FL67A POA": "Y",
    "FL67H": "E1107",
    "FL67H POA": "Y",
    "FL67I": "E1108",
    "FL67I POA": "Y",
    "FL67Q": "E1116",
    "FL67Q POA": "Y",
    "FL80 line 1": "FIRST REMARK",
    "FL80 line 4": "FOURTH REMARK LINE",
}


def _strings(pdf: bytes) -> list[tuple[float, float, str]]:
    """(x, y from the top, text) of every Courier string on the first page, in points."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    out: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, font, size):
        # pypdf may prefix a string with a space it inferred from the gap before it; the
        # string itself is drawn at tm, so the space is dropped, not counted
        if text.strip() and "Courier" in str((font or {}).get("/BaseFont", "")):
            out.append((tm[4], height - tm[5], text.strip()))

    page.extract_text(visitor_text=visit)
    return out


def _on_grid(strings, line: int) -> dict[int, str]:
    """The strings whose baseline falls in grid line `line` (its sixth of an inch), by the
    grid column their first character starts in."""
    top, bottom = (line - 1) * LINE_IN * PT, line * LINE_IN * PT
    return {round(x / (CHAR_IN * PT)) + 1: text for x, y, text in strings if top < y <= bottom}


def test_sampled_locators_print_inside_the_published_grid_boxes():
    strings = _strings(ub04.render(_fields(), form=False))
    assert len(ub04.pages(_fields())) == 1  # 22 lines: one page
    misplaced = []
    for name, (line, col, length, entry) in BOXES.items():
        want = EXPECTED[name]
        assert len(want) <= length, name  # the sample itself fits its box
        box_end = col + length - 1
        start = box_end - len(want) + 1 if name in RIGHT_ALIGNED else col
        row = _on_grid(strings, line)
        if row.get(start) != want:
            where = [c for c, t in row.items() if t == want]
            misplaced.append(
                f"{name} (364.6 entry {entry}): {want!r} expected from column {start} of line"
                f" {line} (box {col}-{box_end}), found at columns {where}"
            )
    assert misplaced == []


def test_the_pdf_grid_is_ten_per_inch_six_lines_per_inch():
    """Consecutive revenue lines are 1/6 inch apart; FL 42 and FL 43 of a line are 5 columns,
    1/2 inch, apart (box columns 1 and 6: entries 1705, 1706)."""
    strings = _strings(ub04.render(_fields(), form=False))
    ys = sorted({round(y, 2) for x, y, t in strings if t in ("0750", "0300", "0310")})
    assert len(ys) == 22
    assert all(abs((b - a) - LINE_IN * PT) < 0.01 for a, b in zip(ys, ys[1:], strict=False))
    row = {t: x for x, y, t in strings if abs(y - ys[0]) < 0.01}
    assert abs((row["GI SERVICES"] - row["0750"]) - 5 * CHAR_IN * PT) < 0.01
